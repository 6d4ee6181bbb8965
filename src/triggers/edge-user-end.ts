// USER_END on an edge (asynchronous; registry EDGE_TRIGGERS): hands the session's totals to the
// origin (`sc:ends` on its Redis primary; the relay stores them as the one-box USER_END would) and
// frees its place under the viewer cap there (src/edge/release.ts). Answer: none.
import { endSessionOnPrimary } from '../edge/release';
import type { SessionEndValue } from '../replica/schema';
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
    // Field by field, never the token (line 1): only what the one-box USER_END stores.
    const { streams, streamSeconds, connector, host, seconds, bytesUp, bytesDown, sessionId } = event;
    const end: SessionEndValue = { streams, streamSeconds, connector, host, seconds, bytesUp, bytesDown, sessionId, time: ctx.eventTime, eventId: ctx.eventId };
    ctx.background?.(
      endSessionOnPrimary(ctx.redis, end, USER_END_PRIMARY_TIMEOUT_MS).then((freed) =>
        ctx.debug(freed > 0 ? `freed the viewer-cap place of session ${event.sessionId.slice(0, 12)}` : `session ${event.sessionId.slice(0, 12)} held no viewer-cap place`),
      ),
    );
    return SILENT;
  },
};

export default edgeUserEnd;
