-- The message list and the audit log page by key, newest first (`WHERE … AND id < before
-- ORDER BY id DESC LIMIT n`): each filter the pages offer has an index that ends in `id`, so a
-- page reads its rows in order and stops, however long the logs grow.
--
-- The message list is always one company's (the server's), filtered by web service, status
-- or user; the command line's list is every company's, filtered by web service or status.
-- The old (status, created_at) and (service_name, created_at) indexes served no query (nothing
-- orders messages by creation time but `id`).
DROP INDEX messages_by_status;
DROP INDEX messages_by_service;
CREATE INDEX messages_by_status ON messages (status, id);
CREATE INDEX messages_by_service ON messages (service_name, id);
CREATE INDEX messages_of_company ON messages (company, id);
CREATE INDEX messages_of_company_by_status ON messages (company, status, id);
CREATE INDEX messages_of_company_by_service ON messages (company, service_name, id);
CREATE INDEX messages_of_company_by_user ON messages (company, user_id, id);

-- The audit log's filters; `action` and `outcome` also give the filter lists their words
-- (one index step per distinct word, see `audit::kinds`).
CREATE INDEX audit_entries_by_record ON audit_entries (web_application_id, id);
CREATE INDEX audit_entries_by_user ON audit_entries (user_id, id);
CREATE INDEX audit_entries_by_action ON audit_entries (action, id);
CREATE INDEX audit_entries_by_outcome ON audit_entries (outcome, id);
