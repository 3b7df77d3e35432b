//! `emsg send SERVICE --field k=v …`, `emsg messages list|show|resend` and `emsg services list`:
//! electronic messages from the command line, sent as a batch process (HMRC's
//! `BATCH_PROCESS_DIRECT` fraud-prevention headers).

use std::process::ExitCode;

use anyhow::anyhow;
use emsg_use_cases::Actor;
use emsg_use_cases::messages::{self, SendError, SendRequest, Sent, batch_origin};
use emsg_use_cases::messages::{MessageId, MessageStatus};
use emsg_use_cases::time::format_utc;

use crate::cli::args::{parse_fields, user};
use crate::context::{Global, runtime};

#[derive(Debug, clap::Args)]
pub struct Send {
    /// The web service (see `emsg services list`), e.g. "HMRC VAT obligations sandbox".
    pub service: String,
    /// A field of the message, e.g. `--field vrn=123456789`; repeatable.
    #[arg(long = "field", value_name = "NAME=VALUE", allow_hyphen_values = true)]
    pub fields: Vec<String>,
    /// The user sending it (and, for user-specific web applications, whose connection is used).
    #[arg(long)]
    pub user: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Messages {
    /// The newest messages first, with filters.
    List {
        #[arg(long)]
        service: Option<String>,
        /// new, sent, response_received, business_error, technical_error, in_progress,
        /// awaiting_confirmation, outcome_unknown, completed or cancelled.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// One message: fields, status history, the request as sent and the response.
    Show { id: i64 },
    /// Send a failed message again (as a new message linked to it).
    Resend {
        id: i64,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum Services {
    /// The web services and their fields.
    List,
}

pub fn send(global: &Global, args: Send) -> anyhow::Result<ExitCode> {
    let fields = parse_fields(&args.fields)?;
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let runtime = runtime()?;
    let user = runtime.block_on(user(&ctx, args.user.as_deref()))?;
    let ctx = opened.with_messenger(ctx)?;
    let request = SendRequest {
        service: args.service,
        fields,
        company: Some(global.company.clone()),
        user: user.as_ref().map(|(id, _)| *id),
        origin: batch_origin(user.map(|(_, name)| name)),
        idempotency_key: None,
    };
    report(runtime.block_on(messages::send(&ctx, &Actor::operator(), request))?)
}

fn report(result: Result<Sent, SendError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(sent) => {
            println!(
                "message {}: {} — {}",
                sent.message_id,
                sent.status.label(),
                sent.summary
            );
            println!("details: emsg messages show {}", sent.message_id);
            Ok(if sent.status == MessageStatus::ResponseReceived {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(SendError::Fields(errors)) => {
            for error in &errors.0 {
                eprintln!("{}: {}", error.field, error.message);
            }
            eprintln!("nothing was sent: correct the fields and send again");
            Ok(ExitCode::FAILURE)
        }
        Err(error) => Err(error.into()),
    }
}

pub fn run(global: &Global, args: Messages) -> anyhow::Result<ExitCode> {
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let operator = Actor::operator();
    let runtime = runtime()?;
    match args {
        Messages::List {
            service,
            status,
            limit,
        } => {
            let found =
                runtime.block_on(messages::list(&ctx, &operator, service, status, limit))?;
            if found.is_empty() {
                println!("no messages");
            }
            for message in found {
                println!(
                    "{:>6}  {}  {:<18}  {}",
                    message.id,
                    format_utc(message.created_at),
                    message.status().label(),
                    message.service_name
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Messages::Show { id } => {
            let (message, events) = runtime
                .block_on(messages::with_events(&ctx, &operator, MessageId::new(id)))?
                .ok_or_else(|| {
                    anyhow!("there is no message {id}; `emsg messages list` shows them")
                })?;
            println!("message {}: {}", message.id, message.service_name);
            println!("status: {}", message.status().label());
            println!("company: {}", message.company);
            if let Some(method) = &message.connection_method {
                println!("connection method: {method}");
            }
            println!("fields: {}", message.fields);
            println!("history:");
            for event in events {
                println!(
                    "  {}  {:<18}  {}",
                    format_utc(event.at),
                    event.status,
                    event.detail
                );
            }
            if let (Some(method), Some(url)) = (&message.request_method, &message.request_url) {
                println!("request: {method} {url}");
                print_headers(message.request_headers.as_deref());
                if let Some(body) = &message.request_body {
                    println!("{body}");
                }
            }
            if let Some(status) = message.response_status {
                println!("response: {status}");
                print_headers(message.response_headers.as_deref());
                if let Some(body) = &message.response_body {
                    println!("{body}");
                }
            }
            if let Some(error) = &message.error_message {
                println!(
                    "error: {}{error}",
                    message
                        .error_code
                        .as_deref()
                        .map(|c| format!("{c}: "))
                        .unwrap_or_default()
                );
            }
            if let Some(newer) = message.resent_as {
                println!("re-sent as message {newer}");
            }
            if message.processing.is_some() {
                crate::cli::processings::print_timeline(&runtime, &ctx, MessageId::new(id))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Messages::Resend { id, user } => {
            let user = runtime.block_on(self::user(&ctx, user.as_deref()))?;
            let ctx = opened.with_messenger(ctx)?;
            let origin = batch_origin(user.as_ref().map(|(_, name)| name.clone()));
            report(runtime.block_on(messages::resend_batch(
                &ctx,
                &operator,
                MessageId::new(id),
                user.map(|(id, _)| id),
                origin,
            ))?)
        }
    }
}

fn print_headers(json: Option<&str>) {
    for (name, value) in messages::header_pairs(json) {
        println!("  {name}: {value}");
    }
}

pub fn services(global: &Global, args: Services) -> anyhow::Result<ExitCode> {
    let Services::List = args;
    let opened = global.open()?;
    let ctx = opened.use_cases(global)?;
    let all = runtime()?.block_on(messages::services(&ctx, &Actor::operator()))?;
    if all.is_empty() {
        println!("no web services; add them under `web_services:` in web-apps.yaml and import it");
    }
    for service in all {
        let spec = &service.spec;
        let fields: Vec<String> = spec
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
        println!(
            "{}  [{} {} via {}]",
            service.name, spec.method, spec.url, spec.web_application
        );
        println!("    fields: {}", fields.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
