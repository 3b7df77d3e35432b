//! The actions of the action pane, shared by the page forms, the JSON API and the command
//! line: one engine call each, for the actor in the server's company.

use std::collections::BTreeMap;

use emsg_engine::{CodeRequest, ConnectionView, Disconnected};
use emsg_seal::Secret;

use crate::{Actor, Context, UseCaseError};

/// The UI languages ID-porten offers (`ui_locales`).
pub const UI_LOCALES: &[&str] = &["nb", "nn", "en", "se"];

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
    pub ui_locales: Option<String>,
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

/// Runs `action` on the record `app` for `actor`.
pub async fn run_action(
    ctx: &Context,
    actor: &Actor,
    app: &str,
    action: Action,
    input: ActionInput,
) -> Result<Outcome, UseCaseError> {
    actor.require_actions()?;
    let user = actor;
    let engine = ctx.engine();
    Ok(match action {
        Action::GetCode => {
            let mut params = BTreeMap::new();
            if let Some(locale) = input.ui_locales.filter(|l| !l.trim().is_empty()) {
                let locale = locale.trim().to_owned();
                if !UI_LOCALES.contains(&locale.as_str()) {
                    return Err(UseCaseError::Invalid(format!(
                        "UI language `{}` is not offered: choose nb, nn, en or se",
                        locale.escape_debug()
                    )));
                }
                params.insert("ui_locales".to_owned(), locale);
            }
            let request = CodeRequest {
                scope: input.scope.filter(|s| !s.trim().is_empty()),
                params,
                taxpayer_id: None,
            };
            let start = engine
                .get_authorization_code(app, None, user.id, request)
                .await?;
            Outcome::Redirect {
                url: start.url,
                expires_at: start.expires_at,
            }
        }
        Action::ObtainToken => Outcome::Connection(Box::new(
            engine
                .obtain_access_token(app, None, user.id, input.code)
                .await?,
        )),
        Action::Refresh => Outcome::Connection(Box::new(
            engine
                .refresh_access_token(app, None, Some(user.id), None)
                .await?,
        )),
        Action::Exchange => {
            Outcome::Connection(Box::new(engine.exchange(app, None, user.id).await?))
        }
        Action::Disconnect => {
            Outcome::Disconnected(engine.disconnect(app, None, Some(user.id), None).await?)
        }
    })
}
