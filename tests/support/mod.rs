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
