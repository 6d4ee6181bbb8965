// `streamctl hook set|unset|list`: programs run when a channel goes live or offline, so the site
// can tell followers. Run without a shell, JSON event on stdin, killed after a few seconds.
import { Command } from 'commander';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../../lib/errors';
import { hookRunner, trustedHookProgram } from '../../live/hook-trust';
import { HOOK_TIMEOUT_MS } from '../../live/run-hook';
import { HOOK_EVENTS, listHooks, setHook, unsetHook, type HookEvent } from '../../store/hooks';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';

function hookEvent(value: string): HookEvent {
  if (!(HOOK_EVENTS as readonly string[]).includes(value)) throw new UserError(`invalid hook event "${value}": expected ${HOOK_EVENTS.join(' or ')}`);
  return value as HookEvent;
}

/** The program as an absolute path to an executable file (MistServer runs triggers from its own folder). */
function executable(program: string): string {
  const path = isAbsolute(program) ? program : resolve(program);
  let isFile = false;
  try {
    isFile = statSync(path).isFile();
    accessSync(path, constants.X_OK);
  } catch {
    throw new UserError(`${path} is not an executable file`);
  }
  if (!isFile) throw new UserError(`${path} is not an executable file`);
  return path;
}

export function hookCommand(ctx: CliContext): Command {
  const cmd = new Command('hook').description(`programs run when a channel goes live or offline (JSON event on stdin, killed after ${HOOK_TIMEOUT_MS / 1000} s)`);

  cmd
    .command('set <event> <program>')
    .description('run <program> (no shell, no arguments) when a channel goes live or offline')
    .action((event: string, program: string) => {
      const e = hookEvent(event);
      const path = executable(program);
      // The same rules as at run time, so a hook that would be skipped is refused here, with why.
      const runner = hookRunner(ctx.dbPath());
      if (typeof runner === 'string') throw new UserError(`${path} would not run: ${runner}`);
      const trusted = trustedHookProgram(path, runner);
      if ('problem' in trusted) throw new UserError(`${path} would not run: ${trusted.problem} (see docs/live-status.md, "Hooks")`);
      setHook(ctx.db(), e, path, ctx.now());
      ctx.out(`${e} hook: ${path}\n`);
    });

  cmd
    .command('unset <event>')
    .description('stop running the hook of an event')
    .action((event: string) => {
      const e = hookEvent(event);
      if (!unsetHook(ctx.db(), e)) throw new UserError(`no ${e} hook is set`);
      ctx.out(`${e} hook removed\n`);
    });

  cmd
    .command('list')
    .description('show the hooks')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const hooks = listHooks(ctx.db());
      if (opts.json) return ctx.json(hooks.map((h) => ({ event: h.event, program: h.program, updated_at: isoTime(h.updatedAt) })));
      if (hooks.length === 0) return ctx.out('no hooks set\n');
      ctx.out(table(['EVENT', 'PROGRAM', 'SET'], hooks.map((h) => [h.event, h.program, shortTime(h.updatedAt)])));
    });

  return cmd;
}
