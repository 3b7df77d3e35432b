//! Where a message a person sends from a page or the API comes from, for HMRC's
//! `WEB_APP_VIA_SERVER` fraud-prevention headers: what their browser reported
//! (`static/fraud-prevention.js` fills the `browser_data` field and keeps the device-ID cookie)
//! and what the server saw of the connection.

use actix_web::{HttpRequest, web};
use emsg_use_cases::messages::{BrowserData, Hop, Origin, WebClient, is_device_id};

use crate::auth;
use crate::client_address::client_chain;
use crate::session::SessionUser;
use crate::state::AppState;

/// The cookie `static/fraud-prevention.js` keeps the browser's device ID in.
pub(crate) const DEVICE_COOKIE: &str = "emsg_device_id";

/// What the browser reported, read from the `browser_data` JSON; empty is "nothing reported".
pub(crate) fn browser_data(text: Option<&str>) -> Result<BrowserData, String> {
    match text.map(str::trim).filter(|d| !d.is_empty()) {
        Some(text) => BrowserData::from_json(text),
        None => Ok(BrowserData::default()),
    }
}

/// What the server saw of the finance user's request, with what their browser reported, for
/// the `WEB_APP_VIA_SERVER` headers: the client's address (and port, when it connected
/// directly), the device-ID cookie, the hops from the client to this server's listening address
/// (through trusted proxies, `--trusted-proxy`), and the user's name.
pub(crate) fn web_origin(req: &HttpRequest, user: &SessionUser, browser: BrowserData) -> Origin {
    let local = req.app_config().local_addr();
    let peer = req.peer_addr().unwrap_or(local);
    let peer_ip = peer.ip().to_canonical();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.trusted_proxies.clone())
        .unwrap_or_default();
    let chain = client_chain(req, &trusted, peer_ip);
    let public_ip = chain[0];
    let mut forwarded: Vec<Hop> = chain
        .windows(2)
        .map(|pair| Hop {
            by: pair[1],
            for_: pair[0],
        })
        .collect();
    forwarded.push(Hop {
        by: local.ip().to_canonical(),
        for_: peer_ip,
    });
    let ip_seen_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Origin::WebAppViaServer(WebClient {
        browser,
        device_id: auth::cookie(req, DEVICE_COOKIE).filter(|id| is_device_id(id)),
        public_ip,
        // A proxy does not pass the client's port on.
        public_port: (chain.len() == 1).then_some(peer.port()),
        ip_seen_at_ms,
        forwarded,
        user_name: user.name.clone(),
    })
}

/// The origin for a page: unreadable browser data is logged and left out (the message history
/// then names the headers that are missing).
pub(crate) fn page_origin(req: &HttpRequest, user: &SessionUser, text: Option<&str>) -> Origin {
    let browser = browser_data(text).unwrap_or_else(|problem| {
        tracing::info!("the page's browser data was not used: {problem}");
        BrowserData::default()
    });
    web_origin(req, user, browser)
}
