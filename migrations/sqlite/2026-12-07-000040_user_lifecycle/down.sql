ALTER TABLE users DROP COLUMN removed_at;
ALTER TABLE users DROP COLUMN disabled_at;
ALTER TABLE users DROP COLUMN must_change_password;
