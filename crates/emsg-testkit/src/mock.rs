//! An in-process HTTP/1.1 mock for fault injection: point a web application's token, revocation,
//! exchange or API URL at a [`MockServer`] and script what the "provider" does, one behaviour per
//! request: replies (with delays), hangs and connection resets.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use emsg_testkit::mock::{MockResponse, MockServer};
//! let server = MockServer::start().await?;
//! server
//!     .on("POST", "/oauth/token")
//!     .times(2, MockResponse::text(503, "busy"))
//!     .then(MockResponse::token("at-1", Some("rt-1"), Some(14_400)))
//!     .mount();
//! let token_url = server.url("/oauth/token");
//! // ... run the code under test against `token_url` ...
//! assert_eq!(server.count("POST", "/oauth/token"), 3);
//! # Ok(())
//! # }
//! ```

mod request;
mod response;

use std::collections::{HashMap, VecDeque};
use std::future::pending;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

pub use request::RecordedRequest;
pub use response::MockResponse;

/// A loopback HTTP/1.1 server whose routes are scripted by the test. It serves from
/// [`MockServer::start`] until it is dropped; dropping it closes the listener and every open
/// connection (including hung ones).
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    acceptor: JoinHandle<()>,
}

/// Routes and the request log, under one lock so that the log order is the order in which
/// route queues were consumed.
#[derive(Debug, Default)]
struct State {
    routes: HashMap<(String, String), VecDeque<MockResponse>>,
    requests: Vec<RecordedRequest>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic elsewhere (a failing test) must not hide what was recorded.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MockServer {
    /// Binds `127.0.0.1:0` and starts serving on the current tokio runtime.
    pub async fn start() -> anyhow::Result<MockServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the mock server to 127.0.0.1:0")?;
        let addr = listener
            .local_addr()
            .context("reading the mock server's address")?;
        let state = Arc::new(Mutex::new(State::default()));
        let acceptor = tokio::spawn(accept_loop(listener, Arc::clone(&state)));
        Ok(MockServer {
            addr,
            state,
            acceptor,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`; `path` should start with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Starts scripting the route `method path` (method compared case-insensitively, path
    /// exactly, query string ignored). Nothing changes until [`RouteBuilder::mount`]; mounting
    /// a route that already exists replaces its remaining script.
    pub fn on(&self, method: &str, path: &str) -> RouteBuilder {
        RouteBuilder {
            state: Arc::clone(&self.state),
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            script: VecDeque::new(),
        }
    }

    /// Every request received so far, in the order their behaviours were chosen.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests `method path` (method case-insensitive, query ignored) were received,
    /// matched or not.
    pub fn count(&self, method: &str, path: &str) -> usize {
        lock(&self.state)
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    /// Forgets every route and every recorded request. Connections stay open.
    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.routes.clear();
        state.requests.clear();
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        // The acceptor owns the listener and the JoinSet of connection tasks; aborting it drops
        // both, which aborts every connection task and closes its socket.
        self.acceptor.abort();
    }
}

/// A route being scripted: a queue of behaviours consumed one per request; the last one repeats
/// forever.
#[derive(Debug)]
#[must_use = "a route does nothing until it is mounted"]
pub struct RouteBuilder {
    state: Arc<Mutex<State>>,
    method: String,
    path: String,
    script: VecDeque<MockResponse>,
}

impl RouteBuilder {
    /// Appends a behaviour.
    pub fn respond(mut self, r: MockResponse) -> Self {
        self.script.push_back(r);
        self
    }

    /// Same as [`RouteBuilder::respond`]; reads better after the first one.
    pub fn then(self, r: MockResponse) -> Self {
        self.respond(r)
    }

    /// Appends `n` copies of a behaviour.
    pub fn times(mut self, n: usize, r: MockResponse) -> Self {
        self.script.extend(std::iter::repeat_n(r, n));
        self
    }

    /// Installs the route, replacing any earlier script for the same method and path.
    ///
    /// # Panics
    /// If no behaviour was given: a route with an empty script is a mistake in the test.
    pub fn mount(self) {
        assert!(
            !self.script.is_empty(),
            "mock route {} {} mounted without any response",
            self.method,
            self.path
        );
        lock(&self.state)
            .routes
            .insert((self.method, self.path), self.script);
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&state)));
                }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    // Best effort: small responses should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let reset = Arc::new(Notify::new());
    let service = {
        let reset = Arc::clone(&reset);
        service_fn(move |req| handle(req, Arc::clone(&state), Arc::clone(&reset)))
    };
    let mut connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        // Ends when the client closes or on a protocol error; nothing to report either way.
        _ = &mut connection => {}
        () = reset.notified() => {
            // The request has been read; take the socket back from hyper before it writes
            // anything and close it with SO_LINGER 0, which sends RST instead of FIN.
            let stream = connection.into_parts().io.into_inner();
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    }
}

type Reply = Response<Full<Bytes>>;

/// Serves one request. It fails only when reading the request body fails (the client went away),
/// and hyper then closes the connection.
async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    reset: Arc<Notify>,
) -> Result<Reply, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
        received_at: std::time::SystemTime::now(),
    };
    let behaviour = {
        let mut state = lock(&state);
        let key = (recorded.method.clone(), recorded.path.clone());
        state.requests.push(recorded);
        state.routes.get_mut(&key).and_then(next_behaviour)
    };
    match behaviour {
        None => Ok(unmatched(&parts.method, parts.uri.path())),
        Some(MockResponse::Reply {
            status,
            headers,
            body,
            delay,
        }) => {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            Ok(build_reply(status, &headers, body))
        }
        Some(MockResponse::Hang) => pending().await,
        Some(MockResponse::Reset) => {
            reset.notify_one();
            pending().await
        }
    }
}

/// Takes the next behaviour of a script; the last one stays.
fn next_behaviour(script: &mut VecDeque<MockResponse>) -> Option<MockResponse> {
    if script.len() > 1 {
        script.pop_front()
    } else {
        script.front().cloned()
    }
}

fn unmatched(method: &hyper::Method, path: &str) -> Reply {
    let body = json!({
        "error": "no mock route",
        "method": method.as_str(),
        "path": path,
    });
    build_reply(
        404,
        &[("content-type".to_owned(), "application/json".to_owned())],
        body.to_string().into_bytes(),
    )
}

/// The scripted reply, or a 500 naming the mistake when the script holds an invalid status or
/// header (so the test sees it instead of a dropped connection).
fn build_reply(status: u16, headers: &[(String, String)], body: Vec<u8>) -> Reply {
    match try_build_reply(status, headers, body) {
        Ok(reply) => reply,
        Err(e) => {
            let mut reply = Response::new(Full::new(Bytes::from(format!(
                "mock: invalid scripted response: {e:#}"
            ))));
            *reply.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            reply
        }
    }
}

fn try_build_reply(
    status: u16,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> anyhow::Result<Reply> {
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() =
        StatusCode::from_u16(status).with_context(|| format!("status {status}"))?;
    for (k, v) in headers {
        let name =
            HeaderName::from_bytes(k.as_bytes()).with_context(|| format!("header name {k:?}"))?;
        let value = HeaderValue::from_str(v).with_context(|| format!("value of header {k}"))?;
        reply.headers_mut().append(name, value);
    }
    Ok(reply)
}
