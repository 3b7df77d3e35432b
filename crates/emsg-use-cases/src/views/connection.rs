//! What the pages and the JSON API show of a connection: its status in the page's words, what
//! to do about it, and when its authorization ends. Never a token.

use emsg_store::connections::Status;
use serde::Serialize;

/// A connection's status in the page's words, the same on every page.
pub fn status_text(status: Status) -> &'static str {
    match status {
        Status::Connected => "Connected",
        Status::RefreshFailing => "Refresh failing",
        Status::ReauthorizationRequired => "Authorization required again",
        Status::Disconnected => "Disconnected",
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
        let status_text = status_text(view.status);
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
