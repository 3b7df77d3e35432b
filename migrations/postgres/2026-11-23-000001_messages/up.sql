-- Web services (data-driven API calls made through a web application) and electronic messages
-- (one run of a web service: its fields, status history, request and response, never a token).

CREATE TABLE web_services (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    -- the name folded to lower case: names are unique regardless of case
    name_key TEXT NOT NULL UNIQUE,
    web_application_id BIGINT NOT NULL REFERENCES web_applications (id),
    -- the service as written in web-apps.yaml, as JSON
    spec TEXT NOT NULL,
    -- the body template's text, read from templates/messages/ at import
    body TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    service_name TEXT NOT NULL,
    web_application_id BIGINT NOT NULL REFERENCES web_applications (id),
    company TEXT NOT NULL,
    -- who sent it (NULL: the command line without a user, or the scheduler)
    user_id BIGINT REFERENCES users (id),
    -- the fraud-prevention connection method (WEB_APP_VIA_SERVER, BATCH_PROCESS_DIRECT), if any
    connection_method TEXT,
    -- the message's fields as JSON (taxpayer identifiers and amounts, never a secret)
    fields TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'sent', 'response_received', 'business_error', 'technical_error')),
    request_method TEXT,
    request_url TEXT,
    -- JSON list of [name, value]; Authorization is stored redacted
    request_headers TEXT,
    request_body TEXT,
    response_status INTEGER,
    response_headers TEXT,
    response_body TEXT,
    error_code TEXT,
    error_message TEXT,
    resent_from BIGINT REFERENCES messages (id),
    resent_as BIGINT REFERENCES messages (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_by_time ON messages (created_at);
CREATE INDEX messages_by_status ON messages (status, created_at);
CREATE INDEX messages_by_service ON messages (service_name, created_at);

CREATE TABLE message_events (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    status TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX message_events_of_message ON message_events (message_id, id);

-- Installation-wide values made once (the device ID sent in fraud-prevention headers by batch
-- processes).
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
