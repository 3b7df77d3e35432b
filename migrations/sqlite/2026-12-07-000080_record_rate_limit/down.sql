ALTER TABLE web_applications DROP COLUMN rate_limit;
