//! Exactly one refresh per connection: 200 concurrent token requests over two engines ("nodes",
//! each with its own pool and lease identity) sharing one database, repeated 20 times.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use emsg_engine::{CallbackParams, CodeRequest, Engine, EngineConfig};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::audit::Actor;
use emsg_store::schema::connections;
use emsg_store::users::{self, Role};
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::mock::{MockResponse, MockServer};

const ROUNDS: usize = 20;
const REQUESTS: usize = 200;

fn records(mock: &MockServer) -> String {
    format!(
        "web_applications:
  - name: HMRC VAT mock
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: single-flight-client
    client_secret: single-flight-secret
    scope: read:vat write:vat
    client_auth: client_secret_post
",
        base = mock.url("").trim_end_matches('/')
    )
}

fn engine(db: &TestDb, ring: &Arc<KeyRing>) -> Engine {
    let pool = emsg_store::db::pool(db.url(), 8).unwrap();
    Engine::new(
        pool,
        Arc::clone(ring),
        EngineConfig {
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        },
    )
    .unwrap()
}

async fn two_nodes_refresh_once_for_two_hundred_concurrent_requests(backend: Backend) {
    let db = TestDb::new(backend);
    let mock = MockServer::start().await.unwrap();
    let ring = Arc::new(KeyRing::new(MasterKey::generate()));
    let user = {
        let mut conn = db.connect();
        let parsed = emsg_webapps::parse("t.yaml", &records(&mock)).unwrap();
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
        )
        .unwrap();
        users::add(
            &mut conn,
            "fiona",
            Role::Finance,
            &Secret::new("a long enough password"),
        )
        .map(|u| emsg_store::UserId::new(u.id))
        .unwrap()
    };
    let (node_a, node_b) = (engine(&db, &ring), engine(&db, &ring));

    mock.on("POST", "/token")
        .respond(MockResponse::token(
            "access-0",
            Some("refresh-0"),
            Some(3600),
        ))
        .mount();
    let start = node_a
        .get_authorization_code("HMRC VAT mock", None, user, CodeRequest::default())
        .await
        .unwrap();
    let url = url::Url::parse(&start.url).unwrap();
    let state = url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    node_a
        .callback(
            user,
            CallbackParams {
                state,
                code: Some(Secret::new("code-0")),
                ..CallbackParams::default()
            },
        )
        .await
        .unwrap();
    let connection_id = node_a
        .obtain_access_token("HMRC VAT mock", None, user, None)
        .await
        .unwrap()
        .connection_id;

    for round in 1..=ROUNDS {
        // Expire the access token; the provider answers slowly so that every request overlaps.
        diesel::update(connections::table.find(connection_id.get()))
            .set(connections::access_expires_at.eq(Some(emsg_store::now() - 10)))
            .execute(&mut db.connect())
            .unwrap();
        // The engines' token caches serve an entry for at most a second.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let access = format!("access-{round}");
        let refresh = format!("refresh-{round}");
        mock.on("POST", "/token")
            .respond(
                MockResponse::token(&access, Some(&refresh), Some(3600))
                    .with_delay(Duration::from_millis(300)),
            )
            .mount();
        let before = mock.count("POST", "/token");
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..REQUESTS {
            let node = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            tasks.spawn(async move {
                node.valid_token("HMRC VAT mock", None, None)
                    .await
                    .map(|t| t.token.expose().to_owned())
            });
        }
        let mut tokens = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            tokens.push(joined.unwrap().unwrap());
        }
        assert_eq!(
            mock.count("POST", "/token") - before,
            1,
            "round {round}: exactly one refresh at the provider"
        );
        assert_eq!(tokens.len(), REQUESTS);
        assert!(
            tokens.iter().all(|t| *t == access),
            "round {round}: every request got the new token"
        );
        let last = mock
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path == "/token")
            .unwrap();
        let previous = format!("refresh-{}", round - 1);
        assert!(
            last.form()
                .iter()
                .any(|(k, v)| k == "refresh_token" && *v == previous),
            "round {round} used the newest refresh token"
        );
    }
}

on_both_backends!(async(worker_threads = 4) two_nodes_refresh_once_for_two_hundred_concurrent_requests);
