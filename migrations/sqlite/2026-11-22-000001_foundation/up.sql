-- Users, web applications, the master-key check and the audit log.
-- Timestamps are Unix seconds (BIGINT) so that one schema.rs serves SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('administrator', 'finance')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE web_applications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    -- lower-cased, trimmed name: names are unique regardless of case
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    base_url TEXT NOT NULL,
    authorization_url TEXT,
    token_url TEXT,
    revocation_url TEXT,
    redirect_url TEXT,
    client_id TEXT,
    client_id_env TEXT,
    client_secret_sealed BLOB,
    client_secret_env TEXT,
    scope TEXT NOT NULL,
    authorization_params TEXT NOT NULL,
    client_auth TEXT NOT NULL CHECK (client_auth IN ('client_secret_post', 'client_secret_basic')),
    pkce BOOLEAN NOT NULL,
    accept TEXT,
    content_type TEXT,
    code_lifetime_secs BIGINT NOT NULL,
    authorization_lifetime_secs BIGINT,
    user_specific BOOLEAN NOT NULL,
    obtain_token_on_callback BOOLEAN NOT NULL,
    issuer TEXT,
    exchange_source_id BIGINT REFERENCES web_applications (id),
    exchange_url TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row: a value sealed under the current master key, so that a start with the wrong key is
-- refused before anything is read or written.
CREATE TABLE master_key_check (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE audit_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    user_id BIGINT REFERENCES users (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    web_application_id BIGINT REFERENCES web_applications (id),
    connection_id BIGINT,
    outcome TEXT NOT NULL,
    error_code TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX audit_entries_at ON audit_entries (at DESC);
