//! The two HTTP fetches (discovery document, JWKS): bounded in time and size, https only
//! (plain http is allowed on loopback, for tests), and never following redirects on their own.

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

/// Whole-request timeout, connecting to last body byte.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// Largest document accepted; real ones are a few KiB.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// Parses `url` and refuses anything but https, or http to a loopback address.
pub(crate) fn checked_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|e| format!("{url:?} is not a URL ({e})"))?;
    let loopback = match parsed.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(format!(
            "{url:?} is not an https URL (plain http is only allowed on loopback)"
        )),
    }
}

/// GETs a JSON document and returns its body. The error says what went wrong, in words fit
/// for the `reason` of an [`crate::IdTokenError`].
pub(crate) async fn get_json(client: &reqwest::Client, url: &Url) -> Result<Vec<u8>, String> {
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let status = response.status();
    if !status.is_success() {
        // A redirect lands here too: the caller's client does not follow them, and neither do we.
        return Err(format!("GET {url} answered HTTP {status}"));
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY as u64)
    {
        return Err(format!("GET {url} answered more than {MAX_BODY} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(format!("GET {url} answered more than {MAX_BODY} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        format!("no complete answer within {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    // reqwest's Display names the URL; the source chain says why (DNS, TLS, reset, ...).
    let mut text = format!("{what}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::checked_url;

    #[test]
    fn https_urls_and_loopback_http_urls_are_allowed() {
        assert!(checked_url("https://idporten.no/jwks.json").is_ok());
        assert!(checked_url("http://127.0.0.1:8080/jwks").is_ok());
        assert!(checked_url("http://[::1]:8080/jwks").is_ok());
        assert!(checked_url("http://localhost:8080/jwks").is_ok());
    }

    #[test]
    fn plain_http_to_another_host_and_other_schemes_are_refused() {
        assert!(checked_url("http://idporten.no/jwks.json").is_err());
        assert!(checked_url("http://10.0.0.1/jwks").is_err());
        assert!(checked_url("file:///etc/passwd").is_err());
        assert!(checked_url("not a url").is_err());
    }
}
