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
    pub fn actor(self) -> Option<i64> {
        match self {
            Self::User(id) => Some(id.get()),
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

    /// Whose connection an action on `record` is about: the named or acting user's on
    /// user-specific records, the company's otherwise. The number is the one the engine's
    /// user-keyed calls take: the user's id, or that of the user who acts on a company's
    /// connection (their flows are their own), 0 when nobody is named.
    pub(crate) fn subject(record: &WebApplication, acting: Acting) -> Result<i64, EngineError> {
        match (record.user_specific, acting.named_user()) {
            (false, user) => Ok(user.map_or(0, UserId::get)),
            (true, Some(user)) => Ok(user.get()),
            (true, None) => Err(EngineError::Refused(format!(
                "{} is user-specific: say whose connection is meant (--user NAME)",
                record.name
            ))),
        }
    }

    /// `user` as the engine's user-keyed calls take it (0: nobody named).
    pub(crate) fn key(record: &WebApplication, company: &str, user: i64) -> ConnectionKey {
        let named = (user > 0).then_some(UserId::new(user));
        ConnectionKey::new(record.id, company, record.user_specific, named)
    }
}

pub(crate) fn now() -> i64 {
    emsg_store::now()
}
