// Replication to the edges: the outbox the table triggers of db/0010 fill, and the
// reads that give the current state of each replicated entity (src/replica/publish.ts turns it
// into Redis commands). Every read here is what an edge's admission needs, nothing more.
import type { Db } from './open';
import { stmt } from './statements';

export const OUTBOX_ENTITIES = ['channel', 'bans', 'grants', 'keys', 'settings', 'vod', 'all'] as const;
export type OutboxEntity = (typeof OUTBOX_ENTITIES)[number];

/** One pending change: republish the current state of `entity` `ref` (db/0010_replication.sql). */
export interface OutboxRow {
  id: number;
  entity: OutboxEntity;
  /** A user name, a recording id, or '' (keys, settings, global bans, all). */
  ref: string;
  /** Unix ms of the oldest change still waiting for this entity. */
  at: number;
}

/** The oldest pending rows, in id order (the order the changes committed). */
export function pendingOutbox(db: Db, limit: number): OutboxRow[] {
  return stmt(db, 'SELECT id, entity, ref, at FROM replication_outbox ORDER BY id LIMIT ?').all(limit) as OutboxRow[];
}

/** Removes the rows a publish covered: every row up to `id` (later changes have later ids). */
export function deleteOutboxThrough(db: Db, id: number): number {
  return stmt(db, 'DELETE FROM replication_outbox WHERE id <= ?').run(id).changes;
}

export interface OutboxStats {
  pending: number;
  /** Unix ms of the oldest pending change, or null when none is pending. */
  oldestAt: number | null;
  /** The highest id ever given (pending or published), 0 before the first. */
  lastId: number;
}

/** How far behind the relay is. */
export function outboxStats(db: Db): OutboxStats {
  const r = stmt(db, 'SELECT count(*) AS pending, min(at) AS oldestAt FROM replication_outbox').get() as {
    pending: number;
    oldestAt: number | null;
  };
  const seq = stmt(db, "SELECT seq FROM sqlite_sequence WHERE name = 'replication_outbox'").get() as { seq: number } | undefined;
  return { pending: r.pending, oldestAt: r.oldestAt, lastId: seq?.seq ?? 0 };
}

/** A user and its admission policy, as an edge sees it; the policy fields are null without a channels row. */
export interface ReplicaChannelRow {
  id: number;
  name: string;
  disabled: number;
  externalId: string | null;
  access: 'public' | 'password' | 'paid' | 'age' | 'private' | null;
  minAge: number | null;
  viewerCap: number | null;
  passwordSet: number;
  viewerSessions: number | null;
  /** null only when the policy row is missing. */
  onExcess: 'refuse' | 'evict-oldest';
}

const CHANNEL_SELECT = `SELECT u.id, u.name, u.disabled, u.external_id AS externalId, c.access, c.min_age AS minAge,
  c.viewer_cap AS viewerCap, (c.password_hash IS NOT NULL) AS passwordSet, c.viewer_sessions AS viewerSessions, coalesce(c.on_excess, 'refuse') AS onExcess
  FROM users u LEFT JOIN channels c ON c.user_id = u.id`;

/** The user named `name` with its policy, if the user exists. */
export function replicaChannel(db: Db, name: string): ReplicaChannelRow | undefined {
  return stmt(db, `${CHANNEL_SELECT} WHERE u.name = ?`).get(name) as ReplicaChannelRow | undefined;
}

/** Every user with its policy, by name. */
export function replicaChannels(db: Db): ReplicaChannelRow[] {
  return stmt(db, `${CHANNEL_SELECT} ORDER BY u.name`).all() as ReplicaChannelRow[];
}

export interface ReplicaBanRow {
  id: number;
  /** The channel's user name, or null for a global ban. */
  userName: string | null;
  kind: 'viewer' | 'ip';
  value: string;
  until: number | null;
}

const BAN_SELECT = `SELECT b.id, u.name AS userName, b.kind, b.value, b.until FROM bans b LEFT JOIN users u ON u.id = b.user_id`;

/** Bans in force at `now` of one scope: a channel's own (by name), or the global ones (''). */
export function replicaBans(db: Db, scope: string, now: number): ReplicaBanRow[] {
  return (
    scope === ''
      ? stmt(db, `${BAN_SELECT} WHERE b.user_id IS NULL AND (b.until IS NULL OR b.until > ?) ORDER BY b.id`).all(now)
      : stmt(db, `${BAN_SELECT} WHERE u.name = ? AND (b.until IS NULL OR b.until > ?) ORDER BY b.id`).all(scope, now)
  ) as ReplicaBanRow[];
}

/** Every ban in force at `now`. */
export function allReplicaBans(db: Db, now: number): ReplicaBanRow[] {
  return stmt(db, `${BAN_SELECT} WHERE b.until IS NULL OR b.until > ? ORDER BY b.id`).all(now) as ReplicaBanRow[];
}

export interface ReplicaGrantRow {
  userName: string;
  viewer: string;
  until: number | null;
}

// Only the channel's current set (db/0015): a set a sync is still building, or an old one being
// deleted, is never published.
const GRANT_SELECT = `SELECT u.name AS userName, g.viewer, g.until FROM access_grants g JOIN users u ON u.id = g.user_id
  WHERE g.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = g.user_id), 0)`;

/** A channel's grants in force at `now`. */
export function replicaGrants(db: Db, name: string, now: number): ReplicaGrantRow[] {
  return stmt(db, `${GRANT_SELECT} AND u.name = ? AND (g.until IS NULL OR g.until > ?) ORDER BY g.viewer`).all(
    name,
    now,
  ) as ReplicaGrantRow[];
}

/** Every grant in force at `now`. */
export function allReplicaGrants(db: Db, now: number): ReplicaGrantRow[] {
  return stmt(db, `${GRANT_SELECT} AND (g.until IS NULL OR g.until > ?) ORDER BY u.name, g.viewer`).all(now) as ReplicaGrantRow[];
}

/** A playable recording as replicated: its channel (user name) and its file's absolute path. */
export interface ReplicaRecordingRow {
  id: string;
  userName: string;
  path: string;
}

const RECORDING_SELECT =
  'SELECT r.id, u.name AS userName, r.path FROM recordings r JOIN users u ON u.id = r.user_id WHERE r.deleting_at IS NULL';

/** A playable recording; undefined when gone or being deleted. */
export function replicaRecording(db: Db, id: string): ReplicaRecordingRow | undefined {
  return stmt(db, `${RECORDING_SELECT} AND r.id = ?`).get(id) as ReplicaRecordingRow | undefined;
}

/** Every playable recording with its channel and file. */
export function replicaRecordings(db: Db): ReplicaRecordingRow[] {
  return stmt(db, `${RECORDING_SELECT} ORDER BY r.id`).all() as ReplicaRecordingRow[];
}
