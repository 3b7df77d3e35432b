//! The template language of web services: `{{field}}`, `{{#if field}}…{{else}}…{{/if}}` and
//! `{{#unless field}}…{{/unless}}`, nothing else. Every value passes through the escaping of its
//! place (path segment, query value, JSON string, XML text), so triple braces, which would skip
//! it, are refused, as are helpers and paths that could reach outside the message's fields.

/// Checks `text` and returns the field names it uses, in order of first use.
pub fn placeholders(text: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        if after.starts_with('{') || after.starts_with('&') {
            return Err(
                "`{{{` and `{{&` would send a value without escaping; write `{{field}}`".to_owned(),
            );
        }
        if after.starts_with('!') {
            return Err("comments (`{{!`) are not supported in web-service templates".to_owned());
        }
        let Some(end) = after.find("}}") else {
            return Err("a `{{` is not closed by `}}`".to_owned());
        };
        let inner = after[..end]
            .trim()
            .trim_start_matches('~')
            .trim_end_matches('~');
        let inner = inner.trim();
        if let Some(block) = inner.strip_prefix('#') {
            let (helper, field) = block.split_once(char::is_whitespace).unwrap_or((block, ""));
            if helper != "if" && helper != "unless" {
                return Err(format!(
                    "`{{{{#{helper}` is not supported; only `{{{{#if field}}}}` and \
                     `{{{{#unless field}}}}` are"
                ));
            }
            add(&mut names, field.trim())?;
            open.push(if helper == "if" { "if" } else { "unless" });
        } else if let Some(helper) = inner.strip_prefix('/') {
            match open.pop() {
                Some(expected) if expected == helper.trim() => {}
                Some(expected) => {
                    return Err(format!(
                        "`{{{{/{}}}}}` closes a `{{{{#{expected}` block; write `{{{{/{expected}}}}}`",
                        helper.trim()
                    ));
                }
                None => {
                    return Err(format!(
                        "`{{{{/{}}}}}` closes a block that was never opened",
                        helper.trim()
                    ));
                }
            }
        } else if inner == "else" {
            if open.is_empty() {
                return Err("`{{else}}` outside an `{{#if}}` block".to_owned());
            }
        } else {
            add(&mut names, inner)?;
        }
        rest = &after[end + 2..];
    }
    if let Some(block) = open.last() {
        return Err(format!(
            "a `{{{{#{block}` block is not closed; add `{{{{/{block}}}}}`"
        ));
    }
    Ok(names)
}

fn add(names: &mut Vec<String>, name: &str) -> Result<(), String> {
    if !is_field_name(name) {
        return Err(format!(
            "`{{{{{name}}}}}` is not a field: write `{{{{name}}}}` with a field declared under \
             `fields` (letters, digits and `_`)"
        ));
    }
    if !names.iter().any(|known| known == name) {
        names.push(name.to_owned());
    }
    Ok(())
}

/// Field names are identifiers, so that they can be template variables and form inputs.
pub fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_blocks_are_found() {
        let names = placeholders(
            "/organisations/vat/{{vrn}}/obligations?from={{from}}&to={{ to }}{{#if status}}&status={{status}}{{/if}}",
        )
        .expect("valid");
        assert_eq!(names, ["vrn", "from", "to", "status"]);
    }

    #[test]
    fn unescaped_and_unknown_forms_are_refused() {
        for (text, expected) in [
            ("{{{vrn}}}", "without escaping"),
            ("{{&vrn}}", "without escaping"),
            ("{{#each items}}{{/each}}", "not supported"),
            ("{{lookup a b}}", "is not a field"),
            ("{{../secret}}", "is not a field"),
            ("{{#if a}}x", "not closed"),
            ("{{/if}}", "never opened"),
            ("{{#if a}}{{/unless}}", "closes a `{{#if` block"),
            ("{{vrn", "not closed by"),
            ("{{else}}", "outside"),
        ] {
            let error = placeholders(text).expect_err(text);
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
