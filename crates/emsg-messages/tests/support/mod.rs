//! The world of the message tests: a database per test (SQLite or PostgreSQL) with the shipped
//! web-apps.yaml imported — its hosts pointed at an in-process stand-in of HMRC's API and token
//! endpoint — a finance user, a connected HMRC VAT sandbox, and a leak check over the message
//! log, the audit log and the tracing output.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use emsg_engine::{CallbackParams, CodeRequest, Engine, EngineConfig, RetryPolicy};
use emsg_messages::fraud::{BrowserData, Hop, WebClient};
use emsg_messages::{Messenger, Origin, Processor, SendRequest, Vendor};
use emsg_seal::{KeyRing, MasterKey, Secret};
use emsg_store::UserId;
use emsg_store::audit::{self, Actor};
use emsg_store::connections::{self, Authorization, ConnectionKey, Tokens};
use emsg_store::db::Pool;
use emsg_store::messages::{self, Message, MessageEvent};
use emsg_store::users::{self, Role};
use emsg_test_db::TestDb;
pub use emsg_testkit::log::LogBuffer;
use emsg_testkit::mock::{MockResponse, MockServer, RecordedRequest};
use emsg_webapps::MessageTemplates;

pub const VAT: &str = "HMRC VAT sandbox";
pub const TOKEN_PATH: &str = "/oauth/token";
pub const CLIENT_ID: &str = "vat-sandbox-client";
pub const CLIENT_SECRET: &str = "vat-sandbox-secret-Qx7";
pub const VRN: &str = "123456789";
pub const DEVICE_ID: &str = "beec798b-b366-47fa-b1f8-92cede14a1ce";

/// Every secret a scenario hands out; none may show anywhere.
pub const SECRETS: &[&str] = &[
    CLIENT_SECRET,
    "access-token-1",
    "access-token-2",
    "refresh-token-1",
    "refresh-token-2",
    "authorization-code-1",
    "idporten-access-1",
    "altinn-token-1",
];

pub struct Env {
    pub db: TestDb,
    pub pool: Pool,
    pub engine: Engine,
    pub messenger: Messenger,
    pub processor: Processor,
    pub mock: MockServer,
    pub ring: Arc<KeyRing>,
    pub alice: UserId,
    pub bob: UserId,
    pub log: LogBuffer,
}

/// The shipped web-apps.yaml with every HMRC sandbox and Norwegian test host pointed at `mock`.
pub fn shipped_file_on(mock: &MockServer) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("web-apps.yaml")).expect("web-apps.yaml");
    let base = mock.url("");
    let base = base.trim_end_matches('/');
    text.replace("https://test-api.service.hmrc.gov.uk", base)
        .replace("https://test-www.tax.service.gov.uk", base)
        .replace("https://idporten-api-sbstest.sits.no", base)
        .replace("https://skd.apps.tt02.altinn.no", base)
        .replace("https://test.idporten.no", base)
        .replace("https://login.test.idporten.no", base)
        .replace("https://platform.tt02.altinn.no", base)
}

pub fn templates() -> MessageTemplates {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    MessageTemplates::new(Some(root.join("templates").join("messages")))
}

pub fn run<S>(db: TestDb, scenario: S)
where
    S: AsyncFnOnce(&Env) -> anyhow::Result<()>,
{
    run_with(db, "", scenario);
}

/// [`run`] with more web services and processings in the shipped web-apps.yaml: `extra` is
/// list items (`  - name: …`) of web services, then a line `processings:`, then list items of
/// processings.
pub fn run_with<S>(db: TestDb, extra: &str, scenario: S)
where
    S: AsyncFnOnce(&Env) -> anyhow::Result<()>,
{
    let log = LogBuffer::default();
    let _guard = log.capture_this_thread();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let env = Env::start(db, log, extra).await.expect("the world starts");
        if let Err(error) = scenario(&env).await {
            panic!("{error:#}");
        }
        env.assert_no_leaks();
    });
}

impl Env {
    async fn start(db: TestDb, log: LogBuffer, extra: &str) -> anyhow::Result<Env> {
        let mock = MockServer::start().await?;
        let pool = emsg_store::db::pool(db.url(), 8)?;
        let ring = Arc::new(KeyRing::new(MasterKey::generate()));
        let (alice, bob) = {
            let mut conn = pool.get()?;
            let (services, processings) =
                extra.split_once("\nprocessings:\n").unwrap_or((extra, ""));
            let shipped = shipped_file_on(&mock);
            let (head, tail) = shipped
                .split_once("\nprocessings:\n")
                .expect("the shipped file has processings");
            let file = format!("{head}\n{services}\nprocessings:\n{tail}\n{processings}");
            let parsed = emsg_webapps::parse_with("web-apps.yaml", &file, &templates())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let env = |var: &str| match var {
                "HMRC_VAT_SANDBOX_CLIENT_ID" => Some(CLIENT_ID.to_owned()),
                "HMRC_VAT_SANDBOX_CLIENT_SECRET" => Some(CLIENT_SECRET.to_owned()),
                _ => None,
            };
            let ctx = emsg_store::import::ImportContext::command_line(
                &env,
                emsg_webapps::UrlRules {
                    allow_loopback: true,
                },
            );
            emsg_store::import::import(&mut conn, &ring, &parsed, &ctx, &Actor::Operator, false)?;
            let password = Secret::new("a long enough password");
            let alice = UserId::new(users::add(&mut conn, "alice", Role::Finance, &password)?.id);
            let bob = UserId::new(users::add(&mut conn, "bob", Role::Finance, &password)?.id);
            (alice, bob)
        };
        let config = EngineConfig {
            retry: RetryPolicy {
                attempts: 2,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(20),
            },
            http_timeout: Duration::from_millis(800),
            // The stand-ins listen on loopback.
            urls: emsg_webapps::UrlRules {
                allow_loopback: true,
            },
            ..EngineConfig::default()
        };
        let engine = Engine::new(pool.clone(), Arc::clone(&ring), config)?;
        let vendor = Vendor {
            public_ip: Some(IpAddr::from([203, 0, 113, 6])),
            ..Vendor::default()
        };
        let messenger = Messenger::new(engine.clone(), pool.clone(), vendor);
        let processor = Processor::new(messenger.clone(), "test-node");
        Ok(Env {
            processor,
            db,
            pool,
            engine,
            messenger,
            mock,
            ring,
            alice,
            bob,
            log,
        })
    }

    /// Connects HMRC VAT sandbox: get code, callback, obtain token (access-token-1).
    pub async fn connect(&self) {
        self.mock
            .on("POST", TOKEN_PATH)
            .respond(MockResponse::token(
                "access-token-1",
                Some("refresh-token-1"),
                Some(14_400),
            ))
            .mount();
        let start = self
            .engine
            .get_authorization_code(VAT, None, self.alice, CodeRequest::default())
            .await
            .expect("get code");
        let url = url::Url::parse(&start.url).expect("url");
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .expect("state");
        self.engine
            .callback(
                self.alice,
                CallbackParams {
                    state,
                    code: Some(Secret::new("authorization-code-1")),
                    ..CallbackParams::default()
                },
            )
            .await
            .expect("callback");
        self.engine
            .obtain_access_token(VAT, None, self.alice, None)
            .await
            .expect("obtain token");
    }

    /// Stores a connection of `app` for `user` as if authorized an hour ago, valid for an hour.
    pub fn seed_connection(&self, app: &str, user: UserId, access_token: &str) {
        let mut conn = self.pool.get().expect("conn");
        let record = emsg_store::web_applications::get(&mut conn, app).expect("record");
        let key = ConnectionKey::new(record.id, "default", record.user_specific, Some(user));
        let now = emsg_store::now();
        connections::store_authorization(
            &mut conn,
            &self.ring,
            &key,
            &Tokens {
                access_token: Secret::new(access_token),
                refresh_token: None,
                token_type: "Bearer".to_owned(),
                granted_scope: Some(record.scope.clone()),
                access_expires_at: Some(now + 3600),
            },
            &Authorization {
                authorized_by: Some(user),
                authorized_at: now - 3600,
                authorization_expires_at: None,
                taxpayer_id: None,
            },
            now,
        )
        .expect("seeded");
    }

    /// What the admin page reports for alice's browser, as HMRC's WEB_APP_VIA_SERVER needs.
    pub fn web_origin(&self) -> Origin {
        let browser = BrowserData::from_json(
            r#"{"screens":[{"width":1920,"height":1080,"scaling_factor":1,"colour_depth":24},
                {"width":2560,"height":1440,"scaling_factor":1.25,"colour_depth":30}],
               "window":{"width":1256,"height":803},"timezone":"UTC+01:00",
               "user_agent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"}"#,
        )
        .expect("browser data");
        Origin::WebAppViaServer(WebClient {
            browser,
            device_id: Some(DEVICE_ID.to_owned()),
            public_ip: IpAddr::from([198, 51, 100, 7]),
            public_port: Some(53_124),
            ip_seen_at_ms: 1_795_000_000_123,
            forwarded: vec![Hop {
                by: IpAddr::from([203, 0, 113, 6]),
                for_: IpAddr::from([198, 51, 100, 7]),
            }],
            user_name: "alice".to_owned(),
        })
    }

    pub fn request(&self, service: &str, fields: &[(&str, &str)]) -> SendRequest {
        SendRequest {
            service: service.to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            company: None,
            user: Some(self.alice),
            origin: self.web_origin(),
            idempotency_key: None,
        }
    }

    /// API calls the stand-in received (token requests aside).
    pub fn api_calls(&self) -> Vec<RecordedRequest> {
        self.mock
            .requests()
            .into_iter()
            .filter(|r| r.path != TOKEN_PATH)
            .collect()
    }

    pub fn refreshes(&self) -> usize {
        self.mock
            .requests()
            .iter()
            .filter(|r| {
                r.path == TOKEN_PATH
                    && r.form()
                        .iter()
                        .any(|(k, v)| k == "grant_type" && v == "refresh_token")
            })
            .count()
    }

    pub fn message(&self, id: i64) -> Message {
        let mut conn = self.pool.get().expect("conn");
        messages::get(&mut conn, id).expect("read").expect("exists")
    }

    pub fn events(&self, id: i64) -> Vec<MessageEvent> {
        let mut conn = self.pool.get().expect("conn");
        messages::events(&mut conn, id).expect("events")
    }

    pub fn message_count(&self) -> usize {
        let mut conn = self.pool.get().expect("conn");
        messages::search(
            &mut conn,
            &messages::MessageFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .expect("search")
        .len()
    }

    /// No secret in any stored message, event, audit entry or log line.
    pub fn assert_no_leaks(&self) {
        let mut conn = self.pool.get().expect("conn");
        let mut places: Vec<(String, String)> = Vec::new();
        let all = messages::search(
            &mut conn,
            &messages::MessageFilter {
                limit: 500,
                ..Default::default()
            },
        )
        .expect("messages");
        for message in all {
            let events = messages::events(&mut conn, message.id).expect("events");
            places.push((
                format!("message {}", message.id),
                format!("{message:?} {events:?}"),
            ));
        }
        for entry in audit::recent(&mut conn, 1000).expect("audit") {
            places.push((format!("audit entry {}", entry.id), format!("{entry:?}")));
        }
        places.push(("the tracing output".to_owned(), self.log.text()));
        for (place, text) in places {
            for secret in SECRETS {
                assert!(
                    !text.contains(secret),
                    "{place} shows the secret {secret}: {text}"
                );
            }
        }
    }
}
