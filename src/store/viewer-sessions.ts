// Viewer sessions: opened by USER_NEW, closed by USER_END (which may arrive late, twice, or
// without a matching USER_NEW).
import { broadcastForViewing } from './broadcasts';
import type { Db } from './open';
import { stmt } from './statements';

export interface ViewerSessionOpen {
  sessionId: string;
  userId: number;
  broadcastId: number | null;
  stream: string;
  viewer: string | null;
  ip: string | null;
  connector: string | null;
  at: number;
  /** The admitting token's exp (unix ms) and jti, when a token admitted the session. */
  tokenExp?: number | null;
  jti?: string | null;
}

/**
 * Opens a session, or refreshes last_seen_at when MistServer re-checks one it already has. A viewer
 * who comes back with the same token gets the same session id: a session closed before this
 * admission is opened again (a new viewing), so it counts against the viewer cap. One that
 * streamctl stopped (evicted, revoked) stays stopped until USER_END closes it.
 */
export function openViewerSession(db: Db, s: ViewerSessionOpen): void {
  const renew = '(closed_at < excluded.last_seen_at)';
  stmt(
    db,
    `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, viewer, ip, connector, opened_at, last_seen_at, token_exp, jti)
     VALUES (@sessionId, @userId, @broadcastId, @stream, @viewer, @ip, @connector, @at, @at, @tokenExp, @jti)
     ON CONFLICT(session_id) DO UPDATE SET
       opened_at = CASE WHEN ${renew} THEN excluded.opened_at ELSE opened_at END,
       broadcast_id = CASE WHEN ${renew} THEN excluded.broadcast_id ELSE broadcast_id END,
       expiry_checked_at = CASE WHEN ${renew} THEN NULL ELSE expiry_checked_at END,
       stopped_at = CASE WHEN ${renew} THEN NULL ELSE stopped_at END,
       closed_at = CASE WHEN closed_at < excluded.last_seen_at THEN NULL ELSE closed_at END,
       viewer = coalesce(excluded.viewer, viewer),
       token_exp = excluded.token_exp, jti = excluded.jti,
       last_seen_at = max(last_seen_at, excluded.last_seen_at)`,
  ).run({ tokenExp: null, jti: null, ...s });
}

/** Open sessions of a channel seen since `since` (older open ones are treated as stale). */
export function countOpenSessions(db: Db, userId: number, since: number): number {
  return (
    stmt(
      db,
      'SELECT count(*) AS n FROM viewer_sessions WHERE user_id = ? AND closed_at IS NULL AND stopped_at IS NULL AND last_seen_at >= ?',
    ).get(userId, since) as {
      n: number;
    }
  ).n;
}

/** `seq` is the row's insertion order: it breaks ties between sessions opened in the same millisecond. */
export interface OpenSession {
  userId: number;
  openedAt: number;
  seq: number;
  /** Set when streamctl stopped it (evicted for a newer session of its viewer, or its token revoked). */
  stoppedAt: number | null;
}

/** An open session's channel and start, if MistServer already admitted it (a re-check). */
export function findOpenSession(db: Db, sessionId: string): OpenSession | undefined {
  return stmt(
    db,
    'SELECT user_id AS userId, opened_at AS openedAt, rowid AS seq, stopped_at AS stoppedAt FROM viewer_sessions WHERE session_id = ? AND closed_at IS NULL',
  ).get(sessionId) as OpenSession | undefined;
}

/**
 * Open, non-stale sessions of a channel that come before a session in admission order (all of them
 * when `before` is undefined): a re-check keeps its place, so lowering a cap drops the newest.
 */
export function countSessionsAhead(
  db: Db,
  userId: number,
  since: number,
  before?: { sessionId: string; openedAt: number; seq: number },
): number {
  if (!before) return countOpenSessions(db, userId, since);
  return (
    stmt(
      db,
      `SELECT count(*) AS n FROM viewer_sessions
          WHERE user_id = ? AND closed_at IS NULL AND stopped_at IS NULL AND last_seen_at >= ? AND session_id <> ?
            AND (opened_at < ? OR (opened_at = ? AND rowid < ?))`,
    ).get(userId, since, before.sessionId, before.openedAt, before.openedAt, before.seq) as { n: number }
  ).n;
}

/**
 * A viewer's open, not stopped, non-stale sessions on a channel that come before a session in
 * admission order (all of them when `before` is undefined): viewer-sessions counts these.
 */
export function countViewerSessionsAhead(
  db: Db,
  userId: number,
  viewer: string,
  since: number,
  before?: { sessionId: string; openedAt: number; seq: number },
): number {
  const b = before ?? { sessionId: '', openedAt: Number.MAX_SAFE_INTEGER, seq: 0 };
  return (
    stmt(
      db,
      `SELECT count(*) AS n FROM viewer_sessions
        WHERE user_id = ? AND viewer = ? AND closed_at IS NULL AND stopped_at IS NULL AND last_seen_at >= ? AND session_id <> ?
          AND (opened_at < ? OR (opened_at = ? AND rowid < ?))`,
    ).get(userId, viewer, since, b.sessionId, b.openedAt, b.openedAt, b.seq) as { n: number }
  ).n;
}

/** Marks a viewer's `count` oldest counted sessions on a channel stopped (evicted); returns their ids. */
export function stopOldestViewerSessions(
  db: Db,
  userId: number,
  viewer: string,
  since: number,
  count: number,
  except: string,
  now: number,
): string[] {
  const ids = (
    stmt(
      db,
      `SELECT session_id AS id FROM viewer_sessions
        WHERE user_id = ? AND viewer = ? AND closed_at IS NULL AND stopped_at IS NULL AND last_seen_at >= ? AND session_id <> ?
        ORDER BY opened_at, rowid LIMIT ?`,
    ).all(userId, viewer, since, except, count) as { id: string }[]
  ).map((r) => r.id);
  for (const id of ids) stmt(db, 'UPDATE viewer_sessions SET stopped_at = ? WHERE session_id = ?').run(now, id);
  return ids;
}

/** A session streamctl asks MistServer to stop or re-check. */
export interface SessionRef {
  sessionId: string;
  userId: number;
  stream: string;
}

/** Marks the open sessions a token (by jti) admitted stopped; returns them (to stop on MistServer). */
export function stopSessionsOfToken(db: Db, jti: string, now: number): SessionRef[] {
  const rows = stmt(
    db,
    'SELECT session_id AS sessionId, user_id AS userId, stream FROM viewer_sessions WHERE jti = ? AND closed_at IS NULL AND stopped_at IS NULL',
  ).all(jti) as SessionRef[];
  for (const r of rows) stmt(db, 'UPDATE viewer_sessions SET stopped_at = ? WHERE session_id = ?').run(now, r.sessionId);
  return rows;
}

/** The latest exp among the sessions a token admitted (what a revocation must outlive), or null. */
export function tokenExpOfJti(db: Db, jti: string): number | null {
  return (stmt(db, 'SELECT max(token_exp) AS exp FROM viewer_sessions WHERE jti = ?').get(jti) as { exp: number | null }).exp;
}

/**
 * Open sessions whose token expired at `now` that MistServer has not re-checked for it yet, seen
 * since `since` (older ones are stale).
 */
export function expiredSessions(db: Db, now: number, since: number): SessionRef[] {
  return stmt(
    db,
    `SELECT session_id AS sessionId, user_id AS userId, stream FROM viewer_sessions
      WHERE closed_at IS NULL AND token_exp IS NOT NULL AND token_exp <= ? AND expiry_checked_at IS NULL AND stopped_at IS NULL AND last_seen_at >= ?
      ORDER BY stream`,
  ).all(now, since) as SessionRef[];
}

/** Marks sessions re-checked for their expired token (MistServer confirmed the re-check). */
export function markExpiryChecked(db: Db, sessionIds: readonly string[], now: number): void {
  db.transaction(() => {
    for (const id of sessionIds) stmt(db, 'UPDATE viewer_sessions SET expiry_checked_at = ? WHERE session_id = ?').run(now, id);
  }).immediate();
}

/** A channel's open sessions for `status`: admitted with a token, whose token expired, stopped by streamctl. */
export function tokenSessionCounts(
  db: Db,
  userId: number,
  now: number,
  since: number,
): { withToken: number; expired: number; stopped: number } {
  return stmt(
    db,
    `SELECT count(token_exp) AS withToken, coalesce(sum(token_exp <= ?), 0) AS expired, count(stopped_at) AS stopped
       FROM viewer_sessions WHERE user_id = ? AND closed_at IS NULL AND last_seen_at >= ?`,
  ).get(now, userId, since) as { withToken: number; expired: number; stopped: number };
}

/** The channel and stream of an open session, whatever became of that stream since (a deleted recording). */
export function openSessionOf(db: Db, sessionId: string): { userId: number; stream: string } | undefined {
  return stmt(db, 'SELECT user_id AS userId, stream FROM viewer_sessions WHERE session_id = ? AND closed_at IS NULL').get(sessionId) as
    | { userId: number; stream: string }
    | undefined;
}

/** Channels that have open sessions (re-check targets for a global ban). */
export function channelsWithOpenSessions(db: Db): number[] {
  return (stmt(db, 'SELECT DISTINCT user_id AS id FROM viewer_sessions WHERE closed_at IS NULL').all() as { id: number }[]).map(
    (r) => r.id,
  );
}

/**
 * USER_END fires this long after a viewing stops (MistServer's session timeout; 16-20 s in the
 * captures): used to estimate when a viewing began when USER_NEW left no row.
 */
export const USER_END_DELAY_MS = 18_000;

export interface SessionEndInput {
  sessionId: string;
  userId: number;
  /** A live channel stream (`<base>+<user>`) rather than a recording. */
  live: boolean;
  stream: string;
  at: number;
  seconds: number;
  bytesUp: number;
  bytesDown: number;
  ip: string | null;
  connector: string | null;
  eventId: string;
}

/**
 * Stores a viewer session end and folds it into viewer_sessions (creating a closed row when
 * USER_NEW never ran): closed_at is the newest end, seconds and bytes the sums over all ends.
 * Returns false when this end was already stored.
 */
export function recordSessionEnd(db: Db, e: SessionEndInput): boolean {
  const row = stmt(db, 'SELECT opened_at, closed_at FROM viewer_sessions WHERE session_id = ?').get(e.sessionId) as
    | { opened_at: number; closed_at: number | null }
    | undefined;
  // USER_NEW's opened_at is exact while the row is open; a re-used session id starts a new viewing.
  const startedAt = row && row.closed_at === null && row.opened_at <= e.at ? row.opened_at : e.at - USER_END_DELAY_MS - e.seconds * 1000;
  const inserted =
    stmt(
      db,
      `INSERT INTO session_ends (session_id, user_id, live, stream, started_at, at, seconds, bytes_up, bytes_down, event_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    ).run(e.sessionId, e.userId, e.live ? 1 : 0, e.stream, startedAt, e.at, e.seconds, e.bytesUp, e.bytesDown, e.eventId).changes === 1;
  if (!inserted) return false;
  const broadcastId = e.live ? (broadcastForViewing(db, e.userId, startedAt, e.at) ?? null) : null;
  stmt(
    db,
    `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, ip, connector, opened_at, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO NOTHING`,
  ).run(e.sessionId, e.userId, broadcastId, e.stream, e.ip, e.connector, startedAt, e.at);
  stmt(
    db,
    `UPDATE viewer_sessions SET
       closed_at = t.last_end, seconds = t.seconds, bytes_up = t.bytes_up, bytes_down = t.bytes_down,
       last_seen_at = max(last_seen_at, t.last_end), broadcast_id = coalesce(broadcast_id, ?)
     FROM (SELECT max(at) AS last_end, sum(seconds) AS seconds, sum(bytes_up) AS bytes_up, sum(bytes_down) AS bytes_down
             FROM session_ends WHERE session_id = ?) AS t
     WHERE session_id = ?`,
  ).run(broadcastId, e.sessionId, e.sessionId);
  return true;
}
