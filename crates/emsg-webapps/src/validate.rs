//! Validation of the whole file: the top level, the list of records, and the checks that span
//! records (unique names, exchange sources). Each problem is collected, none stops the others.

use std::collections::HashMap;

use serde_yaml::Value;

use crate::locate::{Anchor, Locator, Path};
use crate::model::{ParsedFile, WebApplicationSpec};
use crate::problems::{Problem, Problems, closest, describe};
use crate::processing::ProcessingSpec;
use crate::processing_read::{check_polls, check_processing, read_processing};
use crate::read_record::read_record;
use crate::service::WebServiceSpec;
use crate::service_read::{check_template, read_service};
use crate::templates::TemplateSource;

/// The positions of the fields checked after parsing: outbound URLs and the client ID and
/// secret (which may be `{env: …}` references).
fn places(
    applications: &[WebApplicationSpec],
    services: &[WebServiceSpec],
    locator: &Locator,
) -> HashMap<String, (u32, u32)> {
    let mut places = HashMap::new();
    let mut put = |path: Path| {
        if locator.line_of(&path).is_some() {
            let pos = locator.resolve(&path, Anchor::Value);
            places.insert(path.to_string(), (pos.line, pos.column));
        }
    };
    let list = Path::root().key(TOP_LEVEL_KEY);
    for index in 0..applications.len() {
        let record = list.index(index);
        for key in crate::keys::outbound_places() {
            let path = match key.split_once('.') {
                Some((outer, inner)) => record.key(outer).key(inner),
                None => record.key(key),
            };
            put(path);
        }
        put(record.key("client_id"));
        put(record.key("client_secret"));
    }
    let list = Path::root().key(SERVICES_KEY);
    for index in 0..services.len() {
        put(list.index(index).key("base_url"));
    }
    places
}

const TOP_LEVEL_KEY: &str = "web_applications";
const SERVICES_KEY: &str = "web_services";
const PROCESSINGS_KEY: &str = "processings";

/// Reads the records of a file; `Err` holds every problem found.
pub(crate) fn validate(
    root: &Value,
    locator: &Locator,
    templates: &dyn TemplateSource,
) -> Result<ParsedFile, Vec<Problem>> {
    let mut problems = Problems::default();
    let top = Path::root();
    let list_path = top.key(TOP_LEVEL_KEY);
    let mut applications = Vec::new();
    let mut lines = Vec::new();
    let mut services = Vec::new();
    let mut service_lines = Vec::new();
    let mut processings = Vec::new();
    let mut processing_lines = Vec::new();
    match root {
        Value::Mapping(map) => {
            for key in map.keys() {
                let known = [TOP_LEVEL_KEY, SERVICES_KEY, PROCESSINGS_KEY];
                if !known.iter().any(|k| key.as_str() == Some(k)) {
                    let shown = key.as_str().unwrap_or("(not a plain word)");
                    problems.at_key(
                        top.key(shown),
                        format!(
                            "unknown top-level key `{shown}`; the accepted keys are \
                             `{TOP_LEVEL_KEY}`, `{SERVICES_KEY}` and `{PROCESSINGS_KEY}`"
                        ),
                    );
                }
            }
            (processings, processing_lines) = TopList {
                key: PROCESSINGS_KEY,
                items: "processings",
                value: map.get(PROCESSINGS_KEY),
            }
            .read(locator, &mut problems, read_processing);
            (services, service_lines) = TopList {
                key: SERVICES_KEY,
                items: "web services",
                value: map.get(SERVICES_KEY),
            }
            .read(locator, &mut problems, read_service);
            match map.get(TOP_LEVEL_KEY) {
                None => problems.at_value(
                    top.clone(),
                    format!("missing `{TOP_LEVEL_KEY}`; the file must start with `{TOP_LEVEL_KEY}:` followed by a list of records"),
                ),
                Some(Value::Sequence(items)) => {
                    for (index, item) in items.iter().enumerate() {
                        let path = list_path.index(index);
                        applications.push(read_record(item, &path, &mut problems));
                        lines.push(
                            locator
                                .line_of(&path)
                                .unwrap_or_else(|| locator.resolve(&path, Anchor::Value).line),
                        );
                    }
                }
                Some(other) => problems.at_value(
                    list_path.clone(),
                    format!(
                        "`{TOP_LEVEL_KEY}` must be a list of records (`- name: ...`), not {}; \
                         write `{TOP_LEVEL_KEY}: []` for none",
                        describe(other)
                    ),
                ),
            }
        }
        Value::Null => problems.at_value(
            top,
            format!(
                "the file is empty; start it with `{TOP_LEVEL_KEY}:` followed by a list of records"
            ),
        ),
        other => problems.at_value(
            top,
            format!(
                "the top level must be a mapping with the key `{TOP_LEVEL_KEY}`, not {}",
                describe(other)
            ),
        ),
    }
    check_names(&applications, &list_path, locator, &mut problems);
    check_exchange_sources(&applications, &list_path, &mut problems);
    let services_path = Path::root().key(SERVICES_KEY);
    check_service_names(&services, &services_path, locator, &mut problems);
    check_service_applications(&services, &applications, &services_path, &mut problems);
    load_bodies(&mut services, &services_path, templates, &mut problems);
    check_processings(&processings, &services, locator, &mut problems);
    if problems.0.is_empty() {
        let places = places(&applications, &services, locator);
        Ok(ParsedFile {
            applications,
            lines,
            services,
            service_lines,
            processings,
            processing_lines,
            file: String::new(),
            places,
        })
    } else {
        Err(problems.0)
    }
}

/// A list of the top level (`web_services`, `processings`): each item read by `read`, with the
/// line it starts on; nothing when the key is absent.
struct TopList<'a> {
    key: &'static str,
    /// What an item is, for the message about a value that is not a list.
    items: &'static str,
    value: Option<&'a Value>,
}

impl TopList<'_> {
    fn read<T>(
        &self,
        locator: &Locator,
        problems: &mut Problems,
        read: fn(&Value, &Path, &mut Problems) -> T,
    ) -> (Vec<T>, Vec<u32>) {
        let list_path = Path::root().key(self.key);
        let items = match self.value {
            None | Some(Value::Null) => return (Vec::new(), Vec::new()),
            Some(Value::Sequence(items)) => items,
            Some(other) => {
                problems.at_value(
                    list_path,
                    format!(
                        "`{}` must be a list of {} (`- name: ...`), not {}",
                        self.key,
                        self.items,
                        describe(other)
                    ),
                );
                return (Vec::new(), Vec::new());
            }
        };
        let mut read_items = Vec::with_capacity(items.len());
        let mut lines = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let path = list_path.index(index);
            read_items.push(read(item, &path, problems));
            lines.push(
                locator
                    .line_of(&path)
                    .unwrap_or_else(|| locator.resolve(&path, Anchor::Value).line),
            );
        }
        (read_items, lines)
    }
}

/// Unique names, then each processing against the web services.
fn check_processings(
    processings: &[ProcessingSpec],
    services: &[WebServiceSpec],
    locator: &Locator,
    problems: &mut Problems,
) {
    let list_path = Path::root().key(PROCESSINGS_KEY);
    let mut first: HashMap<String, usize> = HashMap::new();
    for (index, processing) in processings.iter().enumerate() {
        let path = list_path.index(index);
        let folded = processing.name.to_lowercase();
        if !folded.is_empty() {
            if let Some(&earlier) = first.get(&folded) {
                let line = locator
                    .resolve(&list_path.index(earlier).key("name"), Anchor::Value)
                    .line;
                problems.at_value(
                    path.key("name"),
                    format!(
                        "duplicate processing name `{}`: line {line} already uses it; names \
                         must be unique (case is ignored)",
                        processing.name
                    ),
                );
            } else {
                first.insert(folded, index);
            }
        }
        check_processing(processing, &path, services, problems);
        check_polls(processing, &path, problems);
    }
}

fn check_service_names(
    services: &[WebServiceSpec],
    list_path: &Path,
    locator: &Locator,
    problems: &mut Problems,
) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (index, service) in services.iter().enumerate() {
        let folded = service.name.to_lowercase();
        if folded.is_empty() {
            continue;
        }
        if let Some(&earlier) = first.get(&folded) {
            let line = locator
                .resolve(&list_path.index(earlier).key("name"), Anchor::Value)
                .line;
            problems.at_value(
                list_path.index(index).key("name"),
                format!(
                    "duplicate web service name `{}`: line {line} already uses it; names must \
                     be unique (case is ignored)",
                    service.name
                ),
            );
        } else {
            first.insert(folded, index);
        }
    }
}

fn check_service_applications(
    services: &[WebServiceSpec],
    applications: &[WebApplicationSpec],
    list_path: &Path,
    problems: &mut Problems,
) {
    let names: Vec<&str> = applications.iter().map(|a| a.name.as_str()).collect();
    for (index, service) in services.iter().enumerate() {
        if let (Some(file), Some(app)) = (
            &service.body_template,
            applications
                .iter()
                .find(|a| a.name == service.web_application),
        ) {
            let content_type = service
                .content_type
                .as_deref()
                .or(app.content_type.as_deref());
            if crate::BodyEscaping::of(content_type).is_none() {
                problems.at_value(
                    list_path.index(index).key("body_template"),
                    format!(
                        "the body template {file} would be sent as {}, and emsg knows no \
                         escaping for it, so field values cannot be put in safely; set \
                         `content_type` to JSON (`application/json`, `…+json`), XML \
                         (`application/xml`, `…+xml`) or `application/x-www-form-urlencoded`",
                        content_type
                            .map_or_else(|| "no content type".to_owned(), |c| format!("`{c}`"))
                    ),
                );
            }
        }
        if service.web_application.is_empty() || names.contains(&service.web_application.as_str()) {
            continue;
        }
        let hint = closest(&service.web_application, &names)
            .map(|near| format!("did you mean `{near}`? "))
            .unwrap_or_default();
        problems.at_value(
            list_path.index(index).key("web_application"),
            format!(
                "no web application named `{}` in this file; {hint}`web_application` must name \
                 a record of `{TOP_LEVEL_KEY}` exactly",
                service.web_application
            ),
        );
    }
}

/// Reads each body template through `templates` and checks it like the URL.
fn load_bodies(
    services: &mut [WebServiceSpec],
    list_path: &Path,
    templates: &dyn TemplateSource,
    problems: &mut Problems,
) {
    for (index, service) in services.iter_mut().enumerate() {
        let Some(file) = service.body_template.clone() else {
            continue;
        };
        let Some(read) = templates.read(&file) else {
            continue;
        };
        let at = list_path.index(index).key("body_template");
        match read.and_then(|text| {
            check_template(&text, service)
                .map(|()| text)
                .map_err(|message| format!("templates/messages/{file}: {message}"))
        }) {
            Ok(text) => service.body = Some(text),
            Err(message) => problems.at_value(at, message),
        }
    }
}

/// Names identify records, so they must be unique; case and surrounding spaces are ignored
/// because an administrator reading the page would not tell such names apart.
fn check_names(
    applications: &[WebApplicationSpec],
    list_path: &Path,
    locator: &Locator,
    problems: &mut Problems,
) {
    let mut first: HashMap<String, usize> = HashMap::new();
    for (index, app) in applications.iter().enumerate() {
        let folded = app.name.trim().to_lowercase();
        if folded.is_empty() {
            continue; // already reported
        }
        match first.get(&folded) {
            Some(&earlier) => {
                let earlier_path = list_path.index(earlier).key("name");
                let line = locator.resolve(&earlier_path, Anchor::Value).line;
                problems.at_value(
                    list_path.index(index).key("name"),
                    format!(
                        "duplicate name `{}`: line {line} already names a web application `{}`; \
                         names must be unique (case is ignored), rename one of them",
                        app.name, applications[earlier].name
                    ),
                );
            }
            None => {
                first.insert(folded, index);
            }
        }
    }
}

fn check_exchange_sources(
    applications: &[WebApplicationSpec],
    list_path: &Path,
    problems: &mut Problems,
) {
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    let mut by_folded_name: HashMap<String, usize> = HashMap::new();
    for (index, app) in applications.iter().enumerate() {
        by_name.entry(app.name.as_str()).or_insert(index);
        by_folded_name
            .entry(app.name.trim().to_lowercase())
            .or_insert(index);
    }
    for (index, app) in applications.iter().enumerate() {
        let Some(exchange) = &app.exchange else {
            continue;
        };
        if exchange.source.is_empty() {
            continue; // already reported
        }
        let message = match by_name.get(exchange.source.as_str()) {
            Some(&source) if source == index => {
                "a record cannot be its own exchange source; name the OAuth record whose access \
                 token is exchanged"
                    .to_owned()
            }
            Some(&source) if applications[source].exchange.is_some() => format!(
                "`{}` is itself an exchange-type record; the source must be an OAuth record \
                 that gets its token from the provider",
                applications[source].name
            ),
            // Otherwise one user's token of the source (their ID-porten identity) would become
            // everyone's token of this record (the company's Altinn token).
            Some(&source) if applications[source].user_specific && !app.user_specific => format!(
                "`{}` is user-specific, so `{}`, which exchanges its token, must be too: add \
                 `user_specific: true` to `{}`",
                applications[source].name, app.name, app.name
            ),
            Some(_) => continue,
            None => match by_folded_name.get(&exchange.source.trim().to_lowercase()) {
                Some(&close) => format!(
                    "no web application is named `{}`; did you mean `{}`? Names must match \
                     exactly",
                    exchange.source, applications[close].name
                ),
                None => format!(
                    "no web application named `{}` in this file; `exchange.source` must name \
                     an OAuth record in the same file",
                    exchange.source
                ),
            },
        };
        problems.at_value(
            list_path.index(index).key("exchange").key("source"),
            message,
        );
    }
}
