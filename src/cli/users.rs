//! `emsg users add NAME --role …`, `emsg users list` and the per-user API keys:
//! `emsg users api-key NAME [--list | --revoke PREFIX]`.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::Context as _;
use emsg_seal::Secret;
use emsg_store::users::{self, Role};

use crate::context::Global;

#[derive(Debug, clap::Subcommand)]
pub enum Users {
    /// Add a user. Without --password-stdin a random password is generated and printed once.
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
    /// The users, with their id and role (never a password or hash).
    List,
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
            let (password, generated) = if password_stdin {
                if std::io::stdin().is_terminal() {
                    eprintln!("type the password and press Enter:");
                }
                let mut line = String::new();
                std::io::stdin()
                    .lock()
                    .read_line(&mut line)
                    .context("reading the password from standard input")?;
                (Secret::new(line.trim_end_matches(['\r', '\n'])), false)
            } else {
                (users::generate_password()?, true)
            };
            let user = users::add(&mut opened.conn, &name, role, &password)?;
            println!(
                "added user {} (id {}) with role {}",
                user.name, user.id, user.role
            );
            if generated {
                // Printed once, to the terminal only; it is stored only as a hash.
                println!("password: {}", password.expose());
            }
        }
        Users::List => {
            for user in users::list(&mut opened.conn)? {
                println!("{:>4}  {:24}  {}", user.id, user.name, user.role);
            }
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
                let revoked = api_keys::revoke(&mut opened.conn, user.id, prefix, now)?;
                if revoked == 0 {
                    anyhow::bail!(
                        "{} has no live API key `{prefix}`: `emsg users api-key {} --list` shows them",
                        user.name,
                        user.name
                    );
                }
                audit_key(
                    &mut opened.conn,
                    "revoke-api-key",
                    &format!("{revoked} API key(s) of {} revoked ({prefix})", user.name),
                )?;
                println!("revoked {revoked} API key(s) of {}", user.name);
            } else {
                let (key, info) = api_keys::create(&mut opened.conn, user.id, now)?;
                audit_key(
                    &mut opened.conn,
                    "make-api-key",
                    &format!("API key {}… made for {}", info.prefix, user.name),
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

fn audit_key(
    conn: &mut emsg_store::db::DbConnection,
    action: &str,
    detail: &str,
) -> anyhow::Result<()> {
    emsg_store::audit::record(
        conn,
        &emsg_store::audit::NewAuditEntry {
            actor: emsg_store::audit::Actor::Operator,
            action,
            web_application_id: None,
            connection_id: None,
            outcome: "ok",
            error_code: None,
            detail,
        },
    )?;
    Ok(())
}
