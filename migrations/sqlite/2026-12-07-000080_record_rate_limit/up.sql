-- The requests a second the provider allows a record's application (HMRC: 3), held across
-- every node by `rate_limits` and shared by records with the same token host and client ID.
-- Absent: no limit, as before.
ALTER TABLE web_applications ADD COLUMN rate_limit INTEGER;
