//! Helpers of the interoperability tests: a per-test database and engine wired to a running
//! oidc-provider stand-in, the browser steps, direct calls to the provider's endpoints, and the
//! leak watch (captured tracing output, error texts and audit entries must hold no secret).
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use serde_json::Value;
use url::Url;

use emsg_engine::{CallbackParams, CodeRequest, Engine, EngineConfig, EngineError};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::audit::{Actor, AuditEntry};
use emsg_store::connections::{self, Connection, ConnectionKey};
use emsg_store::db::Pool;
use emsg_store::pending;
use emsg_store::users::Role;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_store::{ConnectionId, UserId};
use emsg_test_db::{Backend, TestDb};
use emsg_testkit::{OidcPeer, PeerClient, PeerOptions, Profile};

/// The redirect URI of every record and client: never contacted, the browser driver stops there.
pub const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
pub const COMPANY: &str = "default";

pub const IDPORTEN_APP: &str = "NO ID-Porten";
pub const ALTINN_APP: &str = "NO Altinn";
pub const VAT_APP: &str = "HMRC VAT";
pub const ITSA_APP: &str = "HMRC ITSA";

pub const IDPORTEN_SCOPE: &str = "openid skatteetaten:mvameldingvalidering";
pub const VAT_SCOPE: &str = "read:vat write:vat";
pub const ITSA_SCOPE: &str = "read:self-assessment write:self-assessment";

/// Long, distinctive client secrets, so that finding one in a log is never a coincidence.
pub const IDPORTEN_SECRET: &str = "idporten-client-secret-9c41e7b2d0a85f36";
pub const VAT_SECRET: &str = "hmrc-vat-client-secret-5be07d13a9c2f4e8";
pub const ITSA_SECRET: &str = "hmrc-itsa-client-secret-0f6a2c9e17d4b385";

pub fn idporten_client() -> PeerClient {
    PeerClient::new("idporten-app", IDPORTEN_SECRET, REDIRECT)
}

pub fn vat_client() -> PeerClient {
    PeerClient::new("hmrc-vat-app", VAT_SECRET, REDIRECT)
}

pub fn itsa_client() -> PeerClient {
    PeerClient::new("hmrc-itsa-app", ITSA_SECRET, REDIRECT)
}

// ---------------------------------------------------------------------------------------------
// Records (YAML as an administrator writes it, pointing at the stand-in)
// ---------------------------------------------------------------------------------------------

/// The ID-porten record (OIDC, PKCE, basic auth, issuer = the stand-in) and, when
/// `with_altinn`, the Altinn-like exchange record taking its token from it.
pub fn idporten_yaml(peer: &OidcPeer, with_altinn: bool) -> String {
    idporten_yaml_for(peer, &idporten_client(), with_altinn)
}

/// A YAML double-quoted scalar (a JSON string is one).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// [`idporten_yaml`] for another client: its ID, secret and first redirect URI.
pub fn idporten_yaml_for(peer: &OidcPeer, client: &PeerClient, with_altinn: bool) -> String {
    let mut yaml = format!(
        "web_applications:
  - name: {IDPORTEN_APP}
    description: ID-porten stand-in
    base_url: {issuer}
    authorization_url: {auth}
    token_url: {token}
    revocation_url: {revocation}
    redirect_url: {redirect}
    client_id: {id}
    client_secret: {secret}
    scope: {IDPORTEN_SCOPE}
    authorization_params: {{acr_values: idporten-loa-substantial}}
    client_auth: client_secret_basic
    pkce: true
    accept: application/json
    content_type: application/json
    code_lifetime: 10m
    authorization_lifetime: 365d
    user_specific: true
    obtain_token_on_callback: false
    issuer: {issuer}
",
        issuer = peer.issuer(),
        auth = peer.authorization_endpoint(),
        token = peer.token_endpoint(),
        revocation = peer.revocation_endpoint(),
        redirect = quoted(&client.redirect_uris[0]),
        id = quoted(&client.client_id),
        secret = quoted(&client.client_secret),
    );
    if with_altinn {
        yaml.push_str(&format!(
            "  - name: {ALTINN_APP}
    description: Altinn-like exchange stand-in
    base_url: {issuer}
    exchange: {{source: {IDPORTEN_APP}, url: {exchange}}}
    accept: application/json
    content_type: application/json
    authorization_lifetime: 365d
    user_specific: true
",
            issuer = peer.issuer(),
            exchange = peer.exchange_endpoint(),
        ));
    }
    yaml
}

/// The HMRC VAT record (plain OAuth, post auth, per company, code obtained separately) and the
/// HMRC ITSA landlord record (per user, token obtained on callback). Like the real HMRC, neither
/// has a revocation URL.
pub fn hmrc_yaml(peer: &OidcPeer) -> String {
    hmrc_yaml_for(peer, &vat_client(), &itsa_client())
}

/// [`hmrc_yaml`] for other clients.
pub fn hmrc_yaml_for(peer: &OidcPeer, vat: &PeerClient, itsa: &PeerClient) -> String {
    let common = |name: &str, client: &PeerClient, scope: &str, per_user: bool| {
        format!(
            "  - name: {name}
    base_url: {issuer}
    authorization_url: {auth}
    token_url: {token}
    revocation_url: null
    redirect_url: {redirect}
    client_id: {id}
    client_secret: {secret}
    scope: {scope}
    authorization_params: {{}}
    client_auth: client_secret_post
    pkce: true
    accept: application/vnd.hmrc.1.0+json
    content_type: application/json
    code_lifetime: 10m
    authorization_lifetime: 548d
    user_specific: {per_user}
    obtain_token_on_callback: {per_user}
",
            issuer = peer.issuer(),
            auth = peer.authorization_endpoint(),
            token = peer.token_endpoint(),
            redirect = quoted(&client.redirect_uris[0]),
            id = quoted(&client.client_id),
            secret = quoted(&client.client_secret),
        )
    };
    format!(
        "web_applications:\n{}{}",
        common(VAT_APP, vat, VAT_SCOPE, false),
        common(ITSA_APP, itsa, ITSA_SCOPE, true)
    )
}

// ---------------------------------------------------------------------------------------------
// Captured tracing output
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_buffer() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("the interop tests install the only tracing subscriber");
        buffer
    })
}

/// Everything every test of this binary has logged so far, at every level.
pub fn captured_logs() -> String {
    let buffer = log_buffer()
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&buffer).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

/// One test's world: a database, an engine, users, the stand-in, and what must never leak.
/// Fields drop in order: the engine and pool before the database they use.
pub struct Harness {
    pub engine: Engine,
    pub pool: Pool,
    pub ring: Arc<KeyRing>,
    pub fiona: UserId,
    pub george: UserId,
    pub peer: OidcPeer,
    /// Every secret seen in the test: tokens, codes, verifiers, client secrets.
    secrets: BTreeSet<String>,
    /// Every error and outcome text the engine gave back (Display and Debug).
    texts: Vec<String>,
    pub db: TestDb,
}

impl Harness {
    pub async fn start(
        backend: Backend,
        profile: Profile,
        clients: &[PeerClient],
        options: &PeerOptions,
        yaml: impl FnOnce(&OidcPeer) -> String,
        config: EngineConfig,
    ) -> anyhow::Result<Self> {
        log_buffer();
        let peer = OidcPeer::start_with(profile, clients, options).await?;
        let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await?;
        let pool = emsg_store::db::pool(db.url(), 8)?;
        let ring = Arc::new(KeyRing::new(MasterKey::generate()));
        let text = yaml(&peer);
        let (fiona, george) = {
            let mut conn = pool.get()?;
            let password = Secret::new("a long password 1");
            let fiona = emsg_store::users::add(&mut conn, "fiona", Role::Finance, &password)?;
            let george = emsg_store::users::add(&mut conn, "george", Role::Finance, &password)?;
            let parsed = emsg_webapps::parse("t.yaml", &text).map_err(|e| anyhow!("{e}"))?;
            emsg_store::import::import(
                &mut conn,
                &ring,
                &parsed,
                &emsg_store::import::ImportContext::command_line(
                    &|_| None,
                    emsg_webapps::UrlRules {
                        allow_loopback: true,
                    },
                ),
                &Actor::Operator,
                false,
            )?;
            (fiona.id, george.id)
        };
        let engine = Engine::new(pool.clone(), ring.clone(), config)?;
        let secrets = clients.iter().map(|c| c.client_secret.clone()).collect();
        Ok(Self {
            engine,
            pool,
            ring,
            fiona: UserId::new(fiona),
            george: UserId::new(george),
            peer,
            secrets,
            texts: Vec::new(),
            db,
        })
    }

    pub fn conn(&self) -> anyhow::Result<emsg_store::db::PooledConnection> {
        Ok(self.pool.get()?)
    }

    pub fn record(&self, app: &str) -> anyhow::Result<WebApplication> {
        Ok(records::get(&mut *self.conn()?, app)?)
    }

    /// The stored connection of `app` for `user` (the company's when the record is not
    /// user-specific).
    pub fn connection(&self, app: &str, user: UserId) -> anyhow::Result<Option<Connection>> {
        let record = self.record(app)?;
        let key = ConnectionKey::new(record.id, COMPANY, record.user_specific, Some(user));
        Ok(connections::find(&mut *self.conn()?, &key)?)
    }

    pub fn all_connections(&self) -> anyhow::Result<Vec<Connection>> {
        Ok(connections::list(&mut *self.conn()?, None)?)
    }

    /// The stored access and refresh tokens, opened with the ring and remembered as secrets.
    pub fn tokens(&mut self, app: &str, user: UserId) -> anyhow::Result<(String, Option<String>)> {
        let connection = self
            .connection(app, user)?
            .ok_or_else(|| anyhow!("{app} has no connection for user {user}"))?;
        let access = connection
            .access_token(&self.ring)?
            .ok_or_else(|| anyhow!("{app} has no access token"))?
            .expose()
            .to_owned();
        let refresh = connection
            .refresh_token(&self.ring)?
            .map(|t| t.expose().to_owned());
        self.secret(&access);
        if let Some(refresh) = &refresh {
            self.secret(refresh);
        }
        Ok((access, refresh))
    }

    /// The PKCE verifier of `user`'s newest authorization of `app`, remembered as a secret.
    pub fn verifier(&mut self, app: &str, user: UserId) -> anyhow::Result<Option<String>> {
        let record = self.record(app)?;
        let flow = pending::latest(&mut *self.conn()?, record.id, COMPANY, user)?
            .ok_or_else(|| anyhow!("no authorization of {app} started by {user}"))?;
        let verifier = flow.verifier(&self.ring)?.map(|v| v.expose().to_owned());
        if let Some(verifier) = &verifier {
            self.secret(verifier);
        }
        Ok(verifier)
    }

    pub fn secret(&mut self, value: &str) {
        assert!(value.len() >= 16, "a secret this short proves nothing");
        self.secrets.insert(value.to_owned());
    }

    /// Remembers what the engine said (Display and Debug) for the leak check.
    pub fn said(&mut self, value: &(impl std::fmt::Debug + ?Sized)) {
        self.texts.push(format!("{value:?}"));
    }

    /// Remembers an error (Display and Debug) and hands it back.
    pub fn error(&mut self, error: EngineError) -> EngineError {
        self.texts.push(error.to_string());
        self.texts.push(format!("{error:?}"));
        error
    }

    /// The error of `result`, failing the test if there was none.
    pub fn expect_err<T: std::fmt::Debug>(
        &mut self,
        result: Result<T, EngineError>,
        what: &str,
    ) -> anyhow::Result<EngineError> {
        match result {
            Ok(value) => bail!("{what} should have failed, got {value:?}"),
            Err(error) => Ok(self.error(error)),
        }
    }

    /// The value of `result`, remembering it (and any error) for the leak check.
    pub fn expect_ok<T: std::fmt::Debug>(
        &mut self,
        result: Result<T, EngineError>,
        what: &str,
    ) -> anyhow::Result<T> {
        match result {
            Ok(value) => {
                self.said(&value);
                Ok(value)
            }
            Err(error) => {
                let error = self.error(error);
                bail!("{what} failed: {error} ({error:?})")
            }
        }
    }

    pub fn audit(&self) -> anyhow::Result<Vec<AuditEntry>> {
        let mut entries = emsg_store::audit::recent(&mut *self.conn()?, 10_000)?;
        entries.reverse();
        Ok(entries)
    }

    /// Get authorization code as `user`, then the provider's sign-in and consent as `account`.
    /// Returns the authorization URL and the redirect back to the client.
    pub async fn authorize(
        &mut self,
        app: &str,
        user: UserId,
        request: CodeRequest,
        account: &str,
    ) -> anyhow::Result<(Url, Url)> {
        let started = self
            .engine
            .get_authorization_code(app, None, user, request)
            .await;
        let started = self.expect_ok(started, "Get authorization code")?;
        let url = Url::parse(&started.url)?;
        let back = self.peer.login_and_consent(&started.url, account).await?;
        // Compared as URLs: the provider and the browser may normalise (`:80` goes).
        let redirect = Url::parse(&self.record(app)?.redirect_url.unwrap_or_default())?;
        let without_query = |u: &Url| {
            let mut u = u.clone();
            u.set_query(None);
            u
        };
        ensure!(
            without_query(&back) == without_query(&redirect),
            "redirected to {back}, not to {redirect}"
        );
        if let Some(code) = query(&back, "code") {
            self.secret(&code);
        }
        Ok((url, back))
    }

    /// The callback as `user` with the parameters of the redirect back from the provider.
    pub async fn callback(
        &mut self,
        user: UserId,
        back: &Url,
    ) -> Result<emsg_engine::CallbackOutcome, EngineError> {
        self.engine.callback(user, callback_params(back)).await
    }

    /// Authorizes `app` for `user` (signing in as `account`) and obtains the token.
    pub async fn connect(
        &mut self,
        app: &str,
        user: UserId,
        account: &str,
    ) -> anyhow::Result<emsg_engine::ConnectionView> {
        let (_, back) = self
            .authorize(app, user, CodeRequest::default(), account)
            .await?;
        let outcome = self.callback(user, &back).await;
        let outcome = self.expect_ok(outcome, "callback")?;
        let view = match outcome.connection {
            Some(view) => view,
            None => {
                self.verifier(app, user)?;
                let obtained = self.engine.obtain_access_token(app, None, user, None).await;
                self.expect_ok(obtained, "Obtain access token")?
            }
        };
        self.tokens(app, user)?;
        Ok(view)
    }

    /// Sets a column of the pending authorizations of `app` (a test's way of tampering).
    pub fn set_pending_nonce(&self, app: &str, nonce: &str) -> anyhow::Result<usize> {
        use emsg_store::schema::pending_authorizations as p;
        let id = self.record(app)?.id;
        Ok(
            diesel::update(p::table.filter(p::web_application_id.eq(id.get())))
                .set(p::nonce.eq(nonce))
                .execute(&mut *self.conn()?)?,
        )
    }

    /// Moves the access-token expiry of a connection.
    pub fn set_access_expiry(&self, connection_id: ConnectionId, at: i64) -> anyhow::Result<()> {
        use emsg_store::schema::connections as c;
        diesel::update(c::table.find(connection_id.get()))
            .set(c::access_expires_at.eq(Some(at)))
            .execute(&mut *self.conn()?)?;
        Ok(())
    }

    /// The leak check: no secret seen in this test is in the tracing output (of every test so
    /// far), in anything the engine said, in the audit log or in a stored error message.
    pub fn assert_no_leaks(&self) -> anyhow::Result<()> {
        let logs = captured_logs();
        // EMSG_INTEROP_LOG=FILE keeps the captured output for reading.
        if let Some(path) = std::env::var_os("EMSG_INTEROP_LOG") {
            std::fs::write(path, &logs)?;
        }
        ensure!(
            logs.contains("authorization started"),
            "the tracing capture saw nothing of the engine: the leak check would prove nothing"
        );
        // No JWT (an ID token, say, which the test never sees) in the log: its header is
        // base64 of `{"`, then come the payload and the signature, dot-separated. (A random
        // cookie signature may hold `eyJ` by chance; it is not followed by two segments.)
        if let Some(at) = find_jwt(&logs) {
            let line = logs[..at].rfind('\n').map_or(0, |n| n + 1);
            bail!("a JWT in the tracing output: {}", &logs[line..at]);
        }
        let mut places: Vec<(String, String)> = vec![("tracing output".to_owned(), logs)];
        for (i, text) in self.texts.iter().enumerate() {
            places.push((format!("engine answer #{i}"), text.clone()));
        }
        for entry in self.audit()? {
            places.push((format!("audit entry {}", entry.id), format!("{entry:?}")));
        }
        for connection in self.all_connections()? {
            places.push((
                format!("connection {}", connection.id),
                format!(
                    "{connection:?} {:?} {:?}",
                    connection.last_error, connection.last_error_code
                ),
            ));
        }
        ensure!(
            self.secrets.len() >= 3,
            "too few secrets seen: {}",
            self.secrets.len()
        );
        for secret in &self.secrets {
            for (place, text) in &places {
                if text.contains(secret.as_str()) {
                    let at = text.find(secret.as_str()).unwrap_or_default();
                    let start = at.saturating_sub(200);
                    let context: String = text
                        .get(start..(at + secret.len() + 50).min(text.len()))
                        .unwrap_or_default()
                        .to_owned();
                    bail!("a secret leaked into the {place}: …{context}…");
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// URLs, JWTs and direct calls to the provider
// ---------------------------------------------------------------------------------------------

pub fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Every value of a query parameter (to prove it is sent once).
pub fn query_all(url: &Url, name: &str) -> Vec<String> {
    url.query_pairs()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .collect()
}

pub fn callback_params(back: &Url) -> CallbackParams {
    CallbackParams {
        state: query(back, "state").unwrap_or_default(),
        code: query(back, "code").map(Secret::new),
        error: query(back, "error"),
        error_description: query(back, "error_description"),
        iss: query(back, "iss"),
    }
}

pub fn jwt_claims(jwt: &str) -> anyhow::Result<Value> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow!("not a JWT ({} characters)", jwt.len()))?;
    Ok(serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?)
}

pub fn now() -> i64 {
    emsg_store::now()
}

/// How a direct call authenticates the client at the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    Basic,
    Post,
}

/// A form POST to a client-authenticated endpoint of the stand-in (token, revocation,
/// introspection), as the provider's own client would send it. Returns the status and JSON.
pub async fn client_call(
    url: &Url,
    client: &PeerClient,
    auth: ClientAuth,
    params: &[(&str, &str)],
) -> anyhow::Result<(u16, Value)> {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        form.append_pair(k, v);
    }
    if auth == ClientAuth::Post {
        form.append_pair("client_id", &client.client_id);
        form.append_pair("client_secret", &client.client_secret);
    }
    let http = reqwest::Client::builder().no_proxy().build()?;
    let mut request = http
        .post(url.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish());
    if auth == ClientAuth::Basic {
        // RFC 6749 §2.3.1: both parts form-encoded, then base64.
        let encode = |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
        let (id, secret): (String, String) =
            (encode(&client.client_id), encode(&client.client_secret));
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        request = request.header("authorization", format!("Basic {pair}"));
    }
    let response = request.send().await.context("calling the stand-in")?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    let json = if body.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).with_context(|| format!("not JSON (HTTP {status})"))?
    };
    Ok((status, json))
}

/// A refresh at the stand-in's token endpoint with `refresh_token`, bypassing emsg.
pub async fn direct_refresh(
    peer: &OidcPeer,
    client: &PeerClient,
    auth: ClientAuth,
    refresh_token: &str,
) -> anyhow::Result<(u16, Value)> {
    client_call(
        peer.token_endpoint(),
        client,
        auth,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Whether the stand-in still considers `token` active (RFC 7662).
pub async fn is_active(
    peer: &OidcPeer,
    client: &PeerClient,
    auth: ClientAuth,
    token: &str,
) -> anyhow::Result<bool> {
    let (status, body) = client_call(
        peer.introspection_endpoint(),
        client,
        auth,
        &[("token", token)],
    )
    .await?;
    ensure!(status == 200, "introspection answered {status}: {body}");
    body.get("active")
        .and_then(Value::as_bool)
        .ok_or_else(|| anyhow!("introspection without `active`: {body}"))
}

/// The OAuth error code of a JSON error answer.
pub fn oauth_error(body: &Value) -> Option<&str> {
    body.get("error").and_then(Value::as_str)
}

/// Where a JWT starts in `text`: `eyJ` (base64 of `{"`) followed by base64url characters and
/// at least two more dot-separated base64url segments.
fn find_jwt(text: &str) -> Option<usize> {
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices("eyJ").map(|(at, _)| at).find(|&at| {
        let mut segments = text[at..].split('.');
        let header = segments.next().unwrap_or("");
        let header_len = header.find(|c: char| !base64url(c)).unwrap_or(header.len());
        header_len == header.len()
            && segments
                .take(2)
                .filter(|segment| {
                    !segment.is_empty() && segment.chars().take_while(|c| base64url(*c)).count() > 0
                })
                .count()
                == 2
    })
}

#[cfg(test)]
mod jwt_shape {
    #[test]
    fn a_jwt_is_found_and_a_chance_eyj_is_not() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        assert_eq!(super::find_jwt(&format!("token={jwt} rest")), Some(6));
        assert_eq!(super::find_jwt(jwt), Some(0));
        assert_eq!(
            super::find_jwt("sig=_9oM3dEr2dUWwIYCFceyJxQ2; path=/"),
            None
        );
        assert_eq!(super::find_jwt("eyJabc. nothing.else"), None);
    }
}
