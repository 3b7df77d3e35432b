//! Scheduled processings: when one is due (a row the import wrote, moved on by the one node whose
//! UPDATE takes it), a message starts for each working connection of its first web
//! application, with the schedule's fields (dates filled in for today), as a batch process
//! (HMRC's `BATCH_PROCESS_DIRECT`): nobody is at a browser.

use emsg_store::connections::{self, Status};
use emsg_store::{Subject, processings, schedules, web_services};
use emsg_webapps::Schedule;

use super::start::{StartRequest, first_service};
use super::{Processor, now_ms};
use crate::fraud::{Origin, this_machine};
use crate::send::SendError;

impl Processor {
    /// Starts the scheduled processings that are due; returns how many messages started.
    pub async fn fire_schedules(&self) -> Result<usize, SendError> {
        let now = now_ms();
        let due = self
            .messenger()
            .db(move |conn| schedules::take_due(conn, now))
            .await?;
        let mut started = 0;
        for key in due {
            let work = self
                .messenger()
                .db(move |conn| {
                    let Some(processing) = processings::get(conn, &key)? else {
                        return Ok(None);
                    };
                    let services = web_services::list(conn)?;
                    let record =
                        first_service(&processing.spec, &services).map(|s| s.web_application_id);
                    let targets: Vec<(String, Subject)> = connections::list(conn, None)?
                        .into_iter()
                        .filter(|c| Some(c.web_application_id) == record)
                        .filter(|c| {
                            matches!(c.status(), Status::Connected | Status::RefreshFailing)
                        })
                        .map(|c| (c.company.clone(), c.subject()))
                        .collect();
                    Ok(Some((processing, targets)))
                })
                .await?;
            let Some((processing, targets)) = work else {
                continue;
            };
            let Some(schedule) = &processing.spec.schedule else {
                continue;
            };
            let today = now.div_euclid(86_400_000);
            let mut fields = std::collections::BTreeMap::new();
            for (name, value) in &schedule.fields {
                fields.insert(
                    name.clone(),
                    Schedule::fill(value, today).map_err(SendError::Setup)?,
                );
            }
            if targets.is_empty() {
                tracing::info!(processing = %processing.name, "scheduled, but its web application has no working connection: nothing started");
            }
            for (company, subject) in targets {
                let user = match subject {
                    Subject::User(user) => Some(user),
                    Subject::Company => None,
                };
                let request = StartRequest {
                    processing: processing.name.clone(),
                    fields: fields.clone(),
                    company: Some(company),
                    user,
                    origin: Origin::BatchProcessDirect(this_machine(String::new(), None, now)),
                    idempotency_key: None,
                    files: std::collections::BTreeMap::new(),
                };
                match self.start(request).await {
                    Ok(message) => {
                        started += 1;
                        tracing::info!(processing = %processing.name, message = message.message_id, "the scheduler started a message");
                    }
                    Err(error) => {
                        tracing::warn!(processing = %processing.name, "the scheduler could not start a message: {error}");
                    }
                }
            }
        }
        Ok(started)
    }
}
