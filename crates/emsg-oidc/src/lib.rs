//! Verifies OpenID Connect ID tokens (ID-porten's, or any issuer's) returned by a token
//! endpoint: discovery, the issuer's signing keys (JWKS, refetched when the issuer rotates them),
//! the signature, and the claims the client must check (OpenID Connect Core 3.1.3.7).
//!
//! ```no_run
//! # async fn demo(id_token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use emsg_oidc::{Expectations, Verifier};
//! // Following a redirect from a provider's endpoint would be an SSRF hole.
//! let client = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
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

pub use claims::{Expectations, IdTokenClaims};
pub use discovery::Discovery;
pub use error::IdTokenError;
pub use verify::{DestinationCheck, Verifier};
