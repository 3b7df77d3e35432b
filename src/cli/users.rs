//! `emsg users add NAME --role …`, `emsg users list`, the per-user API keys
//! (`emsg users api-key NAME [--list | --revoke PREFIX]`) and what an administrator does with a
//! user: `passwd`, `disable`, `enable`, `remove`, `role`, `logout-everywhere`. Each change is
//! audited and ends the sessions and API keys it must (see `emsg_use_cases::users`).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context as _;
use emsg_seal::Secret;
use emsg_use_cases::time::format_utc;
use emsg_use_cases::users::Role;
use emsg_use_cases::users::{self, Change, User, api_keys};
use emsg_use_cases::{Actor, Context};

use crate::context::{Global, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Users {
    /// Add a user. Without --password-stdin a one-time password is generated and printed once;
    /// the user must choose their own at the first log-in.
    Add {
        /// Letters, digits, `.`, `_`, `-` or `@`; unique.
        name: String,
        /// `administrator` (imports, edits records, sets secrets, manages users) or `finance`
        /// (runs the actions, reads status).
        #[arg(long)]
        role: String,
        /// Read the password (at least 12 characters) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The users, with their id, role and state (never a password or hash).
    List,
    /// Give a user a new password. Without --password-stdin a one-time password is generated
    /// and printed once, and the user must choose their own at the next log-in. Every session
    /// of the user ends; API keys only with --revoke-api-keys.
    Passwd {
        name: String,
        /// Read the new password (at least 12 characters) from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Revoke the user's API keys too.
        #[arg(long)]
        revoke_api_keys: bool,
    },
    /// Disable a user: no log-in; every session and API key ends. Refused for the last enabled
    /// administrator.
    Disable { name: String },
    /// Let a disabled user log in again (API keys revoked at disabling stay revoked).
    Enable { name: String },
    /// Remove a user: every session and API key ends and they are no longer listed; the audit
    /// log still names them and the name is not given again. Refused for the last enabled
    /// administrator.
    Remove { name: String },
    /// Change a user's role (`administrator` or `finance`); their sessions end. Refused when it
    /// would leave no enabled administrator.
    Role { name: String, role: String },
    /// End every session of a user (and with --revoke-api-keys every API key).
    LogoutEverywhere {
        name: String,
        #[arg(long)]
        revoke_api_keys: bool,
    },
    /// Make an API key for a user (printed once; only its hash is kept). The key acts on
    /// /api/v1 with the user's role: `Authorization: Bearer KEY`.
    ApiKey {
        name: String,
        /// List the user's keys (prefix, made, last used, revoked) instead of making one.
        #[arg(long, conflicts_with = "revoke")]
        list: bool,
        /// Revoke the user's key with this prefix (as listed, e.g. `emsg_AbCd1234`), or every
        /// key of the user with `*`.
        #[arg(long, value_name = "PREFIX")]
        revoke: Option<String>,
    },
}

pub fn run(global: &Global, args: Users) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    runtime()?.block_on(act(&ctx, &Actor::operator(), args))
}

async fn act(ctx: &Context, operator: &Actor, args: Users) -> anyhow::Result<ExitCode> {
    match args {
        Users::Add {
            name,
            role,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            if password_stdin {
                let password = read_password()?;
                let user = users::add_with_password(ctx, operator, name, role, password).await?;
                println!(
                    "added user {} (id {}) with role {}",
                    user.name, user.id, user.role
                );
            } else {
                let (user, password) = users::add(ctx, operator, name, role.as_str()).await?;
                println!(
                    "added user {} (id {}) with role {}",
                    user.name, user.id, user.role
                );
                // Printed once, to the terminal only; it is stored only as a hash.
                println!("password: {}", password.expose());
                println!(
                    "it is a one-time password: {} must choose their own at the first log-in",
                    user.name
                );
            }
        }
        Users::List => {
            for user in users::list(ctx, operator).await? {
                let state = if user.disabled {
                    "disabled"
                } else if user.must_change_password {
                    "must choose a password"
                } else {
                    "active"
                };
                println!(
                    "{:>4}  {:24}  {:13}  {state}",
                    user.id, user.name, user.role
                );
            }
        }
        Users::Passwd {
            name,
            password_stdin,
            revoke_api_keys,
        } => {
            // The user first: no password is asked for a name no one has.
            let name = users::named(ctx, operator, name).await?.name;
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let change = Change::Password {
                password,
                revoke_api_keys,
            };
            let done = users::apply(ctx, operator, name, change).await?;
            println!("new password for {}; {}", done.user.name, done.ended);
            if let Some(password) = done.one_time_password {
                // Printed once, to the terminal only; it is stored only as a hash.
                println!("password: {}", password.expose());
                println!(
                    "it is a one-time password: {} must choose their own at the next log-in",
                    done.user.name
                );
            }
        }
        Users::Disable { name } => {
            let done = users::apply(ctx, operator, name, Change::Disable).await?;
            println!("disabled {}; {}", done.user.name, done.ended);
        }
        Users::Enable { name } => {
            let done = users::apply(ctx, operator, name, Change::Enable).await?;
            println!("enabled {}: they can log in again", done.user.name);
        }
        Users::Remove { name } => {
            let done = users::apply(ctx, operator, name, Change::Remove).await?;
            println!("removed {}; {}", done.user.name, done.ended);
        }
        Users::Role { name, role } => {
            let role: Role = role.parse()?;
            let done = users::apply(ctx, operator, name, Change::Role(role)).await?;
            println!("{} is now {role}; {}", done.user.name, done.ended);
        }
        Users::LogoutEverywhere {
            name,
            revoke_api_keys,
        } => {
            let change = Change::LogOutEverywhere { revoke_api_keys };
            let done = users::apply(ctx, operator, name, change).await?;
            println!("logged {} out everywhere; {}", done.user.name, done.ended);
        }
        Users::ApiKey { name, list, revoke } => {
            let user = users::find(ctx, operator, name.clone())
                .await?
                .with_context(|| {
                    format!("there is no user named `{name}`: `emsg users list` shows the names")
                })?;
            if list {
                for key in api_keys::list(ctx, operator, &user).await? {
                    println!(
                        "{}…  made {}  last used {}  {}",
                        key.prefix,
                        format_utc(key.created_at),
                        key.last_used_at
                            .map_or_else(|| "never".to_owned(), format_utc),
                        key.revoked_at.map_or_else(
                            || "live".to_owned(),
                            |at| format!("revoked {}", format_utc(at))
                        ),
                    );
                }
            } else if let Some(prefix) = revoke {
                let prefix = prefix.trim_end_matches('…').to_owned();
                let revoked = api_keys::revoke(ctx, operator, &user, prefix).await?;
                println!("revoked {revoked} API key(s) of {}", user.name);
            } else {
                let (key, info) = api_keys::make(ctx, operator, &user).await?;
                println!(
                    "API key for {} ({}); shown once, only its hash is kept:",
                    user.name, user.role
                );
                // Printed once, to the terminal only.
                println!("{}", key.expose());
                println!(
                    "use it as `Authorization: Bearer KEY` on /api/v1; revoke it with `emsg users api-key {} --revoke {}`",
                    user.name, info.prefix
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of standard input, as a password.
fn read_password() -> anyhow::Result<Secret> {
    if std::io::stdin().is_terminal() {
        eprintln!("type the password and press Enter:");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(Secret::new(line.trim_end_matches(['\r', '\n'])))
}

/// The user a command acts for (`--user NAME`): an enabled user, or an error saying what to do.
pub async fn acting(ctx: &Context, name: &str) -> anyhow::Result<User> {
    let user = users::find(ctx, &Actor::operator(), name.to_owned())
        .await?
        .with_context(|| format!("no user is named `{name}`; `emsg users list` shows the users"))?;
    if user.disabled {
        anyhow::bail!(
            "the user `{name}` is disabled, so nothing can be done in their name; \
             `emsg users enable {name}` first"
        );
    }
    Ok(user)
}
