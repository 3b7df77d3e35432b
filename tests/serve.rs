//! `emsg serve` on first run: database, key, import, first administrator, pages.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use emsg_test_db::{Backend, TestDb, on_both_backends};
use support::*;

struct Server {
    child: Child,
    address: String,
    stdout: String,
    logs: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(emsg: &Emsg, secret_env: Option<(&str, &str)>) -> Server {
    let mut command = emsg.command(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--web-apps",
        shipped_file().to_str().unwrap(),
    ]);
    if let Some((key, value)) = secret_env {
        command.env(key, value);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (sender, logs) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let (out_sender, out_lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if out_sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let address = loop {
        let line = logs
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start:\n{}", seen.join("\n")));
        if let Some(rest) = line.split("open http://").nth(1) {
            break rest
                .trim_end_matches('/')
                .split('/')
                .next()
                .unwrap()
                .to_owned();
        }
        seen.push(line);
    };
    emsg.record(&seen.join("\n"));
    // The first-run lines are printed before the server listens.
    let mut stdout = String::new();
    while let Ok(line) = out_lines.recv_timeout(Duration::from_millis(300)) {
        stdout.push_str(&line);
        stdout.push('\n');
    }
    Server {
        child,
        address,
        stdout,
        logs,
    }
}

fn get(server: &Server, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        server.address
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn first_run_sets_everything_up_and_serves_the_list(backend: Backend) {
    let secret = "serve-needle-secret-5d1f";
    let emsg = Emsg::new(TestDb::new(backend));
    let server = start(&emsg, Some(("HMRC_VAT_SANDBOX_CLIENT_SECRET", secret)));
    assert!(
        server
            .stdout
            .contains("created the first administrator `admin`; one-time password: "),
        "{}",
        server.stdout
    );
    let password = server
        .stdout
        .split("one-time password: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(password.len() >= 20);

    assert_eq!(get(&server, "/healthz"), (200, "ok\n".to_owned()));
    let (status, metrics) = get(&server, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("emsg_connections{status=\"connected\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("# TYPE emsg_refresh_duration_seconds histogram"),
        "{metrics}"
    );
    assert_eq!(get(&server, "/readyz").0, 200);
    // Pages and the API need a log-in: with the one-time password, they answer.
    assert_eq!(get(&server, "/web-applications").0, 303);
    assert_eq!(get(&server, "/api/v1/web-applications").0, 401);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let browser = Browser::at(format!("http://{}", server.address));
    let (page, one) = runtime.block_on(async {
        assert_eq!(
            browser
                .log_in_with_one_time_password("admin", &password, "admin chose this password")
                .await
                .status,
            303
        );
        let page = browser.get("/web-applications").await;
        assert_eq!(page.status, 200);
        for name in ["HMRC VAT sandbox", "NO ID-Porten test", "NO Altinn"] {
            assert!(page.body.contains(name), "the page lists {name}");
        }
        assert!(page.body.contains("<dt>Client secret</dt>"));
        let json = browser.get("/api/v1/web-applications").await;
        assert_eq!(json.status, 200);
        let json: serde_json::Value =
            serde_json::from_str(json.body.trim()).unwrap_or_else(|e| panic!("{e}: {}", json.body));
        assert_eq!(json["web_applications"].as_array().unwrap().len(), 8);
        let one = browser
            .get("/api/v1/web-applications/HMRC%20VAT%20sandbox")
            .await;
        assert_eq!(one.status, 200, "{}", one.body);
        assert!(
            one.body.contains("\"client_secret\":\"set\""),
            "{}",
            one.body
        );
        let missing = browser.get("/api/v1/web-applications/Nope").await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("not_found"));
        (page.body, one.body)
    });
    assert_eq!(get(&server, "/static/emsg.css").0, 200);

    let logs: Vec<String> = server.logs.try_iter().collect();
    emsg.record(&logs.join("\n"));
    emsg.record(&page);
    emsg.record(&one);
    assert_no_secret(
        &emsg.transcript(),
        &[secret, &password],
        "pages, JSON and logs",
    );
    drop(server);

    // A second start neither re-imports nor creates another administrator.
    let again = start(&emsg, None);
    assert!(
        !again.stdout.contains("created the first administrator"),
        "{}",
        again.stdout
    );
    assert_eq!(get(&again, "/healthz").0, 200);
}

on_both_backends!(first_run_sets_everything_up_and_serves_the_list);

#[test]
fn a_redirected_log_has_no_colour_codes_and_json_logs_are_one_object_a_line() {
    let shipped = shipped_file();
    let plain = Emsg::new(TestDb::new(Backend::Sqlite));
    let server = serve_web(&plain, "127.0.0.1:0", &shipped, &[]);
    let log = server.stderr();
    assert!(log.contains("emsg is serving"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no terminal escapes in a redirected log: {log:?}"
    );
    drop(server);

    let json = Emsg::new(TestDb::new(Backend::Sqlite)).with_env("EMSG_LOG_FORMAT", "json");
    let server = serve_web(&json, "127.0.0.1:0", &shipped, &[]);
    let log = server.stderr();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        let object: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(
            object["level"].is_string() && object["fields"]["message"].is_string(),
            "{line}"
        );
    }
    drop(server);

    let wrong = Emsg::new(TestDb::new(Backend::Sqlite)).with_env("EMSG_LOG_FORMAT", "xml");
    let refused = wrong.run(&["apps", "list"]);
    assert_ne!(refused.code, 0);
    assert!(
        refused
            .stderr
            .contains("EMSG_LOG_FORMAT=xml is not a log format"),
        "{}",
        refused.stderr
    );
}

fn two_nodes_starting_together_on_an_empty_database_set_it_up_once(backend: Backend) {
    let emsg = Emsg::new(TestDb::empty(backend));
    let shipped = shipped_file();
    let servers: Vec<WebServer> = std::thread::scope(|scope| {
        let starts: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| serve_web(&emsg, "127.0.0.1:0", &shipped, &[])))
            .collect();
        starts.into_iter().map(|s| s.join().unwrap()).collect()
    });
    for server in &servers {
        let mut stream = TcpStream::connect(&server.address).unwrap();
        write!(
            stream,
            "GET /login HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.address
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "{}\n{}",
            response,
            server.stderr()
        );
    }
    let mut conn = emsg.db.connect();
    assert_eq!(
        emsg_store::users::count(&mut conn).unwrap(),
        1,
        "one first administrator"
    );
    let records = emsg_store::web_applications::list(&mut conn).unwrap();
    let mut names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), records.len(), "each record imported once");
    assert!(!records.is_empty());
    let logs = format!("{}{}", servers[0].stderr(), servers[1].stderr());
    assert!(!logs.contains("ERROR"), "{logs}");
}

on_both_backends!(two_nodes_starting_together_on_an_empty_database_set_it_up_once);
