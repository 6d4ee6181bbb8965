-- Replication to the edges (issue 14): every change an edge's admission depends on leaves a row in
-- replication_outbox IN THE SAME TRANSACTION as the change, so no change can be committed without
-- its row (a rolled-back change leaves none). `streamctl edge relay` republishes the CURRENT state of
-- each named entity to Redis and deletes the rows only after Redis confirmed (src/replica/).
-- Rows are written only while the setting `replication` is 'redis': a one-box install pays nothing.

-- entity/ref name what to republish (src/replica/publish.ts):
--   channel/<user name>  sc:chan:<name> (and, once the user is gone, its bans and grants too)
--   bans/<user name>     sc:bans:<name>;  bans/''  sc:bans:global
--   grants/<user name>   sc:grants:<name>
--   keys/''  sc:keys;  settings/''  sc:settings;  vod/<recording id>  sc:vod:<id>
--   all/''               everything (replication was just turned on)
-- Refs are user NAMES, not ids: names never change, and a deleted user's keys must still be found.
-- AUTOINCREMENT: ids only grow, even after the relay deleted the newest row, so "every row up to the
-- last one published" is exact and sc:meta's outbox id never repeats.
CREATE TABLE replication_outbox (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  entity TEXT NOT NULL CHECK (entity IN ('channel', 'bans', 'grants', 'keys', 'settings', 'vod', 'all')),
  ref    TEXT NOT NULL,
  -- unix ms of the oldest change still waiting for this entity (`edge status` shows its age)
  at     INTEGER NOT NULL
) STRICT;
CREATE INDEX replication_outbox_entity ON replication_outbox(entity, ref);

-- The one place rows are written: the table triggers below insert into this view. One pending row
-- per entity: the new row replaces an older one for the same entity (a later id, so a relay that
-- read the older row before this change still leaves the new one pending; the oldest time is kept).
-- A user removed in batches of 2000 grants leaves one row, not 2000.
CREATE VIEW replication_enqueue (entity, ref) AS SELECT NULL, NULL WHERE 0;

CREATE TRIGGER replication_enqueue_insert INSTEAD OF INSERT ON replication_enqueue
WHEN (SELECT value FROM settings WHERE name = 'replication') = 'redis'
BEGIN
  INSERT INTO replication_outbox (entity, ref, at) VALUES (
    NEW.entity, NEW.ref,
    COALESCE((SELECT min(at) FROM replication_outbox WHERE entity = NEW.entity AND ref = NEW.ref),
             CAST(unixepoch('subsec') * 1000 AS INTEGER)));
  DELETE FROM replication_outbox
   WHERE entity = NEW.entity AND ref = NEW.ref AND id < (SELECT max(id) FROM replication_outbox);
END;

-- Users: name, disabled and external id are part of sc:chan:<name>; a removed user's keys go.
CREATE TRIGGER replication_users_insert AFTER INSERT ON users
BEGIN
  INSERT INTO replication_enqueue VALUES ('channel', NEW.name);
END;
CREATE TRIGGER replication_users_update AFTER UPDATE OF name, disabled, external_id ON users
BEGIN
  INSERT INTO replication_enqueue VALUES ('channel', OLD.name);
  INSERT INTO replication_enqueue SELECT 'channel', NEW.name WHERE NEW.name <> OLD.name;
END;
CREATE TRIGGER replication_users_delete AFTER DELETE ON users
BEGIN
  INSERT INTO replication_enqueue VALUES ('channel', OLD.name);
END;

-- Channel policy: only the columns an edge's admission reads (not recording or retention).
-- A row deleted with its user finds no user here: the users trigger covers it.
CREATE TRIGGER replication_channels_insert AFTER INSERT ON channels
BEGIN
  INSERT INTO replication_enqueue SELECT 'channel', name FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER replication_channels_update AFTER UPDATE OF user_id, access, min_age, viewer_cap, password_hash ON channels
BEGIN
  INSERT INTO replication_enqueue SELECT 'channel', name FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER replication_channels_delete AFTER DELETE ON channels
BEGIN
  INSERT INTO replication_enqueue SELECT 'channel', name FROM users WHERE id = OLD.user_id;
END;

-- Bans: a channel's own (by its name) or the global ones ('').
CREATE TRIGGER replication_bans_insert AFTER INSERT ON bans
BEGIN
  INSERT INTO replication_enqueue SELECT 'bans', '' WHERE NEW.user_id IS NULL;
  INSERT INTO replication_enqueue SELECT 'bans', name FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER replication_bans_update AFTER UPDATE ON bans
BEGIN
  INSERT INTO replication_enqueue SELECT 'bans', '' WHERE OLD.user_id IS NULL OR NEW.user_id IS NULL;
  INSERT INTO replication_enqueue SELECT 'bans', name FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER replication_bans_delete AFTER DELETE ON bans
BEGIN
  INSERT INTO replication_enqueue SELECT 'bans', '' WHERE OLD.user_id IS NULL;
  INSERT INTO replication_enqueue SELECT 'bans', name FROM users WHERE id = OLD.user_id;
END;

-- Grants.
CREATE TRIGGER replication_grants_insert AFTER INSERT ON access_grants
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER replication_grants_update AFTER UPDATE ON access_grants
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id IN (OLD.user_id, NEW.user_id);
END;
CREATE TRIGGER replication_grants_delete AFTER DELETE ON access_grants
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id = OLD.user_id;
END;

-- Token keys: one value holds them all.
CREATE TRIGGER replication_token_keys_insert AFTER INSERT ON token_keys
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;
CREATE TRIGGER replication_token_keys_update AFTER UPDATE ON token_keys
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;
CREATE TRIGGER replication_token_keys_delete AFTER DELETE ON token_keys
BEGIN
  INSERT INTO replication_enqueue VALUES ('keys', '');
END;

-- Recordings: a playable one (not being deleted) maps vod+<id> to its channel.
CREATE TRIGGER replication_recordings_insert AFTER INSERT ON recordings
BEGIN
  INSERT INTO replication_enqueue VALUES ('vod', NEW.id);
END;
CREATE TRIGGER replication_recordings_update AFTER UPDATE OF id, user_id, deleting_at ON recordings
BEGIN
  INSERT INTO replication_enqueue VALUES ('vod', OLD.id);
  INSERT INTO replication_enqueue SELECT 'vod', NEW.id WHERE NEW.id <> OLD.id;
END;
CREATE TRIGGER replication_recordings_delete AFTER DELETE ON recordings
BEGIN
  INSERT INTO replication_enqueue VALUES ('vod', OLD.id);
END;

-- Settings: only those an edge reads (src/replica/schema.ts REPLICATED_SETTINGS; keep in step).
-- Turning replication on asks for everything: changes made while it was off were never queued.
CREATE TRIGGER replication_settings_insert AFTER INSERT ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE NEW.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl');
  INSERT INTO replication_enqueue SELECT 'all', '' WHERE NEW.name = 'replication';
END;
CREATE TRIGGER replication_settings_update AFTER UPDATE ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE NEW.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl')
      OR OLD.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl');
  INSERT INTO replication_enqueue SELECT 'all', '' WHERE NEW.name = 'replication' AND OLD.value <> 'redis';
END;
CREATE TRIGGER replication_settings_delete AFTER DELETE ON settings
BEGIN
  INSERT INTO replication_enqueue SELECT 'settings', ''
   WHERE OLD.name IN ('stream-base', 'vod-base', 'offline-stream', 'unknown-stream-access', 'viewer-session-stale', 'token-max-ttl');
END;
