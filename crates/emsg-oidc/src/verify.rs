//! [`Verifier`]: checks an ID token against the issuer's discovery document and signing keys,
//! both cached per issuer, then checks its claims against the caller's [`Expectations`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use crate::claims::{self, Expectations, IdTokenClaims};
use crate::discovery::{self, Discovery};
use crate::error::{IdTokenError, echo};
use crate::jwks::{self, Candidates, KeySet, SigningAlgorithm, SigningKey};

/// Longest token looked at; real ID tokens are one or two KiB.
const MAX_TOKEN: usize = 64 * 1024;

/// Cached keys older than this (by the callers' clock) are fetched again before use, so that
/// a key the issuer has withdrawn stops being trusted.
const KEYS_MAX_AGE_SECS: i64 = 3600;

/// An unknown key id makes the verifier fetch the keys again at most this often, so that
/// tokens naming made-up keys cannot make it hammer the issuer.
const REFETCH_INTERVAL_SECS: i64 = 60;

/// Verifies ID tokens, caching each issuer's discovery document and signing keys.
pub struct Verifier {
    client: reqwest::Client,
    issuers: Mutex<HashMap<String, Arc<Mutex<IssuerCache>>>>,
    destination: DestinationCheck,
}

/// Says whether a request may go to a URL (discovery documents and key sets, whose URLs come
/// from the provider's answer): the caller's outbound rules. `Err` says why not.
pub type DestinationCheck = Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

#[derive(Default)]
struct IssuerCache {
    discovery: Option<Discovery>,
    keys: Option<FetchedKeys>,
    /// When the keys were last asked for, successfully or not.
    last_key_fetch: Option<i64>,
}

struct FetchedKeys {
    set: KeySet,
    fetched_at: i64,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier fetching over `client`, which should not follow redirects.
    pub fn new(client: reqwest::Client) -> Self {
        Verifier {
            client,
            issuers: Mutex::new(HashMap::new()),
            destination: Arc::new(|_: &str| Ok(())),
        }
    }

    /// Checks every URL with `check` before fetching it, on top of the https rule.
    pub fn with_destination_check(mut self, check: DestinationCheck) -> Self {
        self.destination = check;
        self
    }

    /// The discovery document of `issuer`, from the cache when there (verification refreshes it
    /// with the keys every hour). Its `issuer` equals the requested one exactly and its
    /// `jwks_uri` is https (or http on loopback).
    pub async fn discover(&self, issuer: &str) -> Result<Discovery, IdTokenError> {
        let cache = self.cache_of(issuer).await;
        let mut cache = cache.lock().await;
        self.discovery(&mut cache, issuer).await
    }

    /// Checks the token's signature with the issuer's keys, then its claims. Returns the
    /// claims when the token may be trusted.
    pub async fn verify(
        &self,
        id_token: &str,
        expected: &Expectations<'_>,
    ) -> Result<IdTokenClaims, IdTokenError> {
        let token = Token::parse(id_token)?;
        // Checked before anything is fetched or verified: a token from another issuer (a test
        // issuer's token in production, say) would otherwise surface as an unknown key.
        if let Some(Value::String(found)) = token.claims.get("iss")
            && found != expected.issuer
        {
            return Err(IdTokenError::WrongIssuer {
                expected: expected.issuer.to_owned(),
                found: echo(found),
            });
        }
        let keys = self.keys_for(&token, expected).await?;
        if !keys
            .iter()
            .any(|key| key.verifies(token.alg, token.signing_input.as_bytes(), &token.signature))
        {
            return Err(IdTokenError::BadSignature);
        }
        claims::check(&token.claims, expected)
    }

    async fn cache_of(&self, issuer: &str) -> Arc<Mutex<IssuerCache>> {
        let mut issuers = self.issuers.lock().await;
        Arc::clone(issuers.entry(issuer.to_owned()).or_default())
    }

    async fn discovery(
        &self,
        cache: &mut IssuerCache,
        issuer: &str,
    ) -> Result<Discovery, IdTokenError> {
        if let Some(discovery) = &cache.discovery {
            return Ok(discovery.clone());
        }
        let discovery = discovery::fetch(&self.client, &*self.destination, issuer).await?;
        cache.discovery = Some(discovery.clone());
        Ok(discovery)
    }

    async fn fetch_keys(
        &self,
        cache: &mut IssuerCache,
        issuer: &str,
        now: i64,
    ) -> Result<(), IdTokenError> {
        let jwks_uri = self.discovery(cache, issuer).await?.jwks_uri;
        cache.last_key_fetch = Some(now);
        let set = jwks::fetch(&self.client, &*self.destination, &jwks_uri).await?;
        cache.keys = Some(FetchedKeys {
            set,
            fetched_at: now,
        });
        Ok(())
    }

    /// The keys that may have signed `token`, fetching the issuer's keys when they are not
    /// cached, too old, or (once a minute at most) lack the token's key.
    async fn keys_for(
        &self,
        token: &Token<'_>,
        expected: &Expectations<'_>,
    ) -> Result<Vec<SigningKey>, IdTokenError> {
        let now = expected.now;
        let cache = self.cache_of(expected.issuer).await;
        let mut cache = cache.lock().await;
        let stale = match &cache.keys {
            None => true,
            Some(keys) => now.saturating_sub(keys.fetched_at) >= KEYS_MAX_AGE_SECS,
        };
        if stale {
            // Withdrawn keys may come with a moved jwks_uri: read the configuration again too.
            cache.discovery = None;
            self.fetch_keys(&mut cache, expected.issuer, now).await?;
        }
        let mut refetched = stale;
        loop {
            let candidates = match &cache.keys {
                Some(keys) => keys.set.candidates(token.kid.as_deref(), token.alg),
                None => Candidates::Keys(Vec::new()),
            };
            match candidates {
                Candidates::Ambiguous => {
                    return Err(IdTokenError::Malformed {
                        reason: "its header names no signing key (`kid`) and the issuer has \
                                 several"
                            .to_owned(),
                    });
                }
                Candidates::Keys(keys) if !keys.is_empty() => {
                    return Ok(keys.into_iter().cloned().collect());
                }
                Candidates::Keys(_) => {}
            }
            let may_refetch = cache.last_key_fetch.is_none_or(|last| {
                // A clock that went backwards must not block refetching for good.
                now.saturating_sub(last) >= REFETCH_INTERVAL_SECS || now < last
            });
            if refetched || !may_refetch {
                return Err(IdTokenError::UnknownKey {
                    kid: token.kid.as_deref().map(echo),
                });
            }
            tracing::info!(
                issuer = expected.issuer,
                kid = token.kid.as_deref().map(echo),
                "the ID token names a signing key the cached keys lack; fetching the issuer's \
                 keys again (key rotation)"
            );
            self.fetch_keys(&mut cache, expected.issuer, now).await?;
            refetched = true;
        }
    }
}

/// A compact JWS split into what verification needs. Its claims are not trusted until the
/// signature has been checked.
struct Token<'a> {
    alg: SigningAlgorithm,
    kid: Option<String>,
    /// `header.payload`, the signed bytes.
    signing_input: &'a str,
    signature: Vec<u8>,
    claims: Map<String, Value>,
}

impl<'a> Token<'a> {
    fn parse(token: &'a str) -> Result<Self, IdTokenError> {
        let malformed = |reason: &str| IdTokenError::Malformed {
            reason: reason.to_owned(),
        };
        if token.len() > MAX_TOKEN {
            return Err(malformed("it is longer than 64 KiB"));
        }
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err(malformed(if parts.len() == 5 {
                "it is encrypted (JWE), and emsg only reads signed ID tokens"
            } else {
                "it is not three base64url parts separated by dots (a signed JWT)"
            }));
        };
        let header = json_object(header)
            .ok_or_else(|| malformed("its header is not a base64url-encoded JSON object"))?;
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg,
            _ => return Err(malformed("its header has no algorithm (`alg`)")),
        };
        let alg = SigningAlgorithm::from_header(alg)
            .ok_or_else(|| IdTokenError::UnsupportedAlgorithm { alg: echo(alg) })?;
        // RFC 7515 section 4.1.11: extensions marked critical must be understood; we know none.
        if header.contains_key("crit") {
            return Err(malformed(
                "its header marks extensions as critical (`crit`), which emsg does not implement",
            ));
        }
        if let Some(Value::String(typ)) = header.get("typ")
            && typ
                .trim_start_matches("application/")
                .eq_ignore_ascii_case("at+jwt")
        {
            // RFC 9068: a JWT access token presented as an ID token.
            return Err(malformed(
                "it is an access token (typ at+jwt), not an ID token",
            ));
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed("its key id (`kid`) is not a string")),
        };
        let claims = json_object(payload)
            .ok_or_else(|| malformed("its payload is not a base64url-encoded JSON object"))?;
        let signature_len = signature.len();
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| malformed("its signature is not base64url"))?;
        Ok(Token {
            alg,
            kid,
            // Three parts, so the last dot ends the signed bytes.
            signing_input: &token[..token.len() - signature_len - 1],
            signature,
            claims,
        })
    }
}

/// A base64url (unpadded) JSON object, or `None`.
fn json_object(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}
