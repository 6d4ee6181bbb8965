// Storing a finished viewer session, once for both paths: the one-box USER_END (triggers/user-end.ts)
// and the origin's relay folding the edges' session ends in (`streamctl edge relay`, cli/commands/edge.ts).
// Deduplicated by event id and session, so a replayed USER_END or a relay batch retried after a
// crash stores nothing twice.
import type { SessionTotals } from '../mist/session-totals';
import { normaliseIp } from '../lib/ip';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { openSessionOf, recordSessionEnd } from '../store/viewer-sessions';
import { findUserById } from '../store/users';
import { writeWithRetry } from '../store/write-retry';
import { channelForStream, type StreamChannel } from './stream-channel';

/** What became of a session end. */
export type SessionEndOutcome = { stored: boolean; channel: StreamChannel } | { stored: false; channel: null };

/** The channel stream the session spent most time on (a session is normally one stream). */
function watchedChannel(db: Db, totals: SessionTotals): { channel: StreamChannel; stream: string } | null {
  const base = getSetting(db, 'stream-base');
  let best: { channel: StreamChannel; stream: string; seconds: number } | null = null;
  for (const [i, stream] of totals.streams.entries()) {
    const seconds = totals.streamSeconds[i] ?? 0;
    if (best && seconds <= best.seconds) continue;
    const channel = channelForStream(db, stream, base);
    if (channel) best = { channel, stream, seconds };
  }
  if (best) return best;
  // No stream resolves any more (a recording deleted while watched): the session USER_NEW opened
  // still holds its place under the viewer cap, so it is closed by its id.
  const open = openSessionOf(db, totals.sessionId);
  const user = open ? findUserById(db, open.userId) : undefined;
  if (!open || !user) return null;
  const live = open.stream.toLowerCase().startsWith(`${base}+`);
  return {
    channel: { userId: user.id, userName: user.name, disabled: user.disabled, kind: live ? 'live' : 'vod' } as StreamChannel,
    stream: open.stream,
  };
}

/**
 * Stores the session against the channel it watched most, at `at` (MistServer's event time);
 * channel null when it watched no channel stream, stored false when it was stored before.
 */
export function storeSessionEnd(db: Db, totals: SessionTotals, at: number, eventId: string): SessionEndOutcome {
  const watched = watchedChannel(db, totals);
  if (!watched) return { stored: false, channel: null };
  const { channel, stream } = watched;
  const stored = writeWithRetry(db, () =>
    recordSessionEnd(db, {
      sessionId: totals.sessionId,
      userId: channel.userId,
      live: channel.kind === 'live',
      stream,
      at,
      seconds: totals.seconds,
      bytesUp: totals.bytesUp,
      bytesDown: totals.bytesDown,
      ip: totals.host === null ? null : normaliseIp(totals.host),
      connector: totals.connector,
      eventId,
    }),
  );
  return { stored, channel };
}
