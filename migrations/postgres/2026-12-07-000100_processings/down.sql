ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('new', 'sent', 'response_received', 'business_error', 'technical_error'));
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
