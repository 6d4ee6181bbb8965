-- Live status: what MistServer told us about each channel's buffer, stream totals and viewer
-- session ends. These are append-only facts, each deduplicated by MIST_TUUID and by its natural
-- key, so late, repeated and concurrent deliveries converge on one answer. Broadcasts are
-- (re)derived from buffer_events; state and health are read from the newest buffer event.

-- One row per STREAM_BUFFER event of a channel (and one 'LOST' row per end that reconcile
-- inferred because MistServer no longer had the stream). health is the parsed track summary.
CREATE TABLE buffer_events (
  id       INTEGER PRIMARY KEY,
  user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at       INTEGER NOT NULL,
  state    TEXT NOT NULL CHECK (state IN ('FULL', 'DRY', 'RECOVER', 'EMPTY', 'LOST')),
  issues   TEXT,
  health   TEXT,
  event_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX buffer_events_natural ON buffer_events(user_id, at, state);
CREATE UNIQUE INDEX buffer_events_event_id ON buffer_events(event_id) WHERE event_id <> '';

-- One row per STREAM_END of a channel: MistServer's totals for the stream that just ended.
CREATE TABLE stream_ends (
  id             INTEGER PRIMARY KEY,
  user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  at             INTEGER NOT NULL,
  bytes_down     INTEGER NOT NULL,
  bytes_up       INTEGER NOT NULL,
  viewers        INTEGER NOT NULL,
  inputs         INTEGER NOT NULL,
  outputs        INTEGER NOT NULL,
  viewer_seconds INTEGER NOT NULL,
  event_id       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX stream_ends_natural ON stream_ends(user_id, at);
CREATE UNIQUE INDEX stream_ends_event_id ON stream_ends(event_id) WHERE event_id <> '';

-- One row per USER_END of a channel's stream. A session id can end more than once (a viewer
-- who comes back with the same token gets the same id), so viewer_sessions holds the sums.
CREATE TABLE session_ends (
  id         INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  live       INTEGER NOT NULL CHECK (live IN (0, 1)),
  stream     TEXT NOT NULL,
  -- when the viewing began: USER_NEW's opened_at when known, else estimated from the end
  started_at INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  seconds    INTEGER NOT NULL,
  bytes_up   INTEGER NOT NULL,
  bytes_down INTEGER NOT NULL,
  event_id   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX session_ends_natural ON session_ends(session_id, at);
CREATE UNIQUE INDEX session_ends_event_id ON session_ends(event_id) WHERE event_id <> '';
CREATE INDEX session_ends_user_at ON session_ends(user_id, at);

-- NULL while live; 1 when MistServer reported EMPTY, 0 when reconcile found the stream gone.
ALTER TABLE broadcasts ADD COLUMN ended_cleanly INTEGER CHECK (ended_cleanly IN (0, 1));

-- Programs run when a channel goes live or offline (no shell; JSON event on stdin).
CREATE TABLE hooks (
  event      TEXT PRIMARY KEY CHECK (event IN ('live', 'offline')),
  program    TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
