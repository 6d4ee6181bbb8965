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
import { storeSessionEnd } from '../live/session-end';
import { role } from '../config';
import { SILENT } from './answer';
import { shownStream } from './log-text';
import type { Trigger } from './types';
import { parseUserEnd, type UserEndEvent } from './user-end-payload';

export { parseUserEnd, type UserEndEvent } from './user-end-payload';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'USER_END';

/** Asynchronous: nobody waits, but a stuck primary must not keep the process forever. */
const USER_END_PRIMARY_TIMEOUT_MS = 2000;

const userEnd: Trigger<UserEndEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseUserEnd,
  decide(event, ctx) {
    // An origin with edges counts viewer caps and viewer-sessions on the Redis primary:
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
    const outcome = storeSessionEnd(ctx.db, event, ctx.eventTime, ctx.eventId);
    if (outcome.channel === null) ctx.debug(`ignoring ${TRIGGER} for ${shownStream(event.streams.join(','))}: not a channel stream`);
    else if (!outcome.stored) ctx.debug(`repeated ${TRIGGER} for a session of ${outcome.channel.userName} ignored`);
    return SILENT;
  },
};

export default userEnd;
