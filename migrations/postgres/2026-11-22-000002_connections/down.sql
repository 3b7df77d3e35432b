DROP TABLE pending_authorizations;
DROP TABLE connections;
