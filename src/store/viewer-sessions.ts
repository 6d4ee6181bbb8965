// Viewer sessions: opened by USER_NEW, closed by USER_END (which may arrive late, twice, or
// without a matching USER_NEW).
import type { Db } from './open';

export interface ViewerSessionOpen {
  sessionId: string;
  userId: number;
  broadcastId: number | null;
  stream: string;
  viewer: string | null;
  ip: string | null;
  connector: string | null;
  at: number;
}

/** Opens a session, or refreshes last_seen_at when MistServer re-checks one it already has. */
export function openViewerSession(db: Db, s: ViewerSessionOpen): void {
  db.prepare(
    `INSERT INTO viewer_sessions (session_id, user_id, broadcast_id, stream, viewer, ip, connector, opened_at, last_seen_at)
     VALUES (@sessionId, @userId, @broadcastId, @stream, @viewer, @ip, @connector, @at, @at)
     ON CONFLICT(session_id) DO UPDATE SET last_seen_at = max(last_seen_at, excluded.last_seen_at)`,
  ).run(s);
}

/** Open sessions of a channel seen since `since` (older open ones are treated as stale). */
export function countOpenSessions(db: Db, userId: number, since: number): number {
  return (
    db.prepare('SELECT count(*) AS n FROM viewer_sessions WHERE user_id = ? AND closed_at IS NULL AND last_seen_at >= ?').get(userId, since) as {
      n: number;
    }
  ).n;
}
