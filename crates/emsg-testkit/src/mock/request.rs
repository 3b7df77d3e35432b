//! A request as the mock received it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// One request received by a [`MockServer`](super::MockServer), recorded before its behaviour
/// ran (so a `Hang` or a `Reset` is recorded too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, upper-case as sent (`POST`).
    pub method: String,
    /// The path as sent, without the query string.
    pub path: String,
    /// The query string without `?`, if the target had one.
    pub query: Option<String>,
    /// Headers in the order received, names lower-cased; values that are not UTF-8 are decoded
    /// lossily.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// When the stand-in had read it (the wall clock): for counting requests in the fixed
    /// one-second windows a provider's rate limit counts in.
    pub received_at: std::time::SystemTime,
}

impl RecordedRequest {
    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as `application/x-www-form-urlencoded`, pairs in order (whatever the
    /// request's content type).
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// The client ID and secret of an `Authorization: Basic` header, each form-url-decoded as
    /// RFC 6749 §2.3.1 requires (`+` is a space, `%XX` a byte). `None` when the header is absent,
    /// not Basic, not base64, has no `:`, or does not decode to UTF-8.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let value = self.header("authorization")?.trim();
        let (scheme, credentials) = value.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode(credentials.trim()).ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        Some((form_decode(id)?, form_decode(secret)?))
    }
}

/// `application/x-www-form-urlencoded` decoding of one component.
fn form_decode(s: &str) -> Option<String> {
    let plus_as_space = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}
