//! `emsg send SERVICE --field k=v …`, `emsg messages list|show|resend` and `emsg services list`:
//! electronic messages from the command line, sent as a batch process (HMRC's
//! `BATCH_PROCESS_DIRECT` fraud-prevention headers).

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use emsg_messages::{Messenger, Origin, SendError, SendRequest, Sent, Vendor};
use emsg_store::messages::{self, MessageFilter, MessageStatus};
use emsg_store::{UserId, format_utc, web_services};

use crate::context::{Global, Opened, runtime};

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
        /// new, sent, response_received, business_error or technical_error.
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

fn messenger(opened: &Opened, global: &Global) -> anyhow::Result<Messenger> {
    let engine = opened.engine(global)?;
    let pool = emsg_store::db::pool(&opened.url, 4).context("opening the database pool")?;
    Ok(Messenger::new(engine, pool, vendor_from_env()?))
}

fn user(opened: &mut Opened, name: Option<&str>) -> anyhow::Result<Option<(UserId, String)>> {
    name.map(|name| {
        let user = crate::cli::users::acting(opened, name)?;
        Ok((UserId::new(user.id), user.name))
    })
    .transpose()
}

fn batch_origin(user_name: Option<String>) -> Origin {
    // The device ID is filled in from the database by the messenger.
    Origin::BatchProcessDirect(emsg_messages::fraud::this_machine(
        String::new(),
        user_name,
        emsg_store::now() * 1000,
    ))
}

pub fn send(global: &Global, args: Send) -> anyhow::Result<ExitCode> {
    let mut fields = BTreeMap::new();
    for pair in &args.fields {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            anyhow!("`--field {pair}` must be NAME=VALUE, e.g. --field vrn=123456789")
        })?;
        if fields
            .insert(name.trim().to_owned(), value.to_owned())
            .is_some()
        {
            return Err(anyhow!("the field `{name}` is given twice; give it once"));
        }
    }
    let mut opened = global.open()?;
    let user = user(&mut opened, args.user.as_deref())?;
    let messenger = messenger(&opened, global)?;
    let request = SendRequest {
        service: args.service,
        fields,
        company: Some(global.company.clone()),
        user: user.as_ref().map(|(id, _)| *id),
        origin: batch_origin(user.map(|(_, name)| name)),
    };
    report(runtime()?.block_on(messenger.send(request)))
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
    let mut opened = global.open()?;
    match args {
        Messages::List {
            service,
            status,
            limit,
        } => {
            let filter = MessageFilter {
                service,
                status: status.map(|s| s.parse()).transpose()?,
                limit,
                ..MessageFilter::default()
            };
            let found = messages::search(&mut opened.conn, &filter)?;
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
            let message = messages::get(&mut opened.conn, id)?.ok_or_else(|| {
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
            for event in messages::events(&mut opened.conn, id)? {
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
            Ok(ExitCode::SUCCESS)
        }
        Messages::Resend { id, user } => {
            let user = self::user(&mut opened, user.as_deref())?;
            let messenger = messenger(&opened, global)?;
            let origin = batch_origin(user.as_ref().map(|(_, name)| name.clone()));
            report(runtime()?.block_on(messenger.resend(id, user.map(|(id, _)| id), origin)))
        }
    }
}

fn print_headers(json: Option<&str>) {
    let headers: Vec<(String, String)> = json
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    for (name, value) in headers {
        println!("  {name}: {value}");
    }
}

pub fn services(global: &Global, args: Services) -> anyhow::Result<ExitCode> {
    let Services::List = args;
    let mut opened = global.open()?;
    let all = web_services::list(&mut opened.conn)?;
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

/// The vendor details for fraud-prevention headers: `EMSG_PUBLIC_IP` when set.
pub fn vendor_from_env() -> anyhow::Result<Vendor> {
    let mut vendor = Vendor::default();
    if let Ok(ip) = std::env::var("EMSG_PUBLIC_IP")
        && !ip.trim().is_empty()
    {
        vendor.public_ip = Some(
            ip.trim()
                .parse()
                .with_context(|| format!("EMSG_PUBLIC_IP `{ip}` is not an IP address"))?,
        );
    }
    Ok(vendor)
}
