//! Authorization parameters: the ones the engine sends itself.

/// Parameters the engine itself sends in every authorization request. Neither a record
/// (`authorization_params`) nor a request may set them: that would break
/// the flow or its protection against forged callbacks.
pub const RESERVED_AUTHORIZATION_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
];

/// Whether the engine sets `name` itself (see [`RESERVED_AUTHORIZATION_PARAMS`]).
pub fn is_reserved(name: &str) -> bool {
    RESERVED_AUTHORIZATION_PARAMS.contains(&name)
}
