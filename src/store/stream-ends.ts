// STREAM_END facts: MistServer's totals for a stream that ended, append-only and deduplicated.
import type { Db } from './open';
import { stmt } from './statements';

export interface StreamEndInput {
  userId: number;
  at: number;
  bytesDown: number;
  bytesUp: number;
  viewers: number;
  inputs: number;
  outputs: number;
  viewerSeconds: number;
  eventId: string;
}

/** Stores MistServer's totals for a stream that ended; false when already stored. */
export function recordStreamEnd(db: Db, e: StreamEndInput): boolean {
  return (
    stmt(
      db,
      `INSERT INTO stream_ends (user_id, at, bytes_down, bytes_up, viewers, inputs, outputs, viewer_seconds, event_id)
         VALUES (@userId, @at, @bytesDown, @bytesUp, @viewers, @inputs, @outputs, @viewerSeconds, @eventId) ON CONFLICT DO NOTHING`,
    ).run(e).changes === 1
  );
}

/** The first STREAM_END a channel had at or after `at`: lets reconcile date an end MistServer already reported. */
export function firstStreamEndSince(db: Db, userId: number, at: number): number | undefined {
  return (
    (stmt(db, 'SELECT min(at) AS at FROM stream_ends WHERE user_id = ? AND at >= ?').get(userId, at) as { at: number | null }).at ??
    undefined
  );
}
