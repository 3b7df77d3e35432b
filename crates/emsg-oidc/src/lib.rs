//! Verifies OpenID Connect ID tokens (ID-porten's, or any issuer's) returned by a token
//! endpoint: discovery, the issuer's signing keys (JWKS, refetched when the issuer rotates them),
//! the signature, and the claims the client must check (OpenID Connect Core 3.1.3.7).
//!
//! ```no_run
//! # async fn demo(id_token: &str) -> Result<(), emsg_oidc::IdTokenError> {
//! use emsg_oidc::{Expectations, Verifier};
//! let client = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()
//!     .map_err(|e| emsg_oidc::IdTokenError::Malformed { reason: e.to_string() })?;
//! let verifier = Verifier::new(client);
//! let claims = verifier
//!     .verify(
//!         id_token,
//!         &Expectations {
//!             issuer: "https://idporten.no",
//!             client_id: "my-client",
//!             nonce: Some("the nonce sent with the authorization request"),
//!             now: 1_700_000_000,
//!             leeway_secs: 60,
//!         },
//!     )
//!     .await?;
//! println!("signed in: {}", claims.subject);
//! # Ok(())
//! # }
//! ```

mod claims;
mod discovery;
mod error;
mod fetch;
mod jwks;
mod verify;

pub use claims::IdTokenClaims;
pub use discovery::Discovery;
pub use error::IdTokenError;
pub use verify::{Expectations, Verifier};
