-- PostgreSQL drops the key from audit entries to web applications (it locked the record's row
-- on every entry). SQLite takes no row locks: the key stays, and this migration keeps the two
-- backends' migration lists alike.
SELECT 1;
