-- Per-channel policy (one channel per user) and the broadcasts of each channel.
-- A user without a channels row has the defaults: public, no cap, not recorded.

CREATE TABLE channels (
  user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  -- who may watch: everyone, password holders (site-minted token), entitled viewers,
  -- age-verified viewers, or only the allow list and the owner
  access         TEXT NOT NULL DEFAULT 'public' CHECK (access IN ('public', 'password', 'paid', 'age', 'private')),
  min_age        INTEGER CHECK (min_age IS NULL OR min_age BETWEEN 1 AND 99),
  viewer_cap     INTEGER CHECK (viewer_cap IS NULL OR viewer_cap >= 0),
  password_hash  TEXT,
  record         INTEGER NOT NULL DEFAULT 0 CHECK (record IN (0, 1)),
  retention_ms   INTEGER CHECK (retention_ms IS NULL OR retention_ms > 0),
  replay_offline INTEGER NOT NULL DEFAULT 0 CHECK (replay_offline IN (0, 1)),
  updated_at     INTEGER NOT NULL
) STRICT;

-- One row per broadcast (FULL opens it, EMPTY closes it). ended_at is NULL while live.
CREATE TABLE broadcasts (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER
) STRICT;
CREATE UNIQUE INDEX broadcasts_one_open ON broadcasts(user_id) WHERE ended_at IS NULL;
CREATE INDEX broadcasts_user_started ON broadcasts(user_id, started_at);

-- Viewer sessions, keyed by MistServer's session id (64 hex). USER_NEW opens one (and re-checks
-- refresh it), USER_END closes it with its totals. `user_id` is the channel watched (live or VoD).
CREATE TABLE viewer_sessions (
  session_id   TEXT PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE SET NULL,
  stream       TEXT NOT NULL,
  viewer       TEXT,
  ip           TEXT,
  connector    TEXT,
  opened_at    INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  closed_at    INTEGER,
  seconds      INTEGER,
  bytes_up     INTEGER,
  bytes_down   INTEGER
) STRICT;
CREATE INDEX viewer_sessions_open ON viewer_sessions(user_id, last_seen_at) WHERE closed_at IS NULL;
CREATE INDEX viewer_sessions_broadcast ON viewer_sessions(broadcast_id);
