-- Users, their stream keys, settings, the push brute-force guard and the event log.
-- Times are unix milliseconds (MistServer's MIST_TIME unit).

CREATE TABLE settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE CHECK (name GLOB '[a-z0-9]*' AND length(name) <= 32),
  display_name TEXT,
  external_id  TEXT UNIQUE,
  disabled     INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at   INTEGER NOT NULL
) STRICT;

-- Only the SHA-256 digest of a key is kept; `prefix` is a short, non-secret hint for humans.
-- A key works while revoked_at is NULL or still in the future (a rotation grace period).
CREATE TABLE stream_keys (
  id           INTEGER PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  label        TEXT NOT NULL,
  prefix       TEXT NOT NULL,
  digest       TEXT NOT NULL UNIQUE,
  created_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  last_used_at INTEGER,
  last_ip      TEXT
) STRICT;
CREATE INDEX stream_keys_user ON stream_keys(user_id);
-- One current key per label; revoked keys (even those in grace) free their label.
CREATE UNIQUE INDEX stream_keys_current_label ON stream_keys(user_id, label) WHERE revoked_at IS NULL;

-- Refused pushes per client address, for the brute-force guard; old rows are deleted as new ones arrive.
CREATE TABLE push_failures (
  ip TEXT NOT NULL,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX push_failures_ip_at ON push_failures(ip, at);
CREATE INDEX push_failures_at ON push_failures(at);

-- What happened and why; never a secret (no keys, tokens or passwords).
CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  kind    TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason  TEXT NOT NULL,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
  ip      TEXT,
  detail  TEXT
) STRICT;
CREATE INDEX events_at ON events(at);
CREATE INDEX events_user_at ON events(user_id, at);
