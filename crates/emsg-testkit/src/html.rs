//! Just enough HTML reading to submit the stand-in's forms as a browser would: the first form's
//! action, method and fields (inputs and the submit button), and links by id.

use std::collections::BTreeMap;

/// One start tag: its lower-cased name and attributes (names lower-cased, values decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    pub name: String,
    pub attrs: BTreeMap<String, String>,
    /// Byte offset just past the tag's `>`.
    pub end: usize,
}

impl Tag {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).map(String::as_str)
    }
}

/// A form as a browser would submit it with its default button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Form {
    pub id: Option<String>,
    pub action: Option<String>,
    pub method: String,
    /// Named inputs in document order (hidden, text, password, ...), with their current values.
    pub fields: Vec<(String, String)>,
    /// The first submit button's name and value, when it has a name.
    pub submitter: Option<(String, String)>,
}

impl Form {
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    pub fn set(&mut self, name: &str, value: &str) {
        for field in self.fields.iter_mut().filter(|(n, _)| n == name) {
            field.1 = value.to_owned();
        }
    }

    /// The pairs a browser sends: the fields, then the button used to submit.
    pub fn submission(&self) -> Vec<(String, String)> {
        let mut pairs = self.fields.clone();
        pairs.extend(self.submitter.clone());
        pairs
    }
}

/// All start tags named `name`, in document order.
pub(crate) fn tags(html: &str, name: &str) -> Vec<Tag> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(tag) = next_tag(html, from) {
        from = tag.end;
        if tag.name == name {
            found.push(tag);
        }
    }
    found
}

/// The first form of the page.
pub(crate) fn first_form(html: &str) -> Option<Form> {
    let start = tags(html, "form").into_iter().next()?;
    let rest = &html[start.end..];
    let inner = match find_ci(rest, "</form") {
        Some(close) => &rest[..close],
        None => rest,
    };
    let mut fields = Vec::new();
    let mut submitter = None;
    let mut from = 0;
    while let Some(tag) = next_tag(inner, from) {
        from = tag.end;
        let kind = tag.attr("type").unwrap_or_default().to_ascii_lowercase();
        match tag.name.as_str() {
            "input" => {
                let Some(name) = tag.attr("name") else {
                    continue;
                };
                let value = tag.attr("value").unwrap_or_default().to_owned();
                match kind.as_str() {
                    "submit" | "image" => {
                        if submitter.is_none() {
                            submitter = Some((name.to_owned(), value));
                        }
                    }
                    "checkbox" | "radio" => {
                        if tag.attrs.contains_key("checked") {
                            fields.push((name.to_owned(), value));
                        }
                    }
                    "button" | "reset" | "file" => {}
                    _ => fields.push((name.to_owned(), value)),
                }
            }
            "button" if (kind.is_empty() || kind == "submit") && submitter.is_none() => {
                submitter = tag.attr("name").map(|name| {
                    let value = tag.attr("value").unwrap_or_default();
                    (name.to_owned(), value.to_owned())
                });
            }
            _ => {}
        }
    }
    Some(Form {
        id: start.attr("id").map(str::to_owned),
        action: start.attr("action").map(str::to_owned),
        method: start.attr("method").unwrap_or("get").to_ascii_lowercase(),
        fields,
        submitter,
    })
}

/// The `href` of the link with this id.
pub(crate) fn link_by_id(html: &str, id: &str) -> Option<String> {
    tags(html, "a")
        .into_iter()
        .find(|tag| tag.attr("id") == Some(id))
        .and_then(|tag| tag.attr("href").map(str::to_owned))
}

/// The page's `<title>` text, for error messages.
pub(crate) fn title(html: &str) -> Option<String> {
    let start = tags(html, "title").into_iter().next()?;
    let rest = &html[start.end..];
    let close = find_ci(rest, "</title")?;
    Some(decode_entities(rest[..close].trim()))
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    let hay = haystack.as_bytes();
    let needle = needle.as_bytes();
    if needle.len() > hay.len() {
        return None;
    }
    (0..=hay.len() - needle.len()).find(|&i| hay[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

/// The next start tag at or after byte `from`, skipping comments, end tags and declarations.
fn next_tag(html: &str, mut from: usize) -> Option<Tag> {
    let bytes = html.as_bytes();
    loop {
        let lt = from + html.get(from..)?.find('<')?;
        let after = lt + 1;
        if html[after..].starts_with("!--") {
            from = after
                + html[after..]
                    .find("-->")
                    .map_or(html.len() - after, |i| i + 3);
            continue;
        }
        match bytes.get(after) {
            Some(b) if b.is_ascii_alphabetic() => {}
            Some(_) => {
                from = after;
                continue;
            }
            None => return None,
        }
        let mut i = after;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'-') {
            i += 1;
        }
        let name = html[after..i].to_ascii_lowercase();
        let (attrs, end) = parse_attrs(html, i);
        return Some(Tag { name, attrs, end });
    }
}

fn parse_attrs(html: &str, mut i: usize) -> (BTreeMap<String, String>, usize) {
    let bytes = html.as_bytes();
    let mut attrs = BTreeMap::new();
    loop {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        if i >= bytes.len() {
            return (attrs, bytes.len());
        }
        if bytes[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < bytes.len()
            && !matches!(bytes[i], b'=' | b'>' | b'/')
            && !bytes[i].is_ascii_whitespace()
        {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&quote @ (b'"' | b'\'')) => {
                    let start = i + 1;
                    let end = html[start..]
                        .find(quote as char)
                        .map_or(html.len(), |j| start + j);
                    value = decode_entities(&html[start..end]);
                    i = (end + 1).min(html.len());
                }
                _ => {
                    let start = i;
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&html[start..i]);
                }
            }
        }
        if !name.is_empty() {
            attrs.entry(name).or_insert(value);
        }
    }
}

/// Decodes the character references a server-side escaper produces.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some((semi, _)) = rest.char_indices().take(12).find(|&(_, c)| c == ';') else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{a0}'),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(ch) => {
                out.push(ch);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGIN: &str = r#"<!DOCTYPE html><html lang="en"><head><title>Sign-in</title></head><body>
<!-- <form action="/nope"> -->
<form id="login" method="post" action="/interaction/a&amp;b/login" autocomplete="off">
  <input type="hidden" name="uid" value="a&amp;b&#39;c">
  <label>User <input type="text" name="login" required></label>
  <input type=password name=password>
  <input type="checkbox" name="remember" value="yes">
  <button type="submit" name="decision" value="allow">Sign in</button>
</form>
<p><a id="abort" href='/interaction/x/abort'>Cancel</a></p></body></html>"#;

    #[test]
    fn reads_the_first_form_like_a_browser() {
        let form = first_form(LOGIN).expect("a form");
        assert_eq!(form.id.as_deref(), Some("login"));
        assert_eq!(form.action.as_deref(), Some("/interaction/a&b/login"));
        assert_eq!(form.method, "post");
        assert_eq!(
            form.fields,
            vec![
                ("uid".to_owned(), "a&b'c".to_owned()),
                ("login".to_owned(), String::new()),
                ("password".to_owned(), String::new()),
            ]
        );
        assert_eq!(
            form.submitter,
            Some(("decision".to_owned(), "allow".to_owned()))
        );
        assert!(form.has_field("login"));
    }

    #[test]
    fn finds_links_and_titles() {
        assert_eq!(
            link_by_id(LOGIN, "abort").as_deref(),
            Some("/interaction/x/abort")
        );
        assert_eq!(link_by_id(LOGIN, "other"), None);
        assert_eq!(title(LOGIN).as_deref(), Some("Sign-in"));
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            decode_entities("a&amp;b &lt;&#x41;&#66;&gt; & x;"),
            "a&b <AB> & x;"
        );
        assert_eq!(decode_entities("&unknown;"), "&unknown;");
    }
}
