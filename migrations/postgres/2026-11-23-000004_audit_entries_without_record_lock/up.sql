-- An audit entry's foreign key to its web application made every entry lock the record's row
-- (FOR KEY SHARE) until its transaction ended: concurrent refreshes of the connections of one
-- web application (hundreds of companies on one HMRC record) queued on that one row and piled
-- up multixacts on it. Records are never deleted and the audit log is history, so the entry
-- keeps the record's id without the lock. (The entry's key to users stays: a user's own
-- actions rarely overlap.)
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_web_application_id_fkey;
