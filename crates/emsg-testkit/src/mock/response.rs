//! What a scripted route does with one request.

use std::time::Duration;

use serde_json::{Map, Value, json};

/// One scripted behaviour of a [`MockServer`](super::MockServer) route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockResponse {
    /// Answer with this status, headers and body, after `delay` if one is given.
    Reply {
        /// HTTP status code.
        status: u16,
        /// Response headers, in order; a name may repeat.
        headers: Vec<(String, String)>,
        /// Response body; `Content-Length` is set from it.
        body: Vec<u8>,
        /// Wait this long before answering.
        delay: Option<Duration>,
    },
    /// Read the request and never answer: the connection stays open until the client gives up or
    /// the server is dropped.
    Hang,
    /// Read the request, then close the TCP connection with `SO_LINGER` 0 and no response, so the
    /// client sees a connection reset.
    Reset,
}

impl MockResponse {
    /// A reply with this status and a JSON body (`content-type: application/json`).
    pub fn json(status: u16, value: Value) -> Self {
        MockResponse::Reply {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: value.to_string().into_bytes(),
            delay: None,
        }
    }

    /// A reply with this status and a plain-text body (`content-type: text/plain; charset=utf-8`).
    pub fn text(status: u16, body: &str) -> Self {
        MockResponse::Reply {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: body.as_bytes().to_vec(),
            delay: None,
        }
    }

    /// A successful RFC 6749 §5.1 token response: status 200, `cache-control: no-store`, body
    /// `{"access_token", "token_type": "Bearer", "refresh_token"?, "expires_in"?}` where the
    /// optional members are present only when given.
    pub fn token(access: &str, refresh: Option<&str>, expires_in: Option<u64>) -> Self {
        let mut body = Map::new();
        body.insert("access_token".to_owned(), json!(access));
        body.insert("token_type".to_owned(), json!("Bearer"));
        if let Some(refresh) = refresh {
            body.insert("refresh_token".to_owned(), json!(refresh));
        }
        if let Some(expires_in) = expires_in {
            body.insert("expires_in".to_owned(), json!(expires_in));
        }
        MockResponse::json(200, Value::Object(body))
            .with_header("cache-control", "no-store")
            .with_header("pragma", "no-cache")
    }

    /// An RFC 6749 §5.2 error response: `{"error", "error_description"}` with this status.
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        MockResponse::json(
            status,
            json!({ "error": error, "error_description": description }),
        )
        .with_header("cache-control", "no-store")
    }

    /// Wait `d` before answering. Only a [`MockResponse::Reply`] has a delay; `Hang` and `Reset`
    /// are returned unchanged.
    #[must_use]
    pub fn with_delay(mut self, d: Duration) -> Self {
        if let MockResponse::Reply { delay, .. } = &mut self {
            *delay = Some(d);
        }
        self
    }

    /// Add a response header (appended; an earlier header of the same name is kept). Only a
    /// [`MockResponse::Reply`] has headers; `Hang` and `Reset` are returned unchanged.
    #[must_use]
    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        if let MockResponse::Reply { headers, .. } = &mut self {
            headers.push((k.to_owned(), v.to_owned()));
        }
        self
    }
}
