//! `emsg apps list` and `emsg apps show NAME`.

use std::process::ExitCode;

use emsg_use_cases::{Actor, web_applications};

use crate::context::{Global, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Apps {
    /// One line per web application: name, scope, client secret set or not.
    List,
    /// Every field of one web application (the client secret only as "set" / "not set").
    Show {
        /// The web application's name (case does not matter).
        name: String,
    },
}

pub fn run(global: &Global, args: Apps) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let operator = Actor::operator();
    match args {
        Apps::List => {
            let all = runtime()?.block_on(web_applications::summaries(&ctx, &operator))?;
            if all.is_empty() {
                println!("no web applications yet: run `emsg import web-apps.yaml`");
            }
            let width = all
                .iter()
                .map(|r| r.name.chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            for record in &all {
                let secret = if record.exchange {
                    "exchange"
                } else if record.client_secret_set {
                    "secret set"
                } else {
                    "secret not set"
                };
                println!("{:width$}  {:14}  {}", record.name, secret, record.scope);
            }
        }
        Apps::Show { name } => {
            let record =
                runtime()?.block_on(web_applications::export_one(&ctx, &operator, name))?;
            print!("{}", record.yaml);
            println!(
                "# client secret: {}",
                if record.client_secret_set {
                    "set"
                } else {
                    "not set"
                }
            );
            if let Some(var) = &record.client_secret_env {
                println!("# client secret comes from the environment variable {var}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
