// USER_END on an edge (and on the origin): which channels a finished session may hold a viewer-cap
// or viewer-sessions place on, and freeing them on the origin's primary. Without stream-base (USER_END need not read the replica),
// every plausible channel name is freed: deleting a field a session never held is a no-op.
import { parseStreamName } from '../live/stream-name';
import { keys } from '../replica/schema';
import type { EdgeRedis } from './edge-redis';
import { stringOrNil } from './replicated';
import { releasePlaces, sessionPlacesOf, withinBudget } from './viewer-cap';

/** Frees the session's places for the streams it watched; resolves to how many were freed. */
export async function releaseSessionPlaces(
  redis: Pick<EdgeRedis, 'primary'>,
  streams: readonly string[],
  sessionId: string,
  timeoutMs: number,
): Promise<number> {
  const names = new Set<string>();
  const recordings = new Set<string>();
  for (const stream of streams) {
    const name = parseStreamName(stream);
    if (name?.channel) names.add(name.channel);
    if (name?.recordingId) recordings.add(name.recordingId);
  }
  return withinBudget(
    (async () => {
      const primary = await redis.primary(timeoutMs);
      // The primary holds the replicated keys too: a recording's channel is looked up there. Which
      // places the admission claimed is kept beside them (sc:sess:<sid>): a recording deleted before
      // its viewer's USER_END still has its place freed.
      const ids = [...recordings];
      const replies = await primary.pipeline([['GET', keys.session(sessionId)], ...ids.map((id) => ['GET', keys.vod(id)])]);
      const held = sessionPlacesOf(stringOrNil(keys.session(sessionId), replies[0]));
      replies.slice(1).forEach((reply, i) => {
        const owner = stringOrNil(keys.vod(ids[i]!), reply);
        if (owner !== null) names.add(owner);
      });
      return releasePlaces(primary, [...names], sessionId, held);
    })(),
    timeoutMs,
    'freeing the viewer-cap place on the primary',
  );
}
