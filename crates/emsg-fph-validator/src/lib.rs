//! A validator of HMRC's fraud prevention headers, written from the specification (version 3.3,
//! `hmrc/txm-fph-specification` at commit `5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb`), for
//! tests only: it stands in for HMRC's Test Fraud Prevention Headers API, which the
//! specification asks vendors to call before sending headers, so that emsg's tests can check
//! every request's headers without a network or an HMRC account.
//!
//! [`validate`] reads the connection method from Gov-Client-Connection-Method and reports
//! every rule the headers break: headers the method's page requires and that are missing, and
//! each header's format as its partial describes it. Nothing is accepted by default: no method,
//! or a method the specification does not list, is an error. Each [`Finding`] carries a stable
//! rule code from [`rules`] and the path of the specification file the rule comes from, relative
//! to the root of [`SPECIFICATION_REPOSITORY`] at [`SPECIFICATION_COMMIT`].
//!
//! A header whose structure is broken (a bad escape, a pair without `=`, an empty list item) is
//! reported for that and not checked further, so one mistake gives one finding.
//!
//! Passing here means the headers follow the written rules, not that HMRC will find nothing:
//! HMRC also tests values for realism by hand. Not checked, because one request cannot show
//! them: that timestamps were collected just before the request, that the device ID persists
//! and hashes are made with the same function from call to call, that the method fits the
//! architecture, that headers hold data from every service on the way. Not flagged, because
//! the specification does not forbid them: headers a method does not need (the change log says
//! sending them "is not an issue"), unknown `Gov-` headers, and keys repeated in a structure.
//!
//! The project holds no copy of the specification. Its tests carry what they need from it as
//! literals, each citing its file at [`SPECIFICATION_COMMIT`]: the sentence behind every rule
//! they enforce, the examples the header partials print, and the headers each connection
//! method's page lists. To move to a new version of the specification, read its pages at the new
//! commit, update those quotes and tables and [`SPECIFICATION_COMMIT`], and run the tests.

mod check;
mod client;
mod encoding;
mod finding;
mod header;
mod method;
pub mod rules;
mod values;
mod vendor;

pub use finding::Finding;
pub use header::Header;
pub use method::ConnectionMethod;
pub use rules::{Rule, Severity};

use check::Check;
use finding::Findings;

/// The public repository that publishes the specification.
pub const SPECIFICATION_REPOSITORY: &str = "hmrc/txm-fph-specification";
/// The commit of [`SPECIFICATION_REPOSITORY`] the rules were written from, and that the tests'
/// quotes and tables cite.
pub const SPECIFICATION_COMMIT: &str = "5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb";
/// The version of the specification at [`SPECIFICATION_COMMIT`].
pub const SPECIFICATION_VERSION: &str = "3.3";

/// The page with the general rules: how to choose a connection method.
pub const CONNECTION_METHODS_PAGE: &str = "source/connection-method/index.html.md.erb";
/// The page on US-ASCII, key-value and list encoding, missing data and placeholders.
pub const GETTING_IT_RIGHT_PAGE: &str = "source/getting-it-right/index.html.md.erb";
/// What changed between versions, including what sending an unneeded header means.
pub const CHANGE_LOG_PAGE: &str = "source/change-log/index.html.md.erb";

/// Every finding for one request's headers, given as (name, value) pairs in any order and
/// case. Headers that are not fraud prevention headers are ignored. A header sent twice is
/// read as one whose values are joined with a comma, as HTTP does.
pub fn validate<N: AsRef<str>, V: AsRef<str>>(headers: &[(N, V)]) -> Vec<Finding> {
    let sent = sent_headers(headers);
    let value_of = |wanted: Header| {
        sent.iter()
            .find(|(header, _)| *header == wanted)
            .map(|(_, value)| value.as_str())
    };
    let mut out = Findings::default();

    let method = connection_method(&mut out, value_of(Header::ConnectionMethod));
    if let Some(method) = method {
        for &header in method.required_headers() {
            if value_of(header).is_none() {
                out.add(
                    header,
                    &rules::HEADER_MISSING,
                    method.page(),
                    format!(
                        "{} is required for {method}; send it, or, if it truly cannot be \
                         collected, explain why to HMRC and send it empty",
                        header.name()
                    ),
                );
            }
        }
    }

    let mut client_public_ip = None;
    let mut vendor_public_ip = None;
    let mut hops = None;
    for (header, value) in &sent {
        let header = *header;
        if header == Header::ConnectionMethod || !sendable(&mut out, header, value) {
            continue;
        }
        let mut check = Check::new(header, method, &mut out);
        match header {
            Header::ConnectionMethod => {}
            Header::BrowserJsUserAgent => client::browser_js_user_agent(&mut check, value),
            Header::DeviceId => client::device_id(&mut check, value),
            Header::LocalIps => client::local_ips(&mut check, value),
            Header::LocalIpsTimestamp | Header::PublicIpTimestamp => {
                client::collection_timestamp(&mut check, value)
            }
            Header::MacAddresses => client::mac_addresses(&mut check, value),
            Header::MultiFactor => client::multi_factor(&mut check, value),
            Header::PublicIp => client_public_ip = client::public_ip(&mut check, value),
            Header::PublicPort => client::public_port(&mut check, value),
            Header::Screens => client::screens(&mut check, value),
            Header::Timezone => client::timezone(&mut check, value),
            Header::UserAgent => client::user_agent(&mut check, value),
            Header::UserIds => client::user_ids(&mut check, value),
            Header::WindowSize => client::window_size(&mut check, value),
            Header::VendorForwarded => hops = vendor::forwarded(&mut check, value),
            Header::VendorLicenseIds => vendor::license_ids(&mut check, value),
            Header::VendorProductName => vendor::product_name(&mut check, value),
            Header::VendorPublicIp => vendor_public_ip = client::public_ip(&mut check, value),
            Header::VendorVersion => vendor::version(&mut check, value),
        }
    }
    if let Some(hops) = hops {
        vendor::forwarded_agrees(&mut out, &hops, client_public_ip, vendor_public_ip);
    }
    out.into_vec()
}

/// The findings that are errors.
pub fn errors(findings: &[Finding]) -> impl Iterator<Item = &Finding> {
    findings
        .iter()
        .filter(|finding| finding.severity == Severity::Error)
}

/// The fraud prevention headers sent, in the specification's order, values trimmed of the
/// spaces HTTP allows around them.
fn sent_headers<N: AsRef<str>, V: AsRef<str>>(headers: &[(N, V)]) -> Vec<(Header, String)> {
    Header::ALL
        .into_iter()
        .filter_map(|header| {
            let values: Vec<&str> = headers
                .iter()
                .filter(|(name, _)| Header::from_name(name.as_ref()) == Some(header))
                .map(|(_, value)| value.as_ref().trim_matches([' ', '\t']))
                .collect();
            (!values.is_empty()).then(|| (header, values.join(",")))
        })
        .collect()
}

fn connection_method(out: &mut Findings, value: Option<&str>) -> Option<ConnectionMethod> {
    let header = Header::ConnectionMethod;
    let Some(value) = value else {
        out.add(
            header,
            &rules::CONNECTION_METHOD_MISSING,
            header.partial(),
            "no Gov-Client-Connection-Method: send it with every request, so the headers can be \
             checked against the connection method's list",
        );
        return None;
    };
    let method = ConnectionMethod::from_header_value(value);
    if method.is_none() {
        let known: Vec<&str> = ConnectionMethod::ALL.iter().map(|m| m.as_str()).collect();
        out.add(
            header,
            &rules::CONNECTION_METHOD_UNKNOWN,
            CONNECTION_METHODS_PAGE,
            format!("`{value}` is not one of {}", known.join(", ")),
        );
    }
    method
}

/// Whether the value is worth checking further: US-ASCII and not empty.
fn sendable(out: &mut Findings, header: Header, value: &str) -> bool {
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        out.add(
            header,
            &rules::NOT_US_ASCII,
            GETTING_IT_RIGHT_PAGE,
            format!(
                "`{}` is not printable US-ASCII; percent encode the UTF-8 bytes of other \
                 characters",
                c.escape_default()
            ),
        );
        return false;
    }
    if value.is_empty() {
        let why = if header.partial_expects_missing_data() {
            format!(
                "its partial ({}) names a case where it cannot be collected; ",
                header.partial()
            )
        } else {
            String::new()
        };
        out.add(
            header,
            &rules::HEADER_EMPTY,
            GETTING_IT_RIGHT_PAGE,
            format!(
                "the value is empty; {why}an empty value is allowed only after explaining to \
                 HMRC (SDSTeam@hmrc.gov.uk) why the data cannot be collected"
            ),
        );
        return false;
    }
    true
}
