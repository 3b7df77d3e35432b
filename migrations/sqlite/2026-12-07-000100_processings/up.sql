-- Processings: a filing's steps as data, imported from web-apps.yaml with the web services they
-- call. `spec` is the processing as the file wrote it (JSON), read back by the same reader.
CREATE TABLE processings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A message of a processing keeps the processing as it was when the message started (an import
-- does not change a filing under way), the step it is at and since when, the values its steps
-- extracted (identifiers and references from the providers' answers, never a secret), who acts
-- on it now (whose connection user-specific steps use) and that person's originating-device
-- data for HMRC's fraud-prevention headers (never a secret either).
ALTER TABLE messages ADD COLUMN processing TEXT;
ALTER TABLE messages ADD COLUMN processing_spec TEXT;
ALTER TABLE messages ADD COLUMN step INTEGER;
ALTER TABLE messages ADD COLUMN step_since_ms BIGINT;
ALTER TABLE messages ADD COLUMN extracted TEXT NOT NULL DEFAULT '{}';
ALTER TABLE messages ADD COLUMN acting_user_id BIGINT REFERENCES users (id);
ALTER TABLE messages ADD COLUMN origin TEXT;

-- Every request a processing's step sent and what came back: the timeline of a message. A row
-- is written as `sending` before an unsafe request leaves, so that a node that dies before the
-- answer is recorded leaves the trace the next node needs: the outcome is unknown, and the step
-- is reconciled rather than sent again. Bodies are kept byte for byte (a receipt PDF).
CREATE TABLE message_exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('request', 'poll', 'reconcile')),
    state TEXT NOT NULL CHECK (state IN ('sending', 'answered', 'no_answer', 'settled')),
    request_method TEXT NOT NULL,
    request_url TEXT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT,
    response_status INTEGER,
    response_headers TEXT,
    response_body BLOB,
    attachment TEXT,
    note TEXT NOT NULL DEFAULT '',
    started_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT
);
CREATE INDEX message_exchanges_of_message ON message_exchanges (message_id, id);

-- The files a processing's message was started with (an ERP's ready-made XML), sent as a
-- step's body byte for byte.
CREATE TABLE message_files (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (message_id, name)
);

-- When the scheduler next starts each scheduled processing (for each of its connections): one
-- row per processing, moved on by the one node whose UPDATE takes it.
CREATE TABLE schedules (
    processing_key TEXT PRIMARY KEY,
    every_ms BIGINT NOT NULL,
    next_due_at_ms BIGINT NOT NULL
);

-- The statuses a processing's message passes through. SQLite cannot change a CHECK in place:
-- the column is replaced by one with the new CHECK (a column's own CHECK goes with it).
ALTER TABLE messages RENAME COLUMN status TO status_before;
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'sent', 'response_received', 'business_error', 'technical_error', 'in_progress', 'awaiting_confirmation', 'outcome_unknown', 'completed', 'cancelled'));
UPDATE messages SET status = status_before;
-- The indexes on the column go with it and come back on the new one, as `list_indexes` made them.
DROP INDEX messages_by_status;
DROP INDEX messages_of_company_by_status;
ALTER TABLE messages DROP COLUMN status_before;
CREATE INDEX messages_by_status ON messages (status, id);
CREATE INDEX messages_of_company_by_status ON messages (company, status, id);
