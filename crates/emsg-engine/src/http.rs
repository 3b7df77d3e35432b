//! The one HTTP client (rustls, no redirects, timeouts) and its adapter for the `oauth2` crate.

use oauth2::{HttpRequest, HttpResponse};

use crate::config::EngineConfig;
use crate::error::EngineError;

pub fn client(config: &EngineConfig) -> Result<reqwest::Client, EngineError> {
    reqwest::Client::builder()
        // Following a redirect from a token endpoint would send credentials elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout.min(std::time::Duration::from_secs(10)))
        .user_agent(concat!("emsg/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| EngineError::Internal(format!("could not build the HTTP client: {e}")))
}

/// Why a request got no usable answer. Never carries a body (it may hold tokens).
#[derive(Debug, thiserror::Error)]
pub enum HttpFailure {
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
    request: HttpRequest,
) -> Result<HttpResponse, HttpFailure> {
    let (parts, body) = request.into_parts();
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
pub struct OAuthHttp<'a>(pub &'a reqwest::Client);

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = HttpFailure;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, HttpFailure>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(send(self.0, request))
    }
}
