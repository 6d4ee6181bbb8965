// `streamctl broadcasts <user>`: a channel's broadcast history, newest first.
import { Command } from 'commander';
import { formatDuration } from '../../lib/duration';
import { broadcastHistory, type BroadcastSummary } from '../../store/broadcasts';
import { getSetting } from '../../store/settings';
import type { CliContext } from '../context';
import { isoTime, shortTime, table } from '../format';
import { positiveInt } from '../input';
import { requireUser } from '../resolve';

/** The stable JSON form of a broadcast. */
export function broadcastJson(user: string, b: BroadcastSummary, now: number) {
  const uniqueViewers = b.uniqueViewers;
  return {
    id: b.id,
    user,
    started_at: isoTime(b.startedAt),
    ended_at: isoTime(b.endedAt),
    live: b.endedAt === null,
    duration_s: Math.max(0, Math.round(((b.endedAt ?? now) - b.startedAt) / 1000)),
    ended_cleanly: b.endedCleanly,
    peak_viewers: b.peakViewers,
    // MistServer counts every viewer connection; our sessions may miss some (or the other way round).
    total_viewers: Math.max(uniqueViewers, b.mistTotals?.viewers ?? 0),
    unique_viewers: uniqueViewers,
    current_viewers: b.currentViewers,
    watch_time_s: b.watchSeconds,
    mist_totals: b.mistTotals && {
      at: isoTime(b.mistTotals.at),
      bytes_down: b.mistTotals.bytesDown,
      bytes_up: b.mistTotals.bytesUp,
      viewers: b.mistTotals.viewers,
      inputs: b.mistTotals.inputs,
      outputs: b.mistTotals.outputs,
      viewer_seconds: b.mistTotals.viewerSeconds,
    },
  };
}

export function broadcastsCommand(ctx: CliContext): Command {
  return new Command('broadcasts')
    .description("a channel's broadcasts, newest first: duration, viewers, watch time, clean end or not")
    .argument('<user>', 'the channel')
    .option('--limit <n>', 'how many', positiveInt, 20)
    .option('--json', 'print JSON')
    .action((name: string, opts: { limit: number; json?: boolean }) => {
      const db = ctx.db();
      const user = requireUser(db, name);
      const now = ctx.now();
      const rows = broadcastHistory(db, user.id, `${getSetting(db, 'stream-base')}+${user.name}`, opts.limit, now).map((b) =>
        broadcastJson(user.name, b, now),
      );
      if (opts.json) return ctx.json(rows);
      if (rows.length === 0) return ctx.out(`${user.name} has not broadcast yet\n`);
      ctx.out(
        table(
          ['ID', 'STARTED', 'ENDED', 'DURATION', 'PEAK', 'VIEWERS', 'WATCH TIME', 'END'],
          rows.map((b) => [
            String(b.id),
            shortTime(Date.parse(b.started_at!)),
            b.live ? 'live' : shortTime(Date.parse(b.ended_at!)),
            formatDuration(b.duration_s * 1000),
            String(b.peak_viewers),
            String(b.total_viewers),
            formatDuration(b.watch_time_s * 1000),
            b.live ? '-' : b.ended_cleanly ? 'clean' : 'lost (reconciled)',
          ]),
        ),
      );
    });
}
