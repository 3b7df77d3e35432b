//! What pages and JSON show of a record: every field but the secret, which is only "set" or not.

use std::collections::BTreeMap;

use emsg_store::web_applications::WebApplication;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct WebApplicationView {
    pub name: String,
    pub description: String,
    pub base_url: String,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub revocation_url: Option<String>,
    pub redirect_url: Option<String>,
    pub client_id: Option<String>,
    /// "set" or "not set"; the value never leaves the server.
    pub client_secret: &'static str,
    pub scope: String,
    pub authorization_params: BTreeMap<String, String>,
    pub client_auth: &'static str,
    pub pkce: bool,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub code_lifetime: String,
    pub authorization_lifetime: Option<String>,
    pub user_specific: bool,
    pub exchange_source: Option<String>,
    pub exchange_url: Option<String>,
}

impl WebApplicationView {
    pub fn new(record: &WebApplication, names: &std::collections::HashMap<i64, String>) -> Self {
        Self {
            name: record.name.clone(),
            description: record.description.clone(),
            base_url: record.base_url.clone(),
            authorization_url: record.authorization_url.clone(),
            token_url: record.token_url.clone(),
            revocation_url: record.revocation_url.clone(),
            redirect_url: record.redirect_url.clone(),
            client_id: record.client_id.clone(),
            client_secret: if record.client_secret_is_set() {
                "set"
            } else {
                "not set"
            },
            scope: record.scope.clone(),
            authorization_params: record.authorization_params(),
            client_auth: record.client_auth().as_str(),
            pkce: record.pkce,
            accept: record.accept.clone(),
            content_type: record.content_type.clone(),
            code_lifetime: record.code_lifetime().to_string(),
            authorization_lifetime: record.authorization_lifetime().map(|l| l.to_string()),
            user_specific: record.user_specific,
            exchange_source: record
                .exchange_source_id
                .and_then(|id| names.get(&id).cloned()),
            exchange_url: record.exchange_url.clone(),
        }
    }
}

/// The connection panel and the JSON status of one connection: never a token.
#[derive(Debug, Serialize)]
pub struct ConnectionPanel {
    pub web_application: String,
    pub company: String,
    pub user: Option<String>,
    pub status: &'static str,
    /// The status in the page's words.
    pub status_text: &'static str,
    pub granted_scope: Option<String>,
    /// Unix seconds, for the countdown script.
    pub access_expires_at: Option<i64>,
    /// "3h 59m", rendered on the server so the page works without JavaScript.
    pub expires_in: Option<String>,
    pub authorized_by: Option<String>,
    pub authorized_at: Option<String>,
    pub authorization_expires_on: Option<String>,
    /// Shown from 30 days before the authorization ends.
    pub authorization_banner: Option<String>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    /// What to do about the status or the last error.
    pub advice: Option<String>,
    pub has_refresh_token: bool,
}

const BANNER_DAYS: i64 = 30;

impl ConnectionPanel {
    pub fn new(view: &emsg_engine::ConnectionView, now: i64) -> Self {
        use emsg_store::connections::Status;
        let status_text = match view.status {
            Status::Connected => "Connected",
            Status::RefreshFailing => "Refresh failing",
            Status::ReauthorizationRequired => "Authorization required again",
            Status::Disconnected => "Disconnected",
        };
        let advice = match view.status {
            Status::Connected => None,
            Status::RefreshFailing => Some(
                "Refreshing fails for now; the current access token is used until it expires. \
                 Try Refresh access token later; if it keeps failing, an administrator should check the record"
                    .to_owned(),
            ),
            Status::ReauthorizationRequired => Some(
                "The provider no longer accepts this authorization: select Get authorization code, then Obtain access token"
                    .to_owned(),
            ),
            Status::Disconnected => {
                Some("Select Get authorization code to connect again".to_owned())
            }
        };
        let banner = view.authorization_expires_at.and_then(|at| {
            let left = at - now;
            if left <= 0 {
                Some(format!(
                    "The authorization ended on {}: select Get authorization code to authorize again.",
                    emsg_store::format_utc(at)
                ))
            } else if left <= BANNER_DAYS * 86_400 {
                Some(format!(
                    "The authorization ends on {} (in {}): select Get authorization code before then to authorize again.",
                    emsg_store::format_utc(at),
                    emsg_store::format_remaining(left)
                ))
            } else {
                None
            }
        });
        let live = view.status != Status::Disconnected;
        Self {
            web_application: view.web_application.clone(),
            company: view.company.clone(),
            user: view.user.clone(),
            status: view.status.as_str(),
            status_text,
            granted_scope: view.granted_scope.clone(),
            access_expires_at: view.access_expires_at.filter(|_| live),
            expires_in: view
                .expires_in(now)
                .filter(|_| live)
                .map(emsg_store::format_remaining),
            authorized_by: view.authorized_by.clone(),
            authorized_at: view.authorized_at.map(emsg_store::format_utc),
            authorization_expires_on: view.authorization_expires_at.map(emsg_store::format_utc),
            authorization_banner: banner.filter(|_| live),
            last_error: view.last_error.clone(),
            last_error_code: view.last_error_code.clone(),
            advice,
            has_refresh_token: view.has_refresh_token,
        }
    }
}

/// A connection as the engine's status shows it, from the row the page read with its record
/// ([`emsg_store::connections::find_with_record`]): `user` is the name of the user the
/// connection belongs to (none for the company's), `authorized_by` that of its authorizer.
pub fn connection_view(
    record: &WebApplication,
    c: &emsg_store::connections::Connection,
    user: Option<String>,
    authorized_by: Option<String>,
) -> emsg_engine::ConnectionView {
    emsg_engine::ConnectionView {
        connection_id: c.id,
        web_application: record.name.clone(),
        company: c.company.clone(),
        user,
        status: c.status(),
        granted_scope: c.granted_scope.clone(),
        token_type: c.token_type.clone(),
        access_expires_at: c.access_expires_at,
        authorized_by,
        authorized_at: c.authorized_at,
        authorization_expires_at: c.authorization_expires_at,
        taxpayer_id: c.taxpayer_id.clone(),
        last_error: c.last_error.clone(),
        last_error_code: c.last_error_code.clone(),
        has_refresh_token: c.has_refresh_token(),
    }
}
