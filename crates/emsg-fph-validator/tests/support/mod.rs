//! What the tests share: the vendored specification (quotes are checked against it, examples
//! are read from it), full header sets assembled from its printed examples, and assertions on
//! findings.

#![allow(dead_code)]

use std::collections::BTreeSet;

use emsg_fph_validator::{ConnectionMethod, Finding, Header, Severity, spec, validate};

pub type Headers = Vec<(String, String)>;

/// The text of a vendored specification file, `path` relative to the repository's root.
pub fn spec_file(path: &str) -> String {
    let full = format!("{}/spec/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {full}: {e}"))
}

/// The words a page shows, without ERB, HTML tags or Markdown link targets, entities decoded
/// and white space collapsed, so that a sentence can be quoted as a reader sees it.
pub fn readable(page: &str) -> String {
    let mut text = String::new();
    let mut rest = page;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let end = rest[start..]
            .find('>')
            .map_or(rest.len(), |end| start + end + 1);
        text.push(' ');
        rest = &rest[end..];
    }
    text.push_str(rest);
    let text = unlink_markdown(&text);
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&sol;", "/")
        .replace("&lpar;", "(")
        .replace("&rpar;", ")")
        .replace("&hellip;", "…")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
        .replace('’', "'");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Tags removed from inside a sentence leave a space before punctuation.
    text.replace(" .", ".").replace(" ,", ",")
}

fn unlink_markdown(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("](") {
        let close = rest[open..]
            .find(')')
            .map_or(rest.len(), |close| open + close + 1);
        out.push_str(&rest[..open]);
        rest = &rest[close..];
        if let Some(bracket) = out.rfind('[') {
            out.remove(bracket);
        }
    }
    out.push_str(rest);
    out
}

/// Asserts that the specification, at the commit and in the file `at` names
/// (`"<path> @ <commit>"`), says `sentence`, and returns it.
pub fn quote(at: &str, sentence: &'static str) -> &'static str {
    let (path, commit) = at.split_once(" @ ").expect("`<path> @ <commit>`");
    assert_eq!(
        commit,
        spec::COMMIT,
        "the vendored specification is at {}",
        spec::COMMIT
    );
    let page = readable(&spec_file(path));
    let wanted = sentence.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        page.contains(&wanted),
        "{path} does not say: {wanted}\n--- it reads:\n{page}"
    );
    sentence
}

/// Every `<pre><code>Header: value</code></pre>` printed in a partial, with whether it sits in
/// an ERB branch (printed only for some connection methods).
pub fn printed_examples(path: &str) -> Vec<(String, String, bool)> {
    let page = spec_file(path);
    let mut examples = Vec::new();
    let mut offset = 0;
    while let Some(start) = page[offset..].find("<pre><code>") {
        let start = offset + start + "<pre><code>".len();
        let end = start + page[start..].find("</code></pre>").expect("closed <code>");
        let before = &page[..start];
        let depth =
            before.matches("<% if").count() as i64 - before.matches("<% end %>").count() as i64;
        let text = page[start..end].replace("&amp;", "&");
        let (name, value) = text.split_once(": ").expect("`Name: value`");
        examples.push((name.to_owned(), value.to_owned(), depth > 0));
        offset = end;
    }
    examples
}

/// The partials a connection method's page includes, as the headers they define.
pub fn headers_on_page(method: ConnectionMethod) -> Vec<Header> {
    let page = spec_file(method.page());
    page.match_indices("partial 'connection-method/partials/")
        .map(|(at, prefix)| {
            let file = &page[at + prefix.len()..];
            let file = &file[..file.find('\'').expect("closing quote")];
            let path = format!("source/connection-method/partials/{file}.erb");
            *Header::ALL
                .iter()
                .find(|header| header.partial() == path)
                .unwrap_or_else(|| panic!("no header for {path}"))
        })
        .collect()
}

/// The example the specification prints for `header` on `method`'s page, following the ERB
/// conditions of the partials.
pub fn example(method: ConnectionMethod, header: Header) -> String {
    use ConnectionMethod as M;
    let mobile = matches!(method, M::MobileAppDirect | M::MobileAppViaServer);
    let value = match header {
        Header::ConnectionMethod => method.as_str(),
        Header::BrowserJsUserAgent => {
            "Mozilla/5.0 (iPad; U; CPU OS 3_2_1 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, like Gecko) Mobile/7B405"
        }
        Header::DeviceId => "beec798b-b366-47fa-b1f8-92cede14a1ce",
        Header::LocalIps => "fc00%3A%3A,10.1.2.3",
        Header::LocalIpsTimestamp | Header::PublicIpTimestamp => "2020-09-21T14:30:05.123Z",
        Header::MacAddresses => "ea%3A43%3A1a%3A5d%3A21%3A45,10%3A12%3Acc%3Afa%3Aaa%3A32",
        Header::MultiFactor => {
            "type=AUTH_CODE&timestamp=2021-11-21T13%3A23Z&unique-reference=fc4b5fd6816f75a7c81fc8eaa9499d6a299bd803397166e8c4cf9280b801d62c,type=TOTP&timestamp=2021-11-21T13%3A20Z&unique-reference=0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5"
        }
        Header::PublicIp => "198.51.100.0",
        Header::PublicPort => "12345",
        Header::Screens if mobile => "width=375&height=812&scaling-factor=2&colour-depth=32",
        Header::Screens => {
            "width=1920&height=1080&scaling-factor=1&colour-depth=16,width=3000&height=2000&scaling-factor=1.25&colour-depth=16"
        }
        Header::Timezone => "UTC+00:00",
        Header::UserAgent if mobile => {
            "os-family=iOS&os-version=13.3.1&device-manufacturer=Apple&device-model=iPhone12%2C3"
        }
        Header::UserAgent => {
            "os-family=Windows&os-version=Server%202012&device-manufacturer=Dell%20Inc.&device-model=OptiPlex%20980"
        }
        Header::UserIds => match method {
            M::WebAppViaServer | M::MobileAppDirect | M::MobileAppViaServer => {
                "my-application=alice123"
            }
            M::OtherViaServer => "os=alice&my-application=alice123",
            _ => "os=domain%5Calice&my-application=alice123",
        },
        Header::WindowSize if mobile => "width=375&height=812",
        Header::WindowSize => "width=1256&height=803",
        Header::VendorForwarded => "by=203.0.113.6&for=198.51.100.0",
        Header::VendorLicenseIds => {
            "my-licensed-software=8D7963490527D33716835EE7C195516D5E562E03B224E9B359836466EE40CDE1"
        }
        Header::VendorProductName => "Product%20Name",
        Header::VendorPublicIp => "203.0.113.6",
        Header::VendorVersion => match method {
            M::WebAppViaServer => "my-web-app=2.2.2",
            M::MobileAppViaServer => "my-mobile-app=2.2.2&my-serverside-code=v3.8",
            M::DesktopAppViaServer => "my-desktop-app=2.2.2&my-serverside-code=v3.8",
            M::OtherViaServer => "my-frontend-app=2.2.2&my-serverside-code=v3.8",
            _ => "my-application=1.6.0",
        },
    };
    value.to_owned()
}

/// Every header `method`'s page requires, each with the example printed for it.
pub fn full_set(method: ConnectionMethod) -> Headers {
    method
        .required_headers()
        .iter()
        .map(|&header| (header.name().to_owned(), example(method, header)))
        .collect()
}

pub fn web_app_via_server() -> Headers {
    full_set(ConnectionMethod::WebAppViaServer)
}

pub fn batch_process_direct() -> Headers {
    full_set(ConnectionMethod::BatchProcessDirect)
}

/// `headers` with `header` set to `value` (added if absent).
pub fn with(mut headers: Headers, header: Header, value: &str) -> Headers {
    match headers.iter_mut().find(|(name, _)| name == header.name()) {
        Some(entry) => entry.1 = value.to_owned(),
        None => headers.push((header.name().to_owned(), value.to_owned())),
    }
    headers
}

/// `headers` without `header`.
pub fn without(mut headers: Headers, header: Header) -> Headers {
    headers.retain(|(name, _)| name != header.name());
    headers
}

fn codes(findings: &[Finding], severity: Severity) -> BTreeSet<&'static str> {
    findings
        .iter()
        .filter(|finding| finding.severity == severity)
        .map(|finding| finding.rule)
        .collect()
}

/// Asserts the headers pass without a single finding.
pub fn assert_accepted(headers: &Headers) {
    let findings = validate(headers);
    assert!(
        findings.is_empty(),
        "expected no findings for {headers:#?}, got {findings:#?}"
    );
}

/// Asserts the headers are refused for `rule` and for nothing else, and returns the findings.
pub fn assert_rejected(headers: &Headers, rule: &str) -> Vec<Finding> {
    let findings = validate(headers);
    let errors = codes(&findings, Severity::Error);
    assert_eq!(
        errors,
        BTreeSet::from([rule]),
        "expected only {rule} errors, got {findings:#?}"
    );
    findings
}

/// Asserts the headers pass without errors but with a `rule` warning and no other.
pub fn assert_warned(headers: &Headers, rule: &str) -> Vec<Finding> {
    let findings = validate(headers);
    assert_eq!(
        codes(&findings, Severity::Error),
        BTreeSet::new(),
        "{findings:#?}"
    );
    assert_eq!(
        codes(&findings, Severity::Warning),
        BTreeSet::from([rule]),
        "expected only a {rule} warning, got {findings:#?}"
    );
    findings
}

/// Asserts the headers are refused for exactly the rules `expected`, and returns the findings.
pub fn assert_errors(headers: &Headers, expected: &[&str]) -> Vec<Finding> {
    let findings = validate(headers);
    assert_eq!(
        codes(&findings, Severity::Error),
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "{findings:#?}"
    );
    findings
}
