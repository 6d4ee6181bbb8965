-- A second encoder on a live channel (issue 23 §1). Stock MistServer 3.10 takes every push it is
-- given: two encoders on one channel both feed the stream (docs/ingest.md). Each channel now says
-- what PUSH_REWRITE does instead: keep the live encoder and refuse the newcomer (refuse, the
-- default), or accept the newcomer and stop the live encoder's session (takeover). Within
-- reconnect_grace_ms after the live encoder dropped, only its own key may publish.
ALTER TABLE channels ADD COLUMN second_push TEXT NOT NULL DEFAULT 'refuse' CHECK (second_push IN ('refuse', 'takeover'));
ALTER TABLE channels ADD COLUMN reconnect_grace_ms INTEGER NOT NULL DEFAULT 0 CHECK (reconnect_grace_ms >= 0);

-- The push each channel accepted last (PUSH_REWRITE writes it in the transaction that accepts):
-- the live encoder while the channel is live, the one that dropped afterwards. key_id is NULL once
-- that key is gone (its user's other keys then never count as "the same key"). dropped_at: when a
-- later push found MistServer without that encoder before any STREAM_BUFFER end arrived for it.
CREATE TABLE channel_publishers (
  user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  key_id      INTEGER REFERENCES stream_keys(id) ON DELETE SET NULL,
  ip          TEXT NOT NULL,
  accepted_at INTEGER NOT NULL,
  dropped_at  INTEGER
) STRICT;
