// Viewer session ends from the edges: an edge's USER_END appends the session's totals to
// the list sc:ends on the origin's primary; the origin's relay reads them in order, stores each as
// the one-box USER_END does (session_ends, viewer_sessions: deduplicated, so a replay is harmless),
// and only then trims what it stored. Loaded by the edge's USER_END bundle too: imports only the
// key layout (no SQLite).
import type { RedisClient } from '../lib/resp';
import { keys, type SessionEndValue } from './schema';

/** What an edge appends for one USER_END (its parsed event, never the token line). */
export function sessionEndCommand(value: SessionEndValue): (string | number)[] {
  return ['RPUSH', keys.sessionEnds, JSON.stringify(value)];
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isShortString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length <= max;

/** One list entry, checked field by field (an edge is another machine); null when it is not one. */
export function readSessionEnd(text: string): SessionEndValue | null {
  let v: Partial<Record<keyof SessionEndValue, unknown>>;
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const ok =
    Array.isArray(v.streams) &&
    v.streams.length <= 64 &&
    v.streams.every((s) => isShortString(s, 512)) &&
    Array.isArray(v.streamSeconds) &&
    v.streamSeconds.every(isCount) &&
    (v.connector === null || isShortString(v.connector, 64)) &&
    (v.host === null || isShortString(v.host, 128)) &&
    isCount(v.seconds) &&
    isCount(v.bytesUp) &&
    isCount(v.bytesDown) &&
    typeof v.sessionId === 'string' &&
    /^[0-9A-Za-z]{1,128}$/.test(v.sessionId) &&
    isCount(v.time) &&
    isShortString(v.eventId, 128);
  return ok ? (v as SessionEndValue) : null;
}

/** Trims the first `count` entries only if the last of them is still at that place (another relay did not trim first). */
export const TRIM_IF_UNCHANGED = `if redis.call('LINDEX', KEYS[1], tonumber(ARGV[1]) - 1) == ARGV[2] then redis.call('LTRIM', KEYS[1], tonumber(ARGV[1]), -1) return 1 end return 0`;

/** Entries stored per round: one round holds the SQLite write lock briefly per entry. */
export const ENDS_BATCH = 200;

/**
 * Stores the oldest entries of sc:ends with `store` (which must be idempotent and throw when it
 * could not store), then removes them from the list. Returns how many were read (0: the list is
 * empty). A crash or a failure before the trim leaves them for the next round.
 */
export async function drainSessionEnds(client: RedisClient, store: (entries: string[]) => void, max = ENDS_BATCH): Promise<number> {
  const entries = (await client.call('LRANGE', keys.sessionEnds, 0, max - 1)) as string[];
  if (entries.length === 0) return 0;
  store(entries);
  await client.call('EVAL', TRIM_IF_UNCHANGED, 1, keys.sessionEnds, entries.length, entries[entries.length - 1]!);
  return entries.length;
}
