// The ingest decision shared by PUSH_REWRITE and RTMP_PUSH_REWRITE: which channel, if any, a
// stream key publishes to. Every attempt is audited (never with the key itself).
import { inRange, parseIp, parseRange } from '../lib/ip';
import { guardSource } from './guard-source';
import { looksLikeStreamKey, streamKeyDigest } from './stream-key';
import { recordEvent } from '../store/events';
import { findKeyOwnerByDigest, keyWorksAt, touchKey, type KeyOwner } from '../store/keys';
import type { Db } from '../store/open';
import { countPushFailures, listGuardAllow, recordPushFailure } from '../store/push-guard';
import { durationMs, getSettings } from '../store/settings';
import { markPublisherDropped, publisherState, recordPublisher, type PublisherState } from '../store/publishers';
import { listInputSessions, stopSessions, type InputSession } from './input-sessions';
import { decidePushPolicy, publisherFacts, TAKEOVER_REFUSAL, type PublisherFacts } from './second-push';

/** Why a push was refused, in words fit for logs (no secrets). */
function shapeProblem(key: string): string {
  if (key === '') return 'empty stream name';
  if (key.includes('+')) return 'internal stream name sent as a key';
  return 'not a stream key';
}

/** What the push decision needs from its caller (a trigger's context is one). */
export interface PushDecisionContext {
  db: Db;
  /** Wall clock, unix ms. */
  now: number;
  /** One line to stderr (MistServer's log). Never pass secrets. */
  log(line: string): void;
  /** Like log, only when debugging. */
  debug(line: string): void;
}

/** The reason recorded when the guard refuses without looking the key up. */
export const GUARD_REFUSAL = 'too many refused pushes from this address';

/** True when the address lies in an allowlisted range (`streamctl guard allow`). */
function guardAllows(db: Db, ip: string): boolean {
  const entries = listGuardAllow(db);
  if (entries.length === 0) return false;
  const address = parseIp(ip);
  if (!address) return false;
  return entries.some((e) => {
    const range = parseRange(e.cidr);
    return range !== null && inRange(address, range);
  });
}

/** Per call to MistServer's API from PUSH_REWRITE (listing the channel's encoders, stopping them): two calls stay under MistServer's 10 s trigger timeout. */
const MIST_API_TIMEOUT_MS = 3000;
/**
 * How far back PUSH_REWRITE looks a second time when MistServer lists no encoder for a channel the
 * database shows live. A loaded MistServer's per-second statistics run behind the clock (seen in CI:
 * a live encoder missing from the last 2 s), and an empty list then would let a second encoder feed
 * the stream. An encoder that really left is ended by its STREAM_BUFFER within about a second, so
 * this only delays a newcomer by seconds.
 */
const LAGGING_STATS_LOOKBACK_S = 6;

/** A good key for a channel that may be live: MistServer is asked before the decision is written. */
interface PendingCheck {
  owner: KeyOwner;
  stream: string;
  apiUrl: string;
  state: PublisherState;
  facts: PublisherFacts;
}

type FirstPass = { stream: string } | { refused: string } | { check: PendingCheck };

/**
 * Looks the key up (`ip`: the client address, already normalised) and returns the stream name to publish to (`<base>+<user>`), or null to refuse.
 * The guard's count, the lookup and every write about the attempt (failure count, audit row, key
 * last use) happen in ONE IMMEDIATE transaction that commits before the answer: concurrent
 * attempts from one source are serialised, so at most `push-guard-failures` of them are looked
 * up, and nothing is lost when MistServer kills the handler after reading the answer. When the
 * write lock cannot be had (busy_timeout) the transaction throws and the runner refuses: the guard
 * fails closed, and no key is ever looked up without its outcome being counted.
 *
 * A good key then meets its channel's second-push policy (second-push.ts). A channel with no push
 * since its last broadcast ended is decided in that same transaction (the hot path: one more
 * indexed read). One that may be live is decided after asking MistServer which encoders it has
 * (and, for takeover, stopping them): the answer is then a promise, and the decision is written in
 * a second IMMEDIATE transaction, still before the answer. Policy refusals are a good key's: they
 * are audited but never counted by the guard.
 */
export function admitPush(ctx: PushDecisionContext, trigger: string, key: string, ip: string): string | null | Promise<string | null> {
  const { db, now } = ctx;
  const source = guardSource(ip);
  const outcome = db
    .transaction((): FirstPass => {
      const settings = getSettings(db, ['stream-base', 'push-guard-failures', 'push-guard-window', 'mist-api']);
      const windowStart = now - durationMs('push-guard-window', settings['push-guard-window']);
      const allowed = guardAllows(db, ip);
      const audit = (outcome: 'accepted' | 'refused', reason: string, userId: number | null) =>
        recordEvent(db, { at: now, kind: 'push', outcome, reason, userId, ip, detail: trigger });
      const refuse = (reason: string, userId: number | null) => {
        // A success never wipes these: a broadcaster's own key must not reset an attacker's count.
        if (!allowed) recordPushFailure(db, { source, ip, at: now, windowStart });
        audit('refused', reason, userId);
        return { refused: reason };
      };

      if (!allowed && countPushFailures(db, source, windowStart) >= Number(settings['push-guard-failures'])) {
        // Already over the limit: not counted again, so the block lifts one window after the
        // failures that caused it (`streamctl guard clear` lifts it at once).
        audit('refused', GUARD_REFUSAL, null);
        return { refused: GUARD_REFUSAL };
      }
      if (!looksLikeStreamKey(key)) return refuse(shapeProblem(key), null);
      const owner = findKeyOwnerByDigest(db, streamKeyDigest(key));
      if (!owner) return refuse('unknown key', null);
      if (!keyWorksAt(owner.revokedAt, now)) return refuse(`revoked key "${owner.label}"`, owner.userId);
      if (owner.userDisabled) return refuse('user is disabled', owner.userId);

      const stream = `${settings['stream-base']}+${owner.userName}`;
      const state = publisherState(db, owner.userId);
      const check: PendingCheck = { owner, stream, apiUrl: settings['mist-api'], state, facts: publisherFacts(state, now) };
      // Nobody to ask (mist-api not set): the database's view decides, here.
      if (!check.facts.mayBeLive || check.apiUrl === '') return decideAndSettle(ctx, trigger, ip, check, null, 'mist-api is not set');
      return { check };
    })
    .immediate();
  if ('check' in outcome) return withMistServer(ctx, trigger, ip, outcome.check);
  return answerFor(ctx, ip, outcome);
}

function answerFor(ctx: PushDecisionContext, ip: string, outcome: { stream: string } | { refused: string }): string | null {
  if ('refused' in outcome) {
    ctx.log(`refused push from ${ip || 'unknown address'}: ${outcome.refused}`);
    return null;
  }
  return outcome.stream;
}

/**
 * Applies the channel's policy (inside the caller's transaction) and writes the outcome. `sessions`:
 * the encoders MistServer lists on the channel now, null when it was not asked (`problem` says why)
 * or the database shows no push since the last broadcast ended. `stopped`: those a takeover stopped.
 */
function decideAndSettle(
  ctx: PushDecisionContext,
  trigger: string,
  ip: string,
  c: PendingCheck,
  sessions: InputSession[] | null,
  problem: string,
  stopped: InputSession[] = [],
): { stream: string } | { refused: string } {
  const { db, now } = ctx;
  const { owner, state, facts } = c;
  // A push accepted moments ago is not listed yet: live for another key; the same key coming back is
  // that encoder retrying (MistServer lists whatever of it still runs).
  const pendingOther = facts.pending && state.last?.keyId !== owner.keyId;
  const live = facts.mayBeLive && (pendingOther || (sessions === null ? facts.liveInDb : sessions.length > 0));
  // MistServer no longer has the last publisher and no STREAM_BUFFER end came for it: its grace runs from now, once.
  const gone = facts.mayBeLive && !live && sessions !== null && state.last !== null;
  if (gone) markPublisherDropped(db, owner.userId, state.last!.acceptedAt, now);
  let decision = decidePushPolicy({
    policy: state.secondPush,
    graceMs: state.reconnectGraceMs,
    lastKeyId: state.last?.keyId ?? null,
    keyId: owner.keyId,
    live,
    droppedAt: gone ? now : facts.endedAt,
    now,
  });
  if (decision.kind === 'takeover' && stopped.length === 0) {
    decision = {
      kind: 'refuse',
      reason: `${TAKEOVER_REFUSAL}: ${problem !== '' ? `the live encoder could not be stopped (${problem})` : 'the live encoder connected moments ago and is not listed by MistServer yet'}`,
    };
  }
  const audit = (outcome: string, reason: string, at: string) =>
    recordEvent(db, { at: now, kind: 'push', outcome, reason, userId: owner.userId, ip: at, detail: trigger });
  if (decision.kind === 'refuse') {
    audit('refused', decision.reason, ip);
    return { refused: decision.reason };
  }
  touchKey(db, owner.keyId, now, ip);
  recordPublisher(db, owner.userId, owner.keyId, ip, now);
  for (const s of stopped) audit('stopped', `taken over by a push from ${ip || 'unknown address'} (policy takeover)`, s.host);
  const took =
    stopped.length > 0
      ? `; took over from ${[...new Set(stopped.map((s) => s.host))].join(', ')} (${stopped.length} encoder session(s) stopped)`
      : '';
  audit('accepted', `key "${owner.label}"${took}`, ip);
  ctx.debug(`accepted push from ${ip} for ${owner.userName} (key "${owner.label}")${took}`);
  return { stream: c.stream };
}

/**
 * The channel may be live and MistServer is configured: asks it which encoders the channel has now,
 * stops them for a takeover (before the answer: nothing runs after it), then decides and writes in a
 * second IMMEDIATE transaction. When MistServer cannot be asked, the database's view stands and a
 * takeover is refused (nothing could be stopped).
 */
async function withMistServer(ctx: PushDecisionContext, trigger: string, ip: string, c: PendingCheck): Promise<string | null> {
  let sessions: InputSession[] | null = null;
  let problem = '';
  try {
    sessions = await listInputSessions(c.apiUrl, c.stream, ctx.now, MIST_API_TIMEOUT_MS);
    if (sessions.length === 0 && c.facts.liveInDb)
      sessions = await listInputSessions(c.apiUrl, c.stream, ctx.now, MIST_API_TIMEOUT_MS, LAGGING_STATS_LOOKBACK_S);
  } catch (err) {
    problem = (err as Error).message;
    ctx.log(`could not list the encoders of ${c.stream}: ${problem}; deciding from the database`);
  }
  let stopped: InputSession[] = [];
  const wouldTakeOver = c.state.secondPush === 'takeover' && sessions !== null && sessions.length > 0;
  if (wouldTakeOver) {
    try {
      await stopSessions(
        c.apiUrl,
        sessions!.map((s) => s.sessionId),
        MIST_API_TIMEOUT_MS,
      );
      stopped = sessions!;
      ctx.log(
        `push from ${ip || 'unknown address'} takes over ${c.stream}: stopped ${stopped.length} encoder session(s) from ${stopped.map((s) => s.host).join(', ')}`,
      );
    } catch (err) {
      problem = (err as Error).message;
    }
  }
  const outcome = ctx.db.transaction(() => decideAndSettle(ctx, trigger, ip, c, sessions, problem, stopped)).immediate();
  return answerFor(ctx, ip, outcome);
}
