// Channel policy: who may watch, recording and replay. Every user has a row from the moment it is
// created (migration 0007 filled older gaps); a missing row means a damaged database, never a default.
import { UserError } from '../lib/errors';
import type { Db } from './open';
import { stmt } from './statements';

export const ACCESS_POLICIES = ['public', 'password', 'paid', 'age', 'private'] as const;
export type AccessPolicy = (typeof ACCESS_POLICIES)[number];

/** What PUSH_REWRITE does with a push for a channel that is already live (docs/ingest.md). */
export const SECOND_PUSH_POLICIES = ['refuse', 'takeover'] as const;
export type SecondPushPolicy = (typeof SECOND_PUSH_POLICIES)[number];

export interface Channel {
  userId: number;
  access: AccessPolicy;
  minAge: number | null;
  viewerCap: number | null;
  /** Slow salted hash (never the password); null when none is set. */
  passwordHash: string | null;
  record: boolean;
  /** Per-channel recording retention; null = the global default. */
  retentionMs: number | null;
  replayOffline: boolean;
  /** Most concurrent sessions per viewer id; null = the global setting viewer-sessions. */
  viewerSessions: number | null;
  /** The next session past viewerSessions: refused, or admitted while the viewer's oldest is stopped. */
  onExcess: OnExcess;
  /** A push while the channel is live: refused (the live encoder stays) or taking over. */
  secondPush: SecondPushPolicy;
  /** After the live encoder dropped, only its key may publish for this long (0: anyone at once). */
  reconnectGraceMs: number;
  updatedAt: number | null;
}

export const ON_EXCESS = ['refuse', 'evict-oldest'] as const;
export type OnExcess = (typeof ON_EXCESS)[number];

interface ChannelRow {
  user_id: number;
  access: AccessPolicy;
  min_age: number | null;
  viewer_cap: number | null;
  password_hash: string | null;
  record: number;
  retention_ms: number | null;
  replay_offline: number;
  viewer_sessions: number | null;
  on_excess: OnExcess;
  second_push: SecondPushPolicy;
  reconnect_grace_ms: number;
  updated_at: number;
}

/** The channel settings of a user; undefined when its row is missing (callers refuse, never assume public). */
export function getChannel(db: Db, userId: number): Channel | undefined {
  const r = stmt(db, 'SELECT * FROM channels WHERE user_id = ?').get(userId) as ChannelRow | undefined;
  if (!r) return undefined;
  return {
    userId: r.user_id,
    access: r.access,
    minAge: r.min_age,
    viewerCap: r.viewer_cap,
    passwordHash: r.password_hash,
    record: r.record === 1,
    retentionMs: r.retention_ms,
    replayOffline: r.replay_offline === 1,
    viewerSessions: r.viewer_sessions,
    onExcess: r.on_excess,
    secondPush: r.second_push,
    reconnectGraceMs: r.reconnect_grace_ms,
    updatedAt: r.updated_at,
  };
}

/** A channel with no policy row was to be changed without an access policy (updateChannel). */
export class MissingPolicyError extends UserError {
  constructor(readonly userId: number) {
    super(`user #${userId}'s channel has no policy row (damaged database): only a change that gives its access policy may write one`);
    this.name = 'MissingPolicyError';
  }
}

export type ChannelPatch = Partial<Omit<Channel, 'userId' | 'updatedAt'>>;

const COLUMN: Record<keyof ChannelPatch, string> = {
  access: 'access',
  minAge: 'min_age',
  viewerCap: 'viewer_cap',
  passwordHash: 'password_hash',
  record: 'record',
  retentionMs: 'retention_ms',
  replayOffline: 'replay_offline',
  viewerSessions: 'viewer_sessions',
  onExcess: 'on_excess',
  secondPush: 'second_push',
  reconnectGraceMs: 'reconnect_grace_ms',
};

/** Names of users whose policy row is missing (their viewers are refused). */
export function usersWithoutPolicy(db: Db): string[] {
  return (stmt(db, 'SELECT name FROM users WHERE id NOT IN (SELECT user_id FROM channels) ORDER BY name').all() as { name: string }[]).map(
    (r) => r.name,
  );
}

/** Writes a new user's policy row with the defaults (public, no cap, not recorded). */
export function insertDefaultChannel(db: Db, userId: number, now: number): void {
  stmt(db, 'INSERT INTO channels (user_id, updated_at) VALUES (?, ?) ON CONFLICT(user_id) DO NOTHING').run(userId, now);
}

/**
 * Changes the given fields; returns the new settings. A missing row (a damaged database: its
 * viewers are refused) is written again only by a patch that says who may watch: the defaults
 * would make it public behind the operator's back. Otherwise: MissingPolicyError.
 */
export function updateChannel(db: Db, userId: number, patch: ChannelPatch, now: number): Channel {
  return db.transaction(() => {
    if (patch.access === undefined && !getChannel(db, userId)) throw new MissingPolicyError(userId);
    insertDefaultChannel(db, userId, now);
    for (const [field, value] of Object.entries(patch) as [keyof ChannelPatch, unknown][]) {
      if (value === undefined) continue;
      const stored = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      stmt(db, `UPDATE channels SET ${COLUMN[field]} = ?, updated_at = ? WHERE user_id = ?`).run(stored, now, userId);
    }
    return getChannel(db, userId)!;
  })();
}

/** Channels with a recording retention of their own (prune uses it over the default), by name. */
export function channelsWithOwnRetention(db: Db): { userName: string; retentionMs: number }[] {
  return stmt(
    db,
    'SELECT u.name AS userName, c.retention_ms AS retentionMs FROM channels c JOIN users u ON u.id = c.user_id WHERE c.retention_ms IS NOT NULL ORDER BY u.name',
  ).all() as {
    userName: string;
    retentionMs: number;
  }[];
}
