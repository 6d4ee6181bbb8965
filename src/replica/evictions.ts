// Sessions evicted under viewer-sessions (evict-oldest) on the Redis primary: the claim script
// appends each evicted session id to sc:evict (src/edge/viewer-cap.ts). The box that evicted stops
// it at once if it plays there; the origin's relay reads the list and asks every MistServer (each
// edge and the origin) to stop those sessions, since the oldest may play on any of them. A stop
// on a box that does not hold the session does nothing.
import type { RedisClient } from '../lib/resp';
import { TRIM_IF_UNCHANGED } from './ends';
import { keys } from './schema';

/** Session ids read per round. */
export const EVICTIONS_BATCH = 100;

/**
 * Hands the oldest evicted session ids to `stop` (which throws when it could not send them: they
 * stay), then removes them. Returns how many were read (0: nothing to stop).
 */
export async function drainEvictions(
  client: RedisClient,
  stop: (sessionIds: string[]) => Promise<void>,
  max = EVICTIONS_BATCH,
): Promise<number> {
  const ids = (await client.call('LRANGE', keys.evict, 0, max - 1)) as string[];
  if (!Array.isArray(ids) || ids.length === 0) return 0;
  await stop(ids.filter((id) => typeof id === 'string' && /^[0-9A-Za-z]{1,128}$/.test(id)));
  await client.call('EVAL', TRIM_IF_UNCHANGED, 1, keys.evict, ids.length, ids[ids.length - 1]!);
  return ids.length;
}
