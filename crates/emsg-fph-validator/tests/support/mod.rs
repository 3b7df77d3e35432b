//! What the tests share: what they know of the specification (the pinned commit, the files it
//! holds, the examples its header partials print), full header sets assembled from those
//! examples, and assertions on findings.
//!
//! The project holds no copy of the specification (`hmrc/txm-fph-specification`): every quote
//! and every table row below is a literal that cites the file it was read from, at
//! [`COMMIT`]. Nothing is read at run time; checking a quote or a row means opening the file it
//! cites at that commit.

#![allow(dead_code)]

use std::collections::BTreeSet;

use ConnectionMethod as M;
use emsg_fph_validator::{ConnectionMethod, Finding, Header, Severity, validate};

pub type Headers = Vec<(String, String)>;

/// The commit of `hmrc/txm-fph-specification` that every quote and table row cites.
pub const COMMIT: &str = "5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb";

/// The pages and partials of the specification at [`COMMIT`] (`git ls-tree` of `source/`,
/// without scripts, style sheets, the tracking partial and the PDF), relative to the
/// repository's root.
pub const SPECIFICATION_FILES: [&str; 33] = [
    "source/index.html.md.erb",
    "source/change-log/index.html.md.erb",
    "source/getting-it-right/index.html.md.erb",
    "source/test-api/index.html.md.erb",
    "source/connection-method/index.html.md.erb",
    "source/connection-method/batch-process-direct/index.html.md.erb",
    "source/connection-method/desktop-app-direct/index.html.md.erb",
    "source/connection-method/desktop-app-via-server/index.html.md.erb",
    "source/connection-method/mobile-app-direct/index.html.md.erb",
    "source/connection-method/mobile-app-via-server/index.html.md.erb",
    "source/connection-method/other-direct/index.html.md.erb",
    "source/connection-method/other-via-server/index.html.md.erb",
    "source/connection-method/web-app-via-server/index.html.md.erb",
    "source/connection-method/partials/gov-client-browser-js-user-agent.erb",
    "source/connection-method/partials/gov-client-connection-method.erb",
    "source/connection-method/partials/gov-client-device-id.erb",
    "source/connection-method/partials/gov-client-local-ips-timestamp.erb",
    "source/connection-method/partials/gov-client-local-ips.erb",
    "source/connection-method/partials/gov-client-mac-addresses.erb",
    "source/connection-method/partials/gov-client-multi-factor.erb",
    "source/connection-method/partials/gov-client-public-ip-timestamp.erb",
    "source/connection-method/partials/gov-client-public-ip.erb",
    "source/connection-method/partials/gov-client-public-port.erb",
    "source/connection-method/partials/gov-client-screens.erb",
    "source/connection-method/partials/gov-client-timezone.erb",
    "source/connection-method/partials/gov-client-user-agent.erb",
    "source/connection-method/partials/gov-client-user-ids.erb",
    "source/connection-method/partials/gov-client-window-size.erb",
    "source/connection-method/partials/gov-vendor-forwarded.erb",
    "source/connection-method/partials/gov-vendor-license-ids.erb",
    "source/connection-method/partials/gov-vendor-product-name.erb",
    "source/connection-method/partials/gov-vendor-public-ip.erb",
    "source/connection-method/partials/gov-vendor-version.erb",
];

/// A sentence of the specification a test enforces, cited as `"<path> @ <commit>"`, returned
/// as is. The sentence is written as a reader of the page sees it (tags, link targets and
/// line breaks left out). Nothing is read: this asserts only that the citation names a file of
/// the specification at the pinned [`COMMIT`], so that a reader can find the sentence there.
pub fn quote(at: &str, sentence: &'static str) -> &'static str {
    let (path, commit) = at.split_once(" @ ").expect("`<path> @ <commit>`");
    assert_eq!(commit, COMMIT, "{path} is quoted at another commit");
    assert!(
        SPECIFICATION_FILES.contains(&path),
        "{path} is not a page of the specification"
    );
    assert!(!sentence.trim().is_empty(), "an empty quote of {path}");
    sentence
}

/// An example a header partial prints as `<pre><code>Name: value</code></pre>`.
pub struct Printed {
    /// The partial, relative to the specification's root at [`COMMIT`].
    pub source: &'static str,
    pub name: &'static str,
    /// The value as the page shows it (`&amp;` read as `&`).
    pub value: &'static str,
    /// For an example inside an ERB branch on the connection method, the methods whose pages
    /// print it; `None` when every page that includes the partial prints it.
    pub printed_for: Option<&'static [ConnectionMethod]>,
}

/// Every example printed in the header partials at [`COMMIT`], in the order of
/// [`Header::ALL`] and, within a partial, of its lines; each comment gives the example's line
/// in the partial and the ERB branch around it. 42 in all, one of them the connection method,
/// printed as the ERB expression that each method's page fills in.
pub const PRINTED_EXAMPLES: [Printed; 42] = [
    // line 6
    Printed {
        source: "source/connection-method/partials/gov-client-connection-method.erb",
        name: "Gov-Client-Connection-Method",
        value: "<%= locals[:connection_method] %>",
        printed_for: None,
    },
    // line 12
    Printed {
        source: "source/connection-method/partials/gov-client-browser-js-user-agent.erb",
        name: "Gov-Client-Browser-JS-User-Agent",
        value: "Mozilla/5.0 (iPad; U; CPU OS 3_2_1 like Mac OS X; en-us) AppleWebKit/531.21.10 (KHTML, like Gecko) Mobile/7B405",
        printed_for: None,
    },
    // line 18
    Printed {
        source: "source/connection-method/partials/gov-client-device-id.erb",
        name: "Gov-Client-Device-ID",
        value: "beec798b-b366-47fa-b1f8-92cede14a1ce",
        printed_for: None,
    },
    // line 18
    Printed {
        source: "source/connection-method/partials/gov-client-local-ips.erb",
        name: "Gov-Client-Local-IPs",
        value: "fc00%3A%3A,10.1.2.3",
        printed_for: None,
    },
    // line 20
    Printed {
        source: "source/connection-method/partials/gov-client-local-ips.erb",
        name: "Gov-Client-Local-IPs",
        value: "10.1.2.3,10.3.4.2",
        printed_for: None,
    },
    // line 21
    Printed {
        source: "source/connection-method/partials/gov-client-local-ips-timestamp.erb",
        name: "Gov-Client-Local-IPs-Timestamp",
        value: "2020-09-21T14:30:05.123Z",
        printed_for: None,
    },
    // line 12
    Printed {
        source: "source/connection-method/partials/gov-client-mac-addresses.erb",
        name: "Gov-Client-MAC-Addresses",
        value: "ea%3A43%3A1a%3A5d%3A21%3A45,10%3A12%3Acc%3Afa%3Aaa%3A32",
        printed_for: None,
    },
    // line 32
    Printed {
        source: "source/connection-method/partials/gov-client-multi-factor.erb",
        name: "Gov-Client-Multi-Factor",
        value: "type=AUTH_CODE&timestamp=2021-11-21T13%3A23Z&unique-reference=fc4b5fd6816f75a7c81fc8eaa9499d6a299bd803397166e8c4cf9280b801d62c,type=TOTP&timestamp=2021-11-21T13%3A20Z&unique-reference=0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5",
        printed_for: None,
    },
    // line 12
    Printed {
        source: "source/connection-method/partials/gov-client-public-ip.erb",
        name: "Gov-Client-Public-IP",
        value: "198.51.100.0",
        printed_for: None,
    },
    // line 14
    Printed {
        source: "source/connection-method/partials/gov-client-public-ip.erb",
        name: "Gov-Client-Public-IP",
        value: "ABCD:EF01:2345:6789:ABCD:EF01:2345:6789",
        printed_for: None,
    },
    // line 16
    Printed {
        source: "source/connection-method/partials/gov-client-public-ip-timestamp.erb",
        name: "Gov-Client-Public-IP-Timestamp",
        value: "2020-09-21T14:30:05.123Z",
        printed_for: None,
    },
    // line 18
    Printed {
        source: "source/connection-method/partials/gov-client-public-port.erb",
        name: "Gov-Client-Public-Port",
        value: "12345",
        printed_for: None,
    },
    // line 25, in the branch `if connection_method.start_with?('MOBILE_')`
    Printed {
        source: "source/connection-method/partials/gov-client-screens.erb",
        name: "Gov-Client-Screens",
        value: "width=375&height=812&scaling-factor=2&colour-depth=32",
        printed_for: Some(&[M::MobileAppDirect, M::MobileAppViaServer]),
    },
    // line 27, in the `else` branch
    Printed {
        source: "source/connection-method/partials/gov-client-screens.erb",
        name: "Gov-Client-Screens",
        value: "width=1920&height=1080&scaling-factor=1&colour-depth=16,width=3000&height=2000&scaling-factor=1.25&colour-depth=16",
        printed_for: Some(&[
            M::WebAppViaServer,
            M::DesktopAppDirect,
            M::DesktopAppViaServer,
        ]),
    },
    // line 8
    Printed {
        source: "source/connection-method/partials/gov-client-timezone.erb",
        name: "Gov-Client-Timezone",
        value: "UTC+00:00",
        printed_for: None,
    },
    // line 10
    Printed {
        source: "source/connection-method/partials/gov-client-timezone.erb",
        name: "Gov-Client-Timezone",
        value: "UTC+01:00",
        printed_for: None,
    },
    // line 12
    Printed {
        source: "source/connection-method/partials/gov-client-timezone.erb",
        name: "Gov-Client-Timezone",
        value: "UTC-01:15",
        printed_for: None,
    },
    // line 23, in the branch `if connection_method.start_with?('MOBILE_')`
    Printed {
        source: "source/connection-method/partials/gov-client-user-agent.erb",
        name: "Gov-Client-User-Agent",
        value: "os-family=iOS&os-version=13.3.1&device-manufacturer=Apple&device-model=iPhone12%2C3",
        printed_for: Some(&[M::MobileAppDirect, M::MobileAppViaServer]),
    },
    // line 25, in the `else` branch
    Printed {
        source: "source/connection-method/partials/gov-client-user-agent.erb",
        name: "Gov-Client-User-Agent",
        value: "os-family=Windows&os-version=Server%202012&device-manufacturer=Dell%20Inc.&device-model=OptiPlex%20980",
        printed_for: Some(&[
            M::BatchProcessDirect,
            M::DesktopAppDirect,
            M::DesktopAppViaServer,
            M::OtherDirect,
            M::OtherViaServer,
        ]),
    },
    // line 24, in the branch `if connection_method == 'DESKTOP_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice&my-application=alice123",
        printed_for: Some(&[M::DesktopAppViaServer]),
    },
    // line 28, in the branch `if connection_method == 'DESKTOP_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice&my-application=alice123&my-secondary-application=alice_secondary",
        printed_for: Some(&[M::DesktopAppViaServer]),
    },
    // line 37, in the branch `if connection_method == 'DESKTOP_APP_DIRECT'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice",
        printed_for: Some(&[M::DesktopAppDirect]),
    },
    // line 41, in the branch `if connection_method == 'DESKTOP_APP_DIRECT'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice&my-application=alice123",
        printed_for: Some(&[M::DesktopAppDirect]),
    },
    // line 48, in the branch `if connection_method == 'BATCH_PROCESS_DIRECT'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice&my-application=alice123",
        printed_for: Some(&[M::BatchProcessDirect]),
    },
    // line 54, in the branch `if connection_method == 'WEB_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "my-application=alice123",
        printed_for: Some(&[M::WebAppViaServer]),
    },
    // line 60, in the branch `if connection_method == 'MOBILE_APP_DIRECT'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "my-application=alice123",
        printed_for: Some(&[M::MobileAppDirect]),
    },
    // line 66, in the branch `if connection_method == 'MOBILE_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "my-application=alice123",
        printed_for: Some(&[M::MobileAppViaServer]),
    },
    // line 72, in the branch `if connection_method == 'OTHER_DIRECT'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=domain%5Calice&my-application=alice123",
        printed_for: Some(&[M::OtherDirect]),
    },
    // line 78, in the branch `if connection_method == 'OTHER_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-client-user-ids.erb",
        name: "Gov-Client-User-IDs",
        value: "os=alice&my-application=alice123",
        printed_for: Some(&[M::OtherViaServer]),
    },
    // line 11, in the branch `if connection_method.start_with?('MOBILE_')`
    Printed {
        source: "source/connection-method/partials/gov-client-window-size.erb",
        name: "Gov-Client-Window-Size",
        value: "width=375&height=812",
        printed_for: Some(&[M::MobileAppDirect, M::MobileAppViaServer]),
    },
    // line 13, in the `else` branch
    Printed {
        source: "source/connection-method/partials/gov-client-window-size.erb",
        name: "Gov-Client-Window-Size",
        value: "width=1256&height=803",
        printed_for: Some(&[
            M::WebAppViaServer,
            M::DesktopAppDirect,
            M::DesktopAppViaServer,
        ]),
    },
    // line 33
    Printed {
        source: "source/connection-method/partials/gov-vendor-forwarded.erb",
        name: "Gov-Vendor-Forwarded",
        value: "by=203.0.113.6&for=198.51.100.0",
        printed_for: None,
    },
    // line 53
    Printed {
        source: "source/connection-method/partials/gov-vendor-forwarded.erb",
        name: "Gov-Vendor-Forwarded",
        value: "by=2001%3A0db8%3A85a3%3A0000%3A0000%3A8a2e%3A0370%3A7334&for=198.51.100.0,by=203.0.113.6&for=2001%3A0db8%3A85a3%3A0000%3A0000%3A8a2e%3A0370%3A7334,by=176.30.57.118&for=203.0.113.6",
        printed_for: None,
    },
    // line 21
    Printed {
        source: "source/connection-method/partials/gov-vendor-license-ids.erb",
        name: "Gov-Vendor-License-IDs",
        value: "my-licensed-software=8D7963490527D33716835EE7C195516D5E562E03B224E9B359836466EE40CDE1",
        printed_for: None,
    },
    // line 16
    Printed {
        source: "source/connection-method/partials/gov-vendor-product-name.erb",
        name: "Gov-Vendor-Product-Name",
        value: "Product%20Name",
        printed_for: None,
    },
    // line 17
    Printed {
        source: "source/connection-method/partials/gov-vendor-product-name.erb",
        name: "Gov-Vendor-Product-Name",
        value: "Company%20Name",
        printed_for: None,
    },
    // line 14
    Printed {
        source: "source/connection-method/partials/gov-vendor-public-ip.erb",
        name: "Gov-Vendor-Public-IP",
        value: "203.0.113.6",
        printed_for: None,
    },
    // line 25, in the branch `if connection_method.end_with?('_DIRECT')`
    Printed {
        source: "source/connection-method/partials/gov-vendor-version.erb",
        name: "Gov-Vendor-Version",
        value: "my-application=1.6.0",
        printed_for: Some(&[
            M::BatchProcessDirect,
            M::DesktopAppDirect,
            M::MobileAppDirect,
            M::OtherDirect,
        ]),
    },
    // line 27, in the branch `elsif connection_method == 'WEB_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-vendor-version.erb",
        name: "Gov-Vendor-Version",
        value: "my-web-app=2.2.2",
        printed_for: Some(&[M::WebAppViaServer]),
    },
    // line 29, in the branch `elsif connection_method == 'MOBILE_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-vendor-version.erb",
        name: "Gov-Vendor-Version",
        value: "my-mobile-app=2.2.2&my-serverside-code=v3.8",
        printed_for: Some(&[M::MobileAppViaServer]),
    },
    // line 31, in the branch `elsif connection_method == 'DESKTOP_APP_VIA_SERVER'`
    Printed {
        source: "source/connection-method/partials/gov-vendor-version.erb",
        name: "Gov-Vendor-Version",
        value: "my-desktop-app=2.2.2&my-serverside-code=v3.8",
        printed_for: Some(&[M::DesktopAppViaServer]),
    },
    // line 33, in the `else` branch
    Printed {
        source: "source/connection-method/partials/gov-vendor-version.erb",
        name: "Gov-Vendor-Version",
        value: "my-frontend-app=2.2.2&my-serverside-code=v3.8",
        printed_for: Some(&[M::OtherViaServer]),
    },
];

/// The examples printed for `method`'s page in `header`'s partial.
pub fn printed_for(method: ConnectionMethod, header: Header) -> Vec<&'static str> {
    PRINTED_EXAMPLES
        .iter()
        .filter(|printed| printed.source == header.partial())
        .filter(|printed| {
            printed
                .printed_for
                .is_none_or(|methods| methods.contains(&method))
        })
        .map(|printed| printed.value)
        .collect()
}

/// The example the specification prints for `header` on `method`'s page, following the ERB
/// conditions of the partials.
pub fn example(method: ConnectionMethod, header: Header) -> String {
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
