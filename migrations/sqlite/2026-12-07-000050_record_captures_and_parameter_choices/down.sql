ALTER TABLE web_applications DROP COLUMN parameter_choices;
ALTER TABLE web_applications DROP COLUMN captures;
