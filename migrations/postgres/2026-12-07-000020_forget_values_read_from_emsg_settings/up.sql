-- Before `{env: EMSG_*}` references were refused, an import from a page could read emsg's own
-- settings (the master key, the database URL) into a record, and the client ID was shown to
-- every user. Forget such values; the reference stays, so the next import or edit names it.
UPDATE web_applications SET client_id = NULL
    WHERE UPPER(client_id_env) LIKE 'EMSG\_%' ESCAPE '\';
UPDATE web_applications SET client_secret_sealed = NULL
    WHERE UPPER(client_secret_env) LIKE 'EMSG\_%' ESCAPE '\';
