//! The one error type of ID-token verification. No variant ever carries the token or a piece
//! of it; values read from a token (an algorithm name, a key id, an issuer) are shortened.

/// Why an ID token (or the issuer metadata needed to check it) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdTokenError {
    #[error(
        "could not use the OpenID configuration of issuer {issuer}: {reason}; check the \
         web application's issuer URL and that the provider is reachable, then try again"
    )]
    Discovery { issuer: String, reason: String },

    #[error(
        "could not use the issuer's signing keys at {uri}: {reason}; check that the provider \
         is reachable, then try again"
    )]
    Jwks { uri: String, reason: String },

    #[error(
        "the ID token is malformed: {reason}; the provider's answer cannot be trusted, \
         get a new authorization code"
    )]
    Malformed { reason: String },

    #[error(
        "the ID token is signed with algorithm {alg:?}, which is not accepted (RS256, PS256 and \
         ES256 are); set the client's ID-token signing algorithm to RS256 at the provider"
    )]
    UnsupportedAlgorithm { alg: String },

    #[error(
        "the ID token names signing key {}, which is not among the issuer's signing keys even \
         after fetching them again; if the provider has just rotated its keys, try again in a \
         minute",
        .kid.as_deref().map_or_else(|| "(no key id)".to_owned(), |kid| format!("{kid:?}"))
    )]
    UnknownKey { kid: Option<String> },

    #[error(
        "the ID token's signature does not verify with the issuer's key: it was altered or \
         not issued by this provider; do not use it, get a new authorization code"
    )]
    BadSignature,

    #[error(
        "the ID token was issued by {found:?}, not by the expected issuer {expected:?}; check \
         the web application's issuer"
    )]
    WrongIssuer { expected: String, found: String },

    #[error(
        "the ID token is not meant for client {client_id:?} (its audience or authorized party \
         names another client); check the web application's client ID"
    )]
    WrongAudience { client_id: String },

    #[error(
        "the ID token expired at {expired_at} (Unix time); get a new authorization code, and \
         if this keeps happening check this server's clock"
    )]
    Expired { expired_at: i64 },

    #[error(
        "the ID token is not valid yet (issued or valid from a time in the future); check this \
         server's clock against the provider's"
    )]
    NotYetValid,

    #[error(
        "the ID token's nonce is not the one sent with this authorization (a replayed or \
         mixed-up response); start a new authorization"
    )]
    NonceMismatch,

    #[error(
        "the ID token has no nonce although one was sent with the authorization; start a new \
         authorization, and check that the provider echoes the nonce"
    )]
    NonceMissing,

    #[error(
        "the ID token lacks the required claim `{claim}`; the provider's answer is not a \
         usable ID token, get a new authorization code"
    )]
    MissingClaim { claim: &'static str },
}

/// Longest value read from a token that an error repeats.
const MAX_ECHO: usize = 80;

/// A value taken from a token, cut short so that an error stays readable whatever the token
/// holds. Debug-formatting at display time takes care of control characters.
pub(crate) fn echo(value: &str) -> String {
    match value.char_indices().nth(MAX_ECHO) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}
