// `streamctl triggers`: what to configure in MistServer, with this installation's absolute paths.
import { Command } from 'commander';
import { join } from 'node:path';
import { appRoot } from '../../config';
import { TRIGGERS, type TriggerName } from '../../triggers/registry';
import type { CliContext } from '../context';
import { table } from '../format';

/** Absolute path of the program MistServer should run for a trigger in this installation. */
export function triggerProgramPath(name: TriggerName): string {
  return join(appRoot(), 'bin', TRIGGERS[name].program);
}

export function triggersCommand(ctx: CliContext): Command {
  return new Command('triggers')
    .description('list the MistServer triggers streamctl handles, with the program paths to configure')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const names = Object.keys(TRIGGERS) as TriggerName[];
      const rows = names.map((name) => ({
        trigger: name,
        handler: triggerProgramPath(name),
        blocking: TRIGGERS[name].blocking,
        default: TRIGGERS[name].refusal,
        summary: TRIGGERS[name].summary,
      }));
      if (opts.json) return ctx.json(rows);
      ctx.out(table(['TRIGGER', 'BLOCKING', 'HANDLER', 'WHAT IT DOES'], rows.map((r) => [r.trigger, r.blocking ? 'yes' : 'no', r.handler, r.summary])));
      ctx.out(`\nAlternatively point every trigger at ${join(appRoot(), 'bin', 'mist-trigger')} (it dispatches on the trigger name).\n`);
      ctx.out('Configure PUSH_REWRITE or RTMP_PUSH_REWRITE, not both (PUSH_REWRITE preferred).\n');
    });
}
