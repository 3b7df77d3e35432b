//! A token the provider refused on an API call (HMRC's 401 `INVALID_CREDENTIALS`): refresh once
//! — unless another caller already replaced it — and hand out the new one. The sender retries
//! once with it; it never loops.

use emsg_store::UserId;
use emsg_store::connections::{self, Connection};

use super::refresh::{AuditWhen, Need, refresh_entry};
use super::valid_token::token_of;
use crate::Engine;
use crate::actions::valid_token::AccessToken;
use crate::error::EngineError;

impl Engine {
    pub async fn token_after_rejection(
        &self,
        app: &str,
        company: Option<&str>,
        user: Option<UserId>,
        rejected: &AccessToken,
    ) -> Result<AccessToken, EngineError> {
        let company = self.company(company).to_owned();
        let record = self.record(app).await?;
        let key = Self::key(&record, &company, user);
        let lookup = key.clone();
        let found = self
            .db(move |conn, _| Ok(connections::find(conn, &lookup)?))
            .await?;
        let Some(connection) = found.filter(Connection::has_access_token) else {
            return Err(self.not_connected(&record, &company, user).await);
        };
        let current = connection.access_token(&self.ring())?;
        if current
            .as_ref()
            .is_some_and(|token| token.expose() != rejected.token.expose())
        {
            // Someone refreshed since the rejected token was handed out.
            return token_of(self, &connection);
        }
        if record.is_exchange() {
            self.exchange(app, Some(&company), user).await?;
        } else {
            self.refresh_connection(
                &record,
                &connection,
                Need::Refresh,
                refresh_entry(
                    user,
                    &record,
                    &connection,
                    "refreshed after the provider refused the access token on an API call",
                ),
                AuditWhen::Refreshed,
                None,
            )
            .await?;
        }
        self.current_token(&record.name, &key).await
    }
}
