//! Test support for emsg: a real, independent OAuth 2.0 / OpenID Connect authorization server on
//! loopback, configured like HMRC or like ID-porten (+ an Altinn-like token exchange), and a
//! browser-like driver for its sign-in and consent pages.
//!
//! The server is the npm package `oidc-provider`, run by `tests/peers/oidc-provider/server.mjs`
//! (see the README there). [`OidcPeer::start`] installs its npm dependencies once per process,
//! starts it on a free port of 127.0.0.1 and stops it when the [`OidcPeer`] is dropped.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use emsg_testkit::{OidcPeer, PeerClient, Profile};
//! let client = PeerClient::new("vat-app", "s3cret", "http://127.0.0.1:8080/oauth/callback");
//! let peer = OidcPeer::start(Profile::Hmrc, &[client]).await?;
//! let mut authorize = peer.authorization_endpoint().clone();
//! authorize
//!     .query_pairs_mut()
//!     .append_pair("response_type", "code")
//!     .append_pair("client_id", "vat-app")
//!     .append_pair("redirect_uri", "http://127.0.0.1:8080/oauth/callback")
//!     .append_pair("scope", "read:vat write:vat")
//!     .append_pair("state", "xyz");
//! let back = peer.login_and_consent(authorize.as_str(), "alice").await?;
//! assert!(back.query_pairs().any(|(k, _)| k == "code"));
//! assert_eq!(peer.counts().await?.get("authorization_code", "ok"), 0);
//! # Ok(())
//! # }
//! ```

pub mod filing_desk;
mod html;
pub mod log;
pub mod mock;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::redirect::Policy;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use url::Url;

/// How long [`OidcPeer::start`] waits for the server's ready line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Most HTTP round trips one [`OidcPeer::login_and_consent`] makes before giving up.
const MAX_BROWSER_STEPS: usize = 20;

/// Which provider the stand-in behaves like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// ID-porten: OpenID Connect, PKCE S256 required, `client_secret_basic`, access tokens of
    /// 120 s, refresh tokens always issued and rotated; plus the Altinn-like exchange route.
    IdPorten,
    /// HMRC: plain OAuth 2.0 (`read:vat write:vat`, `read:self-assessment ...`),
    /// `client_secret_post`, PKCE optional, access tokens of 4 h, refresh tokens always issued
    /// and rotated.
    Hmrc,
}

impl Profile {
    fn env_value(self) -> &'static str {
        match self {
            Profile::IdPorten => "idporten",
            Profile::Hmrc => "hmrc",
        }
    }

    /// The token-endpoint client authentication method a client of this profile uses unless its
    /// [`PeerClient::token_endpoint_auth_method`] says otherwise.
    pub fn default_auth_method(self) -> &'static str {
        match self {
            Profile::IdPorten => "client_secret_basic",
            Profile::Hmrc => "client_secret_post",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.env_value())
    }
}

/// One OAuth client registered at the stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic` or `client_secret_post`; `None` = the profile's default.
    pub token_endpoint_auth_method: Option<String>,
}

impl PeerClient {
    /// A client with one redirect URI and the profile's default authentication method.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        PeerClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            token_endpoint_auth_method: None,
        }
    }

    /// The same client with an explicit token-endpoint authentication method.
    pub fn with_auth_method(mut self, method: impl Into<String>) -> Self {
        self.token_endpoint_auth_method = Some(method.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut client = json!({
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": self.redirect_uris,
        });
        if let (Some(method), Some(object)) =
            (&self.token_endpoint_auth_method, client.as_object_mut())
        {
            object.insert("token_endpoint_auth_method".to_owned(), json!(method));
        }
        client
    }
}

/// What presenting an already rotated refresh token does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RefreshReuse {
    /// oidc-provider's own behaviour (reuse detection): `invalid_grant`, and the whole grant is
    /// revoked, so the newest refresh token and its access tokens die too.
    #[default]
    RevokeGrant,
    /// `invalid_grant` for the old token only; the newest refresh token keeps working.
    Reject,
}

/// Optional settings of the stand-in; `Default` gives the profile's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerOptions {
    /// Access-token lifetime in seconds (ID-porten 120, HMRC 14400).
    pub access_token_ttl: Option<u64>,
    /// Refresh-token (and grant) lifetime in seconds (ID-porten 1 year, HMRC 18 months).
    pub refresh_token_ttl: Option<u64>,
    /// Authorization-code lifetime in seconds (600).
    pub code_ttl: Option<u64>,
    /// The exchange route answers with the JWT as a quoted JSON string instead of plain text.
    pub exchange_quoted: bool,
    pub refresh_reuse: RefreshReuse,
    /// Scopes accepted in addition to the profile's.
    pub extra_scopes: Vec<String>,
    /// Hold every refresh this long before answering, so that overlapping refreshes are easy to
    /// provoke. Overlapping refreshes of one refresh token: HMRC answers the second with
    /// `invalid_request` "Refresh operation is already in progress"; ID-porten's profile queues
    /// it behind the first, so it meets a rotated token (`invalid_grant`).
    pub refresh_delay: Option<Duration>,
}

/// Token-endpoint requests seen by the stand-in, by `grant_type` then outcome (`ok` or the OAuth
/// error code, e.g. `invalid_grant`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenCounts(pub BTreeMap<String, BTreeMap<String, u64>>);

impl TokenCounts {
    /// Requests of this grant type with this outcome.
    pub fn get(&self, grant_type: &str, outcome: &str) -> u64 {
        self.0
            .get(grant_type)
            .and_then(|outcomes| outcomes.get(outcome))
            .copied()
            .unwrap_or(0)
    }

    /// All requests of this grant type, whatever their outcome.
    pub fn total(&self, grant_type: &str) -> u64 {
        self.0
            .get(grant_type)
            .map(|outcomes| outcomes.values().sum())
            .unwrap_or(0)
    }

    fn from_json(value: &Value) -> anyhow::Result<Self> {
        let grants = value
            .as_object()
            .ok_or_else(|| anyhow!("counts are not a JSON object: {value}"))?;
        let mut counts = BTreeMap::new();
        for (grant_type, outcomes) in grants {
            let outcomes = outcomes
                .as_object()
                .ok_or_else(|| anyhow!("counts of {grant_type} are not an object: {outcomes}"))?;
            let mut by_outcome = BTreeMap::new();
            for (outcome, n) in outcomes {
                let n = n
                    .as_u64()
                    .ok_or_else(|| anyhow!("count {grant_type}/{outcome} is not a number: {n}"))?;
                by_outcome.insert(outcome.clone(), n);
            }
            counts.insert(grant_type.clone(), by_outcome);
        }
        Ok(TokenCounts(counts))
    }
}

/// What the simulated user does on the provider's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Allow,
    DenyConsent,
    CancelSignIn,
}

/// A running stand-in authorization server. Dropping it kills the process.
pub struct OidcPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    _stdout: BufReader<ChildStdout>,
    profile: Profile,
    issuer: Url,
    port: u16,
    authorization_endpoint: Url,
    token_endpoint: Url,
    revocation_endpoint: Url,
    introspection_endpoint: Url,
    exchange_endpoint: Url,
    http: reqwest::Client,
    log_path: PathBuf,
}

impl fmt::Debug for OidcPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcPeer")
            .field("profile", &self.profile)
            .field("issuer", &self.issuer.as_str())
            .field("log_path", &self.log_path)
            .finish_non_exhaustive()
    }
}

impl OidcPeer {
    /// Starts the stand-in with the profile's defaults.
    pub async fn start(profile: Profile, clients: &[PeerClient]) -> anyhow::Result<OidcPeer> {
        Self::start_with(profile, clients, &PeerOptions::default()).await
    }

    /// Starts the stand-in: installs its npm dependencies (once per process), spawns
    /// `node server.mjs` on a free loopback port and waits for its ready line.
    pub async fn start_with(
        profile: Profile,
        clients: &[PeerClient],
        options: &PeerOptions,
    ) -> anyhow::Result<OidcPeer> {
        let dir = peer_dir()?;
        ensure_installed(&dir).await?;

        let log_path = new_log_path(profile)?;
        let log_file = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let clients_json = Value::Array(clients.iter().map(PeerClient::to_json).collect());

        let mut command = Command::new(node_binary());
        command
            .arg("server.mjs")
            .current_dir(&dir)
            .env("PROFILE", profile.env_value())
            .env("PORT", "0")
            .env("CLIENTS", clients_json.to_string())
            .env(
                "REFRESH_REUSE",
                match options.refresh_reuse {
                    RefreshReuse::RevokeGrant => "revoke-grant",
                    RefreshReuse::Reject => "reject",
                },
            )
            .env(
                "EXCHANGE_QUOTED",
                if options.exchange_quoted { "1" } else { "0" },
            )
            .env("EXTRA_SCOPES", options.extra_scopes.join(" "))
            .env("STDIN_WATCH", "1")
            .env_remove("DEBUG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true);
        for (name, value) in [
            ("ACCESS_TOKEN_TTL", options.access_token_ttl),
            ("REFRESH_TOKEN_TTL", options.refresh_token_ttl),
            ("CODE_TTL", options.code_ttl),
            (
                "REFRESH_DELAY_MS",
                options
                    .refresh_delay
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            ),
        ] {
            match value {
                Some(seconds) => command.env(name, seconds.to_string()),
                None => command.env_remove(name),
            };
        }

        let mut child = command
            .spawn()
            .with_context(|| format!("spawning `node server.mjs` in {}", dir.display()))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the stand-in's stdout was not piped"))?;
        let mut stdout = BufReader::new(stdout);

        let ready = tokio::time::timeout(READY_TIMEOUT, read_ready_line(&mut stdout)).await;
        let (issuer, port) = match ready {
            Ok(Ok(ready)) => ready,
            Ok(Err(err)) => {
                let _ = child.start_kill();
                bail!(
                    "the oidc-provider stand-in did not start: {err:#}\n--- {} ---\n{}",
                    log_path.display(),
                    log_tail(&log_path)
                );
            }
            Err(_) => {
                let _ = child.start_kill();
                bail!(
                    "the oidc-provider stand-in printed no ready line within {READY_TIMEOUT:?}\n--- {} ---\n{}",
                    log_path.display(),
                    log_tail(&log_path)
                );
            }
        };

        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;

        Ok(OidcPeer {
            authorization_endpoint: issuer.join("/auth")?,
            token_endpoint: issuer.join("/token")?,
            revocation_endpoint: issuer.join("/token/revocation")?,
            introspection_endpoint: issuer.join("/token/introspection")?,
            exchange_endpoint: issuer.join("/exchange/id-porten")?,
            child,
            stdin,
            _stdout: stdout,
            profile,
            issuer,
            port,
            http,
            log_path,
        })
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// `http://127.0.0.1:PORT` (no trailing slash in the string the server uses as `iss`).
    pub fn issuer(&self) -> &str {
        self.issuer.as_str().trim_end_matches('/')
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// An absolute URL of the stand-in, e.g. `url("/.well-known/openid-configuration")`.
    pub fn url(&self, path: &str) -> anyhow::Result<Url> {
        self.issuer
            .join(path)
            .with_context(|| format!("joining {path:?} to {}", self.issuer))
    }

    /// `{issuer}/auth`.
    pub fn authorization_endpoint(&self) -> &Url {
        &self.authorization_endpoint
    }

    /// `{issuer}/token`.
    pub fn token_endpoint(&self) -> &Url {
        &self.token_endpoint
    }

    /// `{issuer}/token/revocation` (RFC 7009; client authentication as at the token endpoint).
    pub fn revocation_endpoint(&self) -> &Url {
        &self.revocation_endpoint
    }

    /// `{issuer}/token/introspection` (RFC 7662; client authentication as at the token endpoint).
    pub fn introspection_endpoint(&self) -> &Url {
        &self.introspection_endpoint
    }

    /// `{issuer}/exchange/id-porten`: the Altinn-like token exchange.
    pub fn exchange_endpoint(&self) -> &Url {
        &self.exchange_endpoint
    }

    /// The file the server's stderr (its request log) goes to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The log once it holds every one of `lines` (the peer writes a request's line when the
    /// response has left, so a client may be ahead of it), or as it stands after 5 s.
    pub async fn log_with(&self, lines: &[&str]) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let log = self.log();
            if lines.iter().all(|line| log.contains(line)) || std::time::Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Follows `authorization_url` like a browser with a fresh cookie jar: signs in as `account`
    /// (any password), allows the consent, and returns the redirect to the client's
    /// `redirect_uri` (with `code`, `state` and `iss`, or `error` when the provider refused the
    /// request). The redirect is not followed.
    pub async fn login_and_consent(
        &self,
        authorization_url: &str,
        account: &str,
    ) -> anyhow::Result<Url> {
        self.drive(authorization_url, account, Decision::Allow)
            .await
    }

    /// Like [`Self::login_and_consent`], but the user signs in and then cancels at the consent
    /// page: the client gets `error=access_denied`.
    pub async fn deny(&self, authorization_url: &str, account: &str) -> anyhow::Result<Url> {
        self.drive(authorization_url, account, Decision::DenyConsent)
            .await
    }

    /// The user cancels at the sign-in page: the client gets `error=access_denied`.
    pub async fn cancel_sign_in(&self, authorization_url: &str) -> anyhow::Result<Url> {
        self.drive(authorization_url, "", Decision::CancelSignIn)
            .await
    }

    /// Token-endpoint requests by grant type and outcome since the start or the last
    /// [`Self::reset_counts`].
    pub async fn counts(&self) -> anyhow::Result<TokenCounts> {
        let url = self.url("/_test/counts")?;
        let value: Value = self.test_call(self.http.get(url)).await?;
        TokenCounts::from_json(&value)
    }

    pub async fn reset_counts(&self) -> anyhow::Result<()> {
        let url = self.url("/_test/reset-counts")?;
        self.test_call(self.http.post(url)).await?;
        Ok(())
    }

    /// Revokes every grant of `account` with all their tokens, as when the user withdraws the
    /// application's access at the provider. Returns how many grants there were.
    pub async fn revoke_grants(&self, account: &str) -> anyhow::Result<u64> {
        let mut url = self.url("/_test/revoke-grants")?;
        url.query_pairs_mut().append_pair("account", account);
        let value = self.test_call(self.http.post(url)).await?;
        value
            .get("revoked_grants")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("unexpected answer from revoke-grants: {value}"))
    }

    /// Stops the server gracefully (closes its stdin), killing it after 5 s.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.stdin.take();
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                status.context("waiting for the stand-in")?;
            }
            Err(_) => {
                self.child.kill().await.context("killing the stand-in")?;
            }
        }
        Ok(())
    }

    async fn test_call(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request.send().await.context("calling a /_test route")?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            bail!("/_test route answered {status}: {body}");
        }
        serde_json::from_str(&body).with_context(|| format!("/_test answer is not JSON: {body}"))
    }

    fn is_own(&self, url: &Url) -> bool {
        url.scheme() == self.issuer.scheme()
            && url.host_str() == self.issuer.host_str()
            && url.port_or_known_default() == self.issuer.port_or_known_default()
    }

    async fn drive(
        &self,
        authorization_url: &str,
        account: &str,
        decision: Decision,
    ) -> anyhow::Result<Url> {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the browser's HTTP client")?;
        let mut url = Url::parse(authorization_url)
            .with_context(|| format!("authorization URL {authorization_url:?}"))?;
        if !self.is_own(&url) {
            bail!("{url} is not on the stand-in ({})", self.issuer());
        }
        let mut form_data: Option<Vec<(String, String)>> = None;
        let mut trail = Vec::new();

        for _ in 0..MAX_BROWSER_STEPS {
            trail.push(format!(
                "{} {url}",
                if form_data.is_some() { "POST" } else { "GET" }
            ));
            let request = match form_data.take() {
                Some(fields) => browser.post(url.clone()).form(&fields),
                None => browser.get(url.clone()),
            };
            let response = request
                .header(reqwest::header::ACCEPT, "text/html")
                .send()
                .await
                .with_context(|| format!("requesting {url}"))?;
            let status = response.status();

            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .ok_or_else(|| anyhow!("{status} from {url} without Location"))?
                    .to_str()
                    .context("Location header is not text")?;
                let target = url
                    .join(location)
                    .with_context(|| format!("Location {location:?} from {url}"))?;
                if !self.is_own(&target) {
                    return Ok(target);
                }
                url = target;
                continue;
            }

            let body = response.text().await.context("reading a page")?;
            if !status.is_success() {
                bail!(
                    "the stand-in answered {status} at {url} ({})\n{}\ntrail: {trail:#?}",
                    html::title(&body).unwrap_or_default(),
                    excerpt(&body)
                );
            }
            let Some(mut form) = html::first_form(&body) else {
                bail!(
                    "no form on the page at {url} ({})\n{}\ntrail: {trail:#?}",
                    html::title(&body).unwrap_or_default(),
                    excerpt(&body)
                );
            };

            let sign_in = form.has_field("login");
            let abort = match (decision, sign_in) {
                (Decision::CancelSignIn, true) | (Decision::DenyConsent, false) => true,
                (Decision::CancelSignIn, false) => {
                    bail!("expected the sign-in page at {url}, got a form without a login field")
                }
                _ => false,
            };
            if abort {
                let href = html::link_by_id(&body, "abort")
                    .ok_or_else(|| anyhow!("no cancel link on the page at {url}"))?;
                url = url.join(&href)?;
                continue;
            }
            if sign_in {
                form.set("login", account);
                form.set("password", "password");
            }
            let action = form.action.clone().unwrap_or_default();
            let target = url
                .join(&action)
                .with_context(|| format!("form action {action:?} at {url}"))?;
            if form.method == "post" {
                form_data = Some(form.submission());
            } else {
                let mut target_with_query = target.clone();
                target_with_query
                    .query_pairs_mut()
                    .clear()
                    .extend_pairs(form.submission());
                url = target_with_query;
                continue;
            }
            url = target;
        }
        bail!("gave up after {MAX_BROWSER_STEPS} steps; trail: {trail:#?}")
    }
}

impl Drop for OidcPeer {
    fn drop(&mut self) {
        self.stdin.take();
        let _ = self.child.start_kill();
    }
}

async fn read_ready_line(stdout: &mut BufReader<ChildStdout>) -> anyhow::Result<(Url, u16)> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = stdout.read_line(&mut line).await?;
        if n == 0 {
            bail!("the process exited (stdout closed) before it was ready");
        }
        let Ok(value) = serde_json::from_str::<Value>(line.trim()) else {
            continue;
        };
        if value.get("ready").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let issuer = value
            .get("issuer")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("ready line without issuer: {line}"))?;
        let port = value
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| anyhow!("ready line without port: {line}"))?;
        let issuer = Url::parse(issuer).with_context(|| format!("issuer in {line}"))?;
        return Ok((issuer, port));
    }
}

/// `tests/peers/oidc-provider` of the repository this crate lives in, or `$EMSG_OIDC_PEER_DIR`.
fn peer_dir() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("EMSG_OIDC_PEER_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join("tests/peers/oidc-provider"),
    };
    let dir = dir
        .canonicalize()
        .with_context(|| format!("the oidc-provider stand-in directory {}", dir.display()))?;
    if !dir.join("server.mjs").is_file() {
        bail!("{} has no server.mjs", dir.display());
    }
    Ok(dir)
}

fn node_binary() -> std::ffi::OsString {
    std::env::var_os("EMSG_NODE").unwrap_or_else(|| "node".into())
}

/// Runs `install.sh` once per process (it returns at once when `node_modules` is current).
async fn ensure_installed(dir: &Path) -> anyhow::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let dir = dir.to_path_buf();
    let outcome =
        tokio::task::spawn_blocking(move || INSTALLED.get_or_init(|| run_install(&dir)).clone())
            .await
            .context("the install task panicked")?;
    outcome.map_err(|err| anyhow!(err))
}

fn run_install(dir: &Path) -> Result<(), String> {
    let output = std::process::Command::new("bash")
        .arg(dir.join("install.sh"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("running {}/install.sh: {err}", dir.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}/install.sh failed ({}):\n{}{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn new_log_path(profile: Profile) -> anyhow::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join("emsg-testkit");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    if n == 0 {
        prune_old_logs(&dir);
    }
    Ok(dir.join(format!(
        "oidc-peer-{profile}-{}-{n}.log",
        std::process::id()
    )))
}

/// Removes the stand-in logs of earlier runs that are more than a day old.
fn prune_old_logs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(24 * 3600));
        let ours = entry
            .file_name()
            .to_string_lossy()
            .starts_with("oidc-peer-");
        if old && ours {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let start = log.len().saturating_sub(4000);
    let start = (start..log.len())
        .find(|&i| log.is_char_boundary(i))
        .unwrap_or(log.len());
    log[start..].to_owned()
}

fn excerpt(body: &str) -> &str {
    let end = (0..=body.len().min(2000))
        .rev()
        .find(|&i| body.is_char_boundary(i))
        .unwrap_or(0);
    &body[..end]
}
