//! The validator accepts what the specification prints: every example of every header partial,
//! and, per connection method, a full set of headers made of those examples. Quotes are from
//! `hmrc/txm-fph-specification` at commit 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb, vendored
//! under `spec/`; `quote` fails if the file it names does not say the sentence.

mod support;

use emsg_fph_validator::{ConnectionMethod, Header, spec, validate};
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
        assert_accepted(&full_set(method));
    }
}

#[test]
fn each_method_requires_exactly_the_headers_its_page_lists() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You are required by law to submit all header data for your connection method.",
    );
    for method in ConnectionMethod::ALL {
        assert_eq!(
            method.required_headers(),
            headers_on_page(method).as_slice(),
            "{method}: {}",
            method.page()
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
    for header in Header::ALL {
        for (name, value, conditional) in printed_examples(header.partial()) {
            assert_eq!(name, header.name(), "{}", header.partial());
            if header == Header::ConnectionMethod {
                // Printed as `<%= locals[:connection_method] %>`; each method is tested above.
                continue;
            }
            seen += 1;
            let methods: Vec<ConnectionMethod> = ConnectionMethod::ALL
                .into_iter()
                .filter(|method| method.required_headers().contains(&header))
                .collect();
            let accepting: Vec<ConnectionMethod> = methods
                .iter()
                .copied()
                .filter(|&method| {
                    validate(&consistent(full_set(method), header, &value)).is_empty()
                })
                .collect();
            if conditional {
                assert!(!accepting.is_empty(), "no method accepts {name}: {value}");
            } else {
                assert_eq!(accepting, methods, "{name}: {value}");
            }
        }
    }
    // 19 partials with examples; Local-IPs, Public-IP, Timezone, Product-Name, User-IDs,
    // Forwarded and the conditional ones print several.
    assert_eq!(
        seen, 41,
        "the partials print 42 examples, one of them the connection method"
    );
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
    assert_eq!(spec::CHANGE_LOG, "source/change-log/index.html.md.erb");
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
