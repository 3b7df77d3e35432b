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

use crate::Engine;
use crate::error::EngineError;

impl Engine {
    pub(crate) async fn record(&self, name: &str) -> Result<WebApplication, EngineError> {
        let name = name.to_owned();
        self.db(move |conn, _| Ok(records::get(conn, &name)?)).await
    }

    pub(crate) async fn record_by_id(&self, id: i64) -> Result<WebApplication, EngineError> {
        self.db(move |conn, _| {
            records::by_id(conn, id)?
                .ok_or_else(|| EngineError::Internal(format!("web application {id} vanished")))
        })
        .await
    }

    pub(crate) fn company<'a>(&'a self, company: Option<&'a str>) -> &'a str {
        company.unwrap_or(&self.inner.config.default_company)
    }

    /// Whose connection an action on `record` is about: the named user, else the acting one.
    /// Records that are not user-specific have one connection per company (user 0).
    pub(crate) fn subject(
        record: &WebApplication,
        actor: Option<i64>,
        for_user: Option<i64>,
    ) -> Result<i64, EngineError> {
        match (record.user_specific, for_user.or(actor)) {
            (false, user) => Ok(user.unwrap_or(0)),
            (true, Some(user)) => Ok(user),
            (true, None) => Err(EngineError::Refused(format!(
                "{} is user-specific: say whose connection is meant (--user NAME)",
                record.name
            ))),
        }
    }

    pub(crate) fn key(record: &WebApplication, company: &str, user: i64) -> ConnectionKey {
        ConnectionKey::new(record.id, company, record.user_specific, user)
    }
}

pub(crate) fn now() -> i64 {
    emsg_store::now()
}
