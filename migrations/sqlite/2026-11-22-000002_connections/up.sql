-- Connections (one authorization of a web application for a company and, for user-specific
-- records, a user) and pending authorizations (started "Get authorization code" flows).

CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    web_application_id BIGINT NOT NULL REFERENCES web_applications (id),
    company TEXT NOT NULL,
    -- the user for user-specific records, 0 otherwise (NOT NULL so the unique key holds on both backends)
    user_key BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('connected', 'refresh_failing', 'reauthorization_required', 'disconnected')),
    access_token_sealed BLOB,
    refresh_token_sealed BLOB,
    token_type TEXT,
    granted_scope TEXT,
    access_expires_at BIGINT,
    authorized_by BIGINT REFERENCES users (id),
    authorized_at BIGINT,
    authorization_expires_at BIGINT,
    taxpayer_id TEXT,
    last_error TEXT,
    last_error_code TEXT,
    refresh_failures BIGINT NOT NULL,
    last_refreshed_at BIGINT,
    -- bumped on every change of the token pair: a writer that read an older version must not write
    version BIGINT NOT NULL,
    -- who may refresh right now (process-unique id) and until when: one refresh per connection
    -- across threads and processes
    lease_owner TEXT,
    lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (web_application_id, company, user_key)
);

CREATE TABLE pending_authorizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 of the state: the state itself is a bearer credential for the callback
    state_hash TEXT NOT NULL UNIQUE,
    web_application_id BIGINT NOT NULL REFERENCES web_applications (id),
    company TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    verifier_sealed BLOB,
    nonce TEXT,
    taxpayer_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    callback_at BIGINT,
    code_sealed BLOB,
    code_received_at BIGINT,
    error TEXT,
    error_description TEXT,
    used_at BIGINT
);
CREATE INDEX pending_authorizations_owner ON pending_authorizations (web_application_id, company, user_id, created_at);
