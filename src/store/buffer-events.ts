// STREAM_BUFFER facts (and reconcile's LOST): append-only, deduplicated by MIST_TUUID and a
// natural key; the channel's live state is its newest buffer event.
import type { Db } from './open';
import { stmt } from './statements';

/** A STREAM_BUFFER state, or LOST: reconcile found the stream gone without an EMPTY. */
export type BufferState = 'FULL' | 'DRY' | 'RECOVER' | 'EMPTY' | 'LOST';

/** The channel state shown to operators and the site. */
export type LiveState = 'live' | 'unstable' | 'offline';

/** Same-millisecond events sort live before end, so the end wins ties. */
const RANK = `CASE state WHEN 'FULL' THEN 0 WHEN 'DRY' THEN 1 WHEN 'RECOVER' THEN 1 WHEN 'EMPTY' THEN 2 ELSE 3 END`;
/** Oldest first, ends after live events at the same millisecond (broadcasts.ts rebuilds in this order). */
export const ORDER = `at, ${RANK}`;
const NEWEST_FIRST = `at DESC, ${RANK} DESC`;

/** EMPTY and LOST end a broadcast. */
export const isEnd = (state: BufferState) => state === 'EMPTY' || state === 'LOST';

/** The state a buffer event puts a channel in. */
export function stateAfter(state: BufferState | undefined): LiveState {
  if (state === undefined || isEnd(state)) return 'offline';
  return state === 'DRY' ? 'unstable' : 'live';
}

export interface BufferEventInput {
  userId: number;
  at: number;
  state: BufferState;
  issues: string | null;
  /** Parsed health summary as JSON text, or null (EMPTY, LOST, malformed JSON). */
  health: string | null;
  eventId: string;
}

/** Stores a buffer event; false when it was already stored (same event id or same user/time/state). */
export function recordBufferEvent(db: Db, e: BufferEventInput): boolean {
  return (
    stmt(
      db,
      `INSERT INTO buffer_events (user_id, at, state, issues, health, event_id) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
    ).run(e.userId, e.at, e.state, e.issues, e.health, e.eventId).changes === 1
  );
}

/** The newest buffer event of a channel, which decides its current state. */
export function latestBufferEvent(db: Db, userId: number): { at: number; state: BufferState; issues: string | null } | undefined {
  return stmt(db, `SELECT at, state, issues FROM buffer_events WHERE user_id = ? ORDER BY ${NEWEST_FIRST} LIMIT 1`).get(userId) as
    | { at: number; state: BufferState; issues: string | null }
    | undefined;
}

/** The newest health summary of a channel (JSON text) and when it was reported. */
export function latestHealth(db: Db, userId: number): { at: number; health: string } | undefined {
  return stmt(db, 'SELECT at, health FROM buffer_events WHERE user_id = ? AND health IS NOT NULL ORDER BY at DESC LIMIT 1').get(userId) as
    | { at: number; health: string }
    | undefined;
}

/**
 * Whether a MistServer has run STREAM_BUFFER against this database: a buffer event, or a
 * broadcast in the event log (it outlives a removed user's buffer events).
 */
export function hasSeenStreamBuffer(db: Db): boolean {
  return (
    (
      stmt(db, "SELECT EXISTS (SELECT 1 FROM buffer_events) OR EXISTS (SELECT 1 FROM events WHERE kind = 'broadcast') AS seen").get() as {
        seen: number;
      }
    ).seen === 1
  );
}
