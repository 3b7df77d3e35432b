//! `emsg users add NAME --role …`, `emsg users list`, the per-user API keys
//! (`emsg users api-key NAME [--list | --revoke PREFIX]`) and what an administrator does with a
//! user: `passwd`, `disable`, `enable`, `remove`, `role`, `logout-everywhere`. Each change is
//! audited and ends the sessions and API keys it must (see `emsg_store::users`).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context as _;
use emsg_seal::Secret;
use emsg_store::StoreError;
use emsg_store::audit::{self, Actor, AuditAction, NewAuditEntry};
use emsg_store::users::{self, Role};

use crate::context::Global;

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
    let mut opened = global.open()?;
    match args {
        Users::Add {
            name,
            role,
            password_stdin,
        } => {
            let role: Role = role.parse()?;
            if password_stdin {
                let password = read_password()?;
                let user = audit::with_entry(
                    &mut opened.conn,
                    |conn| users::add(conn, &name, role, &password),
                    |user| {
                        operator_entry(
                            AuditAction::AddUser,
                            format!("user {} added with role {}", user.name, user.role),
                        )
                    },
                )?;
                println!(
                    "added user {} (id {}) with role {}",
                    user.name, user.id, user.role
                );
            } else {
                let (user, password) = users::add_with_one_time_password(
                    &mut opened.conn,
                    &name,
                    role,
                    &Actor::Operator,
                )?;
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
            for user in users::list(&mut opened.conn)? {
                let state = if user.disabled {
                    "disabled"
                } else if user.must_change_password {
                    "must choose a password"
                } else {
                    "active"
                };
                println!(
                    "{:>4}  {:24}  {:13}  {state}",
                    user.id,
                    user.name,
                    user.role.as_str()
                );
            }
        }
        Users::Passwd {
            name,
            password_stdin,
            revoke_api_keys,
        } => {
            let user = users::find_or_err(&mut opened.conn, &name)?;
            let (password, one_time) = if password_stdin {
                (read_password()?, false)
            } else {
                (users::generate_password()?, true)
            };
            let ended = users::set_password(
                &mut opened.conn,
                user.id,
                &password,
                one_time,
                revoke_api_keys,
                &Actor::Operator,
            )?;
            println!("new password for {}; {ended}", user.name);
            if one_time {
                // Printed once, to the terminal only; it is stored only as a hash.
                println!("password: {}", password.expose());
                println!(
                    "it is a one-time password: {} must choose their own at the next log-in",
                    user.name
                );
            }
        }
        Users::Disable { name } => {
            let user = users::find_or_err(&mut opened.conn, &name)?;
            let ended = users::disable(&mut opened.conn, user.id, &Actor::Operator)?;
            println!("disabled {}; {ended}", user.name);
        }
        Users::Enable { name } => {
            let user = users::find_or_err(&mut opened.conn, &name)?;
            users::enable(&mut opened.conn, user.id, &Actor::Operator)?;
            println!("enabled {}: they can log in again", user.name);
        }
        Users::Remove { name } => {
            let user = users::find_or_err(&mut opened.conn, &name)?;
            let ended = users::remove(&mut opened.conn, user.id, &Actor::Operator)?;
            println!("removed {}; {ended}", user.name);
        }
        Users::Role { name, role } => {
            let role: Role = role.parse()?;
            let user = users::find_or_err(&mut opened.conn, &name)?;
            let ended = users::set_role(&mut opened.conn, user.id, role, &Actor::Operator)?;
            println!("{} is now {role}; {ended}", user.name);
        }
        Users::LogoutEverywhere {
            name,
            revoke_api_keys,
        } => {
            let user = users::find_or_err(&mut opened.conn, &name)?;
            let ended = users::log_out_everywhere(
                &mut opened.conn,
                user.id,
                revoke_api_keys,
                &Actor::Operator,
            )?;
            println!("logged {} out everywhere; {ended}", user.name);
        }
        Users::ApiKey { name, list, revoke } => {
            use emsg_store::api_keys;
            let user = users::find(&mut opened.conn, &name)?.with_context(|| {
                format!("there is no user named `{name}`: `emsg users list` shows the names")
            })?;
            let now = emsg_store::now();
            if list {
                for key in api_keys::list(&mut opened.conn, user.id)? {
                    println!(
                        "{}…  made {}  last used {}  {}",
                        key.prefix,
                        emsg_store::format_utc(key.created_at),
                        key.last_used_at
                            .map_or_else(|| "never".to_owned(), emsg_store::format_utc),
                        key.revoked_at.map_or_else(
                            || "live".to_owned(),
                            |at| format!("revoked {}", emsg_store::format_utc(at))
                        ),
                    );
                }
            } else if let Some(prefix) = revoke {
                let prefix = prefix.trim_end_matches('…');
                let revoked = audit::with_entry(
                    &mut opened.conn,
                    |conn| match api_keys::revoke(conn, user.id, prefix, now)? {
                        0 => Err(StoreError::Invalid(format!(
                            "{} has no live API key `{prefix}`: `emsg users api-key {} --list` shows them",
                            user.name, user.name
                        ))),
                        revoked => Ok(revoked),
                    },
                    |revoked| {
                        operator_entry(
                            AuditAction::RevokeApiKey,
                            format!("{revoked} API key(s) of {} revoked ({prefix})", user.name),
                        )
                    },
                )?;
                println!("revoked {revoked} API key(s) of {}", user.name);
            } else {
                let (key, info) = audit::with_entry(
                    &mut opened.conn,
                    |conn| api_keys::create(conn, user.id, now),
                    |(_, info)| {
                        operator_entry(
                            AuditAction::MakeApiKey,
                            format!("API key {}… made for {}", info.prefix, user.name),
                        )
                    },
                )?;
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

/// The entry of what the operator did on the command line.
fn operator_entry(action: AuditAction, detail: String) -> NewAuditEntry {
    NewAuditEntry::ok(Actor::Operator, action, detail)
}

/// The user a command acts for (`--user NAME`): an enabled user, or an error saying what to do.
pub fn acting(opened: &mut crate::context::Opened, name: &str) -> anyhow::Result<users::User> {
    let user = users::find(&mut opened.conn, name)?
        .with_context(|| format!("no user is named `{name}`; `emsg users list` shows the users"))?;
    if user.disabled {
        anyhow::bail!(
            "the user `{name}` is disabled, so nothing can be done in their name; \
             `emsg users enable {name}` first"
        );
    }
    Ok(user)
}
