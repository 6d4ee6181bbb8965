// USER_END on an edge (asynchronous; registry EDGE_TRIGGERS): frees the session's place under the
// viewer cap on the origin's Redis primary (src/edge/viewer-cap.ts), and appends the session's
// totals to sc:ends there, which the origin's relay stores in viewer_sessions (src/replica/ends.ts),
// and deletes the session's token record (src/edge/token-expiry.ts). Answer: none.
import { edgeSessionsDir } from '../config';
import { releaseSessionPlaces } from '../edge/release';
import { forgetTokenSession } from '../edge/token-expiry';
import { oneLine } from '../lib/errors';
import { sessionEndCommand } from '../replica/ends';
import { SILENT } from './answer';
import type { EdgeTrigger } from './types';
import { parseUserEnd, type UserEndEvent } from './user-end-payload';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'USER_END';

/** Asynchronous: nobody waits, but a stuck primary must not keep the process forever. */
const USER_END_PRIMARY_TIMEOUT_MS = 2000;

const edgeUserEnd: EdgeTrigger<UserEndEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseUserEnd,
  decide(event, ctx) {
    // Its token's expiry no longer matters: `sessions expire` must not re-check its stream for it.
    try {
      const dir = edgeSessionsDir();
      if (dir !== undefined) forgetTokenSession(dir, event.sessionId);
    } catch (err) {
      ctx.log(`session ${event.sessionId.slice(0, 12)}'s token record not removed: ${oneLine(err)}`);
    }
    ctx.background?.(
      releaseSessionPlaces(ctx.redis, event.streams, event.sessionId, USER_END_PRIMARY_TIMEOUT_MS).then((freed) =>
        ctx.debug(
          freed > 0
            ? `freed the viewer-cap place of session ${event.sessionId.slice(0, 12)}`
            : `session ${event.sessionId.slice(0, 12)} held no viewer-cap place`,
        ),
      ),
    );
    ctx.background?.(
      ctx.redis
        .primary(USER_END_PRIMARY_TIMEOUT_MS)
        .then((primary) => primary.call(...sessionEndCommand({ ...event, time: ctx.eventTime, eventId: ctx.eventId })))
        .catch((err: Error) => ctx.log(`session ${event.sessionId.slice(0, 12)}'s totals not sent to the origin: ${err.message}`)),
    );
    return SILENT;
  },
};

export default edgeUserEnd;
