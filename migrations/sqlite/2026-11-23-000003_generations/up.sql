-- A counter per kind of data that pages keep in memory: bumped in the transaction that changes
-- it, read with the session on every page, so a node knows its copy is current without reading
-- the data again. 'web_application_names': the names of the records (the list on the left).
CREATE TABLE generations (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO generations (name, value) VALUES ('web_application_names', 0);
