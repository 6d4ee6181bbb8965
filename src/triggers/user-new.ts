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
import { durationMs, getSettings } from '../store/settings';
import { openViewerSession, stopOldestViewerSessions } from '../store/viewer-sessions';
import { viewerSessionsLimit } from '../access/decide';
import { writeIfFree, writeWithRetry } from '../store/write-retry';
import { role } from '../config';
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
 * writer elsewhere never turns public viewers away (they were refused after 2 s).
 */
const SESSION_WRITE_WAIT_MS = 250;

/** How long the answer waits for the datagram that stops an evicted session to leave (loopback: sub-ms). */
const EVICT_SEND_WAIT_MS = 200;

function conclude(
  ctx: TriggerContext,
  event: UserNewEvent,
  channel: StreamChannel,
  token: TokenCheck,
): Allow | Deny | Promise<Allow | Deny> {
  const { db, now } = ctx;
  const request = { channel, ip: event.ip, token, sessionId: event.sessionId, recheck: !event.firstCheck, now };
  const claims = token.state === 'valid' ? token.claims : null;
  const session = (d: AccessDecision) => ({
    sessionId: event.sessionId,
    userId: channel.userId,
    broadcastId: channel.kind === 'live' ? (findOpenBroadcast(db, channel.userId)?.id ?? null) : null,
    stream: event.stream,
    viewer: d.viewer,
    ip: event.ip,
    connector: event.connector,
    at: now,
    tokenExp: claims?.expiresAt ?? null,
    jti: claims?.jti ?? null,
  });
  // First a read (WAL readers never wait for a writer): the policy and the decision in one snapshot.
  const read = db.transaction(() => {
    const policy = getChannel(db, channel.userId);
    // A cap counts every session, viewer-sessions only those with a verified viewer id.
    const counted =
      (policy?.viewerCap ?? null) !== null ||
      (claims !== null &&
        viewerSessionsLimit(policy?.viewerSessions ?? null, getSettings(db, ['viewer-sessions'])['viewer-sessions']) !== null);
    // An origin with edges counts on the Redis primary, where the edges count.
    const onPrimary = counted && role() === 'origin';
    return { counted, onPrimary, policy, decision: decideAccess(db, request, { countsElsewhere: onPrimary }) };
  })();
  if (read.onPrimary) return concludeOnPrimary(ctx, event, channel, read.decision, read.policy, session);
  let decision = read.decision;
  let evicted: string[] = [];
  if (!read.counted && decision.allow) {
    // No cap to count against: the session row is for statistics and re-checks, not the answer.
    // A full disk is the same case as a busy database: the answer needs no write.
    const d = decision;
    const written = writeIfFree(db, SESSION_WRITE_WAIT_MS, () => openViewerSession(db, session(d)));
    if (!written.done && written.why === 'busy')
      ctx.debug('database busy: admitted without a session row (USER_END will record the viewing)');
    if (!written.done && written.why === 'full')
      ctx.log('database or disk is full: admitted without a session row (USER_END will record the viewing if there is room then)');
  } else {
    // A cap (or viewer-sessions) counts open sessions: the count and this session's row commit
    // together (no two admissions both see the last free place), or the answer is a refusal. A
    // refusal's audit row commits before the answer too: MistServer kills the handler once it has
    // read it. So do the evictions: the sessions stopped for this one stop counting with it.
    decision = db
      .transaction(() => {
        const d = decideAccess(db, request);
        if (d.allow) {
          if (d.evictOldest && d.viewer !== null) {
            const since = now - durationMs('viewer-session-stale', getSettings(db, ['viewer-session-stale'])['viewer-session-stale']);
            evicted = stopOldestViewerSessions(db, channel.userId, d.viewer, since, d.evictOldest, event.sessionId, now);
            for (const id of evicted) recordEvent(db, evictionEvent(ctx, event, channel, d.viewer, id));
          }
          openViewerSession(db, session(d));
        } else recordEvent(db, refusedViewEvent(ctx, event, channel, d));
        return d;
      })
      .immediate();
  }
  const answer = verdict(ctx, event, channel, decision);
  // Committed: now MistServer stops the evicted sessions (its local UDP API; the re-check of an
  // evicted session is refused too, should the datagram be lost). Sent before the answer: nothing
  // runs after it.
  return evicted.length === 0 ? answer : stopSessions(ctx, evicted).then(() => answer);
}

/**
 * The origin's admission of a counted session: decided from SQLite like every other, the places
 * claimed on the Redis primary in the same hashes as the edges'. Any Redis error refuses (fail
 * closed, as on an edge). The session row is for statistics and re-checks here, written if the
 * lock is free; a refusal is audited before the answer.
 */
async function concludeOnPrimary(
  ctx: TriggerContext,
  event: UserNewEvent,
  channel: StreamChannel,
  decided: AccessDecision,
  policy: ReturnType<typeof getChannel>,
  session: (d: AccessDecision) => Parameters<typeof openViewerSession>[1],
): Promise<Allow | Deny> {
  const { db } = ctx;
  let decision = decided;
  let evicted: string[] = [];
  if (decision.allow && policy) {
    const { claimOnPrimary } = await import('../edge/admit');
    const { primaryFromConfig } = await import('../edge/primary');
    const { capRefusal, viewerSessionsRefusal } = await import('../access/admission');
    const settings = getSettings(db, ['viewer-sessions', 'viewer-session-stale']);
    const limit = viewerSessionsLimit(policy.viewerSessions, settings['viewer-sessions']);
    try {
      const result = await claimOnPrimary(primaryFromConfig(ctx.log), {
        channel: channel.userName,
        sessionId: event.sessionId,
        cap: policy.viewerCap,
        limit,
        viewer: decision.viewer,
        evictOldest: policy.onExcess === 'evict-oldest',
        recheck: !event.firstCheck,
        staleMs: durationMs('viewer-session-stale', settings['viewer-session-stale']),
      });
      if (result.admitted) evicted = result.evicted;
      else
        decision =
          result.rule === 'viewer-cap'
            ? capRefusal(policy.viewerCap ?? 0, decision.viewer)
            : viewerSessionsRefusal(limit ?? 0, decision.viewer);
    } catch (err) {
      decision = {
        allow: false,
        rule: decision.rule,
        reason: `the Redis primary did not count the session: ${err instanceof Error ? err.message : String(err)}`,
        viewer: decision.viewer,
      };
    }
  }
  const d = decision;
  if (d.allow) {
    writeIfFree(db, SESSION_WRITE_WAIT_MS, () => {
      if (d.viewer !== null) for (const id of evicted) recordEvent(db, evictionEvent(ctx, event, channel, d.viewer, id));
      openViewerSession(db, session(d));
    });
  } else {
    writeWithRetry(db, () => recordEvent(db, refusedViewEvent(ctx, event, channel, d)));
  }
  const answer = verdict(ctx, event, channel, d);
  if (evicted.length > 0) await stopSessions(ctx, evicted);
  return answer;
}

/** Asks MistServer to stop sessions, over its local UDP API (node:dgram loaded only here). */
async function stopSessions(ctx: TriggerContext, sessionIds: string[]): Promise<void> {
  const { sendUdpApi } = await import('../mist/stream-tags');
  for (const id of sessionIds) {
    if (!(await sendUdpApi({ stop_sessid: id }, EVICT_SEND_WAIT_MS)))
      ctx.log(`could not ask MistServer to stop session ${id.slice(0, 12)} (evicted)`);
    else ctx.debug(`asked MistServer to stop session ${id.slice(0, 12)} (evicted: viewer-sessions)`);
  }
}

/** The log line and answer of a decision. */
function verdict(ctx: TriggerContext, event: UserNewEvent, channel: StreamChannel, decision: AccessDecision): Allow | Deny {
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
        ctx.debug(
          `admitted ${event.ip} to ${shownStream(event.stream)}: ${placeholder ? 'a placeholder stream' : 'not a channel, unknown-stream-access is allow'}`,
        );
        return ALLOW;
      }
      ctx.log(`refused ${event.ip || 'unknown address'} on ${shownStream(event.stream)}: not a channel (unknown-stream-access is refuse)`);
      // Audited before answering (MistServer kills the handler once it has the answer).
      recordEvent(db, {
        at: ctx.now,
        kind: 'view',
        outcome: 'refused',
        reason: 'unknown-stream: not a channel',
        ip: event.ip,
        detail: shownStream(event.stream),
      });
      return DENY;
    }
    const found = playbackJwt(event.token);
    if (!found) return conclude(ctx, event, channel, { state: 'none' });
    if (found.repaired) ctx.debug('token arrived without its first character (Authorization: Bearer); restored the JWT header');
    return checkToken(db, found.jwt, channel.userName, ctx.now).then((token) => conclude(ctx, event, channel, token));
  },
};

export default userNew;

/** The audit row of a session stopped for a newer one of the same viewer (viewer-sessions, evict-oldest). */
function evictionEvent(
  ctx: TriggerContext,
  event: UserNewEvent,
  channel: StreamChannel,
  viewer: string,
  sessionId: string,
): Parameters<typeof recordEvent>[1] {
  return {
    at: ctx.now,
    kind: 'view',
    outcome: 'stopped',
    reason: 'viewer-sessions: evicted for a newer session of the same viewer',
    userId: channel.userId,
    ip: event.ip,
    detail: `session ${sessionId.slice(0, 12)} viewer ${viewer.slice(0, 64)}`,
  };
}
