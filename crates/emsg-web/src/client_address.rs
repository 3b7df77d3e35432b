//! Who the client is, as far as this server can tell: the peer that connected, or — when that
//! peer is a reverse proxy named with `--trusted-proxy` — the first `X-Forwarded-For` address no
//! trusted proxy added. HMRC's fraud-prevention headers and the log-in throttle both use it.

use std::net::IpAddr;

use actix_web::{HttpRequest, web};

use crate::state::AppState;

/// The addresses from the client to the peer that connected to us: the peer alone, or, when the
/// peer is a trusted proxy, the `X-Forwarded-For` entries back to the first address that no
/// trusted proxy added (anything further left is the client's own claim). An entry that is not
/// an IP address makes the whole header ignored.
pub(crate) fn client_chain(req: &HttpRequest, trusted: &[IpAddr], peer: IpAddr) -> Vec<IpAddr> {
    let mut chain = vec![peer];
    if !trusted.contains(&peer) {
        return chain;
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|a| a.trim().parse::<IpAddr>().map(|ip| ip.to_canonical()))
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    for address in forwarded.into_iter().rev() {
        chain.insert(0, address);
        if !trusted.contains(&address) {
            break;
        }
    }
    chain
}

/// The client's address: the first address of [`client_chain`].
pub(crate) fn client_ip(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .unwrap_or_else(|| req.app_config().local_addr())
        .ip()
        .to_canonical();
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.trusted_proxies.clone())
        .unwrap_or_default();
    client_chain(req, &trusted, peer)[0]
}
