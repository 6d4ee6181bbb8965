-- Bans the site owns (written by `streamctl sync`) are told apart from the operator's (`ban add`):
-- a sync replaces the whole set of its own bans and must never lift one an operator added.
ALTER TABLE bans ADD COLUMN origin TEXT NOT NULL DEFAULT 'admin' CHECK (origin IN ('admin', 'sync'));
