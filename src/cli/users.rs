//! `emsg users add NAME --role …` and `emsg users list`.

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
    }
    Ok(ExitCode::SUCCESS)
}
