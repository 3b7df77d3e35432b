//! Shared steps of the storage tests.
#![allow(dead_code, clippy::unwrap_used)]

use emsg_seal::{KeyRing, MasterKey};
use emsg_store::audit::Actor;
use emsg_store::db::DbConnection;
use emsg_store::import::{self, ImportReport};
use emsg_webapps::ParsedFile;

pub const SHIPPED: &str = include_str!("../../../../web-apps.yaml");

pub fn ring() -> KeyRing {
    KeyRing::new(MasterKey::generate())
}

pub fn parse(text: &str) -> ParsedFile {
    // The shipped body templates are built in: no folder needed.
    emsg_webapps::parse_with(
        "web-apps.yaml",
        text,
        &emsg_webapps::MessageTemplates::new(None),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub fn no_env(_: &str) -> Option<String> {
    None
}

pub fn import_text(
    conn: &mut DbConnection,
    ring: &KeyRing,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> ImportReport {
    import::import(
        conn,
        ring,
        &parse(text),
        &context(env),
        &Actor::Operator,
        false,
    )
    .unwrap()
}

/// The operator's context with loopback stand-ins allowed, as the tests' records use.
pub fn context<'a>(env: &'a dyn Fn(&str) -> Option<String>) -> import::ImportContext<'a> {
    import::ImportContext::command_line(
        env,
        emsg_webapps::UrlRules {
            allow_loopback: true,
        },
    )
}

/// A minimal OAuth record with the given name and secret source.
pub fn record(name: &str, secret: &str) -> String {
    format!(
        "  - name: {name}\n    base_url: https://api.example.test\n    authorization_url: https://www.example.test/authorize\n    token_url: https://api.example.test/token\n    redirect_url: http://127.0.0.1:8080/oauth/callback\n    client_id: client-{name}\n    client_secret: {secret}\n    scope: read write\n"
    )
}

pub fn file(records: &[String]) -> String {
    format!("web_applications:\n{}", records.concat())
}
