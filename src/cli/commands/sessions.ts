// `streamctl sessions expire`: MistServer checks a viewer once, when its session starts, so a token
// that expires mid-session would keep playing. This scheduled job (install.sh's timer or cron) asks
// MistServer to re-check only the streams holding sessions whose token expired; USER_NEW then
// refuses them (a re-check holds a token to its exp exactly). Revocations past their token's life go too.
// On an edge the same job reads the records the edge's USER_NEW keeps (src/edge/token-expiry.ts) and
// asks the edge's own MistServer: the cut needs neither the origin nor its database.
import { Command } from 'commander';
import { edgeSessionsDir, role } from '../../config';
import { expireTokenSessions } from '../../edge/token-expiry';
import { UserError } from '../../lib/errors';
import { mistCall } from '../../mist/api';
import { mistConnection } from '../../mist/connection';
import { pruneRevocations } from '../../store/revoked-tokens';
import { durationMs, getSetting } from '../../store/settings';
import { expiredSessions, markExpiryChecked } from '../../store/viewer-sessions';
import type { CliContext } from '../context';
import { applyLiveEffects } from '../../live/session-effects';

/** The edge's own MistServer (loopback) answers in milliseconds. */
const EDGE_API_TIMEOUT_MS = 5000;

export function sessionsCommand(ctx: CliContext): Command {
  const cmd = new Command('sessions').description('viewer sessions: end those whose playback token expired');

  cmd
    .command('expire')
    .description('ask MistServer to re-check the streams that hold sessions with an expired token (run by the scheduled job)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      if (role() === 'edge') return expireOnEdge(ctx, opts);
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

/** On an edge: the sessions its USER_NEW recorded (src/edge/token-expiry.ts), re-checked on its own MistServer. */
async function expireOnEdge(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  const dir = edgeSessionsDir();
  if (dir === undefined)
    throw new UserError(
      'no sessions folder on this edge: set db= or sessions_dir= in streamctl.conf (install.sh writes db=), or STREAMCTL_SESSIONS_DIR',
    );
  const conn = { ...mistConnection(ctx.db(), {}, (line) => ctx.err(`streamctl: ${line}\n`)), timeoutMs: EDGE_API_TIMEOUT_MS };
  const run = await expireTokenSessions(dir, ctx.now(), async (stream) => {
    await mistCall(conn, { invalidate_sessions: stream });
  });
  const applied = run.failure === undefined;
  if (!applied) ctx.err(`streamctl: MistServer at ${conn.url} did not take the re-check (${run.failure}); tried again next run\n`);
  if (opts.json) return ctx.json({ expired_sessions: run.expired, streams: run.streams, applied, revocations_pruned: 0 });
  if (run.expired > 0)
    ctx.out(
      `${run.expired} session(s) with an expired token on ${run.streams.length} stream(s): ${run.streams.join(', ')}${applied ? '' : ' (not all applied: tried again next run)'}\n`,
    );
}
