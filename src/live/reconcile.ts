// `status --reconcile`: closes the broadcasts of channels MistServer no longer has (their EMPTY was
// lost), as a LOST buffer event, so live status and the site's hook catch up.
import { latestBroadcast, liveChannels } from '../store/broadcasts';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { firstStreamEndSince } from '../store/stream-ends';
import { applyBufferEvent, notifyTransition } from './live-transition';
import { channelForStream } from './stream-channel';

/** A broadcast that started this recently is left open: MistServer may not list its stream yet. */
const RECONCILE_GRACE_MS = 30_000;

/** A broadcast reconcile closed. */
export interface ClosedBroadcast {
  userName: string;
  broadcastId: number;
  endedAt: number;
}

/**
 * Closes every open broadcast whose stream is not among `activeStreams` (MistServer's list, asked
 * at `askedAt`); `log` gets hook failures. Returns what it closed.
 */
export function closeVanishedBroadcasts(
  db: Db,
  activeStreams: readonly string[],
  askedAt: number,
  now: () => number,
  log: (line: string) => void,
): ClosedBroadcast[] {
  const base = getSetting(db, 'stream-base');
  const activeUsers = new Set<number>();
  for (const name of activeStreams) {
    const channel = channelForStream(db, name, base);
    if (channel && channel.kind === 'live') activeUsers.add(channel.userId);
  }
  const closed: ClosedBroadcast[] = [];
  for (const { userId, userName } of liveChannels(db)) {
    if (activeUsers.has(userId)) continue;
    const open = latestBroadcast(db, userId);
    if (!open || open.endedAt !== null || open.startedAt > askedAt - RECONCILE_GRACE_MS) continue;
    // A STREAM_END already reported dates the end better than the time we noticed it.
    const at = firstStreamEndSince(db, userId, open.startedAt) ?? now();
    const t = applyBufferEvent(
      db,
      { userId, at, state: 'LOST', issues: null, health: null, eventId: '' },
      { userName, stream: `${base}+${userName}`, now: now() },
    );
    notifyTransition(db, t, { userId, userName, stream: `${base}+${userName}`, at }, log);
    closed.push({ userName, broadcastId: open.id, endedAt: at });
  }
  return closed;
}
