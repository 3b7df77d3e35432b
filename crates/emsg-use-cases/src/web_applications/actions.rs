//! The actions of the action pane, shared by the page forms, the JSON API and the command
//! line: one engine call each, for the actor in the server's company.

use std::collections::BTreeMap;

use emsg_engine::Acting;
use emsg_engine::{CodeRequest, ConnectionView, Disconnected};
use emsg_seal::Secret;
use emsg_store::web_applications as records;

use crate::{Actor, Context, UseCaseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    GetCode,
    ObtainToken,
    Refresh,
    Exchange,
    Disconnect,
}

impl Action {
    pub fn parse(text: &str) -> Result<Self, UseCaseError> {
        Ok(match text {
            "get-code" => Self::GetCode,
            "obtain-token" => Self::ObtainToken,
            "refresh" => Self::Refresh,
            "exchange" => Self::Exchange,
            "disconnect" => Self::Disconnect,
            other => {
                return Err(UseCaseError::NotFound(format!(
                    "there is no action `{}`: use get-code, obtain-token, refresh, exchange or disconnect",
                    other.escape_debug()
                )));
            }
        })
    }
}

/// What the dialogs of the action pane may send.
#[derive(Default)]
pub struct ActionInput {
    pub scope: Option<String>,
    /// Get authorization code's choices by parameter name (`ui_locales` → `nb`), each one of
    /// the values the record offers (`parameter_choices`); blank ones are left to the record.
    pub choices: BTreeMap<String, String>,
    /// A code pasted into Obtain access token (for redirect URLs that are not this server).
    pub code: Option<Secret>,
}

pub enum Outcome {
    /// Get authorization code: where to send the browser.
    Redirect {
        url: String,
        expires_at: i64,
    },
    Connection(Box<ConnectionView>),
    Disconnected(Disconnected),
}

impl Outcome {
    /// The message on the page, in Dynamics' words where it has them.
    pub fn message(&self, action: Action) -> String {
        match (self, action) {
            (Self::Redirect { .. }, _) => "Continue at the provider to sign in.".to_owned(),
            (Self::Connection(_), Action::Refresh) => {
                "Access token was successfully refreshed.".to_owned()
            }
            (Self::Connection(_), _) => "Access token was successfully obtained.".to_owned(),
            (Self::Disconnected(done), _) => {
                let revocation = match (done.revoked_at_provider, &done.revocation_error) {
                    (Some(true), _) => " The provider confirmed the revocation.".to_owned(),
                    (_, Some(error)) => format!(" Warning: {error}"),
                    _ => " The record has no revocation URL: remove the access in the provider's portal if needed.".to_owned(),
                };
                format!(
                    "{} is disconnected; its tokens were deleted.{revocation}",
                    done.web_application
                )
            }
        }
    }
}

/// `chosen`, once each value is one the record offers for its parameter.
async fn checked_choices(
    ctx: &Context,
    app: &str,
    chosen: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, UseCaseError> {
    if chosen.is_empty() {
        return Ok(chosen);
    }
    let name = app.to_owned();
    let offered = ctx
        .run(move |conn| Ok::<_, UseCaseError>(records::get(conn, &name)?.parameter_choices()))
        .await?;
    for (name, value) in &chosen {
        let Some(values) = offered.get(name) else {
            return Err(UseCaseError::Invalid(format!(
                "{app} offers no choice of `{}`: leave it out (an administrator can add it to the record's parameter_choices)",
                name.escape_debug()
            )));
        };
        if !values.contains(value) {
            let (last, rest) = values
                .split_last()
                .map_or(("", &[][..]), |(l, r)| (l.as_str(), r));
            let offered = if rest.is_empty() {
                last.to_owned()
            } else {
                format!("{} or {last}", rest.join(", "))
            };
            return Err(UseCaseError::Invalid(format!(
                "{} `{}` is not offered: choose {offered}",
                emsg_webapps::parameter_label(name),
                value.escape_debug()
            )));
        }
    }
    Ok(chosen)
}

/// Runs `action` on the record `app` for `actor`.
pub async fn run_action(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    action: Action,
    input: ActionInput,
) -> Result<Outcome, UseCaseError> {
    actor.require_actions()?;
    let user = actor.require_user("An action of the Web applications page")?;
    let engine = ctx.engine();
    let chosen: BTreeMap<String, String> = input
        .choices
        .into_iter()
        .map(|(name, value)| (name, value.trim().to_owned()))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    if action != Action::GetCode
        && let Some(name) = chosen.keys().next()
    {
        return Err(UseCaseError::Invalid(format!(
            "`{}` is not a field of this action: only Get authorization code takes the choices of a record's parameters",
            name.escape_debug()
        )));
    }
    Ok(match action {
        Action::GetCode => {
            let params = checked_choices(ctx, app, chosen).await?;
            let request = CodeRequest {
                scope: input.scope.filter(|s| !s.trim().is_empty()),
                params,
                taxpayer_id: None,
            };
            let start = engine
                .get_authorization_code(app, None, user, request)
                .await?;
            Outcome::Redirect {
                url: start.url,
                expires_at: start.expires_at,
            }
        }
        Action::ObtainToken => Outcome::Connection(Box::new(
            engine
                .obtain_access_token(app, None, user, input.code)
                .await?,
        )),
        Action::Refresh => Outcome::Connection(Box::new(
            engine
                .refresh_access_token(app, None, Acting::User(user))
                .await?,
        )),
        Action::Exchange => {
            Outcome::Connection(Box::new(engine.exchange(app, None, Some(user)).await?))
        }
        Action::Disconnect => {
            Outcome::Disconnected(engine.disconnect(app, None, Acting::User(user)).await?)
        }
    })
}
