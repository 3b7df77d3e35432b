-- Two provider differences that were code become fields of the record: `captures`, the
-- identifiers a user gives when connecting (JSON list, e.g. ["nino"]), and `parameter_choices`,
-- the values Get authorization code offers per authorization parameter (JSON mapping of lists).
ALTER TABLE web_applications ADD COLUMN captures TEXT NOT NULL DEFAULT '[]';
ALTER TABLE web_applications ADD COLUMN parameter_choices TEXT NOT NULL DEFAULT '{}';

-- Existing records keep what the code gave them. My connections asked for the National
-- Insurance number when the scope reached the Income Tax (Self Assessment) APIs (GLOB, not
-- LIKE: scopes are compared with their case, as the code did).
UPDATE web_applications SET captures = '["nino"]'
    WHERE exchange_url IS NULL
      AND ' ' || scope || ' ' GLOB '* read:self-assessment *';
-- The dialog offered ID-porten's four languages for every record that sends `ui_locales`.
UPDATE web_applications SET parameter_choices = '{"ui_locales":["nb","nn","en","se"]}'
    WHERE exchange_url IS NULL
      AND json_extract(authorization_params, '$.ui_locales') IS NOT NULL;
