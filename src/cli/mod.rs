//! The subcommands of `emsg`, one module each.

mod apps;
mod args;
mod auth;
mod import;
mod keys;
mod messages;
mod processings;
mod serve;
mod users;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::context::Global;

#[derive(Debug, Parser)]
#[command(
    name = "emsg",
    version,
    about = "Electronic messages to tax authorities through OAuth web applications"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: migrate, import web-apps.yaml into an empty database, create a first
    /// administrator if there is none, and serve the pages on a loopback port.
    Serve(serve::Serve),
    /// Import web applications from a YAML file: all records or none.
    Import(import::Import),
    /// Write the web applications as YAML (secrets only as their environment reference).
    Export(import::Export),
    /// List or show the web applications.
    #[command(subcommand)]
    Apps(apps::Apps),
    /// The actions: get-code, callback, obtain-token, refresh, exchange, disconnect, status.
    #[command(subcommand)]
    Auth(auth::Auth),
    /// Send an electronic message through a web service, e.g.
    /// `emsg send "HMRC VAT obligations sandbox" --field vrn=123456789 --field from=2026-01-01 --field to=2026-12-31`.
    Send(messages::Send),
    /// List and show electronic messages; re-send a failed one.
    #[command(subcommand)]
    Messages(messages::Messages),
    /// The web services that messages are sent through.
    #[command(subcommand)]
    Services(messages::Services),
    /// Processings: filings whose steps feed each other; list, start, decide.
    #[command(subcommand)]
    Processings(processings::Processings),
    /// Master-key operations.
    #[command(subcommand)]
    Keys(keys::Keys),
    /// Add and list the users who log in to the admin page.
    #[command(subcommand)]
    Users(users::Users),
    /// Apply pending database migrations (every command also does this on start).
    Migrate,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Import(args) => import::run(&cli.global, args),
        Command::Export(args) => import::export(&cli.global, args),
        Command::Apps(args) => apps::run(&cli.global, args),
        Command::Auth(args) => auth::run(&cli.global, args),
        Command::Send(args) => messages::send(&cli.global, args),
        Command::Messages(args) => messages::run(&cli.global, args),
        Command::Services(args) => messages::services(&cli.global, args),
        Command::Processings(args) => processings::run(&cli.global, args),
        Command::Keys(args) => keys::run(&cli.global, args),
        Command::Users(args) => users::run(&cli.global, args),
        Command::Migrate => {
            let opened = cli.global.open()?;
            println!("the database {} is up to date", opened.url);
            Ok(ExitCode::SUCCESS)
        }
    }
}
