// The viewer cap across edges: one hash per channel on the origin's Redis primary (never a
// replica: two edges must count the same places), field = MistServer's session id, value = last
// seen (unix ms, the primary's own clock, so edges' clocks do not matter). One Lua call counts and
// claims atomically, so two edges never both take the last place. USER_END frees the place; a
// place not seen for viewer-session-stale (a lost USER_END) stops counting and is removed.
import type { RedisClient } from '../lib/resp';
import { keys } from '../replica/schema';

/**
 * KEYS[1] = sc:cap:<name>; ARGV = session id, stale after (ms), cap. Returns 1 (admitted: the
 * session's place was refreshed or claimed) or 0 (full). A session that already has a place keeps
 * it on a re-check (MistServer re-checks open sessions, e.g. after invalidate_sessions).
 */
export const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local key, sid = KEYS[1], ARGV[1]
local stale, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('HEXISTS', key, sid) == 1 then
  redis.call('HSET', key, sid, now)
  return 1
end
local all = redis.call('HGETALL', key)
local live = 0
for i = 1, #all, 2 do
  local seen = tonumber(all[i + 1])
  if seen and seen > now - stale then live = live + 1 else redis.call('HDEL', key, all[i]) end
end
if live < cap then
  redis.call('HSET', key, sid, now)
  return 1
end
return 0
`;

/** Budget for claiming a place on the primary, connecting included: past it the viewer is refused. */
export const CAP_BUDGET_MS = 300;

/** Rejects with a message naming what timed out once `ms` have passed. */
export function withinBudget<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Claims (or refreshes) the session's place under the cap: true when admitted. */
export async function claimPlace(primary: RedisClient, channel: string, sessionId: string, cap: number, staleMs: number): Promise<boolean> {
  const reply = await primary.call('EVAL', CLAIM_SCRIPT, 1, keys.cap(channel), sessionId, staleMs, cap);
  if (reply !== 0 && reply !== 1) throw new Error(`the cap script answered ${JSON.stringify(reply)}`);
  return reply === 1;
}

/** Frees the session's place on each channel it may hold one on (a no-op where it holds none). */
export async function releasePlaces(primary: RedisClient, channels: readonly string[], sessionId: string): Promise<number> {
  if (channels.length === 0) return 0;
  const replies = await primary.pipeline(channels.map((c) => ['HDEL', keys.cap(c), sessionId]));
  let freed = 0;
  for (const r of replies) {
    if (r instanceof Error) throw r;
    freed += typeof r === 'number' ? r : 0;
  }
  return freed;
}
