// What the origin replicates to every edge through Redis, and how it is laid out there. Both sides
// import this file only: the origin's relay and `edge resync` write these keys from SQLite (the
// system of record), the edge's USER_NEW reads them from its local replica. Values are JSON so one
// pipelined read fetches everything a viewer admission needs. Everything lives under one prefix, so
// `edge resync` can find and delete keys whose entity no longer exists.

import type { SessionTotals } from '../mist/session-totals';

/** Every replicated key starts with this. */
export const PREFIX = 'sc:';

/** Settings an edge's admission reads (the rest stay on the origin). */
export const REPLICATED_SETTINGS = [
  'stream-base',
  'vod-base',
  'offline-stream',
  'unknown-stream-access',
  'viewer-session-stale',
  'token-max-ttl',
  'viewer-sessions',
] as const;
export type ReplicatedSetting = (typeof REPLICATED_SETTINGS)[number];

/** `sc:settings` → JSON of every replicated setting's effective value (defaults included). */
export type SettingsValue = Record<ReplicatedSetting, string>;

/** `sc:chan:<user name>` → the user and its channel policy (user names never change). */
export interface ChannelValue {
  id: number;
  name: string;
  disabled: boolean;
  /** The site's user id (owner tokens match on it), or null. */
  externalId: string | null;
  /** null: the channel row is missing (the edge refuses, like the origin: no-policy). */
  access: 'public' | 'password' | 'paid' | 'age' | 'private' | null;
  minAge: number | null;
  viewerCap: number | null;
  /** A password channel admits token holders only once a password is set. */
  passwordSet: boolean;
  /** Most concurrent sessions per viewer id set on the channel (null: the setting viewer-sessions). Absent from values written before viewer-sessions existed: null. */
  viewerSessions?: number | null;
  /** The next session past that limit: refused or evicting the viewer's oldest. Absent: refuse. */
  onExcess?: 'refuse' | 'evict-oldest';
}

/** `sc:vod:<recording id>` → the user name of the channel a playable recording belongs to. */

/**
 * `sc:vodfile:<recording id>` → the recording's file relative to the origin's recordings-root,
 * '/'-separated (`3/20261123-192357-090.mkv`). An edge plays recordings from shared storage (the
 * origin's recordings folder mounted on every edge): its STREAM_SOURCE joins this to its own
 * recordings root (streamctl.conf recordings_root=). Absent when the file is not under the
 * origin's recordings-root (the origin does not serve it either).
 */

/** Hash `sc:bans:global` and `sc:bans:<user name>`: field = ban id, value = JSON BanValue. */
export interface BanValue {
  kind: 'viewer' | 'ip';
  /** A viewer id, or a canonical CIDR. */
  value: string;
  /** Unix ms the ban ends, or null. */
  until: number | null;
}

/** Hash `sc:grants:<user name>`: field = viewer id, value = `until` in unix ms, or '' for none. */

/** `sc:keys` → JSON array of the token keys that verify now or later (retired ones past their grace are left out). */
export interface KeyValue {
  id: number;
  kind: 'secret' | 'public';
  alg: 'HS256' | 'ES256' | 'EdDSA';
  material: string;
  label: string;
  retiredAt: number | null;
}

/**
 * Hash `sc:revoked`: field = a revoked token's jti, value = unix ms until which it is kept (its
 * exp). Published with sc:keys (the outbox entity `keys`): both decide whether a token verifies.
 */

/** `sc:meta` hash: `synced_at` (unix ms of the last resync), `outbox` (id of the last outbox row applied). */

/**
 * The viewer cap lives on the origin's primary only (never read from a replica): a hash
 * `sc:cap:<user name>`, field = MistServer's session id, value = last seen (unix ms), counted and
 * claimed by one Lua call so two edges never both take the last place. USER_END deletes the field.
 */

/**
 * List `sc:ends` on the primary only (edges write it, the origin drains it): each edge's USER_END
 * appends (RPUSH) one JSON SessionEndValue, the origin's relay folds them into viewer_sessions as
 * the one-box USER_END does and trims what it stored. Not written from SQLite: resync leaves it.
 * The viewer's token (USER_END line 1) is never in it.
 */
export interface SessionEndValue extends SessionTotals {
  /** MIST_TIME of the USER_END, unix ms. */
  time: number;
  /** MIST_TUUID ('' when absent): a redelivered end is stored once. */
  eventId: string;
}

export const keys = {
  settings: `${PREFIX}settings`,
  meta: `${PREFIX}meta`,
  tokenKeys: `${PREFIX}keys`,
  revoked: `${PREFIX}revoked`,
  channel: (name: string) => `${PREFIX}chan:${name}`,
  vod: (recordingId: string) => `${PREFIX}vod:${recordingId}`,
  vodFile: (recordingId: string) => `${PREFIX}vodfile:${recordingId}`,
  globalBans: `${PREFIX}bans:global`,
  channelBans: (name: string) => `${PREFIX}bans:${name}`,
  grants: (name: string) => `${PREFIX}grants:${name}`,
  cap: (name: string) => `${PREFIX}cap:${name}`,
  viewerSessions: (name: string, viewer: string) => `${PREFIX}vs:${name}:${viewer}`,
  session: (sessionId: string) => `${PREFIX}sess:${sessionId}`,
  evict: `${PREFIX}evict`,
  sessionEnds: `${PREFIX}ends`,
} as const;
