//! Log-in sessions, kept in the database (`emsg_store::sessions`): a random 256-bit id in the
//! `emsg_session` cookie maps to the user, their role (as the users table says now), the
//! session's anti-forgery token and a one-shot flash message. Only the id's SHA-256 is stored,
//! so sessions survive a restart and every `serve` node on the database accepts them. A session
//! ends after [`IDLE_EXPIRY`] without a request and, however busy, after its absolute lifetime
//! ([`DEFAULT_LIFETIME`] unless `--session-lifetime` says otherwise).
//!
//! The sessions' table is read and written here rather than through a use case: a session and
//! its cookie are how this face recognises a person, which the command line and an API key do
//! not share.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emsg_store::UserId;
use emsg_store::sessions::Limits;
use emsg_use_cases::users::{Role, User};
use serde::Serialize;

use crate::error::WebError;

pub const COOKIE: &str = "emsg_session";
/// Sessions end after this long without a request.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(8 * 3600);
/// Sessions end this long after the log-in, however busy: a stolen cookie does not live for ever.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// A message shown once on the next page, after an action redirected there.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Flash {
    /// `success` or `error`.
    pub kind: &'static str,
    pub text: String,
}

impl Flash {
    pub fn success(text: impl Into<String>) -> Self {
        Self {
            kind: "success",
            text: text.into(),
        }
    }

    pub fn error(text: impl Into<String>) -> Self {
        Self {
            kind: "error",
            text: text.into(),
        }
    }
}

/// What a handler knows about the logged-in user.
#[derive(Clone)]
pub struct SessionUser {
    pub session_id: String,
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub csrf: String,
    /// The one-shot message for this page view (taken when a page was asked for).
    pub flash: Option<Flash>,
    /// Authenticated by `Authorization: Bearer` with an API key: no session, no CSRF token
    /// needed (a key is never sent by a browser on its own).
    pub via_api_key: bool,
    /// The generation of the record names read with the session (none for an API key).
    pub names_generation: Option<i64>,
    /// Logged in with a one-time password: only the password change is open until it is done.
    pub must_change_password: bool,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    /// Who acts, for the use cases.
    pub fn actor(&self) -> emsg_use_cases::Actor {
        emsg_use_cases::Actor::user(self.id, self.name.clone(), self.role)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }

    /// Administrators only: record editing, client secrets, import, users.
    pub fn require_admin(&self, what: &str) -> Result<(), WebError> {
        Ok(self.actor().require_admin(what)?)
    }

    /// Both roles run the actions.
    pub fn require_actions(&self) -> Result<(), WebError> {
        Ok(self.actor().require_actions()?)
    }

    /// The user of an API key: acts with the key's user's role, has no session.
    pub fn from_api_key(user: User) -> Self {
        Self {
            session_id: String::new(),
            id: UserId::new(user.id),
            name: user.name,
            role: user.role,
            csrf: String::new(),
            flash: None,
            via_api_key: true,
            names_generation: None,
            must_change_password: user.must_change_password,
        }
    }

    /// Compares a submitted anti-forgery token with the session's, in constant time.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
        if self.via_api_key {
            return Ok(());
        }
        match submitted {
            Some(token) if constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) => Ok(()),
            _ => Err(WebError::Csrf),
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| WebError::Internal(format!("no randomness for a token: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// [`Sessions::get`] on a connection the caller already holds, for handlers that read the
/// session and their page's data in one database task.
pub fn find(
    conn: &mut emsg_store::db::DbConnection,
    id: &str,
    limits: Limits,
    take_flash: bool,
) -> Result<Option<SessionUser>, WebError> {
    let found = emsg_store::sessions::find(conn, id, limits, emsg_store::now(), take_flash)?;
    Ok(found.map(|s| SessionUser {
        session_id: id.to_owned(),
        id: UserId::new(s.user.id),
        name: s.user.name,
        role: s.user.role,
        csrf: s.csrf,
        flash: s.flash.map(|(kind, text)| Flash {
            kind: if kind == "success" {
                "success"
            } else {
                "error"
            },
            text,
        }),
        via_api_key: false,
        names_generation: Some(s.names_generation),
        must_change_password: s.user.must_change_password,
    }))
}

fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// The sessions table, reached off the async workers.
pub struct Sessions {
    db: emsg_use_cases::Context,
    limits: Limits,
}

impl Sessions {
    pub(crate) fn new(db: emsg_use_cases::Context, lifetime: Duration) -> Self {
        Self {
            db,
            limits: Limits {
                idle: secs(IDLE_EXPIRY),
                lifetime: secs(lifetime),
            },
        }
    }

    /// How long sessions live (idle and absolute).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A new session for `user`; returns its id (the cookie value). Sessions idle for longer
    /// than [`IDLE_EXPIRY`] or older than their lifetime are swept here.
    pub async fn create(&self, user: &User) -> Result<String, WebError> {
        let id = random_token()?;
        let csrf = random_token()?;
        let (key, user_id, limits) = (id.clone(), user.id, self.limits);
        self.db
            .run::<_, WebError, _>(move |conn| {
                let now = emsg_store::now();
                emsg_store::sessions::create(conn, &key, user_id, &csrf, now)?;
                // Logins are rare next to page views (and cost an argon2 check): sweeping here, by
                // the indexed `last_seen_at`, keeps the table to the live sessions.
                emsg_store::sessions::delete_expired(conn, limits, now)?;
                Ok(())
            })
            .await?;
        Ok(id)
    }

    /// The live session with this id, touched; an idle one is ended here. With `take_flash`
    /// (a page view), its one-shot message comes along and is cleared.
    pub async fn get(&self, id: &str, take_flash: bool) -> Result<Option<SessionUser>, WebError> {
        let (key, limits) = (id.to_owned(), self.limits);
        self.db
            .run::<_, WebError, _>(move |conn| find(conn, &key, limits, take_flash))
            .await
    }

    /// Leaves a message for the session's next page. A failure only loses the message.
    pub async fn set_flash(&self, id: &str, flash: Flash) {
        if id.is_empty() {
            return;
        }
        let key = id.to_owned();
        let result = self
            .db
            .run::<_, WebError, _>(move |conn| {
                Ok(emsg_store::sessions::set_flash(
                    conn,
                    &key,
                    flash.kind,
                    &flash.text,
                )?)
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "a flash message was lost");
        }
    }

    /// Ends a session (logout); every node sees it at once.
    pub async fn remove(&self, id: &str) -> Result<(), WebError> {
        let key = id.to_owned();
        self.db
            .run::<_, WebError, _>(move |conn| Ok(emsg_store::sessions::delete(conn, &key)?))
            .await
    }
}
