//! The issuer's signing keys (a JWK Set), which of them may check a given token, and the
//! signature check itself.

use jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::error::IdTokenError;
use crate::fetch;

/// The signature algorithms accepted for ID tokens. `none` and the HMAC family are absent on
/// purpose: an HMAC key would be the client secret, which emsg never uses to check tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SigningAlgorithm {
    Rs256,
    Ps256,
    Es256,
}

impl SigningAlgorithm {
    /// The algorithm a JOSE header's `alg` names, if it is one we accept.
    pub(crate) fn from_header(alg: &str) -> Option<Self> {
        match alg {
            "RS256" => Some(Self::Rs256),
            "PS256" => Some(Self::Ps256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Ps256 => Algorithm::PS256,
            Self::Es256 => Algorithm::ES256,
        }
    }

    fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Self::Rs256 => KeyAlgorithm::RS256,
            Self::Ps256 => KeyAlgorithm::PS256,
            Self::Es256 => KeyAlgorithm::ES256,
        }
    }

    fn key_kind(self) -> KeyKind {
        match self {
            Self::Rs256 | Self::Ps256 => KeyKind::Rsa,
            Self::Es256 => KeyKind::P256,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
}

/// One public key the issuer signs with.
#[derive(Clone)]
pub(crate) struct SigningKey {
    kid: Option<String>,
    /// The key's own `alg`, when the JWKS pins one.
    alg: Option<KeyAlgorithm>,
    kind: KeyKind,
    key: DecodingKey,
}

impl SigningKey {
    /// A usable signature-verification key from a JWK, or `None` for keys of other kinds or
    /// uses (encryption keys, symmetric keys, curves we do not support).
    fn from_jwk(jwk: &Jwk) -> Option<Self> {
        let common = &jwk.common;
        if matches!(
            common.public_key_use,
            Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
        ) {
            return None;
        }
        if let Some(operations) = &common.key_operations
            && !operations.contains(&KeyOperations::Verify)
        {
            return None;
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                KeyKind::P256
            }
            _ => return None,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(SigningKey {
            kid: common.key_id.clone(),
            alg: common.key_algorithm,
            kind,
            key,
        })
    }

    fn fits(&self, alg: SigningAlgorithm) -> bool {
        self.kind == alg.key_kind() && self.alg.is_none_or(|own| own == alg.key_algorithm())
    }

    /// Whether `signature` over `message` verifies with this key under `alg`.
    pub(crate) fn verifies(&self, alg: SigningAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        // The provider is named rather than taken from jsonwebtoken's process-wide default, which
        // panics if another crate in the build also enables its rust_crypto feature.
        match (DEFAULT_PROVIDER.verifier_factory)(&alg.jwt(), &self.key) {
            Ok(verifier) => verifier.verify(message, &signature.to_vec()).is_ok(),
            Err(_) => false,
        }
    }
}

/// Which keys may have signed a token.
pub(crate) enum Candidates<'a> {
    Keys(Vec<&'a SigningKey>),
    /// The token names no key and the issuer has several that fit.
    Ambiguous,
}

/// The usable signing keys of one issuer.
#[derive(Clone)]
pub(crate) struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// Parses a JWK Set, keeping the keys that can check signatures; keys we cannot use (or
    /// cannot parse) are skipped so that one exotic key does not hide the others.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct RawSet {
            keys: Vec<serde_json::Value>,
        }
        let raw: RawSet =
            serde_json::from_slice(body).map_err(|e| format!("not a JWK Set: {e}"))?;
        let keys: Vec<SigningKey> = raw
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| SigningKey::from_jwk(&jwk))
            .collect();
        if keys.is_empty() {
            return Err("the set holds no usable signing key (RSA, or EC on P-256)".to_owned());
        }
        Ok(KeySet { keys })
    }

    /// The keys that may have signed a token with this `kid` and `alg`.
    pub(crate) fn candidates(&self, kid: Option<&str>, alg: SigningAlgorithm) -> Candidates<'_> {
        let fitting = self.keys.iter().filter(|key| key.fits(alg));
        match kid {
            Some(kid) => Candidates::Keys(
                fitting
                    .filter(|key| key.kid.as_deref() == Some(kid))
                    .collect(),
            ),
            None => {
                // OpenID Connect Core 10.1: without a kid there must be only one key to try.
                let all: Vec<_> = fitting.collect();
                if all.len() > 1 {
                    Candidates::Ambiguous
                } else {
                    Candidates::Keys(all)
                }
            }
        }
    }
}

/// Fetches and parses the JWK Set at `uri`.
pub(crate) async fn fetch(
    client: &reqwest::Client,
    destination: &(dyn Fn(&str) -> Result<(), String> + Send + Sync),
    uri: &str,
) -> Result<KeySet, IdTokenError> {
    let error = |reason: String| IdTokenError::Jwks {
        uri: uri.to_owned(),
        reason,
    };
    let url = fetch::checked_url(uri).map_err(error)?;
    destination(url.as_str()).map_err(error)?;
    let body = fetch::get_json(client, &url).await.map_err(error)?;
    KeySet::parse(&body).map_err(error)
}
