//! Test support: signing keys made at test time, hand-built JWTs (so that broken ones can be
//! built too), and a tiny in-process issuer serving a discovery document and a JWKS on a free
//! loopback port.

#![allow(clippy::unwrap_used, dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
    RsaKeyPair, RsaPublicKeyComponents,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "emsg-client";
pub const NONCE: &str = "nonce-sent-with-the-authorization";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .try_into()
        .unwrap()
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key of the test issuer.
pub enum TestKey {
    Rsa { kid: String, pair: RsaKeyPair },
    P256 { kid: String, pair: EcdsaKeyPair },
}

// RSA key generation is slow in an unoptimised build: make each key once per test binary.
pub static RSA_KEY: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-1"));
pub static ROTATED_RSA_KEY: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-2"));
/// Someone else's key, published under our key's kid by nobody.
pub static FOREIGN_RSA_KEY: LazyLock<TestKey> = LazyLock::new(|| TestKey::rsa("rsa-1"));
pub static P256_KEY: LazyLock<TestKey> = LazyLock::new(|| TestKey::p256("ec-1"));

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        TestKey::Rsa {
            kid: kid.to_owned(),
            pair: RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
        }
    }

    pub fn p256(kid: &str) -> Self {
        TestKey::P256 {
            kid: kid.to_owned(),
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    pub fn kid(&self) -> &str {
        match self {
            TestKey::Rsa { kid, .. } | TestKey::P256 { kid, .. } => kid,
        }
    }

    /// The public key as published in a JWKS.
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Rsa { kid, pair } => {
                let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "use": "sig", "kid": kid, "n": b64(&public.n), "e": b64(&public.e)})
            }
            TestKey::P256 { kid, pair } => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "use": "sig", "crv": "P-256", "kid": kid,
                       "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
        }
    }

    /// A compact JWS over `claims`, with this key's kid and `alg` in the header.
    pub fn sign(&self, alg: &str, claims: &Value) -> String {
        let header = json!({"alg": alg, "typ": "JWT", "kid": self.kid()});
        self.sign_with_header(&header, claims)
    }

    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match self {
            TestKey::Rsa { pair, .. } => {
                let padding = if header["alg"] == "PS256" {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, input.as_bytes(), &mut signature)
                    .unwrap();
                signature
            }
            TestKey::P256 { pair, .. } => {
                pair.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec()
            }
        };
        format!("{input}.{}", b64(&signature))
    }
}

/// The claims of a good ID token from `issuer`.
pub fn claims(issuer: &str) -> Value {
    let now = now();
    json!({
        "iss": issuer,
        "sub": "user-1",
        "aud": CLIENT_ID,
        "exp": now + 300,
        "iat": now,
        "nonce": NONCE,
        "acr": "idporten-loa-substantial",
    })
}

/// `claims` with some fields replaced (or removed, for `null`).
pub fn with(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

/// What the test issuer serves; tests change it while it runs.
pub struct IssuerState {
    pub jwks: Value,
    pub jwks_status: u16,
    /// `issuer` written into the discovery document; `None` = the real one.
    pub claimed_issuer: Option<String>,
    pub hits: HashMap<String, usize>,
}

/// An issuer on a free loopback port.
pub struct TestIssuer {
    pub issuer: String,
    pub state: Arc<Mutex<IssuerState>>,
}

impl TestIssuer {
    pub async fn start(keys: &[&TestKey]) -> TestIssuer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(IssuerState {
            jwks: jwks(keys),
            jwks_status: 200,
            claimed_issuer: None,
            hits: HashMap::new(),
        }));
        let served = Arc::clone(&state);
        let base = issuer.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&served);
                let base = base.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split(' ').nth(1).unwrap_or("").to_owned();
                    let (status, body) = respond(&state, &base, &path);
                    let response = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        TestIssuer { issuer, state }
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.issuer)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn publish(&self, keys: &[&TestKey]) {
        self.state.lock().unwrap().jwks = jwks(keys);
    }
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>()})
}

fn respond(state: &Mutex<IssuerState>, base: &str, path: &str) -> (u16, String) {
    let mut state = state.lock().unwrap();
    *state.hits.entry(path.to_owned()).or_default() += 1;
    match path {
        "/.well-known/openid-configuration" => {
            let issuer = state
                .claimed_issuer
                .clone()
                .unwrap_or_else(|| base.to_owned());
            let discovery = json!({
                "issuer": issuer,
                "jwks_uri": format!("{base}/jwks"),
                "authorization_endpoint": format!("{base}/auth"),
                "token_endpoint": format!("{base}/token"),
                "id_token_signing_alg_values_supported": ["RS256"],
            });
            (200, discovery.to_string())
        }
        "/jwks" => (state.jwks_status, state.jwks.to_string()),
        _ => (404, "{}".to_owned()),
    }
}

/// The client the caller of emsg-oidc builds: no redirects, no proxy for loopback.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}
