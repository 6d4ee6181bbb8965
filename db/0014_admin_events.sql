-- Admin actions in the event log (kind 'admin': key rotate, ban add, user remove, ...): who did
-- it, the operating-system user that ran streamctl. NULL for the events trigger programs write.
ALTER TABLE events ADD COLUMN actor TEXT;
