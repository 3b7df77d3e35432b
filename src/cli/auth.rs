//! `emsg auth …`: the actions of the Web applications page, from the command line.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use emsg_seal::Secret;
use emsg_use_cases::time::{format_remaining, format_utc, now};
use emsg_use_cases::web_applications::on_behalf::{self, CallbackParams, ConnectionView};
use emsg_use_cases::{Actor, Context, Status, UserId};

use crate::context::Global;

#[derive(Debug, clap::Subcommand)]
pub enum Auth {
    /// Get authorization code: print the URL to open in a browser to sign in at the provider.
    GetCode {
        /// The web application (e.g. "HMRC VAT sandbox").
        app: String,
        /// The user who authorizes (see `emsg users list`).
        #[arg(long)]
        user: String,
        /// Replace the record's scope for this authorization.
        #[arg(long)]
        scope: Option<String>,
        /// An extra authorization parameter, e.g. `--param ui_locales=nb`; repeatable.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Hand over the provider's answer when the redirect URL is not this server: the `state` and
    /// `code` (or `error`) query parameters of the address the browser ended on.
    Callback {
        // Codes and states are random text and may begin with `-`.
        #[arg(long, allow_hyphen_values = true)]
        state: String,
        #[arg(long, allow_hyphen_values = true)]
        code: Option<String>,
        #[arg(long)]
        error: Option<String>,
        #[arg(long)]
        error_description: Option<String>,
        /// The `iss` parameter, when the provider sends one (checked against the record's issuer).
        #[arg(long)]
        iss: Option<String>,
        /// The user who started the authorization.
        #[arg(long)]
        user: String,
    },
    /// Obtain access token with the code the callback captured, or with a pasted `--code`.
    ObtainToken {
        app: String,
        #[arg(long)]
        user: String,
        /// A code copied from the provider's page (redirect URLs such as urn:ietf:wg:oauth:2.0:oob).
        #[arg(long, allow_hyphen_values = true)]
        code: Option<String>,
    },
    /// Refresh access token now; `--all` sweeps every connection that is due, as the server's
    /// scheduler does, with a progress bar.
    Refresh {
        /// The web application (omit with --all).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        app: Option<String>,
        /// Refresh every connection whose access token expires within the margin.
        #[arg(long)]
        all: bool,
        /// Refresh only if the access token expires within a minute, as a sender would.
        #[arg(long, conflicts_with = "all")]
        if_due: bool,
        /// Whose connection, for user-specific records.
        #[arg(long)]
        user: Option<String>,
    },
    /// Exchange the source record's token for this record's (NO Altinn).
    Exchange {
        app: String,
        #[arg(long)]
        user: String,
    },
    /// Disconnect: revoke at the provider when possible, then delete the tokens.
    Disconnect {
        app: String,
        #[arg(long)]
        user: Option<String>,
    },
    /// Status of the connections: granted scope, expiry, who authorized — never a token.
    Status {
        /// Only this web application.
        app: Option<String>,
    },
}

pub fn run(global: &Global, args: Auth) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    crate::context::runtime()?.block_on(act(&ctx, &Actor::operator(), args))
}

async fn user_id(ctx: &Context, name: &str) -> anyhow::Result<UserId> {
    Ok(UserId::new(crate::cli::users::acting(ctx, name).await?.id))
}

async fn optional_user(ctx: &Context, name: Option<&str>) -> anyhow::Result<Option<UserId>> {
    match name {
        Some(name) => Ok(Some(user_id(ctx, name).await?)),
        None => Ok(None),
    }
}

async fn act(ctx: &Context, operator: &Actor, args: Auth) -> anyhow::Result<ExitCode> {
    match args {
        Auth::GetCode {
            app,
            user,
            scope,
            params,
        } => {
            let user = user_id(ctx, &user).await?;
            let mut parsed = BTreeMap::new();
            for param in params {
                let (key, value) = param
                    .split_once('=')
                    .with_context(|| format!("`--param {param}` must look like KEY=VALUE"))?;
                parsed.insert(key.trim().to_owned(), value.to_owned());
            }
            let start = on_behalf::get_code(ctx, operator, &app, user, scope, parsed).await?;
            println!("{}", start.url);
            eprintln!(
                "open the address above, sign in and allow access; then run `emsg auth obtain-token` before {}",
                format_utc(start.expires_at)
            );
        }
        Auth::Callback {
            state,
            code,
            error,
            error_description,
            iss,
            user,
        } => {
            let user = user_id(ctx, &user).await?;
            let outcome = on_behalf::callback(
                ctx,
                operator,
                user,
                CallbackParams {
                    state,
                    code: code.map(Secret::new),
                    error,
                    error_description,
                    iss,
                },
            )
            .await?;
            match outcome.connection {
                Some(view) => print_views(&[view]),
                None => println!(
                    "the code for {} was received; now run `emsg auth obtain-token`",
                    outcome.web_application
                ),
            }
        }
        Auth::ObtainToken { app, user, code } => {
            let user = user_id(ctx, &user).await?;
            let view =
                on_behalf::obtain_token(ctx, operator, &app, user, code.map(Secret::new)).await?;
            println!("Access token was successfully obtained.");
            print_views(&[view]);
        }
        Auth::Refresh {
            app: Some(app),
            user,
            if_due: true,
            ..
        } => {
            let user = optional_user(ctx, user.as_deref()).await?;
            let token = on_behalf::valid_token(ctx, operator, &app, user).await?;
            let expires = token.expires_at.map(|at| format_remaining(at - now()));
            println!(
                "{app}: the access token is valid (expires in {})",
                expires.as_deref().unwrap_or("unknown")
            );
        }
        Auth::Refresh {
            app: Some(app),
            user,
            ..
        } => {
            let user = optional_user(ctx, user.as_deref()).await?;
            print_views(&[on_behalf::refresh(ctx, operator, &app, user).await?]);
        }
        Auth::Refresh { app: None, .. } => {
            let progress: Arc<dyn Fn(usize, usize) + Send + Sync> = Arc::new(|done, total| {
                let width = 30;
                let filled = (done * width)
                    .checked_div(total)
                    .unwrap_or(width)
                    .min(width);
                eprint!(
                    "\r[{}{}] {done}/{total}",
                    "#".repeat(filled),
                    " ".repeat(width - filled)
                );
            });
            let report = on_behalf::refresh_due(ctx, operator, progress).await?;
            if report.due > 0 {
                eprintln!();
            }
            println!(
                "{} due, {} refreshed, {} failed",
                report.due, report.refreshed, report.failed
            );
            if report.failed > 0 {
                println!("`emsg auth status` shows why; the audit log has each failure");
                return Ok(ExitCode::FAILURE);
            }
        }
        Auth::Exchange { app, user } => {
            let user = user_id(ctx, &user).await?;
            print_views(&[on_behalf::exchange(ctx, operator, &app, user).await?]);
        }
        Auth::Disconnect { app, user } => {
            let user = optional_user(ctx, user.as_deref()).await?;
            let done = on_behalf::disconnect(ctx, operator, &app, user).await?;
            println!(
                "{} is disconnected; its tokens were deleted",
                done.web_application
            );
            match (done.revoked_at_provider, done.revocation_error) {
                (Some(true), _) => println!("the provider confirmed the revocation"),
                (_, Some(error)) => println!("warning: {error}"),
                _ => println!(
                    "the record has no revocation URL: remove the access in the provider's portal if needed"
                ),
            }
        }
        Auth::Status { app } => {
            let views = on_behalf::status(ctx, operator, app.as_deref()).await?;
            if views.is_empty() {
                println!("no connections yet: `emsg auth get-code APP --user NAME` starts one");
            }
            print_views(&views);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_views(views: &[ConnectionView]) {
    let now = now();
    for view in views {
        println!(
            "{} ({}{})",
            view.web_application,
            view.company,
            view.user
                .as_deref()
                .map(|u| format!(", {u}"))
                .unwrap_or_default()
        );
        println!("  status:                        {}", view.status);
        println!(
            "  granted scope:                 {}",
            view.granted_scope.as_deref().unwrap_or("-")
        );
        let expires = match view.expires_in(now) {
            Some(secs) => format_remaining(secs),
            None if view.status == Status::Disconnected => "-".to_owned(),
            None => "unknown (the provider did not say)".to_owned(),
        };
        println!("  access token will expire in:   {expires}");
        println!(
            "  authorized by:                 {}",
            view.authorized_by.as_deref().unwrap_or("-")
        );
        println!(
            "  authorized at:                 {}",
            view.authorized_at
                .map(format_utc)
                .unwrap_or_else(|| "-".to_owned())
        );
        if let Some(at) = view.authorization_expires_at {
            println!("  authorization expires on:      {}", format_utc(at));
        }
        if let Some(error) = &view.last_error {
            println!("  last error:                    {error}");
        }
    }
}
