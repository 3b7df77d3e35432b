//! Log-in sessions, held in this process's memory: a random 256-bit id in the `emsg_session`
//! cookie maps to the user, their role, the session's anti-forgery token and a one-shot flash
//! message. One node only: a restart logs everyone out, and several `serve` nodes behind one
//! balancer would need sticky sessions (the store has no sessions table yet).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use emsg_store::users::{Role, User};
use serde::Serialize;

use crate::error::WebError;

pub const COOKIE: &str = "emsg_session";
/// Sessions end after this long without a request.
pub const IDLE_EXPIRY: Duration = Duration::from_secs(8 * 3600);

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
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub csrf: String,
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
    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }

    /// Administrators only: record editing, client secrets, import, users.
    pub fn require_admin(&self, what: &str) -> Result<(), WebError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(WebError::Forbidden(format!(
                "{what} is for administrators; you are logged in as {} ({}). Ask an administrator",
                self.name, self.role
            )))
        }
    }

    /// Both roles run the actions; the check is here so that a third role must be placed.
    pub fn require_actions(&self) -> Result<(), WebError> {
        match self.role {
            Role::Administrator | Role::Finance => Ok(()),
        }
    }

    /// Compares a submitted anti-forgery token with the session's, in constant time.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), WebError> {
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

struct Session {
    user_id: i64,
    name: String,
    role: Role,
    csrf: String,
    last_seen: Instant,
    flash: Option<Flash>,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock cannot leave a session half-written: recover.
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session for `user`; returns its id (the cookie value).
    pub fn create(&self, user: &User) -> Result<String, WebError> {
        let id = random_token()?;
        let session = Session {
            user_id: user.id,
            name: user.name.clone(),
            role: user.role,
            csrf: random_token()?,
            last_seen: Instant::now(),
            flash: None,
        };
        let mut map = self.lock();
        if map.len() > 1_000 {
            map.retain(|_, s| s.last_seen.elapsed() < IDLE_EXPIRY);
        }
        map.insert(id.clone(), session);
        Ok(id)
    }

    /// The live session with this id, touched; an idle one is ended here.
    pub fn get(&self, id: &str) -> Option<SessionUser> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if session.last_seen.elapsed() >= IDLE_EXPIRY {
            map.remove(id);
            return None;
        }
        session.last_seen = Instant::now();
        Some(SessionUser {
            session_id: id.to_owned(),
            id: session.user_id,
            name: session.name.clone(),
            role: session.role,
            csrf: session.csrf.clone(),
        })
    }

    pub fn set_flash(&self, id: &str, flash: Flash) {
        if let Some(session) = self.lock().get_mut(id) {
            session.flash = Some(flash);
        }
    }

    pub fn take_flash(&self, id: &str) -> Option<Flash> {
        self.lock().get_mut(id).and_then(|s| s.flash.take())
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}
