-- An ERP's retry of POST /api/v1/messages with the same Idempotency-Key finds the message the
-- first request stored instead of starting a second filing. The key is the sender's (one per
-- user); the hash of the request it came with tells a retry from another request reusing the
-- key. The unique index is what keeps two requests at the same moment to one message.
ALTER TABLE messages ADD COLUMN idempotency_key TEXT;
ALTER TABLE messages ADD COLUMN request_hash TEXT;
CREATE UNIQUE INDEX messages_idempotency_key ON messages (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
