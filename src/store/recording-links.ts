// Recordings and broadcasts arrive from different MistServer processes (RECORDING_END from the
// recorder, STREAM_BUFFER from the buffer), both asynchronous: a short push can have its recording
// catalogued before the STREAM_BUFFER FULL that opens its broadcast is stored. Whichever comes
// second links the two.
import { findBroadcastForRecording } from './broadcasts';
import type { Db } from './open';
import { stmt } from './statements';

/** How far back a new broadcast looks for recordings still waiting for one. */
const LOOKBACK_MS = 24 * 3_600_000;

/**
 * Links the channel's recordings that have no broadcast yet and started after `at - LOOKBACK_MS`
 * to the broadcast they belong to, if there is one now. Returns how many were linked.
 */
export function linkWaitingRecordings(db: Db, userId: number, at: number): number {
  const waiting = stmt(
    db,
    'SELECT id, started_at AS startedAt, ended_at AS endedAt FROM recordings WHERE user_id = ? AND started_at >= ? AND broadcast_id IS NULL',
  ).all(userId, at - LOOKBACK_MS) as { id: string; startedAt: number; endedAt: number }[];
  const link = stmt(db, 'UPDATE recordings SET broadcast_id = ? WHERE id = ? AND broadcast_id IS NULL');
  let linked = 0;
  for (const r of waiting) {
    const b = findBroadcastForRecording(db, userId, r.startedAt, r.endedAt);
    if (b) linked += link.run(b.id, r.id).changes;
  }
  return linked;
}
