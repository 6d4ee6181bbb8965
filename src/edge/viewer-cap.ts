// The viewer cap and viewer-sessions across the origin and its edges: hashes on the origin's Redis
// primary (never a replica: every box must count the same places), one Lua call that counts and
// claims atomically, so two boxes never both take the last place. The origin's own USER_NEW claims
// here too: one count per channel wherever the viewer lands. USER_END frees the places;
// a place not seen for viewer-session-stale (a lost USER_END) stops counting and is removed.
import type { RedisClient } from '../lib/resp';
import { keys } from '../replica/schema';

/**
 * One admission's claim on the primary, atomically: the viewer cap (hash sc:cap:<name>) and the
 * viewer's sessions under viewer-sessions (hash sc:vs:<name>:<viewer>). Field = MistServer's session
 * id, value = "<opened>:<seen>" (unix ms, the primary's clock; a bare number from before viewer-sessions
 * is both), or "x:<seen>" in the viewer's hash for a session streamctl evicted (refused until
 * its USER_END frees the field: the same token at the same address is the same screen). Places are ordered by when they were opened: a re-check keeps its place, so lowering a
 * cap or a limit keeps the earliest and drops the newest, as on one box. A place not seen for
 * viewer-session-stale (a lost USER_END) is removed.
 * KEYS: cap hash, viewer hash, sc:sess:<sid> (which hashes to free on USER_END), sc:evict.
 * ARGV: session id, stale ms, cap (-1: none), limit (-1: none), evict-oldest (1/0), re-check (1/0),
 * channel name, viewer id.
 * Returns {1, evicted session ids...} (admitted) or {0, rule} (refused: viewer-cap, viewer-sessions).
 */
export const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local sid = ARGV[1]
local stale, cap, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local evictOldest, recheck = ARGV[5] == '1', ARGV[6] == '1'
local function read(key)
  local all = redis.call('HGETALL', key)
  local live, stopped = {}, {}
  for i = 1, #all, 2 do
    local f, v = all[i], all[i + 1]
    local opened, seen, mark
    if string.sub(v, 1, 2) == 'x:' then mark = true; seen = tonumber(string.sub(v, 3))
    else
      local a, b = string.match(v, '^(%d+):(%d+)$')
      if a then opened, seen = tonumber(a), tonumber(b) else opened = tonumber(v); seen = opened end
    end
    if seen == nil or seen <= now - stale or (not mark and opened == nil) then redis.call('HDEL', key, f)
    elseif mark then stopped[f] = true
    else live[#live + 1] = { f, opened } end
  end
  table.sort(live, function(p, q) if p[2] ~= q[2] then return p[2] < q[2] end return p[1] < q[1] end)
  return live, stopped
end
local function place(live)
  for i, e in ipairs(live) do if e[1] == sid then return i end end
  return nil
end
local function drop() redis.call('HDEL', KEYS[1], sid) if limit >= 0 then redis.call('HDEL', KEYS[2], sid) end end
local evicted, opened = {}, now
if limit >= 0 then
  local live, stopped = read(KEYS[2])
  if stopped[sid] then return { 0, 'viewer-sessions' } end
  local i = place(live)
  if i then opened = live[i][2] end
  local ahead = i and (i - 1) or #live
  if ahead >= limit then
    if not evictOldest or recheck then drop() return { 0, 'viewer-sessions' } end
    for k = 1, ahead - limit + 1 do evicted[#evicted + 1] = live[k][1] end
  end
end
if cap >= 0 then
  local live = read(KEYS[1])
  local j = place(live)
  if j then opened = math.min(opened, live[j][2]) end
  local ahead = j and (j - 1) or #live
  for _, e in ipairs(evicted) do
    for k = 1, (j and (j - 1) or #live) do if live[k][1] == e then ahead = ahead - 1 end end
  end
  if ahead >= cap then drop() return { 0, 'viewer-cap' } end
end
for _, e in ipairs(evicted) do
  redis.call('HSET', KEYS[2], e, 'x:' .. now)
  redis.call('HDEL', KEYS[1], e)
  redis.call('RPUSH', KEYS[4], e)
end
if #evicted > 0 then redis.call('LTRIM', KEYS[4], -1000, -1) end
local value = opened .. ':' .. now
if cap >= 0 then redis.call('HSET', KEYS[1], sid, value) end
if limit >= 0 then redis.call('HSET', KEYS[2], sid, value) end
redis.call('SET', KEYS[3], ARGV[7] .. '\\n' .. ARGV[8], 'PX', stale)
local out = { 1 }
for _, e in ipairs(evicted) do out[#out + 1] = e end
return out
`;

/** What one admission claims on the primary. */
export interface Claim {
  channel: string;
  sessionId: string;
  /** The viewer cap, or null. */
  cap: number | null;
  /** viewer-sessions for this viewer (null: unlimited, or an anonymous viewer). */
  limit: number | null;
  viewer: string | null;
  evictOldest: boolean;
  /** A 6-line USER_NEW (MistServer re-checking a session it admitted). */
  recheck: boolean;
  staleMs: number;
}

/** The primary's verdict: admitted (with the sessions evicted for it), or refused by a rule. */
export type ClaimResult = { admitted: true; evicted: string[] } | { admitted: false; rule: 'viewer-cap' | 'viewer-sessions' };

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

/** Claims (or refreshes) the session's places under the cap and viewer-sessions. Throws on any unexpected reply. */
export async function claimPlaces(primary: RedisClient, c: Claim): Promise<ClaimResult> {
  const viewer = c.viewer ?? '';
  const reply = await primary.call(
    'EVAL',
    CLAIM_SCRIPT,
    4,
    keys.cap(c.channel),
    keys.viewerSessions(c.channel, viewer),
    keys.session(c.sessionId),
    keys.evict,
    c.sessionId,
    c.staleMs,
    c.cap ?? -1,
    c.limit !== null && c.viewer !== null ? c.limit : -1,
    c.evictOldest ? 1 : 0,
    c.recheck ? 1 : 0,
    c.channel,
    viewer,
  );
  if (Array.isArray(reply) && reply[0] === 1 && reply.slice(1).every((e) => typeof e === 'string'))
    return { admitted: true, evicted: reply.slice(1) as string[] };
  if (Array.isArray(reply) && reply.length === 2 && reply[0] === 0 && (reply[1] === 'viewer-cap' || reply[1] === 'viewer-sessions'))
    return { admitted: false, rule: reply[1] };
  throw new Error(`the claim script answered ${JSON.stringify(reply).slice(0, 80)}`);
}

/** Reads which hashes a session holds places in (sc:sess:<sid>), for USER_END: [channel, viewer] or null. */
export function sessionPlacesOf(reply: unknown): [string, string] | null {
  if (typeof reply !== 'string') return null;
  const nl = reply.indexOf('\n');
  return nl < 0 ? null : [reply.slice(0, nl), reply.slice(nl + 1)];
}

/**
 * Frees the session's place on each channel it may hold one on (a no-op where it holds none), and
 * under viewer-sessions in the hash its admission named (`held`: from sc:sess:<sid>).
 */
export async function releasePlaces(
  primary: RedisClient,
  channels: readonly string[],
  sessionId: string,
  held: [string, string] | null = null,
): Promise<number> {
  const cmds: (string | number)[][] = channels.map((c) => ['HDEL', keys.cap(c), sessionId]);
  if (held) cmds.push(['HDEL', keys.cap(held[0]), sessionId], ['HDEL', keys.viewerSessions(held[0], held[1]), sessionId]);
  if (cmds.length === 0) return 0;
  cmds.push(['DEL', keys.session(sessionId)]);
  const replies = await primary.pipeline(cmds);
  let freed = 0;
  replies.forEach((r, i) => {
    if (r instanceof Error) throw r;
    if (i < replies.length - 1) freed += typeof r === 'number' ? r : 0; // the last is the DEL of sc:sess
  });
  return freed;
}
