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
//! - `POST /token`              → a token response (`access-desk`, one hour)
//!
//! Every request needs `Authorization: Bearer access-desk` (else 401). The filing is recorded
//! when the request arrives, before the delay: a client killed during the delay has filed.

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
    /// How many filing requests arrived for each reference (1 is right; more is a duplicate).
    filings: HashMap<String, u32>,
    /// Requests by `METHOD /desk/*/kind`.
    counts: HashMap<String, u64>,
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
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the filing desk to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let desk = Arc::new(Mutex::new(Desk::default()));
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
    if path == "/token" {
        return Ok(reply(
            StatusCode::OK,
            json!({"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 3600,
                   "refresh_token": "refresh-desk"}),
        ));
    }
    let authorized = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {ACCESS_TOKEN}"));
    if !authorized {
        return Ok(reply(
            StatusCode::UNAUTHORIZED,
            json!({"code": "INVALID_CREDENTIALS"}),
        ));
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["desk", reference, kind] = parts.as_slice() else {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            json!({"code": "MATCHING_RESOURCE_NOT_FOUND"}),
        ));
    };
    let reference = (*reference).to_owned();
    let receipt = json!({"receipt": format!("R-{reference}")});
    let (filed_before, now_filed) = {
        let mut desk = desk.lock().unwrap_or_else(PoisonError::into_inner);
        *desk.counts.entry(format!("{method} {kind}")).or_default() += 1;
        let before = desk.filings.get(&reference).copied().unwrap_or(0);
        if method == "POST" && *kind == "file" {
            *desk.filings.entry(reference.clone()).or_default() += 1;
        }
        (before, desk.filings.contains_key(&reference))
    };
    Ok(match (method.as_str(), *kind) {
        ("GET", "check") => reply(StatusCode::OK, json!({"open": true})),
        ("POST", "file") if filed_before > 0 => reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"code": "DUPLICATE_SUBMISSION", "message": "already filed"}),
        ),
        ("POST", "file") => {
            tokio::time::sleep(FilingDesk::file_delay()).await;
            reply(StatusCode::CREATED, receipt)
        }
        ("GET", "filed" | "receipt") if now_filed => reply(StatusCode::OK, receipt),
        ("GET", "filed" | "receipt") => reply(StatusCode::NOT_FOUND, json!({"code": "NOT_FOUND"})),
        _ => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"code": "METHOD_NOT_ALLOWED"}),
        ),
    })
}
