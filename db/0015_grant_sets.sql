-- Grant sets: a big `streamctl sync` replaces a channel's grants without holding the write lock for
-- the whole import. Each grant row belongs to a set of its channel; the channel says which set is
-- current, and only the current set is seen (admission, `grant list`, replication, explain). Sync
-- builds a big channel's next set invisibly in short transactions, makes it current in its final
-- transaction (one small UPDATE, all or nothing with the rest of the sync), then deletes the old
-- set in short transactions. Every existing row is in set 0 and every channel's current set is 0,
-- so existing data reads as before.

-- grants_version counts changes to the current set (the triggers below): sync compares it with
-- the value it planned against, so a `grant add` made while it built the next set is not lost.
ALTER TABLE channels ADD COLUMN grant_set INTEGER NOT NULL DEFAULT 0;
ALTER TABLE channels ADD COLUMN grants_version INTEGER NOT NULL DEFAULT 0;

-- Sets that exist but are not current: 'staging' (a sync is building it) or 'retired' (no longer
-- current, or abandoned: its rows are being deleted). Every grant row is in its channel's current
-- set or in a set listed here, so a sync that crashed leaves rows the next sync finds and deletes.
CREATE TABLE grant_sets (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  set_id     INTEGER NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('staging', 'retired')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, set_id)
) STRICT;

-- The primary key becomes (user_id, set_id, viewer): a viewer may be in the current and the next
-- set at once. SQLite cannot change a primary key in place: the table is rebuilt, once, in this
-- migration's transaction (600,000 grants: 0.6 s on a 2-core machine).
CREATE TABLE access_grants_new (
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  set_id     INTEGER NOT NULL DEFAULT 0,
  viewer     TEXT NOT NULL CHECK (length(viewer) BETWEEN 1 AND 200),
  until      INTEGER,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, set_id, viewer)
) STRICT;
INSERT INTO access_grants_new (user_id, set_id, viewer, until, created_at)
  SELECT user_id, 0, viewer, until, created_at FROM access_grants;
DROP TABLE access_grants;
ALTER TABLE access_grants_new RENAME TO access_grants;

-- Replication (db/0010): only a change to the current set is a change an edge must see; rows of a
-- set being built are not published, and the switch to a new set republishes the channel's grants.
CREATE TRIGGER replication_grants_insert AFTER INSERT ON access_grants
WHEN NEW.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = NEW.user_id), 0)
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id = NEW.user_id;
END;
CREATE TRIGGER replication_grants_update AFTER UPDATE ON access_grants
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users
   WHERE id IN (OLD.user_id, NEW.user_id)
     AND (OLD.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = OLD.user_id), 0)
       OR NEW.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = NEW.user_id), 0));
END;
CREATE TRIGGER replication_grants_delete AFTER DELETE ON access_grants
WHEN OLD.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = OLD.user_id), 0)
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id = OLD.user_id;
END;
CREATE TRIGGER replication_grant_set_switch AFTER UPDATE OF grant_set ON channels
BEGIN
  INSERT INTO replication_enqueue SELECT 'grants', name FROM users WHERE id = NEW.user_id;
END;

-- The current set's version.
CREATE TRIGGER grants_version_insert AFTER INSERT ON access_grants
WHEN NEW.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = NEW.user_id), 0)
BEGIN
  UPDATE channels SET grants_version = grants_version + 1 WHERE user_id = NEW.user_id;
END;
CREATE TRIGGER grants_version_update AFTER UPDATE ON access_grants
BEGIN
  UPDATE channels SET grants_version = grants_version + 1
   WHERE (user_id = OLD.user_id AND grant_set = OLD.set_id) OR (user_id = NEW.user_id AND grant_set = NEW.set_id);
END;
CREATE TRIGGER grants_version_delete AFTER DELETE ON access_grants
WHEN OLD.set_id = coalesce((SELECT grant_set FROM channels WHERE user_id = OLD.user_id), 0)
BEGIN
  UPDATE channels SET grants_version = grants_version + 1 WHERE user_id = OLD.user_id;
END;
