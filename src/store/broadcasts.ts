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

/**
 * How far apart a recording and a broadcast with no time in common may be and still belong
 * together: a push too short to reach STREAM_BUFFER FULL is recorded all the same.
 */
const RECORDING_SLACK_MS = 10_000;

/**
 * The broadcast a recording of [startedAt, endedAt] belongs to: the one it shares the most time
 * with, else the nearest within RECORDING_SLACK_MS. The recorder starts when the push does
 * (PUSH_OUT_START), seconds before the broadcast opens at STREAM_BUFFER FULL, and may stop after
 * the EMPTY that closed it, so neither its start, middle nor end alone is a reliable moment.
 */
export function findBroadcastForRecording(db: Db, userId: number, startedAt: number, endedAt: number): Broadcast | undefined {
  // Broadcasts of a channel never overlap, so the few newest that start before the recording ends
  // are the only candidates (no scan of a long history).
  const rows = db
    .prepare('SELECT id, user_id, started_at, ended_at FROM broadcasts WHERE user_id = ? AND started_at <= ? ORDER BY started_at DESC LIMIT 4')
    .all(userId, endedAt + RECORDING_SLACK_MS) as BroadcastRow[];
  let best: BroadcastRow | undefined;
  let bestScore = -RECORDING_SLACK_MS - 1;
  for (const r of rows) {
    // Positive: time in common; negative: the gap between them. Newest first wins a tie.
    const score = Math.min(endedAt, r.ended_at ?? Number.MAX_SAFE_INTEGER) - Math.max(startedAt, r.started_at);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best && toBroadcast(best);
}
