// The JSON shape of each noun, one function per noun, so every command that prints a user (add,
// show, list, enable, ...) prints the same object and a list prints an array of them. Described by
// schemas/<noun>.schema.json and docs/json.md; test/cli/json-contract.test.ts validates real output.
// Field names are snake_case, times ISO 8601 UTC (or null), durations and sizes carry their unit.
import type { Ban } from '../store/bans';
import type { Channel } from '../store/channels';
import type { Grant } from '../store/grants';
import { keyWorksAt, type StreamKey } from '../store/keys';
import type { Recording } from '../store/recordings';
import type { TokenKey } from '../store/token-keys';
import type { User } from '../store/users';
import type { DeliveryAttemptRow, WebhookEndpoint } from '../store/webhooks';
import { isoTime } from './format';

/** A broadcaster. `active_keys`: how many of its stream keys work now (grace included). */
export function userJson(u: User, activeKeys: number) {
  return {
    id: u.id,
    name: u.name,
    display_name: u.displayName,
    external_id: u.externalId,
    disabled: u.disabled,
    created_at: isoTime(u.createdAt),
    active_keys: activeKeys,
  };
}

/** A stream key (never the key itself, except `key` right after it was made: `secret`). */
export function keyJson(user: string, k: StreamKey, now: number, secret?: string) {
  return {
    user,
    label: k.label,
    prefix: k.hint,
    state: k.revokedAt === null ? 'active' : keyWorksAt(k.revokedAt, now) ? 'grace' : 'revoked',
    created_at: isoTime(k.createdAt),
    revoked_at: isoTime(k.revokedAt),
    last_used_at: isoTime(k.lastUsedAt),
    last_ip: k.lastIp,
    ...(secret !== undefined ? { key: secret } : {}),
  };
}

/** A channel's policy. */
export function channelJson(user: string, c: Channel) {
  return {
    user,
    access: c.access,
    min_age: c.minAge,
    viewer_cap: c.viewerCap,
    viewer_sessions: c.viewerSessions,
    on_excess: c.onExcess,
    has_password: c.passwordHash !== null,
    record: c.record,
    retention_ms: c.retentionMs,
    replay_offline: c.replayOffline,
    second_push: c.secondPush,
    reconnect_grace_ms: c.reconnectGraceMs,
    updated_at: isoTime(c.updatedAt),
  };
}

/** A viewer's grant on a channel. */
export function grantJson(user: string, g: Grant, now: number) {
  return { user, viewer: g.viewer, until: isoTime(g.until), active: g.until === null || g.until > now, created_at: isoTime(g.createdAt) };
}

/** A ban (channel null: every channel). */
export function banJson(b: Ban, now: number) {
  return {
    id: b.id,
    channel: b.userName,
    scope: b.userId === null ? 'global' : 'channel',
    kind: b.kind,
    value: b.value,
    reason: b.reason,
    until: isoTime(b.until),
    active: b.until === null || b.until > now,
    created_at: isoTime(b.createdAt),
  };
}

/** A key that verifies playback tokens (the HS256 secret only right after it was made, or with --show). */
export function tokenKeyJson(k: Pick<TokenKey, 'id' | 'kind' | 'alg' | 'label' | 'createdAt' | 'retiredAt'>, now: number, secret?: string) {
  const state = k.retiredAt === null ? 'current' : k.retiredAt > now ? 'grace' : 'retired';
  return {
    id: k.id,
    kind: k.kind,
    alg: k.alg,
    label: k.label,
    state,
    created_at: isoTime(k.createdAt),
    retired_at: isoTime(k.retiredAt),
    ...(secret !== undefined ? { secret } : {}),
  };
}

/** A recording; `stream` is what a player asks MistServer for (<vod-base>+<id>). */
export function recordingJson(r: Recording, vodBase: string) {
  return {
    id: r.id,
    user: r.userName,
    stream: `${vodBase}+${r.id}`,
    path: r.path,
    bytes: r.bytes,
    duration_ms: r.durationMs,
    started_at: isoTime(r.startedAt),
    ended_at: isoTime(r.endedAt),
    status: r.deletingAt !== null ? 'deleting' : r.status,
    pinned: r.pinned,
    format: r.format,
    exit_code: r.exitCode,
    exit_reason: r.exitReason,
    broadcast_id: r.broadcastId,
  };
}

/** A hook program. */
export function hookJson(h: { event: string; program: string; updatedAt: number }) {
  return { event: h.event, program: h.program, updated_at: isoTime(h.updatedAt) };
}

/** A webhook endpoint (never its signing secret, except `secret` right after `webhook add`). */
export function webhookJson(e: WebhookEndpoint, secret?: string) {
  return {
    id: e.id,
    url: e.url,
    events: e.events,
    state: e.disabledAt === null ? 'enabled' : 'disabled',
    created_at: isoTime(e.createdAt),
    disabled_at: isoTime(e.disabledAt),
    disabled_reason: e.disabledReason,
    ...(secret !== undefined ? { secret } : {}),
  };
}

/** One attempt of a webhook delivery (attempt 0: queued, not attempted yet). */
export function webhookDeliveryJson(a: DeliveryAttemptRow) {
  return {
    delivery: a.deliveryId,
    event_id: a.eventId,
    type: a.type,
    endpoint: a.endpointId,
    url: a.url,
    state: a.state,
    attempt: a.attempt,
    at: isoTime(a.at),
    http_status: a.httpStatus,
    error: a.error,
    duration_ms: a.durationMs,
    next_attempt_at: isoTime(a.nextAt),
  };
}
