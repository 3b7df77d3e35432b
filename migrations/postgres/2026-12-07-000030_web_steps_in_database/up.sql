-- The steps of the admin page that used to wait in one node's memory, in the database so that
-- any `serve` node behind a balancer serves any step: the log-in throttle, callbacks parked while
-- their user logs in, and import files checked by a dry run waiting for Confirm.

-- Failed log-ins counted per client address, per user name and per (name, address) pair. The key
-- is a keyed SHA-256 of what is counted (a name typed here may be a password typed in the wrong
-- field): never the text itself. A row counts the failures of the window that ends at
-- `expires_at`; the failure that reaches the limit moves `expires_at` a lock period ahead.
CREATE TABLE login_throttle (
    key_hash TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_throttle_expires_at ON login_throttle (expires_at);

-- A provider's answer that reached the callback without a session: kept for the live pending
-- authorization whose state it carries (one per flow), sealed, until its user logs in. The
-- browser holds a random resume key; only its SHA-256 is here.
CREATE TABLE parked_callbacks (
    id BIGSERIAL PRIMARY KEY,
    pending_authorization_id BIGINT NOT NULL UNIQUE REFERENCES pending_authorizations (id) ON DELETE CASCADE,
    resume_key_hash TEXT NOT NULL UNIQUE,
    code_sealed BYTEA,
    error TEXT,
    error_description TEXT,
    iss TEXT,
    parked_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX parked_callbacks_expires_at ON parked_callbacks (expires_at);

-- An import file checked by a dry run on the Import page, waiting for Confirm: one per session,
-- sealed (a file may hold an inline client secret), gone with its session or after 10 minutes.
CREATE TABLE pending_imports (
    id BIGSERIAL PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    session_hash TEXT NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_imports_session_hash ON pending_imports (session_hash);
CREATE INDEX pending_imports_expires_at ON pending_imports (expires_at);
