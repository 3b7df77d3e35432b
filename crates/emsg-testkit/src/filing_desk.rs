//! A stateful stand-in of a provider that takes filings, for "never filed twice" counted at the
//! provider: unlike [`MockServer`](crate::mock::MockServer)'s scripts, it remembers what was
//! filed, so a reconcile request finds what an earlier request left behind.
//!
//! The rules follow HMRC's VAT API (`vat-api` `application.yaml`): a return is filed once per
//! period, a second submission is refused with `422 DUPLICATE_SUBMISSION`, and the filed return
//! can be read back with `GET …/returns/{periodKey}` (`404 NOT_FOUND` before).
//!
//! - `GET  /desk/{ref}/check`   → 200 `{"open": true}` (a safe first step)
//! - `POST /desk/{ref}/file`    → 201 `{"receipt": "R-{ref}"}` after [`FilingDesk::file_delay`],
//!   or 422 `{"code": "DUPLICATE_SUBMISSION"}` when `{ref}` is filed already
//! - `GET  /desk/{ref}/filed`   → 200 `{"receipt": …}` or 404 `{"code": "NOT_FOUND"}`
//! - `GET  /desk/{ref}/receipt` → 200 `{"receipt": …}` or 404
//! - `POST /token`              → a token response (`access-desk.{client_id}`, one hour)
//!
//! Every request needs a token it issued (else 401); the token tells the client apart. With a
//! limit ([`Options::per_second`]) each client may send that many requests in any fixed
//! one-second window, as HMRC's rate limiting counts them (Developer Hub reference guide, "Rate
//! limiting"): more are answered `429` with `Retry-After: 1` and change nothing. The filing is
//! recorded when the request arrives, before the delay: a client killed during the delay has
//! filed.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub const ACCESS_TOKEN: &str = "access-desk";

#[derive(Debug, Default)]
struct Desk {
    options: Options,
    /// How many filing requests arrived for each reference (1 is right; more is a duplicate).
    filings: HashMap<String, u32>,
    /// Requests by `METHOD /desk/*/kind`.
    counts: HashMap<String, u64>,
    /// Requests by client and fixed one-second window (Unix seconds).
    windows: HashMap<(String, u64), u32>,
    /// Requests answered 429 because their client was over its limit.
    throttled: u64,
    /// When the first and the last API request arrived (Unix ms).
    first_ms: Option<u64>,
    last_ms: u64,
    answered: u64,
}

/// How the stand-in behaves.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How long a filing takes to answer.
    pub file_delay: Duration,
    /// How long every other API request takes to answer.
    pub delay: Duration,
    /// Requests each client may send in a fixed one-second window; none: no limit.
    pub per_second: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            file_delay: FilingDesk::file_delay(),
            delay: Duration::ZERO,
            per_second: None,
        }
    }
}

/// What the stand-in counted, for a bench's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// API requests answered (429s included).
    pub requests: u64,
    pub throttled: u64,
    /// The most requests one client sent in one fixed one-second window.
    pub busiest_window: u32,
    /// From the first API request to the last, in ms.
    pub span_ms: u64,
    /// References filed more than once.
    pub duplicates: usize,
}

/// The running stand-in; stops when dropped.
#[derive(Debug)]
pub struct FilingDesk {
    addr: SocketAddr,
    desk: Arc<Mutex<Desk>>,
    acceptor: JoinHandle<()>,
}

impl Drop for FilingDesk {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl FilingDesk {
    /// How long a filing takes to answer: long enough for a node to be killed mid-request.
    pub fn file_delay() -> Duration {
        Duration::from_millis(40)
    }

    /// Binds `127.0.0.1:0` and serves on the current tokio runtime.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default()).await
    }

    /// [`FilingDesk::start`] with other delays or a per-client limit.
    pub async fn start_with(options: Options) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the filing desk to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let desk = Arc::new(Mutex::new(Desk {
            options,
            ..Desk::default()
        }));
        let shared = Arc::clone(&desk);
        let acceptor = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let desk = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, Arc::clone(&desk)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            addr,
            desk,
            acceptor,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many filing requests arrived for each reference.
    pub fn filings(&self) -> HashMap<String, u32> {
        self.desk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .filings
            .clone()
    }

    /// What was counted so far.
    pub fn tally(&self) -> Tally {
        let desk = self.desk.lock().unwrap_or_else(PoisonError::into_inner);
        Tally {
            requests: desk.answered,
            throttled: desk.throttled,
            busiest_window: desk.windows.values().copied().max().unwrap_or(0),
            span_ms: desk
                .first_ms
                .map_or(0, |first| desk.last_ms.saturating_sub(first)),
            duplicates: desk.filings.values().filter(|n| **n > 1).count(),
        }
    }

    /// How many requests of `key` (`POST file`, `GET filed`, …) arrived.
    pub fn count(&self, key: &str) -> u64 {
        self.desk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts
            .get(key)
            .copied()
            .unwrap_or(0)
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    req: Request<Incoming>,
    desk: Arc<Mutex<Desk>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let basic_client = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.decode(b).ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| pair.split_once(':').map(|(id, _)| id.to_owned()));
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    if path == "/token" {
        let body = http_body_util::BodyExt::collect(req.into_body())
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let form = String::from_utf8_lossy(&body).into_owned();
        let client = form
            .split('&')
            .find_map(|pair| pair.strip_prefix("client_id="))
            .map(str::to_owned)
            .or(basic_client)
            .unwrap_or_else(|| "unknown".to_owned());
        return Ok(reply(
            StatusCode::OK,
            json!({"access_token": format!("{ACCESS_TOKEN}.{client}"), "token_type": "Bearer",
                   "expires_in": 3600, "refresh_token": "refresh-desk"}),
        ));
    }
    let Some(client) = bearer.as_deref().and_then(|t| t.strip_prefix(ACCESS_TOKEN)) else {
        return Ok(reply(
            StatusCode::UNAUTHORIZED,
            json!({"code": "INVALID_CREDENTIALS"}),
        ));
    };
    let client = client.trim_start_matches('.').to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["desk", reference, kind] = parts.as_slice() else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            json!({"code": "MATCHING_RESOURCE_NOT_FOUND"}),
        ));
    };
    let reference = (*reference).to_owned();
    let receipt = json!({"receipt": format!("R-{reference}")});
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let (filed_before, now_filed, throttled, options) = {
        let mut desk = desk.lock().unwrap_or_else(PoisonError::into_inner);
        desk.answered += 1;
        desk.first_ms.get_or_insert(now);
        desk.last_ms = desk.last_ms.max(now);
        let window = desk.windows.entry((client, now / 1000)).or_default();
        *window += 1;
        let seen = *window;
        let throttled = desk.options.per_second.is_some_and(|limit| seen > limit);
        if throttled {
            desk.throttled += 1;
        }
        *desk.counts.entry(format!("{method} {kind}")).or_default() += 1;
        let before = desk.filings.get(&reference).copied().unwrap_or(0);
        if method == "POST" && *kind == "file" && !throttled {
            *desk.filings.entry(reference.clone()).or_default() += 1;
        }
        (
            before,
            desk.filings.contains_key(&reference),
            throttled,
            desk.options,
        )
    };
    if throttled {
        let mut response = reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({"code": "MESSAGE_THROTTLED_OUT"}),
        );
        response.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
        return Ok(response);
    }
    let delay = if method == "POST" {
        options.file_delay
    } else {
        options.delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(match (method.as_str(), *kind) {
        ("GET", "check") => reply(StatusCode::OK, json!({"open": true})),
        ("POST", "file") if filed_before > 0 => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"code": "DUPLICATE_SUBMISSION", "message": "already filed"}),
        ),
        ("POST", "file") => reply(StatusCode::CREATED, receipt),
        ("GET", "filed" | "receipt") if now_filed => reply(StatusCode::OK, receipt),
        ("GET", "filed" | "receipt") => reply(StatusCode::NOT_FOUND, json!({"code": "NOT_FOUND"})),
        _ => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": "METHOD_NOT_ALLOWED"}),
        ),
    })
}
