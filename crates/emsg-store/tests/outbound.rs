//! What an import or edit may ask for: which `{env: …}` references are read for whom, which
//! outbound URLs are accepted, and what endpoints moving to another host drop — on both
//! backends.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use emsg_seal::Secret;
use emsg_store::StoreError;
use emsg_store::audit::{self, Actor};
use emsg_store::connections::{self, Authorization, ConnectionKey, Status, Tokens};
use emsg_store::import::{self, ImportContext};
use emsg_store::web_applications as records;
use emsg_test_db::on_both_backends;
use emsg_webapps::{PageEnvVars, UrlRules};

const MASTER: &str = "bWFzdGVyLWtleS1vZi10aGUtc2VydmVyLTMyYnl0ZXM=";

fn server_env(var: &str) -> Option<String> {
    match var {
        "EMSG_MASTER_KEY" => Some(MASTER.to_owned()),
        "DATABASE_URL" => Some("postgres://admin:pw@db/prod".to_owned()),
        "HMRC_ID" => Some("hmrc-client-id".to_owned()),
        "HMRC_SECRET" => Some("hmrc-secret-value".to_owned()),
        _ => None,
    }
}

fn page(allowed: &str) -> ImportContext<'static> {
    ImportContext::page(
        PageEnvVars::parse(allowed).unwrap(),
        &server_env,
        UrlRules::default(),
    )
}

fn https_record(name: &str, client_id: &str, token_url: &str) -> String {
    format!(
        "  - name: {name}\n    base_url: https://api.example.com\n    authorization_url: https://www.example.com/authorize\n    token_url: {token_url}\n    redirect_url: http://localhost:8080/oauth/callback\n    client_id: {client_id}\n    client_secret: null\n    scope: read write\n"
    )
}

fn refused(result: Result<import::ImportReport, StoreError>) -> String {
    match result {
        Err(StoreError::Refused(errors)) => errors.to_string(),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(report) => panic!("accepted: {report}"),
    }
}

fn connect(
    conn: &mut emsg_store::db::DbConnection,
    ring: &emsg_seal::KeyRing,
    app: emsg_store::WebApplicationId,
) -> emsg_store::ConnectionId {
    let fiona = emsg_store::users::add(
        conn,
        "fiona",
        emsg_store::users::Role::Finance,
        &Secret::new("a long enough password"),
    )
    .unwrap();
    let tokens = Tokens {
        access_token: Secret::new("access-xyz"),
        refresh_token: Some(Secret::new("refresh-xyz")),
        token_type: "Bearer".to_owned(),
        granted_scope: None,
        access_expires_at: Some(emsg_store::now() + 3600),
    };
    let authorization = Authorization {
        authorized_by: Some(emsg_store::UserId::new(fiona.id)),
        authorized_at: emsg_store::now(),
        authorization_expires_at: None,
        taxpayer_id: None,
    };
    let key = ConnectionKey::new(app, "default", false, None);
    connections::store_authorization(conn, ring, &key, &tokens, &authorization, emsg_store::now())
        .unwrap()
        .id
}

on_both_backends! {
    fn a_page_cannot_read_the_servers_settings_or_variables_the_operator_did_not_allow(db) {
        let mut conn = db.connect();
        let ring = ring();
        for (var, allowed) in [("EMSG_MASTER_KEY", "HMRC_*"), ("DATABASE_URL", "HMRC_*"), ("HMRC_ID", "")] {
            let text = file(&[https_record("alpha", &format!("{{env: {var}}}"), "https://api.example.com/token")]);
            let error = refused(import::import(&mut conn, &ring, &parse(&text), &page(allowed), &Actor::Operator, false));
            assert!(error.contains(var) && error.contains("web-apps.yaml:7:") && error.contains("alpha"), "{error}");
            assert!(!error.contains(MASTER) && !error.contains("admin:pw"), "{error}");
        }
        assert!(records::list(&mut conn).unwrap().is_empty(), "nothing was written");
        // What the operator allowed is read.
        let text = file(&[https_record("alpha", "{env: HMRC_ID}", "https://api.example.com/token")]);
        import::import(&mut conn, &ring, &parse(&text), &page("HMRC_*"), &Actor::Operator, false).unwrap();
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_id.as_deref(), Some("hmrc-client-id"));
    }

    fn not_even_the_command_line_reads_emsgs_own_settings_into_a_record(db) {
        let mut conn = db.connect();
        let ring = ring();
        let text = file(&[
            https_record("alpha", "{env: HMRC_ID}", "https://api.example.com/token"),
            https_record("beta", "{env: EMSG_MASTER_KEY}", "https://api.example.com/token"),
        ]);
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        let error = refused(import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false));
        assert!(error.contains("web_applications[1].client_id") && error.contains("EMSG_MASTER_KEY"), "{error}");
        assert!(records::list(&mut conn).unwrap().is_empty(), "all or nothing: alpha was not written either");
    }

    fn a_reference_the_record_already_has_is_kept_on_a_page_without_being_read(db) {
        let mut conn = db.connect();
        let ring = ring();
        let text = file(&[https_record("alpha", "{env: HMRC_ID}", "https://api.example.com/token")]);
        let cli = ImportContext::command_line(&server_env, UrlRules::default());
        import::import(&mut conn, &ring, &parse(&text), &cli, &Actor::Operator, false).unwrap();
        let changed = text.replace("read write", "read");
        let report = import::import(&mut conn, &ring, &parse(&changed), &page(""), &Actor::Operator, false).unwrap();
        assert_eq!(report.records[0].change, import::RecordChange::Changed(vec!["scope".to_owned()]));
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_id.as_deref(), Some("hmrc-client-id"));
    }

    fn outbound_urls_to_ip_literals_private_hosts_or_plain_http_are_refused_at_import(db) {
        let mut conn = db.connect();
        let ring = ring();
        for url in ["https://169.254.169.254/latest", "https://10.0.0.5/token", "http://127.0.0.1:9/token", "https://localhost/token"] {
            let text = file(&[https_record("alpha", "id", url)]);
            let ctx = ImportContext::command_line(&server_env, UrlRules::default());
            let error = refused(import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, true));
            assert!(error.contains("web_applications[0].token_url") && error.contains("web-apps.yaml:5:"), "{url}: {error}");
        }
        // The redirect URL is where the browser returns: http://localhost stays allowed.
        let text = file(&[https_record("alpha", "id", "https://api.example.com/token")]);
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false).unwrap();
        // With loopback stand-ins allowed, loopback is accepted and nothing else private.
        let loopback = ImportContext::command_line(&server_env, UrlRules { allow_loopback: true });
        let text = file(&[https_record("beta", "id", "http://127.0.0.1:9/token")]);
        import::import(&mut conn, &ring, &parse(&text), &loopback, &Actor::Operator, true).unwrap();
        let text = file(&[https_record("beta", "id", "https://192.168.1.1/token")]);
        refused(import::import(&mut conn, &ring, &parse(&text), &loopback, &Actor::Operator, true));
    }

    fn the_shipped_file_imports_cleanly_under_the_strict_rules(db) {
        let mut conn = db.connect();
        let ring = ring();
        let ctx = ImportContext::command_line(&no_env, UrlRules::default());
        let report = import::import(&mut conn, &ring, &parse(SHIPPED), &ctx, &Actor::Operator, false).unwrap();
        assert_eq!(report.records.len(), 8);
    }

    fn moving_the_token_url_to_another_host_drops_the_secret_and_the_tokens_with_audit_entries(db) {
        let mut conn = db.connect();
        let ring = ring();
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        let text = file(&[https_record("alpha", "id", "https://api.example.com/token").replace("client_secret: null", "client_secret: s3cret-alpha")]);
        import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false).unwrap();
        let app = records::get(&mut conn, "alpha").unwrap();
        let connection = connect(&mut conn, &ring, app.id);
        // Same origin, other path: nothing is dropped.
        let same = text.replace("https://api.example.com/token", "https://api.example.com/oauth2/token").replace("client_secret: s3cret-alpha", "client_secret: null");
        let report = import::import(&mut conn, &ring, &parse(&same), &ctx, &Actor::Operator, false).unwrap();
        assert!(report.moved.is_empty(), "{report}");
        assert!(records::get(&mut conn, "alpha").unwrap().client_secret_is_set());
        // Another host: the dry run says so and writes nothing.
        let moved = same.replace("https://api.example.com/oauth2/token", "https://collector.example.net/token");
        let report = import::import(&mut conn, &ring, &parse(&moved), &ctx, &Actor::Operator, true).unwrap();
        let said = report.to_string();
        assert!(said.contains("https://collector.example.net") && said.contains("client secret") && said.contains("1 connection"), "{said}");
        assert!(records::get(&mut conn, "alpha").unwrap().client_secret_is_set(), "a dry run writes nothing");
        import::import(&mut conn, &ring, &parse(&moved), &ctx, &Actor::Operator, false).unwrap();
        let row = records::get(&mut conn, "alpha").unwrap();
        assert!(!row.client_secret_is_set(), "the secret was for the old host");
        let after = connections::by_id(&mut conn, connection).unwrap().unwrap();
        assert_eq!(after.status(), Status::ReauthorizationRequired);
        assert!(!after.has_access_token() && !after.has_refresh_token());
        let entries = audit::recent(&mut conn, 20).unwrap();
        assert!(entries.iter().any(|e| e.action == "endpoints_moved" && e.connection_id == Some(connection.get())), "{entries:?}");
        assert!(entries.iter().any(|e| e.action == "endpoints_moved" && e.connection_id.is_none() && e.detail.contains("collector.example.net")));
        for entry in &entries {
            assert!(!entry.detail.contains("s3cret-alpha") && !entry.detail.contains("xyz"));
        }
    }

    fn an_edit_that_moves_an_endpoint_waits_for_confirmation_and_keeps_a_typed_secret(db) {
        let mut conn = db.connect();
        let ring = ring();
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        let text = file(&[https_record("alpha", "id", "https://api.example.com/token").replace("client_secret: null", "client_secret: s3cret-alpha")]);
        import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false).unwrap();
        let app = records::get(&mut conn, "alpha").unwrap();
        let connection = connect(&mut conn, &ring, app.id);
        let moved = text.replace("https://api.example.com/token", "https://collector.example.net/token").replace("client_secret: s3cret-alpha", "client_secret: null");
        let spec = parse(&moved).applications.remove(0);
        let page_ctx = page("");
        let report = import::edit(&mut conn, &ring, app.id, &spec, None, &page_ctx, &Actor::Operator, false).unwrap();
        assert!(report.needs_confirmation && report.changed.is_empty());
        assert_eq!(records::get(&mut conn, "alpha").unwrap().token_url.as_deref(), Some("https://api.example.com/token"));
        assert_eq!(connections::by_id(&mut conn, connection).unwrap().unwrap().status(), Status::Connected);
        let typed = Secret::new("new-secret-for-the-new-host");
        let report = import::edit(&mut conn, &ring, app.id, &spec, Some(&typed), &page_ctx, &Actor::Operator, true).unwrap();
        assert!(report.changed.contains(&"token_url".to_owned()));
        let row = records::get(&mut conn, "alpha").unwrap();
        assert_eq!(row.client_secret(&ring).unwrap().unwrap().expose(), "new-secret-for-the-new-host");
        assert_eq!(connections::by_id(&mut conn, connection).unwrap().unwrap().status(), Status::ReauthorizationRequired);
    }

    fn an_edit_refuses_a_private_address_and_an_unallowed_variable_by_field(db) {
        let mut conn = db.connect();
        let ring = ring();
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        let text = file(&[https_record("alpha", "id", "https://api.example.com/token")]);
        import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false).unwrap();
        let app = records::get(&mut conn, "alpha").unwrap();
        let bad = text.replace("https://api.example.com/token", "https://169.254.169.254/token").replace("client_id: id", "client_id: {env: DATABASE_URL}");
        let spec = parse(&bad).applications.remove(0);
        match import::edit(&mut conn, &ring, app.id, &spec, None, &page("HMRC_*"), &Actor::Operator, true) {
            Err(StoreError::Refused(errors)) => {
                let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
                assert_eq!(paths, ["web_applications[0].token_url", "web_applications[0].client_id"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(records::get(&mut conn, "alpha").unwrap().client_id.as_deref(), Some("id"));
    }
}

on_both_backends! {
    fn a_secret_a_page_reads_from_an_allowed_variable_is_not_kept_for_a_moved_record(db) {
        let mut conn = db.connect();
        let ring = ring();
        let cli = ImportContext::command_line(&server_env, UrlRules::default());
        let text = file(&[https_record("alpha", "id", "https://api.example.com/token")]);
        import::import(&mut conn, &ring, &parse(&text), &cli, &Actor::Operator, false).unwrap();
        let moved = text
            .replace("https://api.example.com/token", "https://collector.example.net/token")
            .replace("client_secret: null", "client_secret: {env: HMRC_SECRET}");
        let report = import::import(&mut conn, &ring, &parse(&moved), &page("HMRC_*"), &Actor::Operator, false).unwrap();
        assert!(report.moved.first().is_some_and(|m| m.secret_dropped), "{report}");
        assert!(!records::get(&mut conn, "alpha").unwrap().client_secret_is_set());
        // Without a move, the allowed variable is read.
        let stay = moved.replace("https://collector.example.net/token", "https://collector.example.net/oauth/token");
        import::import(&mut conn, &ring, &parse(&stay), &page("HMRC_*"), &Actor::Operator, false).unwrap();
        let row = records::get(&mut conn, "alpha").unwrap();
        assert_eq!(row.client_secret(&ring).unwrap().unwrap().expose(), "hmrc-secret-value");
    }

    fn values_read_from_emsg_settings_before_the_fix_are_forgotten_by_the_migration(db) {
        use diesel::connection::SimpleConnection as _;
        use diesel::prelude::*;
        use emsg_store::schema::web_applications as w;
        let mut conn = db.connect();
        let ring = ring();
        let ctx = ImportContext::command_line(&server_env, UrlRules::default());
        let text = file(&[
            https_record("leaked", "id", "https://api.example.com/token").replace("client_secret: null", "client_secret: s3cret"),
            https_record("kept", "{env: HMRC_ID}", "https://api.example.com/token").replace("client_secret: null", "client_secret: s3cret"),
        ]);
        import::import(&mut conn, &ring, &parse(&text), &ctx, &Actor::Operator, false).unwrap();
        // As an import from a page left it before references to EMSG_* were refused.
        diesel::update(w::table.filter(w::name.eq("leaked")))
            .set((w::client_id.eq(MASTER), w::client_id_env.eq("EMSG_MASTER_KEY"), w::client_secret_env.eq("emsg_database_url")))
            .execute(&mut conn)
            .unwrap();
        let up = match db.backend() {
            emsg_test_db::Backend::Sqlite => include_str!("../../../migrations/sqlite/2026-12-07-000020_forget_values_read_from_emsg_settings/up.sql"),
            emsg_test_db::Backend::Postgres => include_str!("../../../migrations/postgres/2026-12-07-000020_forget_values_read_from_emsg_settings/up.sql"),
        };
        conn.batch_execute(up).unwrap();
        let leaked = records::get(&mut conn, "leaked").unwrap();
        assert_eq!(leaked.client_id, None);
        assert!(!leaked.client_secret_is_set());
        let kept = records::get(&mut conn, "kept").unwrap();
        assert_eq!(kept.client_id.as_deref(), Some("hmrc-client-id"));
        assert!(kept.client_secret_is_set());
    }
}
