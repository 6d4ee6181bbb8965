// `streamctl hook set|unset|list`: programs run when a channel goes live or offline, so the site
// can tell followers. Run without a shell, JSON event on stdin, killed after a few seconds.
import { Command } from 'commander';
import { accessSync, constants, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UsageError, UserError } from '../../lib/errors';
import { hookRunner, trustedHookProgram } from '../../live/hook-trust';
import { HOOK_TIMEOUT_MS } from '../../live/run-hook';
import { HOOK_EVENTS, listHooks, setHook, unsetHook, type HookEvent } from '../../store/hooks';
import type { CliContext } from '../context';
import { recordAdmin } from '../admin-events';
import { shortTime, table } from '../format';
import { hookJson } from '../shapes';

function hookEvent(value: string): HookEvent {
  if (!(HOOK_EVENTS as readonly string[]).includes(value))
    throw new UsageError(`invalid hook event "${value}": expected ${HOOK_EVENTS.join(' or ')}`);
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
  const cmd = new Command('hook').description(
    `programs run when a channel goes live or offline (JSON event on stdin, killed after ${HOOK_TIMEOUT_MS / 1000} s)`,
  );

  cmd
    .command('set <event> <program>')
    .description('run <program> (no shell, no arguments) when a channel goes live or offline')
    .option('--json', 'print the hook as JSON')
    .action((event: string, program: string, opts: { json?: boolean }) => {
      const e = hookEvent(event);
      const path = executable(program);
      // The same rules as at run time, so a hook that would be skipped is refused here, with why.
      const runner = hookRunner(ctx.dbPath());
      if (typeof runner === 'string') throw new UserError(`${path} would not run: ${runner}`);
      const trusted = trustedHookProgram(path, runner);
      if ('problem' in trusted) throw new UserError(`${path} would not run: ${trusted.problem} (see docs/live-status.md, "Hooks")`);
      const now = ctx.now();
      setHook(ctx.db(), e, path, now);
      recordAdmin(ctx, { action: 'hook set', reason: `${e} hook: ${path}` });
      if (opts.json) return ctx.json(hookJson({ event: e, program: path, updatedAt: now }));
      ctx.out(`${e} hook: ${path}\n`);
    });

  cmd
    .command('unset <event>')
    .description('stop running the hook of an event')
    .option('--json', 'print the removed hook as JSON (as it was)')
    .action((event: string, opts: { json?: boolean }) => {
      const e = hookEvent(event);
      const db = ctx.db();
      const hook = listHooks(db).find((h) => h.event === e);
      if (!hook || !unsetHook(db, e)) throw new UserError(`no ${e} hook is set`);
      recordAdmin(ctx, { action: 'hook unset', reason: `${e} hook removed (was ${hook.program})` });
      if (opts.json) return ctx.json(hookJson(hook));
      ctx.out(`${e} hook removed\n`);
    });

  cmd
    .command('list')
    .description('show the hooks')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const hooks = listHooks(ctx.db());
      if (opts.json) return ctx.json(hooks.map(hookJson));
      if (hooks.length === 0) return ctx.out('no hooks set\n');
      ctx.out(
        table(
          ['EVENT', 'PROGRAM', 'SET'],
          hooks.map((h) => [h.event, h.program, shortTime(h.updatedAt)]),
        ),
      );
    });

  return cmd;
}
