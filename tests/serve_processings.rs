//! Processings through two running `emsg serve` nodes on one database: 500 three-step messages
//! (a safe check, a filing that changes something at the provider, a safe receipt), one node
//! SIGKILLed halfway. Every message ends Completed — where the killed node's filing had left
//! without its answer being recorded, through the step's reconcile request — and the stand-in,
//! which remembers what was filed, counts exactly one filing per message.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use emsg_store::schema::messages;
use emsg_test_db::{Backend, TestDb, on_both_backends};
use emsg_testkit::filing_desk::FilingDesk;
use support::*;

const APP: &str = "Filing desk";
const PASSWORD: &str = "a long enough password";
const MESSAGES: usize = 500;

fn file(desk: &FilingDesk) -> String {
    let base = desk.base_url();
    format!(
        r#"web_applications:
  - name: {APP}
    base_url: {base}
    authorization_url: {base}/authorize
    token_url: {base}/token
    redirect_url: http://127.0.0.1:9/oauth/callback
    client_id: desk-client
    client_secret: desk-secret-never-shown
    scope: write:filings
web_services:
  - name: Desk check
    web_application: {APP}
    method: GET
    url: "/desk/{{{{reference}}}}/check"
    fields:
      - {{name: reference, type: text, max_chars: 40}}
  - name: Desk file
    web_application: {APP}
    method: POST
    url: "/desk/{{{{reference}}}}/file"
    success_statuses: [201]
    fields:
      - {{name: reference, type: text, max_chars: 40}}
  - name: Desk filed
    web_application: {APP}
    method: GET
    url: "/desk/{{{{reference}}}}/filed"
    fields:
      - {{name: reference, type: text, max_chars: 40}}
  - name: Desk receipt
    web_application: {APP}
    method: GET
    url: "/desk/{{{{reference}}}}/receipt"
    fields:
      - {{name: reference, type: text, max_chars: 40}}
processings:
  - name: Desk filing
    steps:
      - name: Check
        request: Desk check
      - name: File
        request: Desk file
        extract:
          receipt: {{json: /receipt}}
        reconcile:
          request: Desk filed
          done_when: {{status: 200}}
          extract:
            receipt: {{json: /receipt}}
      - name: Receipt
        request: Desk receipt
"#
    )
}

fn statuses(db: &TestDb) -> Vec<String> {
    messages::table
        .select(messages::status)
        .load(&mut db.connect())
        .unwrap()
}

fn two_nodes_one_killed_halfway_file_every_message_once(backend: Backend) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let desk = runtime.block_on(FilingDesk::start()).unwrap();
    let emsg = Emsg::new(TestDb::new(backend));
    let apps = emsg.write("apps.yaml", &file(&desk));
    emsg.run(&["import", apps.to_str().unwrap()]).ok();
    add_user(&emsg, "fiona", "finance", PASSWORD);
    let state = get_code_state(&emsg, APP, "fiona");
    emsg.run(&[
        "auth", "callback", "--state", &state, "--code", "code-0", "--user", "fiona",
    ])
    .ok();
    emsg.run(&["auth", "obtain-token", APP, "--user", "fiona"])
        .ok();

    // A short lease, so that the survivor takes the dead node's steps within seconds.
    let lease = ["--step-lease", "3s"];
    let mut doomed = serve_web(&emsg, "127.0.0.1:0", &apps, &lease);
    let survivor = serve_web(&emsg, "127.0.0.1:0", &apps, &lease);

    runtime.block_on(async {
        let browser = Arc::new(Browser::new(&survivor));
        assert_eq!(browser.log_in("fiona", PASSWORD).await.status, 303);
        let csrf = browser.csrf().await;
        let mut starts = tokio::task::JoinSet::new();
        for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(MESSAGES / 10) {
            let (browser, csrf, chunk) = (Arc::clone(&browser), csrf.clone(), chunk.to_vec());
            starts.spawn(async move {
                for n in chunk {
                    let answer = browser
                        .post_json(
                            "/api/v1/processings/Desk%20filing/messages",
                            Some(&csrf),
                            &serde_json::json!({"fields": {"reference": format!("ref-{n}")}}),
                        )
                        .await;
                    assert_eq!(answer.status, 202, "{}", answer.body);
                }
            });
        }
        while let Some(done) = starts.join_next().await {
            done.unwrap();
        }
    });

    // Halfway, the first node dies without a word.
    let started = Instant::now();
    loop {
        let completed = statuses(&emsg.db)
            .iter()
            .filter(|s| *s == "completed")
            .count();
        if completed >= MESSAGES / 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "half the messages did not complete in 2 minutes ({completed} did)\n{}",
            doomed.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    doomed.kill();

    let started = Instant::now();
    loop {
        let all = statuses(&emsg.db);
        if all.iter().all(|s| s == "completed") {
            break;
        }
        if started.elapsed() > Duration::from_secs(180) {
            let stuck: Vec<(String, Option<String>)> = messages::table
                .filter(messages::status.ne("completed"))
                .select((messages::status, messages::error_message))
                .limit(5)
                .load(&mut emsg.db.connect())
                .unwrap();
            panic!(
                "{} messages did not complete, e.g. {stuck:?}\nsurvivor:\n{}",
                all.iter().filter(|s| *s != "completed").count(),
                survivor.stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    // Every node reports the messages by status and the queue from the database, and its own
    // step latency.
    let metrics = runtime.block_on(async { Browser::new(&survivor).get("/metrics").await });
    assert!(
        metrics.body.contains(&format!(
            "emsg_messages{{status=\"completed\"}} {MESSAGES}\n"
        )),
        "{}",
        metrics.body
    );
    assert!(
        metrics.body.contains("emsg_steps_due 0\n"),
        "{}",
        metrics.body
    );
    assert!(
        !metrics
            .body
            .contains("emsg_step_duration_seconds_count 0\n")
    );
    // What the kill left behind: steps the survivor reconciled or took over.
    eprintln!(
        "{backend:?}: {} reconcile requests, {} checks, {} receipts for {MESSAGES} messages",
        desk.count("GET filed"),
        desk.count("GET check"),
        desk.count("GET receipt")
    );
    let filings = desk.filings();
    assert_eq!(filings.len(), MESSAGES, "every message filed");
    let twice: Vec<_> = filings.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "filed more than once: {twice:?}");
    assert_eq!(
        desk.count("POST file"),
        MESSAGES as u64,
        "no filing request sent twice"
    );
    // Every message kept its receipt, read from the filing's answer or its reconcile.
    let extracted: Vec<String> = messages::table
        .select(messages::extracted)
        .load(&mut emsg.db.connect())
        .unwrap();
    assert!(extracted.iter().all(|e| e.contains("\"receipt\":\"R-ref-")));
    assert_no_secret(
        &format!("{}{}", survivor.stderr(), doomed.stderr()),
        &["desk-secret-never-shown", "access-desk", "refresh-desk"],
        "the nodes' logs",
    );
}

on_both_backends!(two_nodes_one_killed_halfway_file_every_message_once);
