// USER_END on an edge: the session is over. Two writes on the origin's primary, in one round trip:
// its totals appended to `sc:ends` (the origin's relay stores them in viewer_sessions, as the
// one-box USER_END does: watch time and viewers per broadcast), and its viewer-cap places freed.
// Without stream-base (USER_END need not read the replica), every plausible channel name is freed:
// deleting a field a session never held is a no-op.
import { canonicalName, nameProblem } from '../lib/names';
import { parseRecordingId } from '../recordings/recording-id';
import { keys, type SessionEndValue } from '../replica/schema';
import type { EdgeRedis } from './admit';
import { stringOrNil } from './replicated';
import { withinBudget } from './viewer-cap';

/** Channel names a stream may belong to, and the recording ids among them (looked up via sc:vod). */
function candidates(streams: readonly string[]): { names: Set<string>; recordings: string[] } {
  const names = new Set<string>();
  const recordings = new Set<string>();
  for (const stream of streams) {
    const plus = stream.indexOf('+');
    if (plus < 0) continue;
    const rest = stream.slice(plus + 1);
    const live = canonicalName(rest);
    if (nameProblem(live) === null) names.add(live);
    const id = parseRecordingId(rest);
    if (id !== null) recordings.add(id);
  }
  return { names, recordings: [...recordings] };
}

/**
 * Hands the ended session to the origin and frees its places; resolves to how many places were
 * freed. Throws on any Redis error or past `timeoutMs` (the caller logs it: USER_END is informative).
 */
export async function endSessionOnPrimary(redis: EdgeRedis, end: SessionEndValue, timeoutMs: number): Promise<number> {
  const { names, recordings } = candidates(end.streams);
  return withinBudget(
    (async () => {
      const primary = await redis.primary(timeoutMs);
      // The primary holds the replicated keys too: a recording's channel is looked up there.
      const owners = recordings.length ? await primary.pipeline(recordings.map((id) => ['GET', keys.vod(id)])) : [];
      owners.forEach((reply, i) => {
        const owner = stringOrNil(keys.vod(recordings[i]!), reply);
        if (owner !== null) names.add(owner);
      });
      const channels = [...names];
      const replies = await primary.pipeline([['RPUSH', keys.sessionEnds, JSON.stringify(end)], ...channels.map((c) => ['HDEL', keys.cap(c), end.sessionId])]);
      let freed = 0;
      for (const r of replies) {
        if (r instanceof Error) throw r;
      }
      for (const r of replies.slice(1)) freed += typeof r === 'number' ? r : 0;
      return freed;
    })(),
    timeoutMs,
    'ending the session on the primary',
  );
}
