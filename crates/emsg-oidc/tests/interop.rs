//! The verifier against a real, independent OpenID provider: the npm `oidc-provider` stand-in
//! configured like ID-porten (emsg-testkit), through the whole authorization code flow.

#![allow(clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emsg_oidc::{Expectations, IdTokenError, Verifier};
use emsg_testkit::{OidcPeer, PeerClient, Profile};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const CLIENT_ID: &str = "idporten-app";
const CLIENT_SECRET: &str = "idporten-secret";

fn random() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).unwrap();
    URL_SAFE_NO_PAD.encode(bytes)
}

fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    i64::try_from(secs).unwrap()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// Signs `account` in through the provider's pages with PKCE S256, state and `nonce`, and
/// exchanges the code (client_secret_basic). Returns the ID token.
async fn id_token(peer: &OidcPeer, account: &str, nonce: &str) -> anyhow::Result<String> {
    let state = random();
    let verifier = random();
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, verifier.as_bytes()));
    let mut url = peer.authorization_endpoint().clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = peer.login_and_consent(url.as_str(), account).await?;
    let query = |name: &str| {
        back.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    ensure!(
        query("state").as_deref() == Some(state.as_str()),
        "state not echoed: {back}"
    );
    let code = query("code").ok_or_else(|| anyhow!("no code in {back}"))?;

    let response = http()
        .post(peer.token_endpoint().clone())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await?;
    let status = response.status();
    let body = response.text().await?;
    ensure!(
        status.is_success(),
        "token endpoint answered {status}: {body}"
    );
    let tokens: Value = serde_json::from_str(&body).context("token response is not JSON")?;
    tokens["id_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no id_token in the token response"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_porten_id_tokens_verify_only_with_their_nonce_and_client() -> anyhow::Result<()> {
    let client = PeerClient::new(CLIENT_ID, CLIENT_SECRET, REDIRECT);
    let peer = OidcPeer::start(Profile::IdPorten, std::slice::from_ref(&client)).await?;
    let nonce = random();
    let token = id_token(&peer, "alice", &nonce).await?;

    let verifier = Verifier::new(http());
    let discovery = verifier.discover(peer.issuer()).await?;
    assert_eq!(discovery.issuer, peer.issuer());
    assert_eq!(
        discovery.token_endpoint.as_deref(),
        Some(peer.token_endpoint().as_str())
    );
    let expected = Expectations {
        issuer: peer.issuer(),
        client_id: CLIENT_ID,
        nonce: Some(&nonce),
        now: now(),
        leeway_secs: 60,
    };

    let claims = verifier.verify(&token, &expected).await?;
    assert_eq!(claims.issuer, peer.issuer());
    assert_eq!(claims.subject, "alice");
    assert_eq!(claims.audience, vec![CLIENT_ID.to_owned()]);
    assert_eq!(claims.nonce.as_deref(), Some(nonce.as_str()));
    assert!(claims.expires_at > expected.now, "{claims:?}");

    let other_nonce = random();
    assert_eq!(
        verifier
            .verify(
                &token,
                &Expectations {
                    nonce: Some(&other_nonce),
                    ..expected
                }
            )
            .await,
        Err(IdTokenError::NonceMismatch)
    );
    assert_eq!(
        verifier
            .verify(
                &token,
                &Expectations {
                    client_id: "another-app",
                    ..expected
                }
            )
            .await,
        Err(IdTokenError::WrongAudience {
            client_id: "another-app".to_owned()
        })
    );
    peer.shutdown().await
}
