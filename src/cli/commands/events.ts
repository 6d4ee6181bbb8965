// `streamctl events`: the audit log (pushes accepted and refused, and later viewer decisions).
import { Command, InvalidArgumentError } from 'commander';
import { listEvents } from '../../store/events';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';
import { requireUser } from '../resolve';

/** Commander argument parser for positive integers. */
export function positiveInt(value: string): number {
  if (!/^[1-9]\d{0,6}$/.test(value)) throw new InvalidArgumentError('expected a whole number above 0');
  return Number(value);
}

export function eventsCommand(ctx: CliContext): Command {
  return new Command('events')
    .description('show recent decisions (newest first); never contains keys or tokens')
    .option('--user <name>', 'only this user')
    .option('--kind <kind>', 'only this kind (e.g. push)')
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('--json', 'print JSON')
    .action((opts: { user?: string; kind?: string; limit: number; json?: boolean }) => {
      const db = ctx.db();
      const userId = opts.user === undefined ? undefined : requireUser(db, opts.user).id;
      const rows = listEvents(db, { kind: opts.kind, userId, limit: opts.limit });
      if (opts.json) {
        return ctx.json(
          rows.map((e) => ({ id: e.id, at: isoTime(e.at), kind: e.kind, outcome: e.outcome, reason: e.reason, user: e.userName, ip: e.ip, detail: e.detail })),
        );
      }
      if (rows.length === 0) return ctx.out('no events\n');
      ctx.out(
        table(
          ['TIME', 'KIND', 'OUTCOME', 'USER', 'IP', 'REASON'],
          rows.map((e) => [shortTime(e.at), e.kind, e.outcome, e.userName ?? '-', e.ip ?? '-', e.reason]),
        ),
      );
    });
}
