// `streamctl sessions expire`: MistServer checks a viewer once, when its session starts, so a token
// that expires mid-session would keep playing. This scheduled job (install.sh's timer or cron) asks
// MistServer to re-check only the streams holding sessions whose token expired; USER_NEW then
// refuses them (a re-check holds a token to its exp exactly). Revocations past their token's life go too.
import { Command } from 'commander';
import { pruneRevocations } from '../../store/revoked-tokens';
import { durationMs, getSetting } from '../../store/settings';
import { expiredSessions, markExpiryChecked } from '../../store/viewer-sessions';
import type { CliContext } from '../context';
import { applyLiveEffects } from '../../live/session-effects';

export function sessionsCommand(ctx: CliContext): Command {
  const cmd = new Command('sessions').description('viewer sessions: end those whose playback token expired');

  cmd
    .command('expire')
    .description('ask MistServer to re-check the streams that hold sessions with an expired token (run by the scheduled job)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const db = ctx.db();
      const now = ctx.now();
      const since = now - durationMs('viewer-session-stale', getSetting(db, 'viewer-session-stale'));
      const expired = expiredSessions(db, now, since);
      const streams = [...new Set(expired.map((s) => s.stream))];
      const applied = await applyLiveEffects(
        ctx,
        streams.map((stream) => ({ kind: 'recheck-stream' as const, stream, reason: 'a playback token expired' })),
      );
      // Only once MistServer confirmed: an unreachable server leaves them for the next run.
      if (applied)
        markExpiryChecked(
          db,
          expired.map((s) => s.sessionId),
          now,
        );
      const pruned = pruneRevocations(db, now);
      if (opts.json) return ctx.json({ expired_sessions: expired.length, streams, applied, revocations_pruned: pruned });
      if (expired.length > 0 || pruned > 0 || !applied) {
        ctx.out(
          `${expired.length} session(s) with an expired token on ${streams.length} stream(s)${streams.length ? `: ${streams.join(', ')}` : ''}${applied ? '' : ' (not applied: tried again next run)'}${pruned ? `; ${pruned} revocation(s) past their token's life removed` : ''}\n`,
        );
      }
    });

  return cmd;
}
