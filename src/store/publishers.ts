// The push each channel accepted last (channel_publishers) and what PUSH_REWRITE needs to apply the
// channel's second-push policy: the policy, the reconnect grace and, once the channel has had a push,
// its latest buffer event (a push for a channel never published before pays one indexed lookup).
import { latestBufferEvent, type BufferState } from './buffer-events';
import type { SecondPushPolicy } from './channels';
import type { Db } from './open';
import { stmt } from './statements';

/** The channel's second-push settings and its last accepted push, as PUSH_REWRITE reads them. */
export interface PublisherState {
  secondPush: SecondPushPolicy;
  reconnectGraceMs: number;
  /** The push accepted last; null before the first. */
  last: { keyId: number | null; ip: string; acceptedAt: number; droppedAt: number | null } | null;
  /** The newest STREAM_BUFFER state and its time; null before the first. */
  buffer: { state: BufferState; at: number } | null;
}

interface StateRow {
  second_push: SecondPushPolicy | null;
  reconnect_grace_ms: number | null;
  key_id: number | null;
  ip: string | null;
  accepted_at: number | null;
  dropped_at: number | null;
}

/** The publisher state of a user's channel (a missing policy row reads as the defaults: refuse, no grace). */
export function publisherState(db: Db, userId: number): PublisherState {
  const r = stmt(
    db,
    `SELECT c.second_push, c.reconnect_grace_ms, p.key_id, p.ip, p.accepted_at, p.dropped_at
       FROM (SELECT ? AS id) u
       LEFT JOIN channels c ON c.user_id = u.id
       LEFT JOIN channel_publishers p ON p.user_id = u.id`,
  ).get(userId) as StateRow;
  const last = r.accepted_at === null ? null : { keyId: r.key_id, ip: r.ip ?? '', acceptedAt: r.accepted_at, droppedAt: r.dropped_at };
  const latest = last === null ? undefined : latestBufferEvent(db, userId);
  return {
    secondPush: r.second_push ?? 'refuse',
    reconnectGraceMs: r.reconnect_grace_ms ?? 0,
    last,
    buffer: latest ? { state: latest.state, at: latest.at } : null,
  };
}

/** Records the push just accepted as the channel's publisher. */
export function recordPublisher(db: Db, userId: number, keyId: number, ip: string, at: number): void {
  stmt(
    db,
    `INSERT INTO channel_publishers (user_id, key_id, ip, accepted_at) VALUES (?, ?, ?, ?)
     ON CONFLICT(user_id) DO UPDATE SET key_id = excluded.key_id, ip = excluded.ip, accepted_at = excluded.accepted_at, dropped_at = NULL`,
  ).run(userId, keyId, ip, at);
}

/** Notes that MistServer no longer has the publisher accepted at `acceptedAt` (no STREAM_BUFFER end seen for it yet). */
export function markPublisherDropped(db: Db, userId: number, acceptedAt: number, at: number): void {
  stmt(db, 'UPDATE channel_publishers SET dropped_at = ? WHERE user_id = ? AND accepted_at = ? AND dropped_at IS NULL').run(
    at,
    userId,
    acceptedAt,
  );
}
