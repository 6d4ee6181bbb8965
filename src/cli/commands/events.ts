// `streamctl events`: the audit log (pushes accepted and refused, refused viewers, broadcasts,
// recordings, failed trigger runs, and admin changes with who made them).
import { Command } from 'commander';
import { parseDuration } from '../../lib/duration';
import { UsageError } from '../../lib/errors';
import { printable } from '../../lib/names';
import { EVENT_KINDS, listEvents, pruneEvents } from '../../store/events';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';
import { positiveInt } from '../input';
import { requireUser } from '../resolve';

export function eventsCommand(ctx: CliContext): Command {
  const cmd = new Command('events')
    .description('show recent decisions (newest first); never contains keys or tokens')
    .option('--user <name>', 'only this user')
    .option('--kind <kind>', `only this kind: ${EVENT_KINDS.join(', ')}`)
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('--json', 'print JSON')
    .action((opts: { user?: string; kind?: string; limit: number; json?: boolean }) => {
      if (opts.kind !== undefined && !(EVENT_KINDS as readonly string[]).includes(opts.kind)) {
        throw new UsageError(`invalid --kind "${opts.kind.slice(0, 40)}": expected one of ${EVENT_KINDS.join(', ')}`);
      }
      const db = ctx.db();
      const userId = opts.user === undefined ? undefined : requireUser(db, opts.user).id;
      const rows = listEvents(db, { kind: opts.kind, userId, limit: opts.limit });
      if (opts.json) {
        return ctx.json(
          rows.map((e) => ({
            id: e.id,
            at: isoTime(e.at),
            kind: e.kind,
            outcome: e.outcome,
            reason: e.reason,
            user: e.userName,
            ip: e.ip,
            detail: e.detail,
            actor: e.actor,
          })),
        );
      }
      if (rows.length === 0) return ctx.out('no events\n');
      ctx.out(
        table(
          ['TIME', 'KIND', 'OUTCOME', 'USER', 'IP', 'BY', 'REASON'],
          rows.map((e) => [shortTime(e.at), e.kind, e.outcome, e.userName ?? '-', e.ip ?? '-', e.actor ?? '-', printable(e.reason)]),
        ),
      );
    });

  cmd
    .command('prune')
    .description('delete events older than a duration (for cron; the audit log otherwise grows forever)')
    .requiredOption('--older-than <duration>', 'age of the events to delete, e.g. 90d')
    .option('--dry-run', 'count them, delete nothing')
    .option('--json', 'print JSON')
    .action((opts: { olderThan: string; dryRun?: boolean }, command: Command) => {
      // `events` itself has --json too, and commander gives a repeated option to the parent.
      const json = (command.optsWithGlobals() as { json?: boolean }).json === true;
      const age = parseDuration(opts.olderThan);
      if (age === null || age === 0) throw new UsageError(`invalid --older-than "${opts.olderThan}": expected a duration such as 90d`);
      const before = ctx.now() - age;
      const n = pruneEvents(ctx.db(), before, opts.dryRun === true);
      if (json) return ctx.json({ deleted: opts.dryRun ? 0 : n, would_delete: opts.dryRun ? n : 0, before: isoTime(before) });
      ctx.out(`${opts.dryRun ? 'would delete' : 'deleted'} ${n} event(s) from before ${isoTime(before)}\n`);
    });

  return cmd;
}
