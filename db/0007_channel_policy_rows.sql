-- A channel's policy must exist explicitly: a missing `channels` row used to mean "public", so a
-- damaged or deleted row silently opened private and paid channels. From now on every user gets
-- its row when it is created, and a missing row refuses viewers. Users made before this had the
-- defaults by absence; they get them written down here, unchanged in effect.
INSERT INTO channels (user_id, updated_at)
  SELECT id, created_at FROM users WHERE id NOT IN (SELECT user_id FROM channels);
