//! `emsg`: the command line and the server of the electronic-messages engine.

mod cli;
mod context;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Handlebars logs every value it renders at debug level: a page's data (a one-time password
    // shown once, a NINO) must never reach a log, whatever RUST_LOG says.
    let filter = match "handlebars=warn".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    };
    // Colours only for a person at a terminal: a redirected log (a file, a service manager, a
    // log shipper) gets plain text, or one JSON object a line with EMSG_LOG_FORMAT=json.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match std::env::var("EMSG_LOG_FORMAT")
        .unwrap_or_default()
        .as_str()
    {
        "json" => logs.json().with_ansi(false).init(),
        "" | "text" => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        other => {
            eprintln!(
                "error: EMSG_LOG_FORMAT={other} is not a log format: use `text` (the default) or `json`"
            );
            return std::process::ExitCode::FAILURE;
        }
    }
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
