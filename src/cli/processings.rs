//! `emsg processings list|start|decide`: processings from the command line. A message started
//! here runs on the `serve` nodes (its steps are rows in the database); `emsg messages show`
//! follows it, with its timeline.

use std::process::ExitCode;

use anyhow::anyhow;
use emsg_use_cases::messages::{MessageId, SendError, batch_origin};
use emsg_use_cases::processings::{self, StartRequest};
use emsg_use_cases::{Actor, Context, UserId};

use crate::cli::args::{parse_fields, user};
use crate::context::{Global, runtime};

#[derive(Debug, clap::Subcommand)]
pub enum Processings {
    /// The processings, their steps and the fields a message starts with.
    List,
    /// Start a message of a processing, e.g.
    /// `emsg processings start "HMRC VAT return filing sandbox" --field vrn=123456789 …`.
    Start {
        processing: String,
        /// A field of the message, e.g. `--field vrn=123456789`; repeatable.
        #[arg(long = "field", value_name = "NAME=VALUE", allow_hyphen_values = true)]
        fields: Vec<String>,
        /// The user it runs as (whose connection user-specific steps use).
        #[arg(long)]
        user: Option<String>,
        /// A file a step sends as its body, e.g. `--file mva-melding.xml=./return.xml`;
        /// repeatable.
        #[arg(long = "file", value_name = "NAME=PATH")]
        files: Vec<String>,
    },
    /// Decide on a message that waits for a person: confirm, was_received, send_again, retry
    /// or cancel, at the step it waits at (as `emsg messages show` numbers it).
    Decide {
        id: i64,
        #[arg(long)]
        step: i32,
        #[arg(long)]
        decision: String,
        /// The user who decides (recorded in the message's history).
        #[arg(long)]
        user: Option<String>,
    },
}

pub fn run(global: &Global, args: Processings) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let runtime = runtime()?;
    match args {
        Processings::List => {
            let all = runtime.block_on(processings::list(&ctx, &Actor::operator()))?;
            if all.is_empty() {
                println!("no processings; add them under `processings:` in web-apps.yaml");
            }
            for processing in all {
                println!("{}  ({})", processing.name, processing.description);
                for (index, step) in processing.steps.iter().enumerate() {
                    println!(
                        "    {}. {} [{}{}]",
                        index + 1,
                        step.name,
                        step.kind,
                        step.service
                            .as_deref()
                            .map(|s| format!(": {s}"))
                            .unwrap_or_default()
                    );
                }
                let fields: Vec<String> = processing
                    .fields
                    .iter()
                    .map(|f| {
                        format!(
                            "{}{} ({})",
                            f.name,
                            if f.required { "" } else { "?" },
                            f.kind.name()
                        )
                    })
                    .collect();
                println!("    fields: {}", fields.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
        Processings::Start {
            processing,
            fields,
            user: name,
            files,
        } => {
            let fields = parse_fields(&fields)?;
            let mut read = std::collections::BTreeMap::new();
            for pair in &files {
                let (name, path) = pair.split_once('=').ok_or_else(|| {
                    anyhow!("`--file {pair}` must be NAME=PATH, e.g. --file mva-melding.xml=./return.xml")
                })?;
                let body = std::fs::read(path)
                    .map_err(|e| anyhow!("the file {path} for `{name}` cannot be read: {e}"))?;
                read.insert(name.to_owned(), body);
            }
            let acting = runtime.block_on(user(&ctx, name.as_deref()))?;
            let ctx = opened.with_messenger(ctx)?;
            let request = StartRequest {
                processing,
                fields,
                company: Some(global.company.clone()),
                user: acting.as_ref().map(|(id, _)| *id),
                origin: batch_origin(acting.map(|(_, name)| name)),
                idempotency_key: None,
                files: read,
            };
            match runtime.block_on(processings::start(&ctx, &Actor::operator(), request))? {
                Ok(started) => {
                    println!(
                        "message {}: {} — its steps run on the `emsg serve` nodes; follow it with \
                         `emsg messages show {}`",
                        started.message_id,
                        started.status.label(),
                        started.message_id
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(SendError::Fields(errors)) => {
                    for error in &errors.0 {
                        eprintln!("{}: {}", error.field, error.message);
                    }
                    eprintln!("nothing was started: correct the fields and start it again");
                    Ok(ExitCode::FAILURE)
                }
                Err(error) => Err(error.into()),
            }
        }
        Processings::Decide {
            id,
            step,
            decision,
            user: name,
        } => {
            let decision = processings::parse_decision(&decision)?;
            let actor = match name {
                Some(name) => {
                    let found = runtime.block_on(crate::cli::users::acting(&ctx, &name))?;
                    Actor::user(UserId::new(found.id), found.name, found.role)
                }
                None => Actor::operator(),
            };
            let origin = batch_origin(actor.user_id().map(|_| actor.name.clone()));
            let ctx = opened.with_messenger(ctx)?;
            let status = runtime.block_on(processings::decide(
                &ctx,
                &actor,
                MessageId::new(id),
                step - 1,
                decision,
                origin,
            ))?;
            println!("message {id}: {}", status.label());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The message's timeline for `emsg messages show`.
pub fn print_timeline(
    runtime: &tokio::runtime::Runtime,
    ctx: &Context,
    id: MessageId,
) -> anyhow::Result<()> {
    let timeline = runtime
        .block_on(processings::timeline(ctx, id))
        .map_err(|e| anyhow!("{e}"))?;
    println!("timeline:");
    for exchange in timeline {
        println!(
            "  step {} {}: {} {} → {}{}",
            exchange.step + 1,
            exchange.purpose,
            exchange.request_method,
            exchange.request_url,
            exchange
                .response_status
                .map_or_else(|| exchange.state.clone(), |s| s.to_string()),
            if exchange.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", exchange.note)
            }
        );
        if let Some(file) = &exchange.attachment {
            println!(
                "      attachment {file}: {} bytes (GET /api/v1/messages/{id}/attachments/{})",
                exchange.response_body.as_ref().map_or(0, Vec::len),
                exchange.id
            );
        }
    }
    Ok(())
}
