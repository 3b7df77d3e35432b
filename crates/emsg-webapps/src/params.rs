//! Authorization parameters: the ones the engine sends itself, and the words for the standard
//! ones a record may offer choices for.

/// Parameters the engine itself sends in every authorization request. Neither a record
/// (`authorization_params`, `parameter_choices`) nor a request may set them: that would break
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

/// The words on the Get authorization code dialog for a parameter the record offers choices
/// for: the standard OpenID Connect parameters in words, any other by its name.
pub fn parameter_label(name: &str) -> &str {
    match name {
        "ui_locales" => "Requested language in the user interface",
        "acr_values" => "Requested authentication level",
        "prompt" => "Prompt",
        "display" => "Display",
        _ => name,
    }
}
