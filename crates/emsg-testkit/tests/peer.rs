//! End-to-end proof, without emsg, that the loopback stand-in behaves like the providers:
//! authorization code flow through its HTML pages, token exchange, rotating refresh tokens,
//! the Altinn-like exchange, grant revocation, and the per-profile client rules.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emsg_testkit::{OidcPeer, PeerClient, PeerOptions, Profile, RefreshReuse};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const IDPORTEN_SCOPE: &str =
    "openid profile skatteetaten:mvameldingvalidering skatteetaten:mvameldinginnsending";
const VAT_SCOPE: &str = "read:vat write:vat";
const ITSA_SCOPE: &str = "read:self-assessment write:self-assessment";

fn idporten_client() -> PeerClient {
    PeerClient::new("idporten-app", "idporten-secret", REDIRECT)
}

fn hmrc_client() -> PeerClient {
    PeerClient::new("hmrc-app", "hmrc-secret", REDIRECT)
}

/// A fresh random-looking value (no RNG crate needed: time, pid and a counter, hashed).
fn random(label: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!(
        "{label}:{nanos}:{}:{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()))
}

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let verifier = random("verifier");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

struct AuthRequest {
    url: Url,
    state: String,
    nonce: Option<String>,
    pkce: Option<Pkce>,
}

fn idporten_request(peer: &OidcPeer, client: &PeerClient) -> AuthRequest {
    let state = random("state");
    let nonce = random("nonce");
    let pkce = pkce();
    let mut url = peer.authorization_endpoint().clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", IDPORTEN_SCOPE)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("ui_locales", "en")
        .append_pair("acr_values", "idporten-loa-substantial");
    AuthRequest {
        url,
        state,
        nonce: Some(nonce),
        pkce: Some(pkce),
    }
}

fn hmrc_request(peer: &OidcPeer, client: &PeerClient, scope: &str, with_pkce: bool) -> AuthRequest {
    let state = random("state");
    let pkce = with_pkce.then(pkce);
    let mut url = peer.authorization_endpoint().clone();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", scope)
            .append_pair("state", &state);
        if let Some(pkce) = &pkce {
            query
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256");
        }
    }
    AuthRequest {
        url,
        state,
        nonce: None,
        pkce,
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The code from the redirect back to the client, after checking `state` and `iss`.
fn code_from(peer: &OidcPeer, back: &Url, request: &AuthRequest) -> anyhow::Result<String> {
    ensure!(
        back.as_str().starts_with(REDIRECT),
        "redirected to {back}, not to the client"
    );
    ensure!(query(back, "error").is_none(), "provider refused: {back}");
    ensure!(
        query(back, "state").as_deref() == Some(request.state.as_str()),
        "state not echoed: {back}"
    );
    ensure!(
        query(back, "iss").as_deref() == Some(peer.issuer()),
        "iss not {}: {back}",
        peer.issuer()
    );
    query(back, "code").ok_or_else(|| anyhow!("no code in {back}"))
}

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().no_proxy().build()?)
}

/// A token-endpoint (or revocation/introspection) call with the client authentication `method`.
async fn client_call(
    url: &Url,
    client: &PeerClient,
    method: &str,
    params: &[(&str, &str)],
) -> anyhow::Result<(StatusCode, Value)> {
    let mut form: Vec<(&str, &str)> = params.to_vec();
    let mut request = http()?.post(url.clone());
    match method {
        "client_secret_basic" => {
            request = request.basic_auth(&client.client_id, Some(&client.client_secret));
        }
        "client_secret_post" => {
            form.push(("client_id", &client.client_id));
            form.push(("client_secret", &client.client_secret));
        }
        other => anyhow::bail!("unknown auth method {other}"),
    }
    let response = request.form(&form).send().await?;
    let status = response.status();
    let body = response.text().await?;
    let json = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).with_context(|| format!("not JSON ({status}): {body}"))?
    };
    Ok((status, json))
}

async fn exchange_code(
    peer: &OidcPeer,
    client: &PeerClient,
    method: &str,
    code: &str,
    verifier: Option<&str>,
) -> anyhow::Result<(StatusCode, Value)> {
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(verifier) = verifier {
        params.push(("code_verifier", verifier));
    }
    client_call(peer.token_endpoint(), client, method, &params).await
}

async fn refresh(
    peer: &OidcPeer,
    client: &PeerClient,
    method: &str,
    refresh_token: &str,
) -> anyhow::Result<(StatusCode, Value)> {
    client_call(
        peer.token_endpoint(),
        client,
        method,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

fn field<'a>(json: &'a Value, name: &str) -> anyhow::Result<&'a str> {
    json.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no {name} in {json}"))
}

fn jwt_part(jwt: &str, index: usize) -> anyhow::Result<Value> {
    let part = jwt
        .split('.')
        .nth(index)
        .ok_or_else(|| anyhow!("not a JWT: {jwt}"))?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part)?)?)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

async fn call_exchange(
    peer: &OidcPeer,
    bearer: &str,
) -> anyhow::Result<(StatusCode, String, String)> {
    let response = http()?
        .get(peer.exchange_endpoint().clone())
        .bearer_auth(bearer)
        .send()
        .await?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Ok((status, content_type, response.text().await?))
}

/// The whole ID-porten code flow through the HTML pages; returns the token response.
async fn idporten_tokens(
    peer: &OidcPeer,
    client: &PeerClient,
    account: &str,
) -> anyhow::Result<Value> {
    let request = idporten_request(peer, client);
    let back = peer
        .login_and_consent(request.url.as_str(), account)
        .await?;
    let code = code_from(peer, &back, &request)?;
    let verifier = request.pkce.as_ref().map(|p| p.verifier.as_str());
    let (status, tokens) =
        exchange_code(peer, client, "client_secret_basic", &code, verifier).await?;
    ensure!(status == StatusCode::OK, "code exchange: {status} {tokens}");
    Ok(tokens)
}

async fn hmrc_tokens(
    peer: &OidcPeer,
    client: &PeerClient,
    account: &str,
    scope: &str,
) -> anyhow::Result<Value> {
    let request = hmrc_request(peer, client, scope, false);
    let back = peer
        .login_and_consent(request.url.as_str(), account)
        .await?;
    let code = code_from(peer, &back, &request)?;
    let (status, tokens) = exchange_code(peer, client, "client_secret_post", &code, None).await?;
    ensure!(status == StatusCode::OK, "code exchange: {status} {tokens}");
    Ok(tokens)
}

#[tokio::test]
async fn idporten_discovery_looks_like_id_porten() -> anyhow::Result<()> {
    let peer = OidcPeer::start(Profile::IdPorten, &[idporten_client()]).await?;
    let discovery: Value = http()?
        .get(peer.url("/.well-known/openid-configuration")?)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(field(&discovery, "issuer")?, peer.issuer());
    assert_eq!(
        field(&discovery, "token_endpoint")?,
        peer.token_endpoint().as_str()
    );
    assert_eq!(
        field(&discovery, "revocation_endpoint")?,
        peer.revocation_endpoint().as_str()
    );
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    assert_eq!(
        discovery["ui_locales_supported"],
        serde_json::json!(["nb", "nn", "en", "se"])
    );
    let scopes = discovery["scopes_supported"].to_string();
    assert!(
        scopes.contains("skatteetaten:mvameldinginnsending"),
        "{scopes}"
    );
    let jwks: Value = http()?
        .get(field(&discovery, "jwks_uri")?)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(jwks["keys"][0].get("d").is_none(), "private key published");
    Ok(())
}

#[tokio::test]
async fn idporten_code_flow_refresh_rotation_exchange_and_revocation() -> anyhow::Result<()> {
    let client = idporten_client();
    let peer = OidcPeer::start(Profile::IdPorten, std::slice::from_ref(&client)).await?;
    let basic = "client_secret_basic";

    // Authorization through the HTML pages, with PKCE S256, state, nonce, ui_locales, acr_values.
    let request = idporten_request(&peer, &client);
    let back = peer
        .login_and_consent(request.url.as_str(), "alice")
        .await?;
    let code = code_from(&peer, &back, &request)?;
    let verifier = request.pkce.as_ref().map(|p| p.verifier.as_str());

    let (status, tokens) = exchange_code(&peer, &client, basic, &code, verifier).await?;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(field(&tokens, "token_type")?, "Bearer");
    assert_eq!(tokens["expires_in"], 120);
    let granted = field(&tokens, "scope")?;
    for scope in IDPORTEN_SCOPE.split(' ') {
        assert!(
            granted.split(' ').any(|s| s == scope),
            "{scope} not in {granted}"
        );
    }
    let access0 = field(&tokens, "access_token")?.to_owned();
    let refresh0 = field(&tokens, "refresh_token")?.to_owned();

    // ID token: RS256, nonce, sub = account, acr as requested.
    let id_token = field(&tokens, "id_token")?;
    assert_eq!(jwt_part(id_token, 0)?["alg"], "RS256");
    let claims = jwt_part(id_token, 1)?;
    assert_eq!(claims["iss"], peer.issuer());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], client.client_id.as_str());
    assert_eq!(claims["nonce"].as_str(), request.nonce.as_deref());
    assert_eq!(claims["acr"], "idporten-loa-substantial");

    // Two refreshes, each rotating the refresh token.
    let (status, first) = refresh(&peer, &client, basic, &refresh0).await?;
    assert_eq!(status, StatusCode::OK, "{first}");
    let refresh1 = field(&first, "refresh_token")?.to_owned();
    assert_ne!(refresh1, refresh0);
    assert_ne!(field(&first, "access_token")?, access0);
    let (status, second) = refresh(&peer, &client, basic, &refresh1).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    let refresh2 = field(&second, "refresh_token")?.to_owned();
    let access2 = field(&second, "access_token")?.to_owned();
    assert_ne!(refresh2, refresh1);
    assert_eq!(second["expires_in"], 120);

    // The Altinn-like exchange with the newest access token: plain-text JWT, exp = the source
    // token's exp, sub = account.
    let (status, introspected) = client_call(
        peer.introspection_endpoint(),
        &client,
        basic,
        &[("token", &access2)],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["sub"], "alice");
    let (status, content_type, body) = call_exchange(&peer, &access2).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(!body.starts_with('"'), "{body}");
    let altinn = jwt_part(&body, 1)?;
    assert_eq!(jwt_part(&body, 0)?["alg"], "RS256");
    assert_eq!(altinn["sub"], "alice");
    assert_eq!(altinn["exp"], introspected["exp"]);
    let exp = altinn["exp"].as_i64().unwrap_or_default();
    assert!((now() + 100..=now() + 121).contains(&exp), "exp {exp}");
    let (status, _, _) = call_exchange(&peer, "not-a-token").await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The first refresh token is dead. By default (oidc-provider's reuse detection) presenting
    // it also revokes the grant: the newest refresh token dies with it.
    let (status, reused) = refresh(&peer, &client, basic, &refresh0).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    let (status, newest) = refresh(&peer, &client, basic, &refresh2).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(newest["error"], "invalid_grant");
    let (status, _, _) = call_exchange(&peer, &access2).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let counts = peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 2, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        2,
        "{counts:?}"
    );
    assert_eq!(counts.total("refresh_token"), 4);
    peer.reset_counts().await?;
    assert_eq!(peer.counts().await?, Default::default());

    // A new authorization; the user withdraws it at the provider: refresh gives invalid_grant.
    let tokens = idporten_tokens(&peer, &client, "alice").await?;
    let other = idporten_tokens(&peer, &client, "bob").await?;
    assert_eq!(peer.revoke_grants("alice").await?, 1);
    let (status, revoked) =
        refresh(&peer, &client, basic, field(&tokens, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(revoked["error"], "invalid_grant");
    let (status, _, _) = call_exchange(&peer, field(&tokens, "access_token")?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another account's grant is untouched.
    let (status, bob) = refresh(&peer, &client, basic, field(&other, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::OK, "{bob}");
    let counts = peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 2, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        1,
        "{counts:?}"
    );

    peer.shutdown().await
}

#[tokio::test]
async fn idporten_reject_mode_keeps_the_newest_refresh_token() -> anyhow::Result<()> {
    let client = idporten_client();
    let options = PeerOptions {
        refresh_reuse: RefreshReuse::Reject,
        access_token_ttl: Some(30),
        ..PeerOptions::default()
    };
    let peer =
        OidcPeer::start_with(Profile::IdPorten, std::slice::from_ref(&client), &options).await?;
    let basic = "client_secret_basic";
    let tokens = idporten_tokens(&peer, &client, "carol").await?;
    assert_eq!(tokens["expires_in"], 30);
    let refresh0 = field(&tokens, "refresh_token")?;
    let (status, first) = refresh(&peer, &client, basic, refresh0).await?;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, reused) = refresh(&peer, &client, basic, refresh0).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    let (status, second) = refresh(&peer, &client, basic, field(&first, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    Ok(())
}

#[tokio::test]
async fn idporten_quoted_exchange() -> anyhow::Result<()> {
    let client = idporten_client();
    let options = PeerOptions {
        exchange_quoted: true,
        ..PeerOptions::default()
    };
    let peer =
        OidcPeer::start_with(Profile::IdPorten, std::slice::from_ref(&client), &options).await?;
    let tokens = idporten_tokens(&peer, &client, "dave").await?;
    let (status, _, body) = call_exchange(&peer, field(&tokens, "access_token")?).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with('"') && body.ends_with('"'), "{body}");
    let jwt: String = serde_json::from_str(&body)?;
    assert_eq!(jwt_part(&jwt, 1)?["sub"], "dave");
    Ok(())
}

#[tokio::test]
async fn idporten_enforces_pkce_and_client_secret_basic() -> anyhow::Result<()> {
    let client = idporten_client();
    let peer = OidcPeer::start(Profile::IdPorten, std::slice::from_ref(&client)).await?;

    // No code_challenge: refused before any page is shown.
    let mut url = peer.authorization_endpoint().clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client.client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", IDPORTEN_SCOPE)
        .append_pair("state", "s1")
        .append_pair("nonce", "n1");
    let back = peer.login_and_consent(url.as_str(), "erin").await?;
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    assert_eq!(query(&back, "state").as_deref(), Some("s1"));

    // A wrong verifier, then client_secret_post for a basic client, then the right call.
    let request = idporten_request(&peer, &client);
    let back = peer.login_and_consent(request.url.as_str(), "erin").await?;
    let code = code_from(&peer, &back, &request)?;
    let wrong = pkce().verifier;
    let (status, body) =
        exchange_code(&peer, &client, "client_secret_basic", &code, Some(&wrong)).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let request = idporten_request(&peer, &client);
    let back = peer.login_and_consent(request.url.as_str(), "erin").await?;
    let code = code_from(&peer, &back, &request)?;
    let verifier = request.pkce.as_ref().map(|p| p.verifier.as_str());
    let (status, body) =
        exchange_code(&peer, &client, "client_secret_post", &code, verifier).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    let (status, tokens) =
        exchange_code(&peer, &client, "client_secret_basic", &code, verifier).await?;
    assert_eq!(status, StatusCode::OK, "{tokens}");

    // The code is single use; replaying it also revokes what it was exchanged for (RFC 6749
    // 4.1.2), as oidc-provider does.
    let (status, again) =
        exchange_code(&peer, &client, "client_secret_basic", &code, verifier).await?;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, dead) = refresh(
        &peer,
        &client,
        "client_secret_basic",
        field(&tokens, "refresh_token")?,
    )
    .await?;
    assert_eq!(
        (status, dead["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let counts = peer.counts().await?;
    assert_eq!(
        counts.get("authorization_code", "invalid_grant"),
        2,
        "{counts:?}"
    );
    assert_eq!(
        counts.get("authorization_code", "invalid_client"),
        1,
        "{counts:?}"
    );
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    Ok(())
}

#[tokio::test]
async fn denying_or_cancelling_gives_access_denied() -> anyhow::Result<()> {
    let client = idporten_client();
    let peer = OidcPeer::start(Profile::IdPorten, std::slice::from_ref(&client)).await?;

    let request = idporten_request(&peer, &client);
    let back = peer.deny(request.url.as_str(), "frank").await?;
    assert!(back.as_str().starts_with(REDIRECT), "{back}");
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(query(&back, "code"), None);

    let request = idporten_request(&peer, &client);
    let back = peer.cancel_sign_in(request.url.as_str()).await?;
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("access_denied"),
        "{back}"
    );
    assert_eq!(
        query(&back, "state").as_deref(),
        Some(request.state.as_str())
    );
    Ok(())
}

#[tokio::test]
async fn hmrc_code_flow_refresh_rotation_and_revocation() -> anyhow::Result<()> {
    let client = hmrc_client();
    let peer = OidcPeer::start(Profile::Hmrc, std::slice::from_ref(&client)).await?;
    let post = "client_secret_post";

    // Plain OAuth 2.0: no openid, no PKCE, no nonce.
    let request = hmrc_request(&peer, &client, VAT_SCOPE, false);
    let back = peer
        .login_and_consent(request.url.as_str(), "vat-user")
        .await?;
    let code = code_from(&peer, &back, &request)?;
    let (status, tokens) = exchange_code(&peer, &client, post, &code, None).await?;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["expires_in"], 14400);
    assert_eq!(field(&tokens, "scope")?, VAT_SCOPE);
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    let refresh0 = field(&tokens, "refresh_token")?.to_owned();

    let (status, first) = refresh(&peer, &client, post, &refresh0).await?;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(field(&first, "scope")?, VAT_SCOPE);
    let refresh1 = field(&first, "refresh_token")?.to_owned();
    let (status, second) = refresh(&peer, &client, post, &refresh1).await?;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(field(&second, "refresh_token")?, refresh1);
    let (status, reused) = refresh(&peer, &client, post, &refresh0).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");

    // Basic authentication is refused for a client_secret_post client.
    let (status, body) = refresh(&peer, &client, "client_secret_basic", &refresh1).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");

    let counts = peer.counts().await?;
    assert_eq!(counts.get("authorization_code", "ok"), 1, "{counts:?}");
    assert_eq!(counts.get("refresh_token", "ok"), 2, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        counts.get("refresh_token", "invalid_client"),
        1,
        "{counts:?}"
    );

    // ITSA scope, with the optional PKCE.
    let request = hmrc_request(&peer, &client, ITSA_SCOPE, true);
    let back = peer
        .login_and_consent(request.url.as_str(), "landlord")
        .await?;
    let code = code_from(&peer, &back, &request)?;
    let verifier = request.pkce.as_ref().map(|p| p.verifier.as_str());
    let (status, itsa) = exchange_code(&peer, &client, post, &code, verifier).await?;
    assert_eq!(status, StatusCode::OK, "{itsa}");
    assert_eq!(field(&itsa, "scope")?, ITSA_SCOPE);

    // The user revokes access at the provider's portal.
    let vat = hmrc_tokens(&peer, &client, "vat-user", VAT_SCOPE).await?;
    assert!(peer.revoke_grants("vat-user").await? >= 1);
    let (status, dead) = refresh(&peer, &client, post, field(&vat, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(dead["error"], "invalid_grant");
    let (status, alive) = refresh(&peer, &client, post, field(&itsa, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::OK, "{alive}");

    // RFC 7009 revocation by the client.
    let live = field(&alive, "refresh_token")?;
    let (status, _) = client_call(
        peer.revocation_endpoint(),
        &client,
        post,
        &[("token", live), ("token_type_hint", "refresh_token")],
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    let (status, gone) = refresh(&peer, &client, post, live).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(gone["error"], "invalid_grant");
    Ok(())
}

#[tokio::test]
async fn hmrc_refuses_openid_only_parameters_without_openid() -> anyhow::Result<()> {
    // oidc-provider rejects nonce (and acr_values, max_age, ...) when the scope has no openid;
    // an HMRC app must not send them.
    let client = hmrc_client();
    let peer = OidcPeer::start(Profile::Hmrc, std::slice::from_ref(&client)).await?;
    let mut request = hmrc_request(&peer, &client, VAT_SCOPE, false);
    request.url.query_pairs_mut().append_pair("nonce", "n");
    let back = peer.login_and_consent(request.url.as_str(), "x").await?;
    assert_eq!(
        query(&back, "error").as_deref(),
        Some("invalid_request"),
        "{back}"
    );
    Ok(())
}

#[tokio::test]
async fn overlapping_refreshes_fail_like_the_providers() -> anyhow::Result<()> {
    let options = PeerOptions {
        refresh_delay: Some(std::time::Duration::from_millis(300)),
        ..PeerOptions::default()
    };

    // HMRC: the second is refused while the first is in progress; the first's tokens live.
    let client = hmrc_client();
    let peer = OidcPeer::start_with(Profile::Hmrc, std::slice::from_ref(&client), &options).await?;
    let post = "client_secret_post";
    let tokens = hmrc_tokens(&peer, &client, "racer", VAT_SCOPE).await?;
    let rt = field(&tokens, "refresh_token")?;
    let (a, b) = tokio::join!(
        refresh(&peer, &client, post, rt),
        refresh(&peer, &client, post, rt)
    );
    let (a, b) = (a?, b?);
    let (winner, loser) = if a.0 == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(winner.0, StatusCode::OK, "{}", winner.1);
    assert_eq!(loser.0, StatusCode::BAD_REQUEST, "{}", loser.1);
    assert_eq!(loser.1["error"], "invalid_request");
    assert_eq!(
        loser.1["error_description"],
        "Refresh operation is already in progress"
    );
    let (status, next) = refresh(&peer, &client, post, field(&winner.1, "refresh_token")?).await?;
    assert_eq!(status, StatusCode::OK, "{next}");
    let counts = peer.counts().await?;
    assert_eq!(counts.get("refresh_token", "ok"), 2, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_request"),
        1,
        "{counts:?}"
    );

    // ID-porten: the second waits for the first, then meets a rotated token.
    let client = idporten_client();
    let peer =
        OidcPeer::start_with(Profile::IdPorten, std::slice::from_ref(&client), &options).await?;
    let basic = "client_secret_basic";
    let tokens = idporten_tokens(&peer, &client, "racer").await?;
    let rt = field(&tokens, "refresh_token")?;
    let (a, b) = tokio::join!(
        refresh(&peer, &client, basic, rt),
        refresh(&peer, &client, basic, rt)
    );
    let mut statuses = [a?.0, b?.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    let counts = peer.counts().await?;
    assert_eq!(counts.get("refresh_token", "ok"), 1, "{counts:?}");
    assert_eq!(
        counts.get("refresh_token", "invalid_grant"),
        1,
        "{counts:?}"
    );
    Ok(())
}
