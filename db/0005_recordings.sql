-- The recordings catalogue: one row per file MistServer finished writing (RECORDING_END).
-- `id` is opaque and random (it is the public name `vod+<id>`), never sequential.
-- `deleting_at` is set by prune/delete before the file is unlinked, so a run killed half-way
-- is finished by the next one; such rows are never served.
CREATE TABLE recordings (
  id           TEXT PRIMARY KEY CHECK (id GLOB '[a-z2-7]*' AND length(id) = 16),
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE SET NULL,
  path         TEXT NOT NULL UNIQUE,
  format       TEXT NOT NULL,
  bytes        INTEGER NOT NULL CHECK (bytes >= 0),
  duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0),
  started_at   INTEGER NOT NULL,
  ended_at     INTEGER NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
  exit_code    TEXT NOT NULL,
  exit_reason  TEXT NOT NULL,
  pinned       INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
  deleting_at  INTEGER,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX recordings_started ON recordings(started_at, id);
CREATE INDEX recordings_user_started ON recordings(user_id, started_at, id);
CREATE INDEX recordings_deleting ON recordings(deleting_at) WHERE deleting_at IS NOT NULL;
