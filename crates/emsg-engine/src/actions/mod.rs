//! One module per action of the Web applications page.

pub mod callback;
pub mod disconnect;
pub mod exchange;
pub mod get_code;
pub mod obtain_token;
pub mod refresh;
pub mod rejected;
pub mod status;
pub mod valid_token;

use emsg_store::connections::ConnectionKey;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_store::{UserId, WebApplicationId};

use crate::Engine;
use crate::error::EngineError;

/// Who asks for an action and so, on user-specific records, whose connection it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    /// A user on a page or the API: about their own connection (the company's, on records that
    /// are not user-specific).
    User(UserId),
    /// The operator at the command line: about the named user's connection, or the company's.
    Operator { for_user: Option<UserId> },
}

impl Acting {
    /// The user the audit log names as having acted; none for the operator.
    pub fn actor(self) -> Option<UserId> {
        match self {
            Self::User(id) => Some(id),
            Self::Operator { .. } => None,
        }
    }

    /// The user whose connection is asked for, when one is named.
    fn named_user(self) -> Option<UserId> {
        match self {
            Self::User(id) | Self::Operator { for_user: Some(id) } => Some(id),
            Self::Operator { for_user: None } => None,
        }
    }
}

impl Engine {
    pub(crate) async fn record(&self, name: &str) -> Result<WebApplication, EngineError> {
        let name = name.to_owned();
        self.db(move |conn, _| Ok(records::get(conn, &name)?)).await
    }

    pub(crate) async fn record_by_id(
        &self,
        id: WebApplicationId,
    ) -> Result<WebApplication, EngineError> {
        self.db(move |conn, _| {
            records::by_id(conn, id)?
                .ok_or_else(|| EngineError::Internal(format!("web application {id} vanished")))
        })
        .await
    }

    pub(crate) fn company<'a>(&'a self, company: Option<&'a str>) -> &'a str {
        company.unwrap_or(&self.inner.config.default_company)
    }

    /// Who an action on `record` is for: the named or acting user on user-specific records
    /// (refused when nobody is named), and on the others the user who acts, if any (the
    /// connection is the company's; [`Engine::key`] decides that).
    pub(crate) fn subject(
        record: &WebApplication,
        acting: Acting,
    ) -> Result<Option<UserId>, EngineError> {
        match (record.user_specific, acting.named_user()) {
            (false, user) => Ok(user),
            (true, Some(user)) => Ok(Some(user)),
            (true, None) => Err(EngineError::Refused(format!(
                "{} is user-specific: say whose connection is meant (--user NAME)",
                record.name
            ))),
        }
    }

    /// The connection `user` acts on: their own on a user-specific record, the company's
    /// otherwise (and when nobody is named).
    pub(crate) fn key(
        record: &WebApplication,
        company: &str,
        user: Option<UserId>,
    ) -> ConnectionKey {
        ConnectionKey::new(record.id, company, record.user_specific, user)
    }
}

pub(crate) fn now() -> i64 {
    emsg_store::now()
}
