-- Indexes for removing a user's history in short batches (issue 10: no command holds the write
-- lock for more than ~200 ms) and for the foreign keys those deletes check: without them every
-- deleted broadcast scanned the whole recordings table, every batch the whole viewer_sessions.
CREATE INDEX viewer_sessions_user ON viewer_sessions(user_id);
CREATE INDEX recordings_broadcast ON recordings(broadcast_id) WHERE broadcast_id IS NOT NULL;
