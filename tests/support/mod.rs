//! Runs the real `emsg` binary against a per-test database and keeps everything it printed,
//! so tests can search the whole transcript for secrets.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

use emsg_test_db::TestDb;

pub struct Emsg {
    pub db: TestDb,
    transcript: Mutex<String>,
    env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "emsg failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Emsg {
    pub fn new(db: TestDb) -> Self {
        Self {
            db,
            transcript: Mutex::new(String::new()),
            env: Vec::new(),
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn key_file(&self) -> PathBuf {
        self.db.dir().join("emsg.key")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.db.dir().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_emsg"));
        command
            .args(args)
            .env_remove("EMSG_MASTER_KEY")
            .env_remove("EMSG_PAGE_ENV_VARS")
            // The providers' stand-ins listen on loopback.
            .env("EMSG_ALLOW_LOOPBACK_URLS", "true")
            .env("EMSG_DATABASE_URL", self.db.url_string())
            .env("EMSG_KEY_FILE", self.key_file())
            .env("RUST_LOG", "debug")
            .env("NO_COLOR", "1")
            .current_dir(self.db.dir());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_command(self.command(args), None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Run {
        self.run_command(self.command(args), Some(stdin))
    }

    pub fn run_command(&self, mut command: Command, stdin: Option<&str>) -> Run {
        command.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("the emsg binary starts");
        if let Some(text) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().unwrap();
        let run = Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        };
        self.record(&run.stdout);
        self.record(&run.stderr);
        run
    }

    pub fn record(&self, text: &str) {
        self.transcript.lock().unwrap().push_str(text);
    }

    pub fn transcript(&self) -> String {
        self.transcript.lock().unwrap().clone()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn export(&self) -> String {
        self.run(&["export"]).ok().stdout
    }
}

pub fn shipped_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("web-apps.yaml")
}

/// Asserts that none of `secrets` occurs in `haystack`, naming the one that does.
pub fn assert_no_secret(haystack: &str, secrets: &[&str], place: &str) {
    for secret in secrets {
        assert!(
            !haystack.contains(secret),
            "{place} contains the secret {secret:?}"
        );
    }
}

/// Adds a user through the command line (before the server starts, so no first administrator
/// is created and no one-time password is printed).
pub fn add_user(emsg: &Emsg, name: &str, role: &str, password: &str) {
    emsg.run_with_stdin(
        &["users", "add", name, "--role", role, "--password-stdin"],
        &format!("{password}\n"),
    )
    .ok();
}

/// A free loopback port (for redirect URLs that must be known before the server starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `emsg serve` running in the background; every line it writes to standard error is kept.
pub struct WebServer {
    child: std::process::Child,
    pub address: String,
    stderr: std::sync::Arc<Mutex<String>>,
}

impl Drop for WebServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl WebServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Everything the server wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM, as a service manager stopping the server does.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM failed");
    }

    /// Sends SIGKILL, as a crash or an out-of-memory kill does, and reaps the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `limit` for the process to exit; `None` if it is still running.
    pub fn wait_exit(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// Starts `emsg serve --listen LISTEN --web-apps WEB_APPS EXTRA…` and waits until it listens.
pub fn serve_web(emsg: &Emsg, listen: &str, web_apps: &Path, extra: &[&str]) -> WebServer {
    use std::io::BufRead;
    let mut args = vec![
        "serve",
        "--listen",
        listen,
        "--web-apps",
        web_apps.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut child = emsg
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::sync::Arc::new(Mutex::new(String::new()));
    let (sender, lines) = std::sync::mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    let keep = stderr.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            keep.lock().unwrap().push_str(&format!("{line}\n"));
            let _ = sender.send(line);
        }
    });
    let address = loop {
        let line = lines
            .recv_timeout(std::time::Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start:\n{}", stderr.lock().unwrap()));
        if let Some(rest) = line.split("open http://").nth(1) {
            break rest
                .trim_end_matches('/')
                .split('/')
                .next()
                .unwrap()
                .to_owned();
        }
    };
    WebServer {
        child,
        address,
        stderr,
    }
}

/// What a browser gets back: status, `Location` (redirects are not followed), cookies set,
/// every header and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

/// A cookie-keeping HTTP client that records every body it receives.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    bodies: std::sync::Arc<Mutex<String>>,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl Browser {
    pub fn new(server: &WebServer) -> Self {
        Self::at(server.url(""))
    }

    /// A browser for the server at `base` (`http://127.0.0.1:PORT`).
    pub fn at(base: String) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Self {
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base,
            bodies: Default::default(),
            jar,
        }
    }

    /// Sets a cookie as a page's script would (`name=value; Path=/`).
    pub fn add_cookie(&self, name: &str, value: &str) {
        let url = reqwest::Url::parse(&self.base).unwrap();
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// Every body received so far.
    pub fn bodies(&self) -> String {
        self.bodies.lock().unwrap().clone()
    }

    fn absolute(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn answer(&self, response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();
        self.bodies.lock().unwrap().push_str(&body);
        Answer {
            status,
            location,
            set_cookies,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let response = self.client.get(self.absolute(path)).send().await.unwrap();
        self.answer(response).await
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .client
            .post(self.absolute(path))
            .form(form)
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }

    /// A form POST with extra request headers (as a reverse proxy would add).
    pub async fn post_form_with_headers(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(self.absolute(path)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.answer(response).await
    }

    /// A JSON API POST with an optional `X-CSRF-Token`.
    pub async fn post_json(
        &self,
        path: &str,
        csrf: Option<&str>,
        body: &serde_json::Value,
    ) -> Answer {
        self.post_json_with_headers(path, csrf, body, &[]).await
    }

    /// [`Browser::post_json`] with more headers.
    pub async fn post_json_with_headers(
        &self,
        path: &str,
        csrf: Option<&str>,
        body: &serde_json::Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(self.absolute(path)).json(body);
        if let Some(token) = csrf {
            request = request.header("x-csrf-token", token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.answer(response).await
    }

    /// Fills in and submits the log-in form.
    pub async fn log_in(&self, name: &str, password: &str) -> Answer {
        let form = self.get("/login").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let token = hidden_field(&form.body, "csrf");
        self.post_form(
            "/login",
            &[
                ("name", name),
                ("password", password),
                ("csrf", &token),
                ("next", ""),
            ],
        )
        .await
    }

    /// Logs in with a one-time password and chooses `new` on the Change password page, as
    /// every user given one must before any other page; the log-in's answer.
    pub async fn log_in_with_one_time_password(&self, name: &str, once: &str, new: &str) -> Answer {
        let logged_in = self.log_in(name, once).await;
        if logged_in.status == 303 {
            let form = self.get("/account/password").await;
            assert_eq!(form.status, 200, "{}", form.body);
            let csrf = hidden_field(&form.body, "csrf");
            let changed = self
                .post_form(
                    "/account/password",
                    &[
                        ("csrf", &csrf),
                        ("current_password", once),
                        ("new_password", new),
                        ("confirm_password", new),
                    ],
                )
                .await;
            assert_eq!(changed.status, 303, "{}", changed.body);
        }
        logged_in
    }

    /// The session's anti-forgery token, as the API hands it out.
    pub async fn csrf(&self) -> String {
        let session = self.get("/api/v1/session").await;
        assert_eq!(session.status, 200, "{}", session.body);
        let json: serde_json::Value = serde_json::from_str(&session.body).unwrap();
        json["csrf_token"].as_str().unwrap().to_owned()
    }
}

/// The value of the first hidden input named `name` in a page.
pub fn hidden_field(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    page.split(&marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no field {name} in:\n{page}"))
        // As a browser reads the attribute.
        .replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x60;", "`")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    /// A `multipart/form-data` POST: `(name, file name, value)` per field.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, Option<&str>, &str)],
    ) -> Answer {
        let boundary = "emsg-test-boundary-7f3a9c";
        let mut body = String::new();
        for (name, file, value) in fields {
            body.push_str(&format!("--{boundary}\r\n"));
            match file {
                Some(file) => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/yaml\r\n\r\n"
                )),
                None => body.push_str(&format!(
                    "Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )),
            }
            body.push_str(value);
            body.push_str("\r\n");
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let response = self
            .client
            .post(self.absolute(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        self.answer(response).await
    }
}

/// Starts an authorization of `app` for `user` on the command line; returns its `state`.
pub fn get_code_state(emsg: &Emsg, app: &str, user: &str) -> String {
    let url = emsg
        .run(&["auth", "get-code", app, "--user", user])
        .ok()
        .stdout;
    let url = url::Url::parse(url.trim()).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned()
}

/// Connects `app` for `user` on the command line: get-code, the callback with `code`,
/// obtain-token.
pub fn connect_on_the_command_line(emsg: &Emsg, app: &str, user: &str, code: &str) {
    let state = get_code_state(emsg, app, user);
    emsg.run(&[
        "auth", "callback", "--state", &state, "--code", code, "--user", user,
    ])
    .ok();
    emsg.run(&["auth", "obtain-token", app, "--user", user])
        .ok();
}
