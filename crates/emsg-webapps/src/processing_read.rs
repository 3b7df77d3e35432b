//! Reading and checking the `processings` list: each step's shape, then the whole processing
//! against the file's web services (every step refers to fields and values that exist by then).

use std::collections::HashMap;

use serde_yaml::Value;

use crate::lifetime::Lifetime;
use crate::locate::Path;
use crate::problems::{Problems, closest, describe};
use crate::processing::{Action, Call, ProcessingSpec, Schedule, Step};
use crate::service::{FieldSpec, Method, WebServiceSpec};

const KEYS: [&str; 5] = ["name", "description", "steps", "hand_over", "schedule"];

/// Reads one processing; its problems go to `problems`, located at `path`.
pub(crate) fn read_processing(
    value: &Value,
    path: &Path,
    problems: &mut Problems,
) -> ProcessingSpec {
    let mut spec = ProcessingSpec {
        name: String::new(),
        description: String::new(),
        steps: Vec::new(),
        hand_over: false,
        schedule: None,
        written: String::new(),
    };
    let Value::Mapping(map) = value else {
        problems.at_value(
            path.clone(),
            format!(
                "each processing must be a mapping (`name: ...`, `steps: [...]`), not {}",
                describe(value)
            ),
        );
        return spec;
    };
    for key in map.keys() {
        let key = key.as_str().unwrap_or("(not a word)");
        if !KEYS.contains(&key) {
            let hint = closest(key, &KEYS)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            problems.at_key(
                path.key(key),
                format!(
                    "unknown key `{key}` in a processing; {hint}accepted keys are: {}",
                    KEYS.join(", ")
                ),
            );
        }
    }
    match map.get("name") {
        Some(Value::String(name))
            if !name.trim().is_empty()
                && name.trim() == name
                && name.chars().count() <= 100
                && !name.chars().any(char::is_control) =>
        {
            spec.name = name.clone();
        }
        _ => problems.at_value(
            path.key("name"),
            "a processing needs a `name` of at most 100 characters, without control characters \
             or leading and trailing spaces",
        ),
    }
    match map.get("description") {
        None | Some(Value::Null) => {}
        Some(Value::String(text)) => spec.description = text.clone(),
        Some(other) => problems.at_value(
            path.key("description"),
            format!("`description` must be text, not {}", describe(other)),
        ),
    }
    match map.get("hand_over") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(hand_over)) => spec.hand_over = *hand_over,
        Some(other) => problems.at_value(
            path.key("hand_over"),
            format!("`hand_over` is true or false, not {}", describe(other)),
        ),
    }
    match map.get("schedule") {
        None | Some(Value::Null) => {}
        Some(value) => match serde_yaml::from_value::<Schedule>(value.clone()) {
            Ok(schedule) => spec.schedule = Some(schedule),
            Err(error) => problems.at_value(
                path.key("schedule"),
                format!(
                    "`schedule` is `{{every: 24h, fields: {{name: value}}}}`: {}",
                    serde_message(&error)
                ),
            ),
        },
    }
    match map.get("steps") {
        Some(Value::Sequence(steps)) if !steps.is_empty() => {
            for (index, step) in steps.iter().enumerate() {
                match serde_yaml::from_value::<Step>(step.clone()) {
                    Ok(step) => spec.steps.push(step),
                    Err(error) => problems.at_value(
                        path.key("steps").index(index),
                        format!("step {}: {}", index + 1, serde_message(&error)),
                    ),
                }
            }
        }
        _ => problems.at_value(
            path.key("steps"),
            "a processing needs `steps:`, a list of at least one step (`- name: …, request: \
             <web service>`)",
        ),
    }
    spec.written = serde_json::to_string(value).unwrap_or_default();
    spec
}

/// serde's message without its position (the step's place is given instead).
fn serde_message(error: &serde_yaml::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

/// Checks a processing against the file's web services: services exist, each step's fields
/// exist by then, extracted names do not replace given ones, reconcile and poll requests only
/// read, the same field name means the same kind everywhere.
pub(crate) fn check_processing(
    spec: &ProcessingSpec,
    path: &Path,
    services: &[WebServiceSpec],
    problems: &mut Problems,
) {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let find = |name: &str, at: Path, problems: &mut Problems| -> Option<&WebServiceSpec> {
        let found = services.iter().find(|s| s.name == name);
        if found.is_none() {
            let hint = closest(name, &names)
                .map(|near| format!("did you mean `{near}`? "))
                .unwrap_or_default();
            problems.at_value(
                at,
                format!(
                    "no web service named `{name}` in this file; {hint}a step calls a web \
                     service of `web_services` by its exact name"
                ),
            );
        }
        found
    };
    // Each value known so far: a field given at the start (and the kind it has), or a value
    // extracted by a step (1-based).
    let mut given: HashMap<&str, &FieldSpec> = HashMap::new();
    let mut extracted: HashMap<&str, usize> = HashMap::new();
    let mut step_names: HashMap<String, usize> = HashMap::new();
    let mut confirms = Vec::new();
    for (index, step) in spec.steps.iter().enumerate() {
        let at = path.key("steps").index(index);
        if let Some(first) = step_names.insert(step.name.to_lowercase(), index + 1) {
            problems.at_value(
                at.key("name"),
                format!(
                    "step {} has the same name as step {first}; name each step differently",
                    index + 1
                ),
            );
        }
        match &step.action {
            Action::Confirm(confirm) => {
                // Every field is given when the message starts: checked after all steps.
                let known_then: Vec<&str> = extracted.keys().copied().collect();
                confirms.push((at.key("confirm").key("show"), &confirm.show, known_then));
            }
            Action::Request(call) | Action::Poll(call, _) => {
                let key = if matches!(step.action, Action::Poll(..)) {
                    "poll"
                } else {
                    "request"
                };
                if let Some(service) = find(&call.service, at.key(key), problems) {
                    if key == "poll" && service.method != Method::Get {
                        problems.at_value(
                            at.key("poll"),
                            format!(
                                "a poll is sent again and again, so it must only read; web \
                                 service `{}` is {}",
                                service.name, service.method
                            ),
                        );
                    }
                    use_fields(service, &at, &mut given, &extracted, problems);
                    if call.body_file.is_some()
                        && (service.body_template.is_some()
                            || !matches!(service.method, Method::Post | Method::Put))
                    {
                        problems.at_value(
                            at.key("body_file"),
                            format!(
                                "web service `{}` is {}{}; a file is sent as the body of a POST \
                                 or PUT web service without a body template",
                                service.name,
                                service.method,
                                if service.body_template.is_some() {
                                    " with a body template"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                    if let Some(reconcile) = &call.reconcile {
                        check_reconcile(call, service, &at, &find, problems);
                        if let Some(service) = services.iter().find(|s| s.name == reconcile.request)
                        {
                            use_fields(service, &at, &mut given, &extracted, problems);
                        }
                    }
                }
                check_call(call, &at, problems);
                if let Some(name) = &call.url_from
                    && !extracted.contains_key(name.as_str())
                {
                    problems.at_value(
                        at.key("url_from"),
                        format!(
                            "`{name}` is no value an earlier step extracts; `url_from` names the \
                             extracted URL to call"
                        ),
                    );
                }
                for name in call.extract.keys() {
                    let place = at.key("extract").key(name);
                    if given.contains_key(name.as_str()) {
                        problems.at_key(
                            place,
                            format!(
                                "`{name}` is a field filled in when the message starts (an \
                                 earlier or this step's web service uses it); an extracted value \
                                 cannot replace it, so give it another name"
                            ),
                        );
                    } else if let Some(first) = extracted.get(name.as_str()) {
                        problems.at_key(
                            place,
                            format!(
                                "step {first} already extracts `{name}`; give this value \
                                 another name"
                            ),
                        );
                    }
                }
                for (name, split) in &call.split {
                    let place = at.key("split").key(name);
                    if !call.extract.contains_key(name) {
                        problems.at_key(
                            place.clone(),
                            format!("the step extracts no `{name}` to split; name a value of its `extract`"),
                        );
                    }
                    if split.by.is_empty() || split.into.len() < 2 {
                        problems.at_value(
                            place.clone(),
                            "a split has a separator (`by: /`) and at least two parts (`into: [partyId, instanceGuid]`)",
                        );
                    }
                    for part in &split.into {
                        if !crate::placeholders::is_field_name(part)
                            || given.contains_key(part.as_str())
                            || extracted.contains_key(part.as_str())
                            || call.extract.contains_key(part)
                        {
                            problems.at_value(
                                place.key("into"),
                                format!(
                                    "`{part}` cannot name a part: a part is a new name of letters, \
                                     digits and `_`, not a field the message starts with nor a \
                                     value extracted elsewhere"
                                ),
                            );
                        }
                    }
                }
                for name in call.gives() {
                    extracted.entry(name).or_insert(index + 1);
                }
            }
        }
    }
    if let Some(schedule) = &spec.schedule {
        check_schedule(schedule, &path.key("schedule"), &given, problems);
    }
    for (at, show, known_then) in confirms {
        for name in show {
            if !given.contains_key(name.as_str()) && !known_then.contains(&name.as_str()) {
                problems.at_value(
                    at.clone(),
                    format!(
                        "`{name}` is neither a field the message starts with nor a value an \
                         earlier step extracts, so there is nothing to show"
                    ),
                );
            }
        }
    }
}

/// Records the fields `service` takes: given at the start unless extracted before; a field used
/// by two services must have the same kind in both.
fn use_fields<'a>(
    service: &'a WebServiceSpec,
    at: &Path,
    given: &mut HashMap<&'a str, &'a FieldSpec>,
    extracted: &HashMap<&str, usize>,
    problems: &mut Problems,
) {
    for field in &service.fields {
        if extracted.contains_key(field.name.as_str()) {
            continue;
        }
        match given.get(field.name.as_str()) {
            Some(earlier) if earlier.kind != field.kind => problems.at_value(
                at.clone(),
                format!(
                    "web service `{}` takes `{}` as {}, but an earlier step's web service takes \
                     it as {}; one field must have one kind in a processing",
                    service.name,
                    field.name,
                    field.kind.name(),
                    earlier.kind.name()
                ),
            ),
            Some(_) => {}
            None => {
                given.insert(field.name.as_str(), field);
            }
        }
    }
}

fn check_reconcile<'a>(
    call: &Call,
    service: &WebServiceSpec,
    at: &Path,
    find: &impl Fn(&str, Path, &mut Problems) -> Option<&'a WebServiceSpec>,
    problems: &mut Problems,
) {
    let Some(reconcile) = &call.reconcile else {
        return;
    };
    let place = at.key("reconcile");
    if service.method == Method::Get {
        problems.at_value(
            place.clone(),
            format!(
                "web service `{}` only reads (GET), so it is sent again safely and has nothing \
                 to reconcile; remove `reconcile`",
                service.name
            ),
        );
    }
    if let Some(reconciler) = find(&reconcile.request, place.key("request"), problems)
        && reconciler.method != Method::Get
    {
        problems.at_value(
            place.key("request"),
            format!(
                "a reconcile request must only read (GET); web service `{}` is {}",
                reconciler.name, reconciler.method
            ),
        );
    }
    if let Err(message) = reconcile.done_when.check() {
        problems.at_value(place.key("done_when"), message);
    }
    for (name, source) in &reconcile.extract {
        if let Err(message) = source.check() {
            problems.at_value(place.key("extract").key(name), message);
        }
        if !call.extract.contains_key(name) {
            problems.at_key(
                place.key("extract").key(name),
                format!(
                    "the step itself extracts no `{name}`; a reconcile reads the values the step \
                     would have read, under the same names"
                ),
            );
        }
    }
}

fn check_call(call: &Call, at: &Path, problems: &mut Problems) {
    for (name, source) in &call.extract {
        if !crate::placeholders::is_field_name(name) {
            problems.at_key(
                at.key("extract").key(name),
                format!(
                    "`{name}` cannot name a value: use letters, digits and `_`, starting with a \
                     letter, so that later steps can write `{{{{{name}}}}}`"
                ),
            );
        }
        if let Err(message) = source.check() {
            problems.at_value(at.key("extract").key(name), message);
        }
    }
    if let Some(verdict) = &call.verdict
        && let Err(message) = verdict.from.check()
    {
        problems.at_value(at.key("verdict").key("from"), message);
    }
    if let Some(file) = &call.body_file
        && !is_file_name(file)
    {
        problems.at_value(
            at.key("body_file"),
            format!(
                "`{file}` is not a file name: use letters, digits, `-`, `_` and `.` (e.g. \
                 `mva-melding.xml`)"
            ),
        );
    }
    if let Some(file) = &call.attachment
        && (file.is_empty()
            || file.len() > 100
            || file.starts_with('.')
            || !file
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
    {
        problems.at_value(
            at.key("attachment"),
            format!(
                "`{file}` is not a file name for an attachment: use letters, digits, `-`, `_` \
                 and `.` (e.g. `receipt.pdf`)"
            ),
        );
    }
}

/// Checks each poll's condition (the step's shape was checked as it was read).
pub(crate) fn check_polls(spec: &ProcessingSpec, path: &Path, problems: &mut Problems) {
    for (index, step) in spec.steps.iter().enumerate() {
        if let Action::Poll(_, poll) = &step.action
            && let Err(message) = poll.until.check()
        {
            problems.at_value(path.key("steps").index(index).key("until"), message);
        }
    }
}

/// A schedule runs at most every minute, and fills only fields the message starts with.
fn check_schedule(
    schedule: &Schedule,
    at: &Path,
    given: &HashMap<&str, &FieldSpec>,
    problems: &mut Problems,
) {
    match Lifetime::parse(&schedule.every) {
        Ok(every) if every.as_secs() >= Schedule::MIN_SECS => {}
        Ok(_) => problems.at_value(
            at.key("every"),
            "a schedule runs at most every minute: write `1m` or longer",
        ),
        Err(error) => problems.at_value(at.key("every"), format!("`every`: {error}")),
    }
    for (name, value) in &schedule.fields {
        if !given.contains_key(name.as_str()) {
            let mut known: Vec<&str> = given.keys().copied().collect();
            known.sort_unstable();
            problems.at_key(
                at.key("fields").key(name),
                format!(
                    "`{name}` is no field the message starts with; they are: {}",
                    known.join(", ")
                ),
            );
        }
        if let Err(message) = Schedule::fill(value, 0) {
            problems.at_value(at.key("fields").key(name), message);
        }
    }
}

fn is_file_name(file: &str) -> bool {
    !file.is_empty()
        && file.len() <= 100
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
