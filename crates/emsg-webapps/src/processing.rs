//! Processings (Dynamics 365's *electronic message processing*): a filing as an ordered list of
//! steps whose answers feed the later ones, as written in the `processings` list of
//! web-apps.yaml. A step calls a web service of the file once (`request`), repeatedly until a
//! condition holds (`poll`), or waits for a person to agree to a declaration (`confirm`).
//!
//! A processing declares no fields of its own: what a person or an ERP fills in when a message
//! starts is every field of its steps' web services that no earlier step extracts
//! ([`ProcessingSpec::inputs`]), checked by that web service's rules.

use std::collections::BTreeMap;

use emsg_processing::{Source, Verdict};
use serde::Deserialize;

use crate::lifetime::Lifetime;
use crate::service::{FieldSpec, WebServiceSpec};

/// One processing. Stored as the file wrote it (JSON) and read back with this same reader.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessingSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub steps: Vec<Step>,
    /// Whether a person who continues the message (confirms, decides) takes it over: its later
    /// user-specific steps then use their own connection (in Norway the one who fills in is
    /// often not the one with the signing right). Without it the starter's connection is used.
    #[serde(default)]
    pub hand_over: bool,
    /// Run by the scheduler every so often for each connection of its first web application.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    /// The processing as the file wrote it, as JSON: what the store keeps and reads back.
    #[serde(skip)]
    pub written: String,
}

/// When the scheduler starts a message of the processing, and with which fields. A value may
/// hold `{{today}}`, `{{today-30d}}` or `{{today+90d}}`: the date (UTC) the message starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// A [duration](crate::Lifetime): `24h`, `7d`; at least a minute.
    pub every: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl Schedule {
    /// The shortest schedule: a minute.
    pub const MIN_SECS: u64 = 60;

    /// How often it runs; the import checked it.
    pub fn every(&self) -> std::time::Duration {
        Lifetime::parse(&self.every)
            .map(Lifetime::as_duration)
            .unwrap_or(std::time::Duration::from_secs(86_400))
    }

    /// `value` with its date placeholders filled for the day `today` (days since 1970-01-01).
    pub fn fill(value: &str, today: i64) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| format!("`{value}` opens `{{{{` without closing it"))?;
            let inner = after[..end].trim();
            let offset = match inner.strip_prefix("today") {
                Some("") => 0,
                Some(days) => {
                    let (sign, number) = days.split_at(1);
                    let number = number.strip_suffix('d').and_then(|n| n.parse::<i64>().ok());
                    match (sign, number) {
                        ("+", Some(n)) if n <= 36_500 => n,
                        ("-", Some(n)) if n <= 36_500 => -n,
                        _ => return Err(placeholder_error(inner)),
                    }
                }
                None => return Err(placeholder_error(inner)),
            };
            out.push_str(&date_of(today + offset));
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

fn placeholder_error(inner: &str) -> String {
    format!(
        "`{{{{{inner}}}}}` is not a date a schedule fills in; write `{{{{today}}}}`, \
         `{{{{today-30d}}}}` or `{{{{today+90d}}}}`"
    )
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (the civil calendar, proleptic Gregorian).
fn date_of(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// One step: a name the timeline shows, and what it does.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WrittenStep")]
pub struct Step {
    pub name: String,
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Calls a web service once.
    Request(Call),
    /// Calls a (GET) web service until `poll.until` holds or the deadline passes.
    Poll(Call, Poll),
    /// Waits until a person reviews the listed values and agrees to the declaration.
    Confirm(Confirm),
}

/// A call of a web service, and what is read from its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The web service's name in this file.
    pub service: String,
    /// Values read from the answer into the message, by name, for later steps.
    pub extract: BTreeMap<String, Source>,
    /// Where a provider that answers 200 to a refusal says so.
    pub verdict: Option<Verdict>,
    /// How a step that changes something at the provider is settled when its outcome is
    /// unknown (the request left and no answer came back).
    pub reconcile: Option<Reconcile>,
    /// Keep the answer's body byte for byte under this file name (a receipt PDF).
    pub attachment: Option<String>,
    /// Send the file of this name, uploaded with the message (an ERP's ready-made XML), as the
    /// request's body.
    pub body_file: Option<String>,
    /// Extracted values that hold several (Altinn's instance id `{partyId}/{guid}`), each split
    /// into named parts; each part fills its own path segment and is checked as a field.
    pub split: BTreeMap<String, Split>,
    /// A value an earlier step extracted that is the URL to call (Altinn's data-element link, a
    /// `Location`) instead of the web service's own; it is followed only when it is on the web
    /// service's origin and below its base path.
    pub url_from: Option<String>,
}

/// How one extracted value splits into parts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The separator, e.g. `/`.
    pub by: String,
    /// The parts' names, in order.
    pub into: Vec<String>,
}

impl Split {
    /// The parts of `value`, by name; an error when it does not split into exactly them.
    pub fn apply(&self, name: &str, value: &str) -> Result<Vec<(String, String)>, String> {
        let parts: Vec<&str> = value.split(self.by.as_str()).collect();
        if parts.len() != self.into.len() || parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "`{name}` = `{value}` does not split by `{}` into {} parts ({})",
                self.by,
                self.into.len(),
                self.into.join(", ")
            ));
        }
        Ok(self
            .into
            .iter()
            .cloned()
            .zip(parts.into_iter().map(str::to_owned))
            .collect())
    }
}

impl Call {
    /// Every name the call's answer gives the message: the extracted ones and their parts.
    pub fn gives(&self) -> Vec<&str> {
        self.extract
            .keys()
            .map(String::as_str)
            .chain(
                self.split
                    .values()
                    .flat_map(|s| s.into.iter().map(String::as_str)),
            )
            .collect()
    }
}

/// A safe request that tells whether an unsafe step's request reached the provider.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reconcile {
    /// A GET web service (view the return for that period, say).
    pub request: String,
    /// When its answer shows the step's request was processed.
    pub done_when: Condition,
    /// Values read from the reconcile answer in place of the step's own extraction.
    #[serde(default)]
    pub extract: BTreeMap<String, Source>,
}

/// A test of an answer: its status, and a value in it (present, or equal to a text).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub from: Option<Source>,
    #[serde(default)]
    pub equals: Option<String>,
}

/// How often a poll looks, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct Poll {
    pub until: Condition,
    pub interval: Lifetime,
    /// Each wait is the previous one times this (1 keeps the interval), up to `max_interval`.
    pub backoff: f64,
    pub max_interval: Lifetime,
    /// From the first look; past it the message ends as a technical error.
    pub deadline: Lifetime,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// The values the person reviews, by name (fields or extracted values).
    #[serde(default)]
    pub show: Vec<String>,
    /// The text the person agrees to (HMRC's legal declaration).
    pub declaration: String,
}

impl Poll {
    /// The wait before look number `looks + 1`, after `looks` looks.
    pub fn wait_after(&self, looks: u32) -> std::time::Duration {
        let first = self.interval.as_secs() as f64;
        let grown = first * self.backoff.powi(looks.saturating_sub(1).min(64) as i32);
        let secs = grown.min(self.max_interval.as_secs() as f64).max(first);
        std::time::Duration::from_secs_f64(secs)
    }
}

impl Step {
    /// The call the step makes, for request and poll steps.
    pub fn call(&self) -> Option<&Call> {
        match &self.action {
            Action::Request(call) | Action::Poll(call, _) => Some(call),
            Action::Confirm(_) => None,
        }
    }
}

impl ProcessingSpec {
    /// The fields a message of this processing starts with: every field of its steps' web
    /// services (reconcile requests included) that no earlier step extracts, first use first.
    pub fn inputs<'a>(&self, services: &'a [WebServiceSpec]) -> Vec<&'a FieldSpec> {
        let mut inputs: Vec<&FieldSpec> = Vec::new();
        let mut extracted: Vec<&str> = Vec::new();
        for step in &self.steps {
            let Some(call) = step.call() else { continue };
            let reconcile = call.reconcile.as_ref().map(|r| r.request.as_str());
            for name in std::iter::once(call.service.as_str()).chain(reconcile) {
                let Some(service) = services.iter().find(|s| s.name == name) else {
                    continue;
                };
                for field in &service.fields {
                    if !extracted.contains(&field.name.as_str())
                        && !inputs.iter().any(|f| f.name == field.name)
                    {
                        inputs.push(field);
                    }
                }
            }
            extracted.extend(call.gives());
        }
        inputs
    }

    /// The files a message of this processing is started with: those its steps send as bodies.
    pub fn files(&self) -> Vec<&str> {
        let mut files: Vec<&str> = Vec::new();
        for file in self
            .steps
            .iter()
            .filter_map(|step| step.call()?.body_file.as_deref())
        {
            if !files.contains(&file) {
                files.push(file);
            }
        }
        files
    }
}

/// A step as written: exactly one of `request`, `poll` and `confirm`, with the keys that go
/// with it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrittenStep {
    name: String,
    request: Option<String>,
    poll: Option<String>,
    confirm: Option<Confirm>,
    #[serde(default)]
    extract: BTreeMap<String, Source>,
    verdict: Option<Verdict>,
    reconcile: Option<Reconcile>,
    attachment: Option<String>,
    body_file: Option<String>,
    #[serde(default)]
    split: BTreeMap<String, Split>,
    url_from: Option<String>,
    until: Option<Condition>,
    interval: Option<String>,
    backoff: Option<f64>,
    max_interval: Option<String>,
    deadline: Option<String>,
}

/// The longest wait between two looks when `max_interval` is not given.
const DEFAULT_MAX_INTERVAL_SECS: u64 = 300;

impl TryFrom<WrittenStep> for Step {
    type Error = String;

    fn try_from(w: WrittenStep) -> Result<Self, String> {
        let call = |service: String, w: &mut WrittenStep| Call {
            service,
            extract: std::mem::take(&mut w.extract),
            verdict: w.verdict.take(),
            reconcile: w.reconcile.take(),
            attachment: w.attachment.take(),
            body_file: w.body_file.take(),
            split: std::mem::take(&mut w.split),
            url_from: w.url_from.take(),
        };
        let mut w = w;
        let action = match (w.request.take(), w.poll.take(), w.confirm.take()) {
            (Some(service), None, None) => {
                if let Some(key) = poll_keys(&w).first() {
                    return Err(format!(
                        "`{key}` belongs to a `poll` step; this step is a `request`"
                    ));
                }
                Action::Request(call(service, &mut w))
            }
            (None, Some(service), None) => {
                let poll = read_poll(&mut w)?;
                if w.reconcile.is_some() {
                    return Err(
                        "a `poll` step only reads, so it has nothing to reconcile; remove \
                         `reconcile`"
                            .to_owned(),
                    );
                }
                Action::Poll(call(service, &mut w), poll)
            }
            (None, None, Some(confirm)) => {
                let extra = [
                    (!w.extract.is_empty(), "extract"),
                    (w.verdict.is_some(), "verdict"),
                    (w.reconcile.is_some(), "reconcile"),
                    (w.attachment.is_some(), "attachment"),
                    (w.body_file.is_some(), "body_file"),
                    (!w.split.is_empty(), "split"),
                    (w.url_from.is_some(), "url_from"),
                ];
                if let Some((_, key)) = extra.iter().find(|(given, _)| *given) {
                    return Err(format!(
                        "a `confirm` step calls nothing, so `{key}` has nothing to act on; remove it"
                    ));
                }
                if let Some(key) = poll_keys(&w).first() {
                    return Err(format!("`{key}` belongs to a `poll` step, not a `confirm`"));
                }
                if confirm.declaration.trim().is_empty() {
                    return Err(
                        "`confirm.declaration` is blank; write the text a person agrees \
                                to"
                        .to_owned(),
                    );
                }
                Action::Confirm(confirm)
            }
            _ => {
                return Err(
                    "a step has exactly one of `request: <web service>`, `poll: <web service>` \
                     and `confirm: {show, declaration}`"
                        .to_owned(),
                );
            }
        };
        if w.name.trim().is_empty() {
            return Err("the step's `name` is blank; name it as the timeline should".to_owned());
        }
        Ok(Step {
            name: w.name,
            action,
        })
    }
}

fn poll_keys(w: &WrittenStep) -> Vec<&'static str> {
    [
        (w.until.is_some(), "until"),
        (w.interval.is_some(), "interval"),
        (w.backoff.is_some(), "backoff"),
        (w.max_interval.is_some(), "max_interval"),
        (w.deadline.is_some(), "deadline"),
    ]
    .into_iter()
    .filter_map(|(given, key)| given.then_some(key))
    .collect()
}

fn read_poll(w: &mut WrittenStep) -> Result<Poll, String> {
    let duration = |key: &str, text: Option<&String>| -> Result<Option<Lifetime>, String> {
        text.map(|t| Lifetime::parse(t).map_err(|e| format!("`{key}`: {e}")))
            .transpose()
    };
    let until = w.until.take().ok_or(
        "a `poll` step needs `until: {status: 200}` or `until: {from: {json: /pointer}, equals: \
         \"…\"}`: when to stop looking",
    )?;
    let interval = duration("interval", w.interval.as_ref())?
        .ok_or("a `poll` step needs `interval` (e.g. `10s`): how long to wait between looks")?;
    let deadline = duration("deadline", w.deadline.as_ref())?
        .ok_or("a `poll` step needs `deadline` (e.g. `1h`): how long to look before giving up")?;
    let max_interval = duration("max_interval", w.max_interval.as_ref())?.unwrap_or_else(|| {
        Lifetime::from_secs(DEFAULT_MAX_INTERVAL_SECS.max(interval.as_secs())).unwrap_or(interval)
    });
    let backoff = w.backoff.unwrap_or(1.0);
    if !(1.0..=10.0).contains(&backoff) {
        return Err(format!(
            "`backoff` is {backoff}; it multiplies each wait, from 1 (the same wait every time) \
             to 10"
        ));
    }
    if max_interval < interval {
        return Err("`max_interval` is shorter than `interval`; make it at least as long".into());
    }
    if deadline < interval {
        return Err(
            "`deadline` is shorter than `interval`: the poll would never look twice; \
                    make it longer"
                .into(),
        );
    }
    Ok(Poll {
        until,
        interval,
        backoff,
        max_interval,
        deadline,
    })
}

impl Condition {
    /// Whether the condition is well formed; the error says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.status.is_none() && self.from.is_none() {
            return Err(
                "a condition names `status: 200`, `from: {json: /pointer}` (with `equals` for a \
                 value), or both"
                    .to_owned(),
            );
        }
        if self.equals.is_some() && self.from.is_none() {
            return Err("`equals` needs `from`: where the value is read".to_owned());
        }
        self.from.as_ref().map_or(Ok(()), Source::check)
    }
}
