// USER_END (asynchronous): a viewer session ended (15 s or more after its last activity).
// Real MistServer sends 12 lines, not the 8 its documentation lists (captures 01, 32c, 36):
//   line 1: session token (tkn; never stored or logged)
//   line 2: streams watched, comma-separated
//   line 3: connectors, comma-separated
//   line 4: client hosts, comma-separated
//   line 5: seconds active
//   line 6: bytes up (sent to the viewer)
//   line 7: bytes down (received from the viewer)
//   line 8: tags, e.g. [UA:curl/7.88.1]
//   line 9: seconds per host, comma-separated
//   line 10: seconds per connector, comma-separated
//   line 11: seconds per stream, comma-separated, in the order of line 2
//   line 12: session id (64 hex)
// Answer: ignored by MistServer; we print nothing.
import { openSessionOf, recordSessionEnd } from '../store/viewer-sessions';
import type { Db } from '../store/open';
import { getSetting } from '../store/settings';
import { writeWithRetry } from '../store/write-retry';
import { role } from '../config';
import { normaliseIp } from './payload';
import { channelForStream, type StreamChannel } from '../live/stream-channel';
import { SILENT } from './answer';
import type { Trigger } from './types';
import { parseUserEnd, type UserEndEvent } from './user-end-payload';

export { parseUserEnd, type UserEndEvent } from './user-end-payload';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'USER_END';

/** Asynchronous: nobody waits, but a stuck primary must not keep the process forever. */
const USER_END_PRIMARY_TIMEOUT_MS = 2000;

/** The channel stream the session spent most time on (a session is normally one stream). */
function watchedChannel(db: Db, event: UserEndEvent): { channel: Pick<StreamChannel, 'userId' | 'userName' | 'kind'>; stream: string } | null {
  const base = getSetting(db, 'stream-base');
  let best: { channel: StreamChannel; stream: string; seconds: number } | null = null;
  for (const [i, stream] of event.streams.entries()) {
    const seconds = event.streamSeconds[i] ?? 0;
    if (best && seconds <= best.seconds) continue;
    const channel = channelForStream(db, stream, base);
    if (channel) best = { channel, stream, seconds };
  }
  if (best) return best;
  // No stream resolves any more (a recording deleted while watched): the session USER_NEW opened
  // still holds its place under the viewer cap, so it is closed by its id (issue 20.8).
  const open = openSessionOf(db, event.sessionId);
  if (!open) return null;
  const live = open.stream.toLowerCase().startsWith(`${base}+`);
  return { channel: { userId: open.userId, userName: `#${open.userId}`, kind: live ? 'live' : 'vod' }, stream: open.stream };
}

const userEnd: Trigger<UserEndEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseUserEnd,
  decide(event, ctx) {
    const { db } = ctx;
    // An origin with edges counts viewer caps and viewer-sessions on the Redis primary (issue 20.8):
    // the session's places are freed there, whatever became of its stream.
    if (role() === 'origin' && ctx.background) {
      ctx.background(
        (async () => {
          const { releaseSessionPlaces } = await import('../edge/release');
          const { primaryFromConfig } = await import('../edge/primary');
          const freed = await releaseSessionPlaces(primaryFromConfig(ctx.log), event.streams, event.sessionId, USER_END_PRIMARY_TIMEOUT_MS);
          if (freed > 0) ctx.debug(`freed ${freed} place(s) of session ${event.sessionId.slice(0, 12)} on the Redis primary`);
        })(),
      );
    }
    const watched = watchedChannel(db, event);
    if (!watched) {
      ctx.debug(`ignoring ${TRIGGER} for ${JSON.stringify(event.streams.join(',').slice(0, 80))}: not a channel stream`);
      return SILENT;
    }
    const { channel, stream } = watched;
    const stored = writeWithRetry(db, () =>
      recordSessionEnd(db, {
        sessionId: event.sessionId,
        userId: channel.userId,
        live: channel.kind === 'live',
        stream,
        at: ctx.eventTime,
        seconds: event.seconds,
        bytesUp: event.bytesUp,
        bytesDown: event.bytesDown,
        ip: event.host === null ? null : normaliseIp(event.host),
        connector: event.connector,
        eventId: ctx.eventId,
      }),
    );
    if (!stored) ctx.debug(`repeated ${TRIGGER} for a session of ${channel.userName} ignored`);
    return SILENT;
  },
};

export default userEnd;
