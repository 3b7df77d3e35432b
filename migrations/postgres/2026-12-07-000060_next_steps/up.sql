-- The next step of every message that has one to run: a row with the time it is due, taken by
-- one node at a time under a lease. A wait (a poll's interval, a back-off, a schedule) is this
-- row's due time, not a sleeping task; a node that dies mid-step leaves the row to be taken
-- again when its lease ends, and `fence` (raised by every take) refuses the dead node's late
-- result.
CREATE TABLE next_steps (
    message_id BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    due_at_ms BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    fence BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until_ms BIGINT
);
CREATE INDEX next_steps_due ON next_steps (due_at_ms);
