-- Provider rate limits held across every node (HMRC: 3 requests a second per application, keyed
-- by token host and client ID). One row per limit: the theoretical arrival time (GCRA) of the
-- next request, in Unix milliseconds. A reservation moves it on by one interval in a single
-- statement, so nodes that reserve at the same moment get different slots.
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat_ms BIGINT NOT NULL
);
