ALTER TABLE messages RENAME COLUMN status TO status_after;
ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'new'
    CHECK (status IN ('new', 'sent', 'response_received', 'business_error', 'technical_error'));
UPDATE messages SET status = status_after;
-- The indexes on the column go with it and come back on the new one, as `list_indexes` made them.
DROP INDEX messages_by_status;
DROP INDEX messages_of_company_by_status;
ALTER TABLE messages DROP COLUMN status_after;
CREATE INDEX messages_by_status ON messages (status, id);
CREATE INDEX messages_of_company_by_status ON messages (company, status, id);
DROP TABLE schedules;
DROP TABLE message_files;
DROP TABLE message_exchanges;
ALTER TABLE messages DROP COLUMN origin;
ALTER TABLE messages DROP COLUMN acting_user_id;
ALTER TABLE messages DROP COLUMN extracted;
ALTER TABLE messages DROP COLUMN step_since_ms;
ALTER TABLE messages DROP COLUMN step;
ALTER TABLE messages DROP COLUMN processing_spec;
ALTER TABLE messages DROP COLUMN processing;
DROP TABLE processings;
