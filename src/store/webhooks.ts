// Webhooks (db/0012): endpoints, the events a state change leaves for them, their deliveries and
// every attempt. enqueueWebhookEvent runs inside the caller's transaction (the trigger's state
// change), so an event is committed exactly when the change is; with no endpoint subscribed it
// writes nothing (one indexed look-up on an empty table).
import type { Db } from './open';
import { stmt } from './statements';

/** Every event type a trigger or command emits (webhook.test only by `webhook test`). */
export const WEBHOOK_EVENT_TYPES = [
  'stream.live',
  'stream.unstable',
  'stream.stable',
  'stream.offline',
  'recording.ready',
  'recording.failed',
  'recording.deleted',
  'webhook.test',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEndpoint {
  id: number;
  url: string;
  /** Subscribed types; null: every type. */
  events: WebhookEventType[] | null;
  createdAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
}

interface EndpointRow {
  id: number;
  url: string;
  events: string | null;
  createdAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
}

const ENDPOINT_SELECT =
  'SELECT id, url, events, created_at AS createdAt, disabled_at AS disabledAt, disabled_reason AS disabledReason FROM webhook_endpoints';

function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return { ...r, events: r.events === null ? null : (r.events.slice(1, -1).split(',') as WebhookEventType[]) };
}

/** Adds an endpoint with its signing key (base64 bytes); returns its id. */
export function insertWebhookEndpoint(
  db: Db,
  e: { url: string; secret: string; events: readonly WebhookEventType[] | null; now: number },
): number {
  const events = e.events === null ? null : `,${e.events.join(',')},`;
  return Number(
    stmt(db, 'INSERT INTO webhook_endpoints (url, secret, events, created_at) VALUES (?, ?, ?, ?)').run(e.url, e.secret, events, e.now)
      .lastInsertRowid,
  );
}

/** Every endpoint, by id (never the secret). */
export function listWebhookEndpoints(db: Db): WebhookEndpoint[] {
  return (stmt(db, `${ENDPOINT_SELECT} ORDER BY id`).all() as EndpointRow[]).map(toEndpoint);
}

/** One endpoint (never the secret). */
export function getWebhookEndpoint(db: Db, id: number): WebhookEndpoint | undefined {
  const r = stmt(db, `${ENDPOINT_SELECT} WHERE id = ?`).get(id) as EndpointRow | undefined;
  return r && toEndpoint(r);
}

/** Removes an endpoint and, with it, its deliveries and their attempts. */
export function deleteWebhookEndpoint(db: Db, id: number): boolean {
  return db
    .transaction(() => {
      // Deliveries first: their attempts go by cascade, and events left with no delivery are dropped.
      stmt(db, 'DELETE FROM webhook_deliveries WHERE endpoint_id = ?').run(id);
      const gone = stmt(db, 'DELETE FROM webhook_endpoints WHERE id = ?').run(id).changes === 1;
      stmt(
        db,
        'DELETE FROM webhook_events WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)',
      ).run();
      return gone;
    })
    .immediate();
}

/** Marks an endpoint disabled (it answered 410 Gone): the sender skips its deliveries. */
export function disableWebhookEndpoint(db: Db, id: number, reason: string, now: number): void {
  stmt(db, 'UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL').run(now, reason, id);
}

/** Enables an endpoint again; its waiting deliveries are due at once. */
export function enableWebhookEndpoint(db: Db, id: number, now: number): boolean {
  return db
    .transaction(() => {
      const changed =
        stmt(db, 'UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL WHERE id = ? AND disabled_at IS NOT NULL').run(id)
          .changes === 1;
      if (changed) stmt(db, "UPDATE webhook_deliveries SET next_at = ? WHERE endpoint_id = ? AND state = 'pending'").run(now, id);
      return changed;
    })
    .immediate();
}

const SUBSCRIBED = "disabled_at IS NULL AND (events IS NULL OR instr(events, ',' || @type || ',') > 0)";

export interface WebhookEventInput {
  type: WebhookEventType;
  /** Unix ms of what happened (the body's `time`). */
  at: number;
  /** The channel's user name (null: none, webhook.test). */
  channel: string | null;
  userId: number | null;
  /** The body's `data` object. */
  data: Record<string, unknown>;
  /** When the deliveries are due (unix ms, usually now). */
  now: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A recording as the recording.* events describe it (no file path: the site plays vod+<id>). */
export function recordingWebhookData(r: {
  id: string;
  broadcastId: number | null;
  format: string;
  bytes: number;
  durationMs: number;
  startedAt: number;
  endedAt: number;
  status: string;
}): Record<string, unknown> {
  return {
    recording: {
      id: r.id,
      broadcast_id: r.broadcastId,
      status: r.status,
      format: r.format,
      bytes: r.bytes,
      duration_ms: r.durationMs,
      started_at: iso(r.startedAt),
      ended_at: iso(r.endedAt),
    },
  };
}

/**
 * Writes an event and one due delivery per enabled endpoint subscribed to its type, in the
 * caller's transaction; returns the event id, or null when no endpoint wants it (nothing written).
 * The id is random (128 bits from SQLite's randomblob, no crypto module on the trigger's path);
 * the body is built here, once, and sent byte for byte on every attempt.
 */
export function enqueueWebhookEvent(db: Db, e: WebhookEventInput): string | null {
  if (!stmt(db, `SELECT 1 FROM webhook_endpoints WHERE ${SUBSCRIBED} LIMIT 1`).get({ type: e.type })) return null;
  const id = insertEvent(db, e);
  stmt(
    db,
    `INSERT INTO webhook_deliveries (event_id, endpoint_id, next_at, created_at) SELECT @id, id, @now, @now FROM webhook_endpoints WHERE ${SUBSCRIBED}`,
  ).run({
    id,
    now: e.now,
    type: e.type,
  });
  return id;
}

/**
 * A webhook.test event for one endpoint (whatever it subscribes to), its delivery leased to the
 * caller until `leaseUntil` (it sends it at once; the sender retries it if that fails).
 */
export function enqueueTestEvent(db: Db, endpointId: number, now: number, leaseUntil: number): { eventId: string; deliveryId: number } {
  return db
    .transaction(() => {
      const eventId = insertEvent(db, { type: 'webhook.test', at: now, channel: null, userId: null, data: { endpoint: endpointId }, now });
      const deliveryId = Number(
        stmt(db, 'INSERT INTO webhook_deliveries (event_id, endpoint_id, next_at, leased_until, created_at) VALUES (?, ?, ?, ?, ?)').run(
          eventId,
          endpointId,
          now,
          leaseUntil,
          now,
        ).lastInsertRowid,
      );
      return { eventId, deliveryId };
    })
    .immediate();
}

/** A delivery by id as a sender sends it (the caller holds its lease). */
export function leasedDelivery(db: Db, deliveryId: number): ClaimedDelivery | undefined {
  return stmt(
    db,
    `SELECT d.id, d.event_id AS eventId, ev.type, ev.body, d.endpoint_id AS endpointId, ep.url, ep.secret, d.attempts
       FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
      WHERE d.id = ?`,
  ).get(deliveryId) as ClaimedDelivery | undefined;
}

function insertEvent(db: Db, e: WebhookEventInput): string {
  const row = stmt(
    db,
    `INSERT INTO webhook_events (id, type, at, user_id, body)
     SELECT id, @type, @at, @userId, json_object('type', @type, 'id', id, 'time', @time, 'channel', @channel, 'data', json(@data))
       FROM (SELECT 'msg_' || lower(hex(randomblob(16))) AS id)
     RETURNING id`,
  ).get({
    type: e.type,
    at: e.at,
    userId: e.userId,
    time: new Date(e.at).toISOString(),
    channel: e.channel,
    data: JSON.stringify(e.data),
  }) as { id: string };
  return row.id;
}

/** A delivery a sender took: what to send, where, and with which key. */
export interface ClaimedDelivery {
  id: number;
  eventId: string;
  type: string;
  body: string;
  endpointId: number;
  url: string;
  secret: string;
  /** Attempts made before this one. */
  attempts: number;
}

/**
 * Takes up to `limit` due deliveries of enabled endpoints, leasing each until `leaseUntil` (one
 * IMMEDIATE transaction, so two senders never take the same row while its lease runs). A row whose
 * sender died is due again once its lease ran out.
 */
export function claimDueDeliveries(db: Db, now: number, leaseUntil: number, limit: number): ClaimedDelivery[] {
  // Run inside the caller's IMMEDIATE transaction when there is one (writeWithRetry), else its own.
  return db
    .transaction(() => {
      const rows = stmt(
        db,
        `SELECT d.id, d.event_id AS eventId, ev.type, ev.body, d.endpoint_id AS endpointId, ep.url, ep.secret, d.attempts
           FROM webhook_deliveries d
           JOIN webhook_events ev ON ev.id = d.event_id
           JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
          WHERE d.state = 'pending' AND d.next_at <= @now AND (d.leased_until IS NULL OR d.leased_until <= @now) AND ep.disabled_at IS NULL
          ORDER BY d.next_at, d.id LIMIT @limit`,
      ).all({ now, limit }) as ClaimedDelivery[];
      const lease = stmt(db, 'UPDATE webhook_deliveries SET leased_until = ? WHERE id = ?');
      for (const r of rows) lease.run(leaseUntil, r.id);
      return rows;
    })
    .immediate();
}

/** When the next due delivery of an enabled endpoint is (unix ms), or null when none is pending. */
export function nextDueAt(db: Db): number | null {
  const r = stmt(
    db,
    `SELECT min(max(d.next_at, coalesce(d.leased_until, 0))) AS at FROM webhook_deliveries d JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
      WHERE d.state = 'pending' AND ep.disabled_at IS NULL`,
  ).get() as { at: number | null };
  return r.at;
}

/** What one attempt came to. */
export interface AttemptResult {
  deliveryId: number;
  attempt: number;
  at: number;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
  /** The delivery's state after this attempt. */
  state: 'pending' | 'delivered' | 'failed';
  /** When the next attempt is due (pending only). */
  nextAt: number | null;
}

/** Stores an attempt and the delivery's new state, releasing its lease (one transaction). */
export function recordAttempt(db: Db, a: AttemptResult): void {
  db.transaction(() => {
    stmt(
      db,
      'INSERT INTO webhook_attempts (delivery_id, attempt, at, http_status, error, duration_ms, next_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(a.deliveryId, a.attempt, a.at, a.httpStatus, a.error, a.durationMs, a.nextAt);
    stmt(db, 'UPDATE webhook_deliveries SET state = ?, attempts = ?, next_at = ?, leased_until = NULL WHERE id = ?').run(
      a.state,
      a.attempt,
      a.nextAt,
      a.deliveryId,
    );
  }).immediate();
}

/** Gives a lease back without an attempt (the sender is stopping before it sent). */
export function releaseLease(db: Db, deliveryId: number): void {
  stmt(db, 'UPDATE webhook_deliveries SET leased_until = NULL WHERE id = ?').run(deliveryId);
}

/** One row of `webhook deliveries`: an attempt, or a delivery not attempted yet (attempt 0). */
export interface DeliveryAttemptRow {
  deliveryId: number;
  eventId: string;
  type: string;
  endpointId: number;
  url: string;
  state: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempt: number;
  at: number | null;
  httpStatus: number | null;
  error: string | null;
  durationMs: number | null;
  nextAt: number | null;
}

/** The newest attempts (and deliveries waiting for their first), newest first. */
export function listDeliveryAttempts(db: Db, filter: { eventId?: string; endpointId?: number; limit: number }): DeliveryAttemptRow[] {
  return stmt(
    db,
    `SELECT * FROM (
       SELECT d.id AS deliveryId, d.event_id AS eventId, ev.type, d.endpoint_id AS endpointId, ep.url, d.state,
              a.attempt, a.at, a.http_status AS httpStatus, a.error, a.duration_ms AS durationMs, a.next_at AS nextAt, a.id AS k
         FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
         JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
        WHERE (@eventId IS NULL OR d.event_id = @eventId) AND (@endpointId IS NULL OR d.endpoint_id = @endpointId)
       UNION ALL
       SELECT d.id, d.event_id, ev.type, d.endpoint_id, ep.url, d.state, 0, NULL, NULL, NULL, NULL, d.next_at, NULL
         FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
        WHERE d.attempts = 0 AND (@eventId IS NULL OR d.event_id = @eventId) AND (@endpointId IS NULL OR d.endpoint_id = @endpointId))
     ORDER BY coalesce(at, nextAt) DESC, deliveryId DESC, attempt DESC LIMIT @limit`,
  ).all({ eventId: filter.eventId ?? null, endpointId: filter.endpointId ?? null, limit: filter.limit }) as DeliveryAttemptRow[];
}

/** An event as stored (body included: it holds no secret). */
export interface StoredWebhookEvent {
  id: string;
  type: string;
  at: number;
  body: string;
}

export function getWebhookEvent(db: Db, id: string): StoredWebhookEvent | undefined {
  return stmt(db, 'SELECT id, type, at, body FROM webhook_events WHERE id = ?').get(id) as StoredWebhookEvent | undefined;
}

/**
 * Sends an event again: a new due delivery to each endpoint it was for (or to `endpointId` only),
 * the same id and body, so a receiver that has it already drops it. An older delivery of the same
 * pair still pending is cancelled (the new one replaces it). Returns the endpoints queued.
 */
export function replayWebhookEvent(db: Db, eventId: string, now: number, endpointId?: number): number[] {
  return db
    .transaction(() => {
      const endpoints = (
        stmt(
          db,
          'SELECT DISTINCT endpoint_id AS id FROM webhook_deliveries WHERE event_id = ? AND (? IS NULL OR endpoint_id = ?) ORDER BY endpoint_id',
        ).all(eventId, endpointId ?? null, endpointId ?? null) as { id: number }[]
      ).map((r) => r.id);
      if (endpointId !== undefined && endpoints.length === 0 && getWebhookEndpoint(db, endpointId)) endpoints.push(endpointId);
      for (const id of endpoints) {
        stmt(
          db,
          "UPDATE webhook_deliveries SET state = 'cancelled', next_at = NULL WHERE event_id = ? AND endpoint_id = ? AND state = 'pending'",
        ).run(eventId, id);
        stmt(db, 'INSERT INTO webhook_deliveries (event_id, endpoint_id, next_at, created_at) VALUES (?, ?, ?, ?)').run(
          eventId,
          id,
          now,
          now,
        );
      }
      return endpoints;
    })
    .immediate();
}

export interface WebhookStats {
  endpoints: number;
  endpointsDisabled: number;
  pending: number;
  /** Unix ms of the oldest pending delivery's event, null when none. */
  oldestPendingAt: number | null;
  /** Deliveries by final state (delivered, failed) whose last attempt is in the window. */
  finished: Record<'delivered' | 'failed', number>;
  /** Attempts in the window that did not get a 2xx. */
  failedAttempts: number;
}

/** The figures `metrics` and `webhook list` show. */
export function webhookStats(db: Db, since: number): WebhookStats {
  return db.transaction((): WebhookStats => {
    const ep = stmt(db, 'SELECT count(*) AS n, count(disabled_at) AS disabled FROM webhook_endpoints').get() as {
      n: number;
      disabled: number;
    };
    const p = stmt(
      db,
      "SELECT count(*) AS n, min(ev.at) AS oldest FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id WHERE d.state = 'pending'",
    ).get() as { n: number; oldest: number | null };
    const finished = { delivered: 0, failed: 0 };
    for (const r of stmt(
      db,
      `SELECT d.state, count(*) AS n FROM webhook_deliveries d
        WHERE d.state IN ('delivered', 'failed') AND (SELECT max(at) FROM webhook_attempts a WHERE a.delivery_id = d.id) >= ? GROUP BY d.state`,
    ).all(since) as { state: 'delivered' | 'failed'; n: number }[]) {
      finished[r.state] = r.n;
    }
    const failedAttempts = (
      stmt(
        db,
        'SELECT count(*) AS n FROM webhook_attempts WHERE at >= ? AND (http_status IS NULL OR http_status NOT BETWEEN 200 AND 299)',
      ).get(since) as { n: number }
    ).n;
    return { endpoints: ep.n, endpointsDisabled: ep.disabled, pending: p.n, oldestPendingAt: p.oldest, finished, failedAttempts };
  })();
}

/** Deletes events older than `before` with nothing pending (their deliveries and attempts go with them). */
export function pruneWebhookEvents(db: Db, before: number): number {
  return stmt(
    db,
    "DELETE FROM webhook_events WHERE at < ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id AND d.state = 'pending')",
  ).run(before).changes;
}
