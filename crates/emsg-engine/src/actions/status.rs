//! What the page and `emsg auth status` show of a connection: never a token.

use emsg_store::connections::{self, Connection, Status};
use emsg_store::users;
use emsg_store::web_applications::{self as records, WebApplication};
use emsg_store::{ConnectionId, UserId};

use super::now;
use crate::Engine;
use crate::error::EngineError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionView {
    pub connection_id: ConnectionId,
    pub web_application: String,
    pub company: String,
    /// The user of a user-specific connection.
    pub user: Option<String>,
    pub status: Status,
    pub granted_scope: Option<String>,
    pub token_type: Option<String>,
    pub access_expires_at: Option<i64>,
    pub authorized_by: Option<String>,
    pub authorized_at: Option<i64>,
    pub authorization_expires_at: Option<i64>,
    pub taxpayer_id: Option<String>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    pub has_refresh_token: bool,
}

impl ConnectionView {
    /// The view of `c` from rows already in hand (a page reads the connection with its record
    /// and its users' names in one statement): `user` is the name of the user the connection
    /// belongs to, `authorized_by` that of its authorizer.
    pub fn from_rows(
        record: &WebApplication,
        c: Connection,
        user: Option<String>,
        authorized_by: Option<String>,
    ) -> Self {
        let names = Names::read_with(&c, user, authorized_by);
        view_of(record, c, names)
    }

    /// Seconds until the access token expires (negative: expired), when known.
    pub fn expires_in(&self, now: i64) -> Option<i64> {
        self.access_expires_at.map(|at| at - now)
    }
}

fn user_name(
    conn: &mut emsg_store::db::DbConnection,
    id: Option<i64>,
) -> Result<Option<String>, EngineError> {
    Ok(match id {
        Some(id) if id > 0 => {
            Some(users::get(conn, id)?.map_or_else(|| format!("user {id}"), |u| u.name))
        }
        _ => None,
    })
}

/// The user names a view shows, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// Whose connection (user-specific records), for this `user_key`.
    user_key: i64,
    user: Option<String>,
    /// Who authorized, for this `authorized_by`.
    authorized_by_id: Option<i64>,
    authorized_by: Option<String>,
}

impl Names {
    pub(crate) fn of(
        conn: &mut emsg_store::db::DbConnection,
        c: &Connection,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            user_key: c.user_key,
            user: user_name(conn, Some(c.user_key))?,
            authorized_by_id: c.authorized_by,
            authorized_by: user_name(conn, c.authorized_by)?,
        })
    }

    /// The names read with the connection ([`connections::find_named`]); a user who is gone
    /// is shown by id, as [`Names::of`] does.
    pub(crate) fn read_with(
        c: &Connection,
        user: Option<String>,
        authorized_by: Option<String>,
    ) -> Self {
        let shown = |id: Option<i64>, name: Option<String>| match id {
            Some(id) if id > 0 => Some(name.unwrap_or_else(|| format!("user {id}"))),
            _ => None,
        };
        Self {
            user_key: c.user_key,
            user: shown(Some(c.user_key), user),
            authorized_by_id: c.authorized_by,
            authorized_by: shown(c.authorized_by, authorized_by),
        }
    }

    /// Whether these names still describe `c` (a refresh changes neither user).
    pub(crate) fn fit(&self, c: &Connection) -> bool {
        self.user_key == c.user_key && self.authorized_by_id == c.authorized_by
    }
}

fn view(
    conn: &mut emsg_store::db::DbConnection,
    record: &WebApplication,
    c: Connection,
) -> Result<ConnectionView, EngineError> {
    let names = Names::of(conn, &c)?;
    Ok(view_of(record, c, names))
}

/// The view of `c` from rows already in hand.
pub(crate) fn view_of(record: &WebApplication, c: Connection, names: Names) -> ConnectionView {
    ConnectionView {
        connection_id: c.id,
        web_application: record.name.clone(),
        company: c.company.clone(),
        user: names.user,
        status: c.status(),
        granted_scope: c.granted_scope.clone(),
        token_type: c.token_type.clone(),
        access_expires_at: c.access_expires_at,
        authorized_by: names.authorized_by,
        authorized_at: c.authorized_at,
        authorization_expires_at: c.authorization_expires_at,
        taxpayer_id: c.taxpayer_id.clone(),
        last_error: c.last_error.clone(),
        last_error_code: c.last_error_code.clone(),
        has_refresh_token: c.has_refresh_token(),
    }
}

impl Engine {
    pub(crate) async fn view(&self, connection: Connection) -> Result<ConnectionView, EngineError> {
        self.db(move |conn, _| {
            let record = records::by_id(conn, connection.web_application_id)?.ok_or_else(|| {
                EngineError::Internal("the connection's web application vanished".to_owned())
            })?;
            view(conn, &record, connection)
        })
        .await
    }

    /// The connection `user` would use for `app` (their own for user-specific records, the
    /// company's otherwise), if there is one.
    pub async fn connection(
        &self,
        app: &str,
        company: Option<&str>,
        user: UserId,
    ) -> Result<Option<ConnectionView>, EngineError> {
        let record = self.record(app).await?;
        let key = Self::key(&record, self.company(company), Some(user));
        let found = self
            .db(move |conn, _| Ok(connections::find(conn, &key)?))
            .await?;
        match found {
            Some(connection) => Ok(Some(self.view(connection).await?)),
            None => Ok(None),
        }
    }

    /// Every connection (of one record, when named) in a company.
    pub async fn status(
        &self,
        app: Option<&str>,
        company: Option<&str>,
    ) -> Result<Vec<ConnectionView>, EngineError> {
        let (app, company) = (app.map(str::to_owned), self.company(company).to_owned());
        self.db(move |conn, _| {
            let all = records::list(conn)?;
            let wanted: Vec<&WebApplication> = match &app {
                Some(name) => vec![
                    all.iter()
                        .find(|r| r.name_key == records::name_key(name))
                        .ok_or_else(|| {
                            EngineError::Store(emsg_store::StoreError::UnknownWebApplication(
                                name.clone(),
                            ))
                        })?,
                ],
                None => all.iter().collect(),
            };
            let mut views = Vec::new();
            for record in wanted {
                for connection in connections::of_application(conn, record.id, &company)? {
                    views.push(view(conn, record, connection)?);
                }
            }
            Ok(views)
        })
        .await
    }

    /// The message for "there is no usable connection for this user".
    pub(crate) async fn not_connected(
        &self,
        record: &WebApplication,
        company: &str,
        user: Option<UserId>,
    ) -> EngineError {
        let (id, company_owned, name, user_specific) = (
            record.id,
            company.to_owned(),
            record.name.clone(),
            record.user_specific,
        );
        let others = self
            .db(move |conn, _| {
                let mut names = Vec::new();
                for c in connections::of_application(conn, id, &company_owned)? {
                    if c.subject().user() != user && c.has_access_token() {
                        names.extend(user_name(conn, c.authorized_by)?);
                    }
                }
                Ok(names)
            })
            .await
            .unwrap_or_default();
        if user_specific && !others.is_empty() {
            EngineError::NotConnected(format!(
                "{name} is user-specific: it was authorized by {}, and only they may use that authorization. \
                 Authorize it yourself first: select Get authorization code",
                others.join(", ")
            ))
        } else {
            EngineError::NotConnected(format!(
                "{name} is not connected for company {company}: select Get authorization code, then Obtain access token"
            ))
        }
    }
}

pub(crate) fn expired_message(record: &WebApplication, connection: &Connection) -> Option<String> {
    match connection.status() {
        Status::ReauthorizationRequired | Status::Disconnected => {
            Some(connection.last_error.clone().unwrap_or_else(|| {
                format!(
                    "{} is {}: select Get authorization code to authorize again",
                    record.name,
                    connection.status()
                )
            }))
        }
        // Exchange records have no refresh token by design: they are exchanged again.
        _ if connection.access_expires_at.is_some_and(|at| at <= now())
            && !connection.has_refresh_token()
            && !record.is_exchange() =>
        {
            Some(format!(
                "the access token of {} has expired and there is no refresh token: select Get authorization code",
                record.name
            ))
        }
        _ => None,
    }
}
