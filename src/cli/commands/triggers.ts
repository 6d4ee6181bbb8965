// `streamctl triggers`: what to configure in MistServer, with this installation's absolute paths.
import { Command } from 'commander';
import { join } from 'node:path';
import { appRoot, triggerHandlerPath } from '../../config';
import { mistDefaultFor } from '../../wiring/plan';
import { TRIGGER_SUMMARIES } from '../../triggers/summaries';
import { TRIGGERS, type TriggerName } from '../../triggers/registry';
import type { CliContext } from '../context';
import { table } from '../format';

export function triggersCommand(ctx: CliContext): Command {
  return new Command('triggers')
    .description('list the MistServer triggers streamctl handles, with the program paths to configure')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const names = Object.keys(TRIGGERS) as TriggerName[];
      const rows = names.map((name) => ({
        trigger: name,
        handler: triggerHandlerPath(TRIGGERS[name].program),
        blocking: TRIGGERS[name].blocking,
        // What to put in MistServer's `default` field (none for asynchronous triggers).
        default: mistDefaultFor(TRIGGERS[name]) ?? null,
        summary: TRIGGER_SUMMARIES[name],
      }));
      if (opts.json) return ctx.json(rows);
      ctx.out(
        table(
          ['TRIGGER', 'BLOCKING', 'DEFAULT', 'HANDLER', 'WHAT IT DOES'],
          rows.map((r) => [r.trigger, r.blocking ? 'yes' : 'no', r.default ?? '(none)', r.handler, r.summary]),
        ),
      );
      ctx.out(`\nAlternatively point every trigger at ${join(appRoot(), 'bin', 'mist-trigger')} (it dispatches on the trigger name),\n`);
      // The per-program paths of asynchronous triggers are detaching wrappers once installed.
      ctx.out('but asynchronous triggers then run undetached and MistServer may interrupt them (docs/mist-integration.md).\n');
      ctx.out('Configure PUSH_REWRITE or RTMP_PUSH_REWRITE, not both (PUSH_REWRITE preferred).\n');
      ctx.out("Set each blocking trigger's default as shown: an empty default makes MistServer answer true (fail-open).\n");
    });
}
