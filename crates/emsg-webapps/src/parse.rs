//! Entry points: bytes or text of a `web-apps.yaml` file in, records or located errors out.

use serde_yaml::Value;

use crate::error::{ImportError, ImportErrors};
use crate::locate::{Locator, Pos};
use crate::model::ParsedFile;
use crate::problems::Problem;
use crate::templates::{NotLoaded, TemplateSource};
use crate::validate::validate;

/// The largest file accepted: 16 MiB, room for tens of thousands of records.
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;

const WHOLE_FILE: &str = "(file)";

/// Checks the size and the encoding of a file's bytes, then [`parse`]s it.
pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<ParsedFile, ImportErrors> {
    parse_bytes_with(file, bytes, &NotLoaded)
}

/// [`parse_bytes`] with body templates read through `templates`.
pub fn parse_bytes_with(
    file: &str,
    bytes: &[u8],
    templates: &dyn TemplateSource,
) -> Result<ParsedFile, ImportErrors> {
    check_size(file, bytes.len())?;
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let valid = &bytes[..error.valid_up_to()];
        // The prefix before the bad byte is valid UTF-8 by definition.
        let prefix = String::from_utf8_lossy(valid);
        let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
        let line = prefix.matches('\n').count() + 1;
        let column = prefix[line_start..].chars().count() + 1;
        one(
            file,
            Pos {
                line: saturate(line),
                column: saturate(column),
            },
            format!(
                "the file is not valid UTF-8 (byte {} is not part of a UTF-8 character); save it \
                 as UTF-8",
                error.valid_up_to()
            ),
        )
    })?;
    parse_with(file, text, templates)
}

/// Parses the text of a `web-apps.yaml` file named `file` (the name is used in messages).
///
/// Every problem that can be found is reported, each with its line, column and field path. A
/// YAML syntax error stops the parse: the structure after it is unknown.
pub fn parse(file: &str, text: &str) -> Result<ParsedFile, ImportErrors> {
    parse_with(file, text, &NotLoaded)
}

/// [`parse`], reading each web service's body template through `templates` and checking it.
pub fn parse_with(
    file: &str,
    text: &str,
    templates: &dyn TemplateSource,
) -> Result<ParsedFile, ImportErrors> {
    check_size(file, text.len())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_flow_depth(file, text)?;
    let root: Value = serde_yaml::from_str(text)
        .map_err(|error| yaml_error(file, &error, &Locator::new(text)))?;
    let locator = Locator::new(text);
    let mut parsed = validate(&root, &locator, templates)
        .map_err(|problems| locate(file, problems, &locator))?;
    parsed.file = file.to_owned();
    Ok(parsed)
}

fn check_size(file: &str, len: usize) -> Result<(), ImportErrors> {
    if len > MAX_FILE_BYTES {
        return Err(one(
            file,
            Pos::START,
            format!(
                "the file is {len} bytes; the limit is {MAX_FILE_BYTES} bytes (16 MiB). Split it \
                 or remove what is not a web application"
            ),
        ));
    }
    Ok(())
}

/// Deeper `[`/`{` nesting than any real file has. The YAML reader's time grows with the
/// square of this depth, so a hostile file could otherwise keep it busy for minutes.
const MAX_FLOW_DEPTH: usize = 64;

/// Counts brackets without reading the YAML (brackets inside quoted strings count too, which
/// only matters for absurdly bracket-heavy text) and refuses a nesting deeper than the limit.
fn check_flow_depth(file: &str, text: &str) -> Result<(), ImportErrors> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    for c in text.chars() {
        column += 1;
        match c {
            '\n' => (line, column) = (line + 1, 0),
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_FLOW_DEPTH {
            let pos = Pos {
                line: saturate(line),
                column: saturate(column),
            };
            return Err(one(
                file,
                pos,
                format!(
                    "`[` and `{{` are nested more than {MAX_FLOW_DEPTH} deep here; no \
                     web-apps.yaml needs that, check the brackets"
                ),
            ));
        }
    }
    Ok(())
}

/// A YAML error. Duplicate keys are reported all at once from the locator, which knows where
/// both occurrences are; anything else is a syntax error at serde_yaml's position.
fn yaml_error(file: &str, error: &serde_yaml::Error, locator: &Locator) -> ImportErrors {
    let message = error.to_string();
    if message.contains("duplicate entry") && !locator.duplicate_keys.is_empty() {
        let errors = locator
            .duplicate_keys
            .iter()
            .map(|duplicate| {
                let key = match duplicate.path.last_key() {
                    Some(key) => format!("`{key}`"),
                    None => "this key".to_owned(),
                };
                ImportError {
                    file: file.to_owned(),
                    line: duplicate.at.line,
                    column: duplicate.at.column,
                    path: duplicate.path.to_string(),
                    message: format!(
                        "duplicate key {key}: it is already set on line {}; keep one of them",
                        duplicate.first_line
                    ),
                }
            })
            .collect();
        return ImportErrors(errors);
    }
    let pos = error.location().map_or(Pos::START, |location| Pos {
        line: saturate(location.line()),
        column: saturate(location.column()),
    });
    let message = without_position(&message);
    let message = if message.contains("limit exceeded") {
        format!("YAML error: {message}; the file nests too deeply or repeats aliases too often")
    } else {
        format!("YAML syntax error: {message}; check the indentation, quotes and colons here")
    };
    one(file, pos, message)
}

/// serde_yaml's message without its ` at line L column C`: the error carries it in front.
fn without_position(message: &str) -> String {
    let Some(start) = message.find(" at line ") else {
        return message.to_owned();
    };
    let rest = &message[start + " at line ".len()..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix(" column ") else {
        return message.to_owned();
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    format!("{}{rest}", &message[..start])
}

fn locate(file: &str, problems: Vec<Problem>, locator: &Locator) -> ImportErrors {
    let mut errors: Vec<ImportError> = problems
        .into_iter()
        .map(|problem| {
            let pos = locator.resolve(&problem.path, problem.anchor);
            ImportError {
                file: file.to_owned(),
                line: pos.line,
                column: pos.column,
                path: problem.path.to_string(),
                message: problem.message,
            }
        })
        .collect();
    errors.sort_by_key(|error| (error.line, error.column));
    errors.dedup();
    ImportErrors(errors)
}

fn one(file: &str, pos: Pos, message: String) -> ImportErrors {
    ImportErrors(vec![ImportError {
        file: file.to_owned(),
        line: pos.line,
        column: pos.column,
        path: WHOLE_FILE.to_owned(),
        message,
    }])
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
