-- Webhooks (issue 23 §2): signed HTTP notifications to the site's backend, per the Standard
-- Webhooks spec. A trigger writes the event and one delivery row per subscribed endpoint IN THE
-- SAME TRANSACTION as the state change it reports (src/store/webhooks.ts); `streamctl webhook
-- deliver` sends them afterwards and keeps a row pending until the endpoint answered 2xx (at least
-- once: receivers deduplicate by webhook-id, the event id). With no endpoint, nothing is written.

-- secret: the signing key's bytes as base64 (what follows `whsec_`). Not a digest: the sender
-- must sign with it. Shown once by `webhook add`; never in a listing, JSON or log line.
-- events: the subscribed types as ',stream.live,stream.offline,' (commas around each, so one
-- instr() matches a whole name), NULL for all of them.
-- disabled_at/disabled_reason: set when the endpoint answered 410 Gone (its deliveries wait).
CREATE TABLE webhook_endpoints (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  url             TEXT NOT NULL CHECK (url LIKE 'http://%' OR url LIKE 'https://%'),
  secret          TEXT NOT NULL,
  events          TEXT CHECK (events IS NULL OR (events LIKE ',%,' AND length(events) > 2)),
  created_at      INTEGER NOT NULL,
  disabled_at     INTEGER,
  disabled_reason TEXT
) STRICT;

-- One row per event; body is the exact JSON every attempt sends and signs. Not tied to the user
-- row: the event outlives a removed channel, and body names the channel.
CREATE TABLE webhook_events (
  id         TEXT PRIMARY KEY,
  type       TEXT NOT NULL,
  at         INTEGER NOT NULL,
  user_id    INTEGER,
  body       TEXT NOT NULL
) STRICT;
CREATE INDEX webhook_events_at ON webhook_events(at);

-- One row per (event, endpoint) to send. state: pending (next_at: when it is due), delivered (a
-- 2xx), failed (no 2xx by the last retry), cancelled (replaced by a replay). leased_until: a sender that took the row sends it until then; one killed meanwhile
-- leaves the row to the next sender once the lease ran out, so no event is lost.
CREATE TABLE webhook_deliveries (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT NOT NULL REFERENCES webhook_events(id) ON DELETE CASCADE,
  endpoint_id  INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
  state        TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  next_at      INTEGER,
  leased_until INTEGER,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id);

-- Every attempt, for `webhook deliveries`: HTTP status or the error, and when the next one is due.
CREATE TABLE webhook_attempts (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  at          INTEGER NOT NULL,
  http_status INTEGER,
  error       TEXT,
  duration_ms INTEGER NOT NULL,
  next_at     INTEGER
) STRICT;
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id);
CREATE INDEX webhook_attempts_at ON webhook_attempts(at);
