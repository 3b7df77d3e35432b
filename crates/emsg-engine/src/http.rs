//! The one HTTP client (rustls, no redirects, timeouts, only public addresses) and its adapter
//! for the `oauth2` crate.

use std::net::SocketAddr;
use std::sync::Arc;

use emsg_webapps::UrlRules;
use oauth2::{HttpRequest, HttpResponse};

use crate::config::EngineConfig;
use crate::error::EngineError;

pub fn client(config: &EngineConfig) -> Result<reqwest::Client, EngineError> {
    reqwest::Client::builder()
        // Following a redirect from a token endpoint would send credentials elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve names itself, past the resolver's address check.
        .no_proxy()
        // Every name any request of the engine or of messages resolves is checked here, so a
        // provider's host that resolves to 10.x or 169.254.169.254 is never connected to.
        .dns_resolver(Arc::new(PublicOnly(config.urls)))
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("emsg/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EngineError::Internal(format!("could not build the HTTP client: {e}")))
}

/// A resolver that answers only the addresses the outbound rules allow: public ones, and
/// loopback when the operator allows it (`EMSG_ALLOW_LOOPBACK_URLS`).
struct PublicOnly(UrlRules);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = allowed_addresses(rules, &host, found)?;
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A name that resolves to no allowed address; recognised in [`HttpFailure::from_reqwest`].
#[derive(Debug, thiserror::Error)]
#[error(
    "refused to connect to {host}: it resolves to {addresses}, not a public address (loopback, \
     private, link-local and metadata addresses are never used for providers)"
)]
pub struct AddressRefused {
    host: String,
    addresses: String,
}

/// The addresses of `host` that `rules` allow; none is an error that names the host.
fn allowed_addresses(
    rules: UrlRules,
    host: &str,
    found: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let allowed: Vec<SocketAddr> = found
        .iter()
        .filter(|a| rules.allows_address(a.ip()))
        .copied()
        .collect();
    if allowed.is_empty() {
        let shown: Vec<String> = found.iter().map(|a| a.ip().to_string()).collect();
        return Err(Box::new(AddressRefused {
            host: host.to_owned(),
            addresses: if shown.is_empty() {
                "no address".to_owned()
            } else {
                shown.join(", ")
            },
        }));
    }
    Ok(allowed)
}

/// Why a request got no usable answer. Never carries a body (it may hold tokens).
#[derive(Debug, thiserror::Error)]
pub enum HttpFailure {
    /// The destination is not allowed by the outbound rules: nothing was sent.
    #[error("{0}")]
    Refused(String),
    #[error("the provider did not answer within the timeout")]
    Timeout,
    #[error("could not reach the provider: {0}")]
    Network(String),
    #[error("the provider answered HTTP {0}")]
    ServerError(u16),
    #[error("the provider answered with a redirect (HTTP {0}), which emsg does not follow")]
    Redirect(u16),
}

impl HttpFailure {
    pub fn from_reqwest(error: &reqwest::Error) -> Self {
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            if let Some(refused) = inner.downcast_ref::<AddressRefused>() {
                return Self::Refused(refused.to_string());
            }
            cause = inner.source();
        }
        if error.is_timeout() {
            Self::Timeout
        } else {
            // reqwest's message names the URL but never a body or header value.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            Self::Network(text)
        }
    }
}

/// Sends an `oauth2` request through our client. 5xx and redirects become errors here, so that
/// they are told apart from the provider's OAuth error answers; a 200 whose JSON body carries an
/// `error` is turned into a 400 so that it is read as the error it is.
pub async fn send(
    client: &reqwest::Client,
    rules: UrlRules,
    request: HttpRequest,
) -> Result<HttpResponse, HttpFailure> {
    let (parts, body) = request.into_parts();
    rules
        .check_destination(&parts.uri.to_string())
        .map_err(HttpFailure::Refused)?;
    let mut outgoing = client
        .request(parts.method, parts.uri.to_string())
        .body(body);
    for (name, value) in &parts.headers {
        outgoing = outgoing.header(name, value);
    }
    let response = outgoing
        .send()
        .await
        .map_err(|e| HttpFailure::from_reqwest(&e))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(HttpFailure::ServerError(status.as_u16()));
    }
    if status.is_redirection() {
        return Err(HttpFailure::Redirect(status.as_u16()));
    }
    let headers = response.headers().clone();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| HttpFailure::from_reqwest(&e))?
        .to_vec();
    let (status, bytes) = if status == http::StatusCode::OK && carries_oauth_error(&bytes) {
        (http::StatusCode::BAD_REQUEST, bytes)
    } else if status == http::StatusCode::UNAUTHORIZED && !carries_oauth_error(&bytes) {
        // A bare 401 (common for refused Basic credentials) is a client authentication failure.
        (status, UNAUTHORIZED_BODY.to_vec())
    } else {
        (status, bytes)
    };
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers
        .iter()
        .filter(|(n, _)| *n != http::header::CONTENT_LENGTH && *n != http::header::CONTENT_TYPE)
    {
        builder = builder.header(name, value);
    }
    builder
        .header(
            http::header::CONTENT_TYPE,
            headers
                .get(http::header::CONTENT_TYPE)
                .filter(|_| status != http::StatusCode::UNAUTHORIZED)
                .cloned()
                .unwrap_or(http::HeaderValue::from_static("application/json")),
        )
        .body(bytes)
        .map_err(|e| HttpFailure::Network(e.to_string()))
}

const UNAUTHORIZED_BODY: &[u8] = br#"{"error":"invalid_client","error_description":"the provider answered HTTP 401 without details: it refused the client ID or secret"}"#;

fn carries_oauth_error(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| {
            v.get("error").is_some_and(serde_json::Value::is_string)
                && v.get("access_token").is_none()
        })
}

/// Our client as the `oauth2` crate's `AsyncHttpClient`: a named type with a boxed `Send`
/// future, so that refreshes can run inside spawned tasks.
pub struct OAuthHttp<'a>(pub &'a reqwest::Client, pub UrlRules);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = HttpFailure;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(self.0, self.1, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        SocketAddr::new(text.parse().unwrap_or([0, 0, 0, 0].into()), 443)
    }

    #[test]
    fn names_resolving_to_private_or_metadata_addresses_are_refused() {
        let strict = UrlRules::default();
        for private in ["10.0.0.7", "169.254.169.254", "127.0.0.1", "fd00:ec2::254"] {
            let error = allowed_addresses(strict, "api.example", vec![addr(private)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains("api.example") && error.contains(private),
                "{error}"
            );
        }
        let mixed = allowed_addresses(strict, "h", vec![addr("10.0.0.1"), addr("81.144.2.1")]);
        assert_eq!(mixed.ok(), Some(vec![addr("81.144.2.1")]));
        let loopback = UrlRules {
            allow_loopback: true,
        };
        assert!(allowed_addresses(loopback, "localhost", vec![addr("127.0.0.1")]).is_ok());
        assert!(allowed_addresses(loopback, "h", vec![addr("169.254.169.254")]).is_err());
    }
}
