// USER_NEW on an edge (blocking; registry EDGE_TRIGGERS): the payload and answer of user-new.ts,
// decided by the same rules over the origin's data replicated to this edge's Redis replica
// (src/edge/admit.ts), the viewer cap claimed on the origin's primary. No database, no audit row:
// refusals are logged to stderr (MistServer's log). A session admitted by a token gets a record of
// its expiry (src/edge/token-expiry.ts) for `sessions expire`. Any error refuses.
import { edgeSessionsDir } from '../config';
import { admitOnEdge } from '../edge/admit';
import { recordTokenSession } from '../edge/token-expiry';
import { oneLine } from '../lib/errors';
import { ALLOW, DENY } from './answer';
import type { EdgeTrigger } from './types';
import { parseUserNew, type UserNewEvent } from './user-new-payload';
import { shownStream, shownViewer } from './log-text';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'USER_NEW';

const edgeUserNew: EdgeTrigger<UserNewEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseUserNew,
  async decide(event, ctx) {
    const where = event.ip || 'unknown address';
    let verdict;
    try {
      verdict = await admitOnEdge(ctx.redis, event, ctx.now);
    } catch (err) {
      ctx.log(`refused ${where} on ${shownStream(event.stream)}: ${oneLine(err)}`);
      return DENY;
    }
    if (verdict.channel === null) {
      if (verdict.allow) ctx.debug(`admitted ${where} to ${shownStream(event.stream)}: ${verdict.why}`);
      else ctx.log(`refused ${where} on ${shownStream(event.stream)}: ${verdict.why}`);
      return verdict.allow ? ALLOW : DENY;
    }
    const d = verdict.decision;
    // Sessions evicted for this one (viewer-sessions, evict-oldest): stopped here at once if they
    // play on this edge; the origin's relay sends the stop to every other box (sc:evict).
    if (verdict.evicted?.length) {
      const { sendUdpApi } = await import('../mist/stream-tags');
      for (const id of verdict.evicted)
        if (!(await sendUdpApi({ stop_sessid: id }, 200))) ctx.log(`could not ask MistServer to stop session ${id.slice(0, 12)} (evicted)`);
    }
    const who = shownViewer(event.ip, d.viewer);
    if (verdict.allow && verdict.tokenExpiresAt !== undefined) {
      // Recorded before the answer (nothing after it survives), or refused: a session no record
      // names would play on past its token's expiry.
      try {
        const dir = edgeSessionsDir();
        if (dir === undefined) throw new Error('no sessions folder (db= or sessions_dir= in streamctl.conf, or STREAMCTL_SESSIONS_DIR)');
        recordTokenSession(dir, { sessionId: event.sessionId, stream: event.stream, expiresAt: verdict.tokenExpiresAt });
      } catch (err) {
        ctx.log(`refused ${who} on ${verdict.channel}: could not record the token's expiry: ${oneLine(err)}`);
        return DENY;
      }
    }
    if (verdict.allow) {
      ctx.debug(`admitted ${who} to ${verdict.channel} [${d.rule}]: ${d.reason}`);
      return ALLOW;
    }
    ctx.log(`refused ${who} on ${verdict.channel} [${d.rule}]: ${d.reason}`);
    return DENY;
  },
};

export default edgeUserNew;
