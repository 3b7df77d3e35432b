DROP TABLE audit_entries;
DROP TABLE master_key_check;
DROP TABLE web_applications;
DROP TABLE users;
