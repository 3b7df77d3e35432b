ALTER TABLE audit_entries
    ADD CONSTRAINT audit_entries_web_application_id_fkey
    FOREIGN KEY (web_application_id) REFERENCES web_applications (id);
