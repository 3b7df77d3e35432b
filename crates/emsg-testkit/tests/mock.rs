//! The fault-injection HTTP mock: scripts, faults, helpers and request decoding, driven by a
//! real reqwest client.

use std::time::{Duration, Instant};

use emsg_testkit::mock::{MockResponse, MockServer};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

/// Whether an `io::ErrorKind::ConnectionReset` is somewhere in the error's source chain.
fn is_connection_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset)
        {
            return true;
        }
        source = e.source();
    }
    false
}

async fn json_of(resp: reqwest::Response) -> Value {
    resp.json().await.expect("JSON body")
}

#[tokio::test]
async fn a_scripted_sequence_is_served_in_order_and_its_last_step_repeats() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::text(503, "busy"))
        .then(MockResponse::text(503, "still busy"))
        .then(MockResponse::token("at-1", Some("rt-1"), Some(14_400)))
        .mount();
    let http = client();
    let url = server.url("/oauth/token");

    let mut seen = Vec::new();
    for _ in 0..5 {
        let resp = http.post(&url).send().await.expect("send");
        let status = resp.status().as_u16();
        let body = resp.text().await.expect("body");
        seen.push((status, body));
    }

    assert_eq!(seen[0], (503, "busy".to_owned()));
    assert_eq!(seen[1], (503, "still busy".to_owned()));
    for (status, body) in &seen[2..] {
        assert_eq!(*status, 200);
        let body: Value = serde_json::from_str(body).expect("token JSON");
        assert_eq!(body["access_token"], "at-1");
    }
    assert_eq!(server.count("POST", "/oauth/token"), 5);
}

#[tokio::test]
async fn times_enqueues_that_many_copies_before_the_next_step() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/x")
        .times(3, MockResponse::text(500, "boom"))
        .then(MockResponse::text(200, "ok"))
        .mount();
    let http = client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(
            http.get(server.url("/x"))
                .send()
                .await
                .expect("send")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [500, 500, 500, 200, 200]);
}

#[tokio::test]
async fn a_hang_makes_the_client_time_out_and_is_still_counted() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::Hang)
        .mount();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");

    let err = http
        .post(server.url("/oauth/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .expect_err("a hung request must not succeed");

    assert!(err.is_timeout(), "expected a timeout, got {err:?}");
    assert_eq!(server.count("POST", "/oauth/token"), 1);
}

#[tokio::test]
async fn a_reset_gives_the_client_a_connection_error_not_a_timeout_or_a_status() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::Reset)
        .mount();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    let started = Instant::now();
    let err = http
        .post(server.url("/oauth/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .expect_err("a reset request must not succeed");

    assert!(
        !err.is_timeout(),
        "expected a connection error, got {err:?}"
    );
    assert!(err.status().is_none(), "no status expected, got {err:?}");
    assert!(err.is_request(), "expected a request error, got {err:?}");
    assert!(
        is_connection_reset(&err),
        "expected ECONNRESET in the error chain, got {err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "reset took too long"
    );
    assert_eq!(server.count("POST", "/oauth/token"), 1);
}

#[tokio::test]
async fn the_server_still_answers_after_a_reset_on_another_connection() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/flaky")
        .respond(MockResponse::Reset)
        .then(MockResponse::text(200, "back"))
        .mount();
    let http = client();
    assert!(http.get(server.url("/flaky")).send().await.is_err());
    let resp = http.get(server.url("/flaky")).send().await.expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "back");
}

#[tokio::test]
async fn the_json_helper_sends_the_value_as_application_json() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/organisations/vat/123/obligations")
        .respond(MockResponse::json(
            401,
            json!({"code": "INVALID_CREDENTIALS", "message": "Invalid Authentication information provided"}),
        ))
        .mount();
    let resp = client()
        .get(server.url("/organisations/vat/123/obligations"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["content-type"].to_str().expect("ascii"),
        "application/json"
    );
    assert_eq!(
        json_of(resp).await,
        json!({"code": "INVALID_CREDENTIALS", "message": "Invalid Authentication information provided"})
    );
}

#[tokio::test]
async fn the_oauth_error_helper_sends_error_and_error_description() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::oauth_error(
            400,
            "invalid_request",
            "Refresh operation is already in progress",
        ))
        .mount();
    let resp = client()
        .post(server.url("/oauth/token"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    assert_eq!(
        json_of(resp).await,
        json!({"error": "invalid_request", "error_description": "Refresh operation is already in progress"})
    );
}

#[tokio::test]
async fn the_token_helper_includes_refresh_token_and_expires_in_only_when_given() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::token("at-1", Some("rt-1"), Some(14_400)))
        .then(MockResponse::token("at-2", None, None))
        .mount();
    let http = client();

    let full = http
        .post(server.url("/oauth/token"))
        .send()
        .await
        .expect("send");
    assert_eq!(full.status(), 200);
    assert_eq!(
        full.headers()["content-type"].to_str().expect("ascii"),
        "application/json"
    );
    assert_eq!(
        full.headers()["cache-control"].to_str().expect("ascii"),
        "no-store"
    );
    assert_eq!(
        json_of(full).await,
        json!({"access_token": "at-1", "token_type": "Bearer", "refresh_token": "rt-1", "expires_in": 14400})
    );

    let bare = http
        .post(server.url("/oauth/token"))
        .send()
        .await
        .expect("send");
    assert_eq!(
        json_of(bare).await,
        json!({"access_token": "at-2", "token_type": "Bearer"})
    );
}

#[tokio::test]
async fn with_header_adds_a_header_and_text_sends_plain_text() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/authentication/api/v1/exchange/id-porten")
        .respond(MockResponse::text(200, "\"eyJ.altinn.jwt\"").with_header("x-trace", "abc"))
        .mount();
    let resp = client()
        .get(server.url("/authentication/api/v1/exchange/id-porten"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.headers()["x-trace"], "abc");
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    assert_eq!(resp.text().await.expect("body"), "\"eyJ.altinn.jwt\"");
}

#[tokio::test]
async fn form_and_basic_auth_decode_a_real_form_post_with_an_awkward_secret() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::token("at", Some("rt"), Some(120)))
        .mount();
    let id = "vat app:1";
    let secret = "s3:cr%et+with space&=";
    // RFC 6749 §2.3.1: form-url-encode id and secret before Basic encoding.
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();

    client()
        .post(format!("{}?trace=1&x=%20y", server.url("/oauth/token")))
        .basic_auth(encode(id), Some(encode(secret)))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", "rt/with+plus & amp"),
            ("scope", "read:vat write:vat"),
        ])
        .send()
        .await
        .expect("send");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/oauth/token");
    assert_eq!(req.query.as_deref(), Some("trace=1&x=%20y"));
    assert_eq!(
        req.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(
        req.headers
            .iter()
            .all(|(k, _)| *k == k.to_ascii_lowercase())
    );
    assert_eq!(
        req.form(),
        [
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), "rt/with+plus & amp".to_owned()),
            ("scope".to_owned(), "read:vat write:vat".to_owned()),
        ]
    );
    assert_eq!(req.basic_auth(), Some((id.to_owned(), secret.to_owned())));
}

#[tokio::test]
async fn basic_auth_is_none_without_a_basic_authorization_header() {
    let server = MockServer::start().await.expect("start");
    let http = client();
    http.get(server.url("/a"))
        .bearer_auth("token")
        .send()
        .await
        .expect("send");
    http.get(server.url("/b")).send().await.expect("send");
    let requests = server.requests();
    assert_eq!(requests[0].basic_auth(), None);
    assert_eq!(requests[0].header("authorization"), Some("Bearer token"));
    assert_eq!(requests[1].basic_auth(), None);
}

#[tokio::test]
async fn an_unmatched_request_gets_a_404_naming_it_and_is_recorded() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(MockResponse::text(200, "ok"))
        .mount();
    let http = client();

    let resp = http
        .get(server.url("/oauth/token?x=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 404);
    let body = json_of(resp).await;
    assert_eq!(body["method"], "GET");
    assert_eq!(body["path"], "/oauth/token");

    let resp = http
        .post(server.url("/oauth/revoke"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 404);
    assert_eq!(json_of(resp).await["path"], "/oauth/revoke");

    assert_eq!(server.count("GET", "/oauth/token"), 1);
    assert_eq!(server.count("POST", "/oauth/revoke"), 1);
    assert_eq!(server.count("POST", "/oauth/token"), 0);
    assert_eq!(server.requests()[0].query.as_deref(), Some("x=1"));
}

#[tokio::test]
async fn a_route_matches_its_path_whatever_the_query_string() {
    let server = MockServer::start().await.expect("start");
    server
        .on("get", "/organisations/vat/123/obligations")
        .respond(MockResponse::text(200, "ok"))
        .mount();
    let resp = client()
        .get(server.url("/organisations/vat/123/obligations?from=2024-01-01&to=2024-12-31"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(server.count("GET", "/organisations/vat/123/obligations"), 1);
}

#[tokio::test]
async fn reset_forgets_routes_and_recorded_requests() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/x")
        .respond(MockResponse::text(200, "ok"))
        .mount();
    let http = client();
    assert_eq!(
        http.get(server.url("/x"))
            .send()
            .await
            .expect("send")
            .status(),
        200
    );

    server.reset();

    assert!(server.requests().is_empty());
    assert_eq!(
        http.get(server.url("/x"))
            .send()
            .await
            .expect("send")
            .status(),
        404
    );
    assert_eq!(server.count("GET", "/x"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_concurrent_requests_are_all_answered_and_counted_exactly() {
    let server = MockServer::start().await.expect("start");
    server
        .on("POST", "/oauth/token")
        .respond(
            MockResponse::token("at", Some("rt"), Some(14_400))
                .with_delay(Duration::from_millis(50)),
        )
        .mount();
    let http = client();
    let url = server.url("/oauth/token");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let http = http.clone();
        let url = url.clone();
        tasks.spawn(async move {
            http.post(&url)
                .form(&[("n", i.to_string())])
                .send()
                .await
                .map(|r| r.status().as_u16())
        });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        let status = joined.expect("task").expect("request");
        assert_eq!(status, 200);
        ok += 1;
    }

    assert_eq!(ok, 300);
    assert_eq!(server.count("POST", "/oauth/token"), 300);
    let mut numbers: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| r.form()[0].1.parse().expect("number"))
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..300).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_delay_is_honoured() {
    let server = MockServer::start().await.expect("start");
    let delay = Duration::from_millis(250);
    server
        .on("GET", "/slow")
        .respond(MockResponse::text(200, "late").with_delay(delay))
        .mount();
    let started = Instant::now();
    let resp = client()
        .get(server.url("/slow"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert!(
        started.elapsed() >= delay,
        "answered after {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dropping_the_server_closes_hung_connections_and_the_listener() {
    let server = MockServer::start().await.expect("start");
    server
        .on("GET", "/hang")
        .respond(MockResponse::Hang)
        .mount();
    let url = server.url("/hang");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    let pending = tokio::spawn({
        let http = http.clone();
        let url = url.clone();
        async move { http.get(&url).send().await }
    });
    while server.count("GET", "/hang") == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    drop(server);

    let err = pending
        .await
        .expect("task")
        .expect_err("no answer after the server is gone");
    assert!(
        !err.is_timeout(),
        "the hung connection should be closed, got {err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let again = http.get(&url).send().await.expect_err("listener closed");
    assert!(
        again.is_connect(),
        "expected a refused connection, got {again:?}"
    );
}
