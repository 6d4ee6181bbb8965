// A push for a channel that may already be live: stock MistServer 3.10 lets two encoders
// feed one stream at once (docs/ingest.md), so PUSH_REWRITE applies the channel's policy instead.
// Pure: facts in, a decision out; admit-push.ts gathers the facts (SQLite, then MistServer's API).
import { isEnd } from '../store/buffer-events';
import type { SecondPushPolicy } from '../store/channels';
import type { PublisherState } from '../store/publishers';

/** An accepted push that has not reached STREAM_BUFFER yet counts as live this long, listed by MistServer or not (its session appears a second or two after PUSH_REWRITE). */
export const PENDING_PUSH_MS = 10_000;

/** The reason recorded when a push is refused because the channel is live (policy refuse). */
export const SECOND_PUSH_REFUSAL = 'second push: the channel is live (policy refuse)';
/** The start of the reason recorded when the reconnect grace refuses another key. */
export const RECONNECT_GRACE_REFUSAL = 'reconnect grace';
/** The start of the reason recorded when a takeover is refused (the live encoder could not be stopped). */
export const TAKEOVER_REFUSAL = 'takeover';

/** What the database alone says about the channel's last accepted push. */
export interface PublisherFacts {
  /** A push was accepted and no end (EMPTY/LOST) came after it: ask MistServer. */
  mayBeLive: boolean;
  /** Accepted less than PENDING_PUSH_MS ago and not yet in STREAM_BUFFER. */
  pending: boolean;
  /** The database shows it live (a buffer event after the accept, not an end). */
  liveInDb: boolean;
  /** When the last publisher ended: its STREAM_BUFFER end, or when a later push found it gone. */
  endedAt: number | null;
}

/** Reads the last accept against the newest buffer event. */
export function publisherFacts(state: PublisherState, now: number): PublisherFacts {
  const last = state.last;
  if (!last) return { mayBeLive: false, pending: false, liveInDb: false, endedAt: null };
  const after = state.buffer !== null && state.buffer.at >= last.acceptedAt ? state.buffer : null;
  if (after && isEnd(after.state)) return { mayBeLive: false, pending: false, liveInDb: false, endedAt: after.at };
  if (last.droppedAt !== null) return { mayBeLive: false, pending: false, liveInDb: false, endedAt: last.droppedAt };
  return { mayBeLive: true, pending: after === null && now - last.acceptedAt < PENDING_PUSH_MS, liveInDb: after !== null, endedAt: null };
}

/** What to do with a push whose key is good. */
export type PushPolicyDecision = { kind: 'accept' } | { kind: 'refuse'; reason: string } | { kind: 'takeover' };

export interface PolicyInput {
  policy: SecondPushPolicy;
  graceMs: number;
  /** The key of the push accepted last (null: none, or that key is gone). */
  lastKeyId: number | null;
  keyId: number;
  /** Another encoder is live on the channel now. */
  live: boolean;
  /** When the last publisher dropped (null: it never had one). */
  droppedAt: number | null;
  now: number;
}

/**
 * refuse keeps the live encoder; takeover accepts the newcomer (the caller stops the live encoder
 * first). With nobody live, the reconnect grace lets only the last publisher's key in until
 * droppedAt + grace, so an encoder's reconnect after a blip is never beaten by another client.
 */
export function decidePushPolicy(p: PolicyInput): PushPolicyDecision {
  if (p.live) return p.policy === 'takeover' ? { kind: 'takeover' } : { kind: 'refuse', reason: SECOND_PUSH_REFUSAL };
  if (p.graceMs > 0 && p.droppedAt !== null && p.now < p.droppedAt + p.graceMs && p.keyId !== p.lastKeyId) {
    const left = Math.ceil((p.droppedAt + p.graceMs - p.now) / 1000);
    return { kind: 'refuse', reason: `${RECONNECT_GRACE_REFUSAL}: only the key that was live may publish for ${left} s more` };
  }
  return { kind: 'accept' };
}
