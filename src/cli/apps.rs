//! `emsg apps list` and `emsg apps show NAME`.

use std::process::ExitCode;

use emsg_store::web_applications as records;

use crate::context::Global;

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
    let mut opened = global.open()?;
    match args {
        Apps::List => {
            let all = records::list(&mut opened.conn)?;
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
                let secret = if record.is_exchange() {
                    "exchange"
                } else if record.client_secret_is_set() {
                    "secret set"
                } else {
                    "secret not set"
                };
                println!("{:width$}  {:14}  {}", record.name, secret, record.scope);
            }
        }
        Apps::Show { name } => {
            let all = records::list(&mut opened.conn)?;
            let names = records::names_by_id(&all);
            let record = records::get(&mut opened.conn, &name)?;
            let spec = record.to_spec(&names);
            print!("{}", emsg_webapps::export(std::slice::from_ref(&spec)));
            println!(
                "# client secret: {}",
                if record.client_secret_is_set() {
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
