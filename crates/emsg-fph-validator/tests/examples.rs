//! The validator accepts what the specification prints: every example of every header partial,
//! and, per connection method, a full set of headers made of those examples. Quotes, and the
//! tables of examples and of each page's headers, are literals read from
//! `hmrc/txm-fph-specification` at commit 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb, each citing
//! its file; the project holds no copy of the specification.

mod support;

use ConnectionMethod as M;
use emsg_fph_validator::{CHANGE_LOG_PAGE, ConnectionMethod, Header, validate};
use support::*;

#[test]
fn a_web_application_via_server_sending_the_printed_examples_passes() {
    quote(
        "source/connection-method/web-app-via-server/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must submit data for all of these headers.",
    );
    let headers = web_app_via_server();
    assert_eq!(headers.len(), 16);
    assert_accepted(&headers);
}

#[test]
fn a_batch_process_direct_sending_the_printed_examples_passes() {
    quote(
        "source/connection-method/batch-process-direct/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must submit data for all of these headers.",
    );
    let headers = batch_process_direct();
    assert_eq!(headers.len(), 11);
    assert_accepted(&headers);
}

#[test]
fn every_connection_method_sending_its_printed_examples_passes() {
    for method in ConnectionMethod::ALL {
        quote(
            &format!(
                "{} @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
                method.page()
            ),
            "You must submit data for all of these headers.",
        );
        // The full set is made of the examples this method's page prints.
        for &header in &method.required_headers()[1..] {
            let value = example(method, header);
            assert!(
                printed_for(method, header).contains(&value.as_str()),
                "{method}: {}: {value} is not printed on {}",
                header.name(),
                method.page()
            );
        }
        assert_accepted(&full_set(method));
    }
}

/// The header partials each connection method's page includes, in its order, as
/// `<%= partial 'connection-method/partials/<name>' %>` names them: (method, its page at
/// commit 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb, the partials' names).
const PAGE_PARTIALS: [(ConnectionMethod, &str, &[&str]); 8] = [
    (
        M::WebAppViaServer,
        "source/connection-method/web-app-via-server/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-browser-js-user-agent",
            "gov-client-device-id",
            "gov-client-multi-factor",
            "gov-client-public-ip",
            "gov-client-public-ip-timestamp",
            "gov-client-public-port",
            "gov-client-screens",
            "gov-client-timezone",
            "gov-client-user-ids",
            "gov-client-window-size",
            "gov-vendor-forwarded",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-public-ip",
            "gov-vendor-version",
        ],
    ),
    (
        M::BatchProcessDirect,
        "source/connection-method/batch-process-direct/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-mac-addresses",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-version",
        ],
    ),
    (
        M::DesktopAppDirect,
        "source/connection-method/desktop-app-direct/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-mac-addresses",
            "gov-client-multi-factor",
            "gov-client-screens",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-client-window-size",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-version",
        ],
    ),
    (
        M::DesktopAppViaServer,
        "source/connection-method/desktop-app-via-server/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-mac-addresses",
            "gov-client-multi-factor",
            "gov-client-public-ip",
            "gov-client-public-ip-timestamp",
            "gov-client-public-port",
            "gov-client-screens",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-client-window-size",
            "gov-vendor-forwarded",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-public-ip",
            "gov-vendor-version",
        ],
    ),
    (
        M::MobileAppDirect,
        "source/connection-method/mobile-app-direct/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-multi-factor",
            "gov-client-screens",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-client-window-size",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-version",
        ],
    ),
    (
        M::MobileAppViaServer,
        "source/connection-method/mobile-app-via-server/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-multi-factor",
            "gov-client-public-ip",
            "gov-client-public-ip-timestamp",
            "gov-client-public-port",
            "gov-client-screens",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-client-window-size",
            "gov-vendor-forwarded",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-public-ip",
            "gov-vendor-version",
        ],
    ),
    (
        M::OtherDirect,
        "source/connection-method/other-direct/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-mac-addresses",
            "gov-client-multi-factor",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-version",
        ],
    ),
    (
        M::OtherViaServer,
        "source/connection-method/other-via-server/index.html.md.erb",
        &[
            "gov-client-connection-method",
            "gov-client-device-id",
            "gov-client-local-ips",
            "gov-client-local-ips-timestamp",
            "gov-client-mac-addresses",
            "gov-client-multi-factor",
            "gov-client-public-ip",
            "gov-client-public-ip-timestamp",
            "gov-client-public-port",
            "gov-client-timezone",
            "gov-client-user-agent",
            "gov-client-user-ids",
            "gov-vendor-forwarded",
            "gov-vendor-license-ids",
            "gov-vendor-product-name",
            "gov-vendor-public-ip",
            "gov-vendor-version",
        ],
    ),
];

#[test]
fn each_method_requires_exactly_the_headers_its_page_lists() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You are required by law to submit all header data for your connection method.",
    );
    let listed: Vec<ConnectionMethod> = PAGE_PARTIALS.iter().map(|(method, ..)| *method).collect();
    assert_eq!(listed, ConnectionMethod::ALL);
    for (method, page, partials) in PAGE_PARTIALS {
        assert_eq!(method.page(), page, "{method}");
        let on_page: Vec<Header> = partials
            .iter()
            .map(|name| {
                let path = format!("source/connection-method/partials/{name}.erb");
                *Header::ALL
                    .iter()
                    .find(|header| header.partial() == path)
                    .unwrap_or_else(|| panic!("no header for {path}"))
            })
            .collect();
        assert_eq!(
            method.required_headers(),
            on_page.as_slice(),
            "{method}: {page}"
        );
    }
}

#[test]
fn every_example_printed_in_a_header_partial_passes() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Each header has additional formatting requirements.",
    );
    let mut seen = 0;
    for printed in &PRINTED_EXAMPLES {
        let header = Header::ALL
            .into_iter()
            .find(|header| header.partial() == printed.source)
            .unwrap_or_else(|| panic!("no header for {}", printed.source));
        assert_eq!(printed.name, header.name(), "{}", printed.source);
        if header == Header::ConnectionMethod {
            // Printed as `<%= locals[:connection_method] %>`; each method is tested above.
            assert_eq!(printed.value, "<%= locals[:connection_method] %>");
            continue;
        }
        seen += 1;
        let requiring: Vec<ConnectionMethod> = ConnectionMethod::ALL
            .into_iter()
            .filter(|method| method.required_headers().contains(&header))
            .collect();
        // Every page that prints the example accepts it, in a full set of its own examples.
        let printing = printed.printed_for.map_or(requiring.clone(), <[_]>::to_vec);
        assert!(!printing.is_empty(), "{}: {}", printed.name, printed.value);
        for method in printing {
            assert!(
                requiring.contains(&method),
                "{method}'s page does not include {}",
                printed.source
            );
            let headers = consistent(full_set(method), header, printed.value);
            assert!(
                validate(&headers).is_empty(),
                "{method} refuses {}: {}: {:#?}",
                printed.name,
                printed.value,
                validate(&headers)
            );
        }
    }
    // 19 partials with examples; Local-IPs, Public-IP, Timezone, Product-Name, User-IDs,
    // Forwarded and the conditional ones print several.
    assert_eq!(
        seen, 41,
        "the partials print 42 examples, one of them the connection method"
    );
    // Each method's page prints at least one example of every header it requires.
    for method in ConnectionMethod::ALL {
        for &header in method.required_headers() {
            assert!(
                !printed_for(method, header).is_empty(),
                "{method}: nothing printed for {}",
                header.name()
            );
        }
    }
}

/// `headers` with `header` set to an example, and the headers that must agree with it made to
/// agree: the first Gov-Vendor-Forwarded hop joins Gov-Client-Public-IP to Gov-Vendor-Public-IP.
fn consistent(headers: Headers, header: Header, value: &str) -> Headers {
    let headers = with(headers, header, value);
    match header {
        Header::PublicIp => {
            let encoded = value.replace(':', "%3A");
            with(
                headers,
                Header::VendorForwarded,
                &format!("by=203.0.113.6&for={encoded}"),
            )
        }
        Header::VendorPublicIp => {
            let encoded = value.replace(':', "%3A");
            with(
                headers,
                Header::VendorForwarded,
                &format!("by={encoded}&for=198.51.100.0"),
            )
        }
        Header::VendorForwarded => {
            let first = value.split(',').next().unwrap_or_default();
            let field = |key: &str| {
                first
                    .split('&')
                    .find_map(|pair| pair.strip_prefix(&format!("{key}=")))
                    .map(|ip| ip.replace("%3A", ":"))
                    .unwrap_or_default()
            };
            let headers = with(headers, Header::VendorPublicIp, &field("by"));
            with(headers, Header::PublicIp, &field("for"))
        }
        _ => headers,
    }
}

#[test]
fn the_second_forwarded_example_passes_when_the_waf_is_the_vendor_public_ip() {
    let sentence = quote(
        "source/connection-method/partials/gov-vendor-public-ip.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "This could be an IP address of a Web Application Firewall (WAF), a DDoS Protection \
         Service, or a load balancer that the vendor's DNS record resolves to",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=2001%3A0db8%3A85a3%3A0000%3A0000%3A8a2e%3A0370%3A7334&for=198.51.100.0,by=203.0.113.6&for=2001%3A0db8%3A85a3%3A0000%3A0000%3A8a2e%3A0370%3A7334,by=176.30.57.118&for=203.0.113.6",
    );
    let headers = with(
        headers,
        Header::VendorPublicIp,
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
    );
    assert_accepted(&headers);
    // The same address written shorter is the same address.
    let headers = with(
        headers,
        Header::VendorPublicIp,
        "2001:db8:85a3::8a2e:370:7334",
    );
    assert_accepted(&headers);
    assert!(sentence.contains("WAF"));
}

#[test]
fn header_names_are_matched_without_regard_to_case() {
    let headers: Headers = web_app_via_server()
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    assert_accepted(&headers);
}

#[test]
fn headers_other_than_fraud_prevention_headers_are_ignored() {
    let mut headers = batch_process_direct();
    headers.push(("Authorization".into(), "Bearer x".into()));
    headers.push(("Accept".into(), "application/vnd.hmrc.1.0+json".into()));
    assert_accepted(&headers);
}

#[test]
fn a_header_a_method_does_not_need_is_not_an_issue_when_sent() {
    quote(
        "source/change-log/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For the web application via server connection method, you do not need to submit values \
         for Gov-Client-Browser-Plugins, Gov-Client-Local-IPs or Gov-Client-Local-IPs-Timestamp. \
         If your application submits values for these headers it is not an issue.",
    );
    let headers = with(web_app_via_server(), Header::LocalIps, "10.1.2.3,10.3.4.2");
    let headers = with(
        headers,
        Header::LocalIpsTimestamp,
        "2020-09-21T14:30:05.123Z",
    );
    assert_accepted(&headers);
    assert_eq!(CHANGE_LOG_PAGE, "source/change-log/index.html.md.erb");
}

#[test]
fn key_value_pairs_are_accepted_in_any_order() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Key-value pairs can be submitted in any order.",
    );
    let headers = with(
        web_app_via_server(),
        Header::Screens,
        "colour-depth=16&scaling-factor=1&height=1080&width=1920",
    );
    assert_accepted(&headers);
}

#[test]
fn a_key_with_an_empty_value_is_accepted() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Whenever a key is applicable but has no applicable value, you can omit the key-value \
         pair or include the key with an empty value.",
    );
    let headers = with(
        batch_process_direct(),
        Header::UserAgent,
        "os-family=Windows&os-version=Server%202012&device-manufacturer=&device-model=",
    );
    assert_accepted(&headers);
}

#[test]
fn multi_factor_timestamps_may_carry_seconds_and_milliseconds() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "As a minimum, use this format yyyy-MM-ddThh:mmZ. You can include seconds and milliseconds.",
    );
    for timestamp in ["2021-11-21T13%3A23%3A05Z", "2021-11-21T13%3A23%3A05.120Z"] {
        let value = format!(
            "type=OTHER&timestamp={timestamp}&unique-reference=fc4b5fd6816f75a7c81fc8eaa9499d6a299bd803397166e8c4cf9280b801d62c"
        );
        assert_accepted(&with(web_app_via_server(), Header::MultiFactor, &value));
    }
}
