// Broadcasts: one row per time a channel was live. ended_at is NULL while live.
import type { Db } from './open';

export interface Broadcast {
  id: number;
  userId: number;
  startedAt: number;
  endedAt: number | null;
}

interface BroadcastRow {
  id: number;
  user_id: number;
  started_at: number;
  ended_at: number | null;
}

function toBroadcast(r: BroadcastRow): Broadcast {
  return { id: r.id, userId: r.user_id, startedAt: r.started_at, endedAt: r.ended_at };
}

/** The channel's broadcast that is live now, if any. */
export function findOpenBroadcast(db: Db, userId: number): Broadcast | undefined {
  const r = db.prepare('SELECT id, user_id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND ended_at IS NULL').get(userId) as
    | BroadcastRow
    | undefined;
  return r && toBroadcast(r);
}

/** The broadcast that was live at time `at` (open or closed), if any: links late events to it. */
export function findBroadcastAt(db: Db, userId: number, at: number): Broadcast | undefined {
  const r = db
    .prepare(
      `SELECT id, user_id, started_at, ended_at FROM broadcasts
        WHERE user_id = ? AND started_at <= ? AND (ended_at IS NULL OR ended_at >= ?)
        ORDER BY started_at DESC LIMIT 1`,
    )
    .get(userId, at, at) as BroadcastRow | undefined;
  return r && toBroadcast(r);
}
