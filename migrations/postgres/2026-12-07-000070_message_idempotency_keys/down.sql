DROP INDEX messages_idempotency_key;
ALTER TABLE messages DROP COLUMN request_hash;
ALTER TABLE messages DROP COLUMN idempotency_key;
