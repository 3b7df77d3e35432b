-- Key rotation while nodes run. A rotation first announces its new key here, wrapped (sealed)
-- under the key in use, so every running process learns it from the database before anything is
-- sealed under it; once the new key seals, the old one is kept here wrapped under the new one
-- until no value is sealed under it any more. Both rows go when the rotation finishes, so no key
-- outlives its rotation in the database.
CREATE TABLE master_keys (
    id BIGSERIAL PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    -- 'next': the key a rotation moves to; 'previous': the key it moves away from
    role TEXT NOT NULL CHECK (role IN ('next', 'previous')),
    wrapped_key BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Every process that holds the key ring (each 'serve' node, each command that seals), with the
-- keys it holds and the one it seals with, renewed every few seconds: a rotation waits until all
-- live processes hold its new key, and again until all seal with it, before re-sealing.
CREATE TABLE key_ring_nodes (
    node_id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    sealing_key_id TEXT NOT NULL,
    known_key_ids TEXT NOT NULL,
    -- how often it renews this row; it counts as live while seen within five of these
    poll_ms BIGINT NOT NULL,
    seen_at_ms BIGINT NOT NULL
);
