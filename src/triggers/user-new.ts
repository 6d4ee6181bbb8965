// USER_NEW (blocking): admits or refuses each new viewer session by the channel's policy.
//   line 1: stream name (after PLAY_REWRITE; the part after "+" is not sanitised)
//   line 2: client address
//   line 3: session token: ?tkn= / sid / jwt / a tkn cookie / Authorization: Bearer (first
//           character dropped by MistServer), else a generated number (HTTP) or the PID (RTMP)
//   line 4: connector (HLS, HTTPTS, RTMP, ...)
//   line 5: request URL
//   line 6: session id, 64 hex (SHA-256 of stream, address and token)
//   line 7: "true" when MistServer itself validated a JWT; absent on a re-check (6 lines)
// Answer: exactly `true` or `false`. MistServer caches it for the session (a refusal ~10 minutes).
import { decideAccess, type AccessDecision } from '../access/decide';
import { checkToken, playbackJwt, type TokenCheck } from '../access/token';
import { getChannel } from '../store/channels';
import { recordEvent } from '../store/events';
import { findOpenBroadcast } from '../store/broadcasts';
import { getSettings } from '../store/settings';
import { openViewerSession } from '../store/viewer-sessions';
import { writeIfFree } from '../store/write-retry';
import { channelForStream, type StreamChannel } from '../live/stream-channel';
import { ALLOW, DENY, type Allow, type Deny } from './answer';
import type { Trigger, TriggerContext } from './types';
import { parseUserNew, type UserNewEvent } from './user-new-payload';
import { shownStream, shownViewer } from './log-text';

export { parseUserNew, type UserNewEvent } from './user-new-payload';

/** MistServer's name for this trigger: every message and lookup uses it. */
const TRIGGER = 'USER_NEW';

/** The audit row of a refused viewer (the token itself is never written). */
function refusedViewEvent(ctx: TriggerContext, event: UserNewEvent, channel: StreamChannel, decision: AccessDecision) {
  return {
    at: ctx.now,
    kind: 'view',
    outcome: 'refused',
    reason: `${decision.rule}: ${decision.reason}`,
    userId: channel.userId,
    ip: event.ip,
    detail: `${event.connector} session ${event.sessionId.slice(0, 12)}${decision.viewer !== null ? ` viewer ${decision.viewer.slice(0, 64)}` : ''}`,
  };
}

/**
 * How long an admission that needs no cap count waits for the write lock to record its session.
 * Past this it admits without the row (USER_END records sessions USER_NEW never opened), so a long
 * writer elsewhere never turns public viewers away (issue 10: they were refused after 2 s).
 */
const SESSION_WRITE_WAIT_MS = 250;

function conclude(ctx: TriggerContext, event: UserNewEvent, channel: StreamChannel, token: TokenCheck): Allow | Deny {
  const { db, now } = ctx;
  const request = { channel, ip: event.ip, token, sessionId: event.sessionId, now };
  const session = (d: AccessDecision) => ({
    sessionId: event.sessionId,
    userId: channel.userId,
    broadcastId: channel.kind === 'live' ? (findOpenBroadcast(db, channel.userId)?.id ?? null) : null,
    stream: event.stream,
    viewer: d.viewer,
    ip: event.ip,
    connector: event.connector,
    at: now,
  });
  // First a read (WAL readers never wait for a writer): the policy and the decision in one snapshot.
  const read = db.transaction(() => ({ capped: (getChannel(db, channel.userId)?.viewerCap ?? null) !== null, decision: decideAccess(db, request) }))();
  let decision = read.decision;
  if (!read.capped && decision.allow) {
    // No cap to count against: the session row is for statistics and re-checks, not the answer.
    const d = decision;
    if (!writeIfFree(db, SESSION_WRITE_WAIT_MS, () => openViewerSession(db, session(d))).done) {
      ctx.debug('database busy: admitted without a session row (USER_END will record the viewing)');
    }
  } else {
    // A cap counts open sessions: the count and this session's row commit together (no two
    // admissions both see the last free place), or the answer is a refusal. A refusal's audit row
    // commits before the answer too: MistServer kills the handler once it has read it.
    decision = db
      .transaction(() => {
        const d = decideAccess(db, request);
        if (d.allow) openViewerSession(db, session(d));
        else recordEvent(db, refusedViewEvent(ctx, event, channel, d));
        return d;
      })
      .immediate();
  }

  const who = shownViewer(event.ip, decision.viewer);
  if (decision.allow) {
    ctx.debug(`admitted ${who} to ${channel.userName} [${decision.rule}]: ${decision.reason}`);
    return ALLOW;
  }
  ctx.log(`refused ${who} on ${channel.userName} [${decision.rule}]: ${decision.reason}`);
  return DENY;
}

const userNew: Trigger<UserNewEvent, typeof TRIGGER> = {
  name: TRIGGER,
  parse: parseUserNew,
  decide(event, ctx) {
    const { db } = ctx;
    const settings = getSettings(db, ['stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access']);
    const channel = channelForStream(db, event.stream, settings['stream-base'], settings['vod-base']);
    if (!channel) {
      // The placeholders streamctl itself sends viewers to (the bare VoD stream, whose source must be
      // harmless, and the offline stream) are for everyone; other streams follow the setting.
      const placeholder = [settings['vod-base'], settings['offline-stream']].includes(event.stream.toLowerCase());
      if (placeholder || settings['unknown-stream-access'] === 'allow') {
        ctx.debug(`admitted ${event.ip} to ${shownStream(event.stream)}: ${placeholder ? 'a placeholder stream' : 'not a channel, unknown-stream-access is allow'}`);
        return ALLOW;
      }
      ctx.log(`refused ${event.ip || 'unknown address'} on ${shownStream(event.stream)}: not a channel (unknown-stream-access is refuse)`);
      // Audited before answering (MistServer kills the handler once it has the answer).
      recordEvent(db, { at: ctx.now, kind: 'view', outcome: 'refused', reason: 'unknown-stream: not a channel', ip: event.ip, detail: shownStream(event.stream) });
      return DENY;
    }
    const found = playbackJwt(event.token);
    if (!found) return conclude(ctx, event, channel, { state: 'none' });
    if (found.repaired) ctx.debug('token arrived without its first character (Authorization: Bearer); restored the JWT header');
    return checkToken(db, found.jwt, channel.userName, ctx.now).then((token) => conclude(ctx, event, channel, token));
  },
};

export default userNew;
