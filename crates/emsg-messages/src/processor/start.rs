//! Starting a processing's message: its fields checked by the rules of the web services that
//! use them, the message stored with a copy of the processing, its first step due now.

use std::collections::BTreeMap;

use emsg_store::messages::{Idempotency, MessageStatus};
use emsg_store::runs::{self, NewRun};
use emsg_store::web_services::{self, WebService};
use emsg_store::{StoreError, UserId, processings};
use emsg_webapps::{ProcessingSpec, WebServiceSpec};

use super::{Processor, now_ms};
use crate::fields;
use crate::fraud::Origin;
use crate::idempotency::{Earlier, earlier, keyed};
use crate::send::SendError;

/// A processing's message to start.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub processing: String,
    pub fields: BTreeMap<String, String>,
    pub company: Option<String>,
    /// Who starts it; user-specific steps use this user's connection.
    pub user: Option<UserId>,
    pub origin: Origin,
    /// The API client's `Idempotency-Key`: a retry finds the message the first request started.
    pub idempotency_key: Option<String>,
    /// Files the processing's steps send as their bodies, by name (UTF-8 text, an ERP's XML).
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The largest file a message is started with.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub message_id: i64,
    pub status: MessageStatus,
    /// An earlier request with the same `Idempotency-Key` started this message.
    pub replayed: bool,
}

impl Processor {
    /// Checks the fields and starts the message; `Err` means nothing was stored.
    pub async fn start(&self, request: StartRequest) -> Result<Started, SendError> {
        let messenger = self.messenger();
        let name = request.processing.clone();
        let (processing, services) = messenger
            .db(move |conn| {
                let processing = match processings::get(conn, &name)? {
                    Some(processing) => Some(processing),
                    // A web service runs as a processing of one step: durably, and an unknown
                    // outcome is never sent again blindly.
                    None => web_services::find(conn, &name)?
                        .map(|service| one_step(&service.name))
                        .transpose()?,
                };
                let processing = processing.ok_or_else(|| {
                    let known: Vec<String> = processings::list(conn)
                        .map(|all| all.into_iter().map(|p| p.name).collect())
                        .unwrap_or_default();
                    StoreError::Invalid(format!(
                        "there is no processing or web service `{name}`; the processings are: {}",
                        if known.is_empty() {
                            "(none: add them under `processings:` in web-apps.yaml)".to_owned()
                        } else {
                            known.join(", ")
                        }
                    ))
                })?;
                let services = web_services::list(conn)?;
                Ok((processing, services))
            })
            .await
            .map_err(|e| match e {
                SendError::Store(StoreError::Invalid(message)) => SendError::Refused(message),
                other => other,
            })?;
        let specs: Vec<WebServiceSpec> = services.iter().map(|s| s.spec.clone()).collect();
        let form = form(&processing.spec, &specs);
        let values = fields::check(&form, &request.fields)?;
        let files = check_files(&processing.spec, &request.files)?;
        let first = first_service(&processing.spec, &services).ok_or_else(|| {
            SendError::Setup(format!(
                "processing `{}` calls no web service that is imported",
                processing.name
            ))
        })?;
        let company = request
            .company
            .clone()
            .unwrap_or_else(|| messenger.engine().config().default_company.clone());
        let fields_json = serde_json::to_string(
            &values
                .iter()
                .filter(|(_, v)| !v.text.is_empty())
                .map(|(k, v)| (k.as_str(), v.text.as_str()))
                .collect::<BTreeMap<_, _>>(),
        )
        .map_err(|e| SendError::Internal(e.to_string()))?;
        let idempotency = keyed(
            request.idempotency_key.as_ref(),
            request.user,
            (
                &processing.name,
                &request.fields,
                request.company.as_deref(),
            ),
            "start the processing",
        )
        .map_err(SendError::Refused)?;
        if let Some((user, key, hash)) = &idempotency
            && let Some(started) = self.replay(*user, key, hash).await?
        {
            return Ok(started);
        }
        let connection_method = Some(request.origin.connection_method());
        let origin = serde_json::to_string(&request.origin)
            .map_err(|e| SendError::Internal(e.to_string()))?;
        let (name, written, record) = (
            processing.name.clone(),
            processing.spec.written.clone(),
            first.web_application_id,
        );
        let user = request.user;
        let for_db = idempotency.clone();
        let stored = messenger
            .db(move |conn| {
                runs::start(
                    conn,
                    &NewRun {
                        processing: &name,
                        spec: &written,
                        web_application_id: record,
                        company: &company,
                        user_id: user,
                        connection_method,
                        fields: &fields_json,
                        idempotency: for_db.as_ref().map(|(_, key, hash)| Idempotency {
                            key,
                            request_hash: hash,
                        }),
                        origin: Some(&origin),
                        files: &files,
                        now_ms: now_ms(),
                    },
                )
            })
            .await;
        match (stored, &idempotency) {
            (Ok(id), _) => {
                tracing::info!(message = %id, processing = %processing.name, "started");
                Ok(Started {
                    message_id: id.get(),
                    status: MessageStatus::InProgress,
                    replayed: false,
                })
            }
            (Err(SendError::Store(StoreError::IdempotencyKeyTaken)), Some((user, key, hash))) => {
                self.replay(*user, key, hash).await?.ok_or_else(|| {
                    SendError::Internal(format!(
                        "the message stored under the Idempotency-Key `{key}` could not be read"
                    ))
                })
            }
            (Err(error), _) => Err(error),
        }
    }

    async fn replay(
        &self,
        user: UserId,
        key: &str,
        hash: &str,
    ) -> Result<Option<Started>, SendError> {
        let (key_owned, hash) = (key.to_owned(), hash.to_owned());
        let found = self
            .messenger()
            .db(move |conn| earlier(conn, user, &key_owned, &hash))
            .await?;
        match found {
            None => Ok(None),
            Some(Earlier::Other { id }) => Err(SendError::IdempotencyKeyReused(format!(
                "the Idempotency-Key `{key}` was used for another request (message {id}); a \
                 retry must send the same processing and fields, a new request needs a new key"
            ))),
            Some(Earlier::Same { id, status }) => Ok(Some(Started {
                message_id: id.get(),
                status,
                replayed: true,
            })),
        }
    }
}

/// The files the processing's steps send, each given once, UTF-8 text, at most
/// [`MAX_FILE_BYTES`]; nothing else.
fn check_files(
    processing: &ProcessingSpec,
    given: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<(String, Vec<u8>)>, SendError> {
    let wanted = processing.files();
    let mut problems = Vec::new();
    for name in given.keys() {
        if !wanted.contains(&name.as_str()) {
            problems.push(format!(
                "`{name}` is no file of processing `{}` (its files: {})",
                processing.name,
                if wanted.is_empty() {
                    "none".to_owned()
                } else {
                    wanted.join(", ")
                }
            ));
        }
    }
    for name in &wanted {
        match given.get(*name) {
            None => problems.push(format!("the file `{name}` is required")),
            Some(body) if body.is_empty() => problems.push(format!("the file `{name}` is empty")),
            Some(body) if body.len() > MAX_FILE_BYTES => problems.push(format!(
                "the file `{name}` is {} bytes; the limit is {MAX_FILE_BYTES}",
                body.len()
            )),
            Some(body) if std::str::from_utf8(body).is_err() => problems.push(format!(
                "the file `{name}` is not UTF-8 text; send the document as the ERP wrote it, in UTF-8"
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(wanted
            .iter()
            .filter_map(|name| {
                given
                    .get(*name)
                    .map(|body| ((*name).to_owned(), body.clone()))
            })
            .collect())
    } else {
        Err(SendError::Refused(format!(
            "{}; nothing was started",
            problems.join("; ")
        )))
    }
}

/// A web service as a processing of one request step.
fn one_step(service: &str) -> Result<processings::Processing, StoreError> {
    let written = serde_json::json!({
        "name": service,
        "description": format!("the web service {service} as one step"),
        "steps": [{"name": service, "request": service}],
    })
    .to_string();
    Ok(processings::Processing {
        name: service.to_owned(),
        spec: processings::read_spec(service, &written)?,
    })
}

/// The form a message of `processing` starts with: its inputs, and the checks between amounts
/// of its web services whose fields are all inputs.
pub(crate) fn form(processing: &ProcessingSpec, services: &[WebServiceSpec]) -> WebServiceSpec {
    let inputs = processing.inputs(services);
    let checks = services
        .iter()
        .filter(|s| {
            processing
                .steps
                .iter()
                .filter_map(|step| step.call())
                .any(|call| call.service == s.name)
        })
        .flat_map(|s| s.checks.iter().cloned())
        .filter(|check| {
            std::iter::once(&check.field)
                .chain(&check.of)
                .all(|f| inputs.iter().any(|i| &i.name == f))
        })
        .collect();
    WebServiceSpec {
        name: processing.name.clone(),
        description: processing.description.clone(),
        web_application: String::new(),
        method: emsg_webapps::Method::Get,
        base_url: None,
        url: String::new(),
        headers: BTreeMap::new(),
        accept: None,
        content_type: None,
        body_template: None,
        body: None,
        success_statuses: vec![200],
        response_type: emsg_webapps::ResponseType::Json,
        fields: inputs.into_iter().cloned().collect(),
        checks,
        fraud_prevention: None,
    }
}

pub(super) fn first_service<'a>(
    processing: &ProcessingSpec,
    services: &'a [WebService],
) -> Option<&'a WebService> {
    processing
        .steps
        .iter()
        .filter_map(|step| step.call())
        .find_map(|call| services.iter().find(|s| s.spec.name == call.service))
}
