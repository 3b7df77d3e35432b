//! What every use case is given: the database (reached off the async workers through the
//! process's [`Gateway`]), the key ring, the engine, the messenger and the company; and who asks.

use std::sync::Arc;

use emsg_engine::Engine;
use emsg_messages::Messenger;
use emsg_seal::{KeyRing, SharedKeyRing};
use emsg_store::UserId;
use emsg_store::db::{Gateway, PooledConnection};
use emsg_store::users::Role;

use crate::error::UseCaseError;

/// Who runs a use case: a logged-in user, an API key's user, or the operator at the command
/// line ([`Actor::operator`]), who is no user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// None for the operator.
    pub(crate) user: Option<UserId>,
    pub name: String,
    pub role: Role,
}

impl Actor {
    /// A user who logged in (or whose API key was shown).
    pub fn user(id: UserId, name: String, role: Role) -> Self {
        Self {
            user: Some(id),
            name,
            role,
        }
    }

    /// The user who acts; none for the operator.
    pub fn user_id(&self) -> Option<UserId> {
        self.user
    }

    /// The user who acts, for what only a user can do (their own connections and password,
    /// a sign-in they started).
    pub fn require_user(&self, what: &str) -> Result<UserId, UseCaseError> {
        self.user.ok_or_else(|| {
            UseCaseError::Forbidden(format!(
                "{what} is done by a user who logged in; the operator at the command line is no user"
            ))
        })
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Administrator
    }

    /// Administrators only: record editing, client secrets, import, users.
    pub fn require_admin(&self, what: &str) -> Result<(), UseCaseError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(UseCaseError::Forbidden(format!(
                "{what} is for administrators; you are logged in as {} ({}). Ask an administrator",
                self.name, self.role
            )))
        }
    }

    /// Both roles run the actions and send messages; the check is here so that a third role
    /// must be placed.
    pub fn require_actions(&self) -> Result<(), UseCaseError> {
        match self.role {
            Role::Administrator | Role::Finance => Ok(()),
        }
    }
}

#[derive(Clone)]
pub struct Context {
    db: Gateway,
    ring: SharedKeyRing,
    engine: Engine,
    messenger: Option<Messenger>,
}

impl Context {
    /// `db` is a pool, or the gateway the engine and the messenger of this process share.
    pub fn new(db: impl Into<Gateway>, ring: impl Into<SharedKeyRing>, engine: Engine) -> Self {
        Self {
            db: db.into(),
            ring: ring.into(),
            engine,
            messenger: None,
        }
    }

    /// The messenger messages are sent with; made once by `emsg serve`.
    pub fn with_messenger(mut self, messenger: Messenger) -> Self {
        self.messenger = Some(messenger);
        self
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The company this server acts for.
    pub fn company(&self) -> &str {
        &self.engine.config().default_company
    }

    /// The key ring that a rotation run by this process changes.
    pub(crate) fn shared_ring(&self) -> &SharedKeyRing {
        &self.ring
    }

    /// The key ring as it is now (a rotation elsewhere may add keys while the server runs).
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.load()
    }

    pub fn messenger(&self) -> Result<&Messenger, UseCaseError> {
        self.messenger.as_ref().ok_or_else(|| {
            UseCaseError::Internal(
                "this server was started without electronic messages; start it with `emsg serve`"
                    .to_owned(),
            )
        })
    }

    /// Runs blocking database work on a pooled connection, off the async workers: a caller
    /// waits at the gateway for a permit, not on a blocking thread parked inside the pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<UseCaseError> + Send + 'static,
        F: FnOnce(&mut PooledConnection) -> Result<T, E> + Send + 'static,
    {
        // The gateway's own failures are use-case errors; the work's answer passes through.
        self.db
            .run(move |conn| Ok::<_, UseCaseError>(work(conn)))
            .await
            .map_err(E::from)?
    }
}
