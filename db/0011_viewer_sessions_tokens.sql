-- Tokens that behave like tickets (issue 22): at most N concurrent sessions per viewer on a
-- channel, token revocation by `jti`, and expiry mid-session.

-- Per channel: the most concurrent sessions one viewer id (a token's `sub`) may hold; NULL = the
-- global setting `viewer-sessions`. What happens to the next one: refused, or admitted while the
-- viewer's oldest session is stopped.
ALTER TABLE channels ADD COLUMN viewer_sessions INTEGER CHECK (viewer_sessions IS NULL OR viewer_sessions > 0);
ALTER TABLE channels ADD COLUMN on_excess TEXT NOT NULL DEFAULT 'refuse' CHECK (on_excess IN ('refuse', 'evict-oldest'));

-- Each admitted session's token: its `exp` (the expiry job re-checks the streams holding expired
-- ones), its `jti` (a revocation stops the sessions it admitted), and when streamctl stopped it
-- (evicted for a newer session of the same viewer, or its token revoked): it no longer counts.
ALTER TABLE viewer_sessions ADD COLUMN token_exp INTEGER;
ALTER TABLE viewer_sessions ADD COLUMN jti TEXT;
ALTER TABLE viewer_sessions ADD COLUMN stopped_at INTEGER;
-- When the expiry job last asked MistServer to re-check this session's stream for its expired token.
ALTER TABLE viewer_sessions ADD COLUMN expiry_checked_at INTEGER;
CREATE INDEX viewer_sessions_viewer ON viewer_sessions(user_id, viewer) WHERE closed_at IS NULL AND viewer IS NOT NULL;
CREATE INDEX viewer_sessions_expiry ON viewer_sessions(token_exp) WHERE closed_at IS NULL AND token_exp IS NOT NULL;
CREATE INDEX viewer_sessions_jti ON viewer_sessions(jti) WHERE jti IS NOT NULL;

-- Revoked tokens by `jti`, refused from `revoked_at` on and kept until `until` (the token's exp
-- when a session showed it, else revoked_at + token-max-ttl: no token lives longer).
CREATE TABLE revoked_tokens (
  jti        TEXT PRIMARY KEY,
  revoked_at INTEGER NOT NULL,
  until      INTEGER NOT NULL
) STRICT;

-- Replicated with the token keys (sc:revoked beside sc:keys: both decide whether a token verifies).
CREATE TRIGGER replication_revoked_insert AFTER INSERT ON revoked_tokens
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;
CREATE TRIGGER replication_revoked_update AFTER UPDATE ON revoked_tokens
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;
CREATE TRIGGER replication_revoked_delete AFTER DELETE ON revoked_tokens
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;

-- The channel's value on the edges now carries the viewer-sessions limit too.
DROP TRIGGER replication_channels_update;
CREATE TRIGGER replication_channels_update AFTER UPDATE OF user_id, access, min_age, viewer_cap, password_hash, viewer_sessions, on_excess ON channels
BEGIN
  INSERT INTO replication_enqueue SELECT 'channel', name FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;

-- Settings an edge reads: viewer-sessions joins them (src/replica/schema.ts REPLICATED_SETTINGS).
DROP TRIGGER replication_settings_insert;
DROP TRIGGER replication_settings_update;
DROP TRIGGER replication_settings_delete;
CREATE TRIGGER replication_settings_insert AFTER INSERT ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE NEW.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl', 'viewer-sessions');
  INSERT INTO replication_enqueue SELECT 'all', '' WHERE NEW.name = 'replication';
END;
CREATE TRIGGER replication_settings_update AFTER UPDATE ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE NEW.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl', 'viewer-sessions')
      OR OLD.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl', 'viewer-sessions');
  INSERT INTO replication_enqueue SELECT 'all', '' WHERE NEW.name = 'replication' AND OLD.value <> 'redis';
END;
CREATE TRIGGER replication_settings_delete AFTER DELETE ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE OLD.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl', 'viewer-sessions');
END;

-- The edges' copy of the settings gains viewer-sessions now, not at the next settings change.
INSERT INTO replication_enqueue VALUES ('settings', '');
