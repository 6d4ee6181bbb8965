// The figures `streamctl metrics` exposes, each one query over what the triggers already record.
import type { Db } from './open';
import { stmt } from './statements';

export interface MetricsSnapshot {
  channelsLive: number;
  /** Open, non-stale viewer sessions, per channel name. */
  viewers: { channel: string; viewers: number }[];
  /** Push attempts in the window, per outcome ('accepted' | 'refused'). */
  pushes: Record<string, number>;
  /** Push refusals in the window that the brute-force guard answered without a lookup. */
  guardBlocks: number;
  /** Guard sources over the failure limit right now. */
  guardBlockedSources: number;
  /** Second-push policy decisions in the window: refused (refuse), grace_refused, takeover_refused, encoder_stopped (takeover). */
  secondPushes: Record<'refused' | 'grace_refused' | 'takeover_refused' | 'encoder_stopped', number>;
  recordings: number;
  recordingBytes: number;
  /** Trigger runs in the window that answered their refusal because of an error, per trigger. */
  triggerErrors: { trigger: string; errors: number }[];
  /** Open sessions whose playback token has expired (the expiry job has them re-checked). */
  sessionsTokenExpired: number;
  /** Open sessions streamctl stopped (evicted under viewer-sessions, or their token revoked), until USER_END. */
  sessionsStopped: number;
  /** Viewer refusals in the window by rule, for the ticket rules (viewer-sessions, token-revoked, token-expired). */
  ticketRefusals: Record<string, number>;
  /** Sessions evicted under viewer-sessions in the window. */
  evictions: number;
  /** Token ids revoked and still kept. */
  revokedTokens: number;
}

export interface MetricsQuery {
  now: number;
  /** Start of the counting window (unix ms). */
  since: number;
  /** Open sessions last seen before this are stale (a lost USER_END). */
  staleBefore: number;
  guardReason: string;
  guardWindowStart: number;
  guardFailures: number;
  /** The reason of a refuse-policy refusal, and the starts of grace and takeover refusals (src/ingest/second-push.ts). */
  secondPushReason: string;
  graceReasonPrefix: string;
  takeoverReasonPrefix: string;
}

/** Reads every figure in one read transaction, so they agree with each other. */
export function readMetrics(db: Db, q: MetricsQuery): MetricsSnapshot {
  return db.transaction((): MetricsSnapshot => {
    const one = (sql: string, ...args: unknown[]) => (stmt(db, sql).get(...args) as { n: number }).n;
    const pushes: Record<string, number> = { accepted: 0, refused: 0 };
    for (const r of stmt(db, "SELECT outcome, count(*) AS n FROM events WHERE kind = 'push' AND at >= ? GROUP BY outcome").all(q.since) as {
      outcome: string;
      n: number;
    }[]) {
      pushes[r.outcome] = r.n;
    }
    const secondPushes = { refused: 0, grace_refused: 0, takeover_refused: 0, encoder_stopped: 0 };
    for (const r of stmt(
      db,
      `SELECT CASE WHEN outcome = 'stopped' THEN 'encoder_stopped' WHEN reason = @refused THEN 'refused'
                   WHEN substr(reason, 1, length(@grace)) = @grace THEN 'grace_refused' ELSE 'takeover_refused' END AS decision, count(*) AS n
         FROM events
        WHERE kind = 'push' AND at >= @since
          AND (outcome = 'stopped' OR (outcome = 'refused' AND (reason = @refused OR substr(reason, 1, length(@grace)) = @grace OR substr(reason, 1, length(@takeover)) = @takeover)))
        GROUP BY decision`,
    ).all({ since: q.since, refused: q.secondPushReason, grace: q.graceReasonPrefix, takeover: q.takeoverReasonPrefix }) as {
      decision: keyof typeof secondPushes;
      n: number;
    }[]) {
      secondPushes[r.decision] = r.n;
    }
    const totals = stmt(
      db,
      'SELECT count(*) AS count, coalesce(sum(bytes), 0) AS bytes FROM recordings WHERE deleting_at IS NULL',
    ).get() as { count: number; bytes: number };
    const ticketRefusals: Record<string, number> = { 'viewer-sessions': 0, 'token-revoked': 0, 'token-expired': 0 };
    for (const rule of Object.keys(ticketRefusals)) {
      ticketRefusals[rule] = one(
        "SELECT count(*) AS n FROM events WHERE kind = 'view' AND outcome = 'refused' AND reason LIKE ? AND at >= ?",
        `${rule}:%`,
        q.since,
      );
    }
    return {
      sessionsTokenExpired: one(
        'SELECT count(*) AS n FROM viewer_sessions WHERE closed_at IS NULL AND token_exp <= ? AND last_seen_at >= ?',
        q.now,
        q.staleBefore,
      ),
      sessionsStopped: one(
        'SELECT count(*) AS n FROM viewer_sessions WHERE closed_at IS NULL AND stopped_at IS NOT NULL AND last_seen_at >= ?',
        q.staleBefore,
      ),
      ticketRefusals,
      evictions: one("SELECT count(*) AS n FROM events WHERE kind = 'view' AND outcome = 'stopped' AND at >= ?", q.since),
      revokedTokens: one('SELECT count(*) AS n FROM revoked_tokens WHERE until > ?', q.now),
      channelsLive: one('SELECT count(*) AS n FROM broadcasts WHERE ended_at IS NULL'),
      viewers: stmt(
        db,
        `SELECT u.name AS channel, count(*) AS viewers FROM viewer_sessions s JOIN users u ON u.id = s.user_id
          WHERE s.closed_at IS NULL AND s.last_seen_at >= ? GROUP BY u.name ORDER BY u.name`,
      ).all(q.staleBefore) as { channel: string; viewers: number }[],
      pushes,
      guardBlocks: one(
        "SELECT count(*) AS n FROM events WHERE kind = 'push' AND outcome = 'refused' AND reason = ? AND at >= ?",
        q.guardReason,
        q.since,
      ),
      guardBlockedSources: one(
        'SELECT count(*) AS n FROM (SELECT source FROM push_failures WHERE at > ? GROUP BY source HAVING count(*) >= ?)',
        q.guardWindowStart,
        q.guardFailures,
      ),
      secondPushes,
      recordings: totals.count,
      recordingBytes: totals.bytes,
      triggerErrors: stmt(
        db,
        "SELECT coalesce(detail, '') AS trigger, count(*) AS errors FROM events WHERE kind = 'trigger' AND outcome = 'error' AND at >= ? GROUP BY detail ORDER BY detail",
      ).all(q.since) as { trigger: string; errors: number }[],
    };
  })();
}
