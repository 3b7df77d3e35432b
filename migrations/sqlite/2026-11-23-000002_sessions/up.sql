-- Log-in sessions and per-user API keys, in the database so that sessions survive a restart and
-- every `serve` node on one database accepts them. Only a SHA-256 of the session id or the key
-- is stored: a copy of the table lets no one in.

CREATE TABLE sessions (
    -- hex SHA-256 of the cookie value
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the session's anti-forgery token, given only to its holder
    csrf TEXT NOT NULL,
    -- a message shown once on the next page (kind, text)
    flash_kind TEXT,
    flash_text TEXT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the first characters of the key, to tell keys apart on a page (not enough to use it)
    prefix TEXT NOT NULL,
    -- hex SHA-256 of the whole key
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);
