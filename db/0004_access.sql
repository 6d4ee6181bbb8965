-- Viewer access control: grants (paid subscribers and private allow lists), bans, and the keys
-- that verify playback tokens. Times are unix milliseconds.

-- A viewer (the site's viewer id, the token's `sub`) entitled to watch a paid or private channel.
CREATE TABLE access_grants (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  viewer     TEXT NOT NULL CHECK (length(viewer) BETWEEN 1 AND 200),
  until      INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, viewer)
) STRICT;

-- Bans by viewer id or by address (`value` is a canonical CIDR, e.g. 192.0.2.0/24, 2001:db8::/32).
-- user_id NULL = every channel. A ban wins over any token or grant.
CREATE TABLE bans (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
  kind       TEXT NOT NULL CHECK (kind IN ('viewer', 'ip')),
  value      TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  reason     TEXT,
  until      INTEGER,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX bans_user ON bans(user_id);

-- Keys that verify playback tokens: HS256 secrets made by `streamctl token secret` and public keys
-- (ES256/EdDSA, PEM) added by `streamctl token key add`. A key verifies while retired_at is NULL or
-- still in the future (the rotation grace period). Never registered with MistServer.
CREATE TABLE token_keys (
  id         INTEGER PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('secret', 'public')),
  alg        TEXT NOT NULL CHECK (alg IN ('HS256', 'ES256', 'EdDSA')),
  material   TEXT NOT NULL,
  label      TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
) STRICT;
