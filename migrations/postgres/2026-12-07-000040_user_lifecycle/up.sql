-- What administrators do with users: a one-time password that must be replaced at the first
-- log-in, disabling (no log-in, no session, no API key) and removal. A removed user keeps its
-- row, so the audit log, messages and connections still name who acted; its name stays taken.

ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN removed_at BIGINT;
