//! The validator refuses mutated copies of the printed examples, one mutation per rule, each
//! with the rule's code and nothing else. Quotes are literals read from
//! `hmrc/txm-fph-specification` at commit 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb, each citing
//! its file; the project holds no copy of the specification.

mod support;

use emsg_fph_validator::{ConnectionMethod, Header, Severity, rules, validate};
use support::*;

// Connection method and required headers.

#[test]
fn headers_without_a_connection_method_are_refused() {
    quote(
        "source/connection-method/partials/gov-client-connection-method.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For your connection method, submit this header and value with all requests:",
    );
    let findings = assert_rejected(
        &without(web_app_via_server(), Header::ConnectionMethod),
        rules::CONNECTION_METHOD_MISSING.code,
    );
    assert_eq!(findings[0].source, Header::ConnectionMethod.partial());
}

#[test]
fn a_connection_method_the_specification_does_not_list_is_refused() {
    quote(
        "source/connection-method/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "To find out what data you need to send, select the connection methods used by your application.",
    );
    for value in [
        "WEB_APP",
        "web_app_via_server",
        "WEB_APP_VIA_SERVER,BATCH_PROCESS_DIRECT",
        "",
        "null",
    ] {
        let headers = with(web_app_via_server(), Header::ConnectionMethod, value);
        assert_rejected(&headers, rules::CONNECTION_METHOD_UNKNOWN.code);
    }
}

#[test]
fn no_headers_at_all_are_refused() {
    quote(
        "source/connection-method/partials/gov-client-connection-method.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For your connection method, submit this header and value with all requests:",
    );
    let findings = validate::<&str, &str>(&[]);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, rules::CONNECTION_METHOD_MISSING.code);
    assert_eq!(findings[0].severity, Severity::Error);
}

#[test]
fn a_connection_method_sent_twice_is_refused() {
    // HTTP joins the two values with a comma, which is no method.
    quote(
        "source/connection-method/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Your connection method depends on how your application connects to HMRC and your \
         originating device. You might have more than 1 connection method.",
    );
    let mut headers = web_app_via_server();
    headers.push((
        "Gov-Client-Connection-Method".into(),
        "BATCH_PROCESS_DIRECT".into(),
    ));
    assert_rejected(&headers, rules::CONNECTION_METHOD_UNKNOWN.code);
}

#[test]
fn each_header_a_web_application_via_server_leaves_out_is_refused_by_name() {
    quote(
        "source/connection-method/web-app-via-server/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must submit data for all of these headers.",
    );
    each_header_left_out_is_refused(ConnectionMethod::WebAppViaServer);
}

#[test]
fn each_header_a_batch_process_direct_leaves_out_is_refused_by_name() {
    quote(
        "source/connection-method/batch-process-direct/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must submit data for all of these headers.",
    );
    each_header_left_out_is_refused(ConnectionMethod::BatchProcessDirect);
}

#[test]
fn each_header_any_other_method_leaves_out_is_refused_by_name() {
    for method in ConnectionMethod::ALL {
        quote(
            &format!(
                "{} @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
                method.page()
            ),
            "You must submit data for all of these headers.",
        );
        each_header_left_out_is_refused(method);
    }
}

fn each_header_left_out_is_refused(method: ConnectionMethod) {
    for &header in &method.required_headers()[1..] {
        let findings = assert_rejected(
            &without(full_set(method), header),
            rules::HEADER_MISSING.code,
        );
        let missing: Vec<&str> = findings.iter().map(|f| f.header.as_str()).collect();
        assert_eq!(missing, [header.name()], "{method}");
        assert_eq!(findings[0].source, method.page());
    }
}

#[test]
fn an_empty_value_is_only_a_warning_to_explain_to_hmrc() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "After discussing a missing header with us, you can omit the header or submit it with an \
         empty value.",
    );
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "If you authenticate with username and password only, you will not be able to collect a value.",
    );
    let findings = assert_warned(
        &with(web_app_via_server(), Header::MultiFactor, ""),
        rules::HEADER_EMPTY.code,
    );
    assert!(
        findings[0].message.contains("SDSTeam@hmrc.gov.uk"),
        "{}",
        findings[0].message
    );
    assert!(
        findings[0].message.contains("gov-client-multi-factor.erb"),
        "{}",
        findings[0].message
    );
    assert_warned(
        &with(batch_process_direct(), Header::DeviceId, " "),
        rules::HEADER_EMPTY.code,
    );
}

#[test]
fn a_client_connecting_over_a_private_network_sends_empty_public_addresses_with_warnings() {
    quote(
        "source/connection-method/partials/gov-client-public-ip.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "If the connection between client and server is over a private network, you will not be \
         able to collect a value.",
    );
    let mut headers = web_app_via_server();
    for header in [
        Header::PublicIp,
        Header::PublicPort,
        Header::VendorPublicIp,
        Header::VendorForwarded,
    ] {
        headers = with(headers, header, "");
    }
    let findings = assert_warned(&headers, rules::HEADER_EMPTY.code);
    assert_eq!(findings.len(), 4);
}

// Encoding rules from the getting-it-right page.

#[test]
fn characters_outside_us_ascii_are_refused() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Header data contents must be submitted using the US-ASCII character set, with other \
         characters percent encoded",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorProductName,
        "Pr\u{f8}dukt",
    );
    assert_rejected(&headers, rules::NOT_US_ASCII.code);
    let headers = with(
        web_app_via_server(),
        Header::VendorProductName,
        "Pr%C3%B8dukt",
    );
    assert_accepted(&headers);
}

#[test]
fn placeholder_values_are_refused_wherever_they_stand() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must not include a placeholder value, for example null or undefined.",
    );
    let web = web_app_via_server;
    let batch = batch_process_direct;
    for headers in [
        with(web(), Header::BrowserJsUserAgent, "undefined"),
        with(web(), Header::PublicIp, "unknown"),
        with(web(), Header::PublicPort, "null"),
        with(web(), Header::Timezone, "N/A"),
        with(
            web(),
            Header::Screens,
            "width=undefined&height=1080&scaling-factor=1&colour-depth=16",
        ),
        with(web(), Header::UserIds, "my-application=null"),
        with(web(), Header::VendorProductName, "unknown"),
        with(
            web(),
            Header::DeviceId,
            "00000000-0000-0000-0000-000000000000",
        ),
        with(web(), Header::PublicIpTimestamp, "1970-01-01T00:00:00.000Z"),
        with(batch(), Header::MacAddresses, "02%3A00%3A00%3A00%3A00%3A00"),
        with(batch(), Header::LocalIps, "0.0.0.0"),
        with(
            batch(),
            Header::UserAgent,
            "os-family=Windows&os-version=unknown&device-manufacturer=Dell&device-model=XPS13",
        ),
    ] {
        assert_rejected(&headers, rules::PLACEHOLDER_VALUE.code);
    }
}

#[test]
fn an_ipv6_local_address_not_percent_encoded_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-local-ips.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Every IPv6 value in the list must be percent encoded (opens in a new tab). Do not \
         percent encode separators (commas).",
    );
    let headers = with(batch_process_direct(), Header::LocalIps, "fc00::,10.1.2.3");
    let findings = assert_rejected(&headers, rules::NOT_PERCENT_ENCODED.code);
    assert_eq!(findings[0].source, Header::LocalIps.partial());
}

#[test]
fn keys_and_values_not_percent_encoded_are_refused() {
    quote(
        "source/connection-method/partials/gov-client-user-agent.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Every key and value must be percent encoded (opens in a new tab). Do not percent encode \
         the separators (equal signs, ampersands and commas).",
    );
    let batch = batch_process_direct;
    for headers in [
        with(
            batch(),
            Header::UserAgent,
            "os-family=Windows&os-version=Server 2012&device-manufacturer=Dell&device-model=XPS13",
        ),
        with(
            batch(),
            Header::UserAgent,
            "os-family=Windows&os-version=Server+2012&device-manufacturer=Dell&device-model=XPS13",
        ),
        with(
            batch(),
            Header::UserAgent,
            "os-family=Windows&os-version=10&device-manufacturer=Apple&device-model=MacBookPro15,2",
        ),
        with(
            batch(),
            Header::UserIds,
            "os=domain\\alice&my-application=alice123",
        ),
        with(batch(), Header::UserIds, "os=domain%5Galice"),
        with(batch(), Header::MacAddresses, "ea:43:1a:5d:21:45"),
        with(batch(), Header::VendorProductName, "Product Name"),
        with(batch(), Header::VendorVersion, "my-application=1.6.0=beta"),
        with(
            web_app_via_server(),
            Header::MultiFactor,
            "type=TOTP&timestamp=2021-11-21T13:20Z&unique-reference=0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5",
        ),
        with(
            web_app_via_server(),
            Header::VendorForwarded,
            "by=203.0.113.6&for=198.51.100.0%",
        ),
    ] {
        assert_rejected(&headers, rules::NOT_PERCENT_ENCODED.code);
    }
}

#[test]
fn percent_encoded_separators_are_refused() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Do not percent encode the separators (equal signs, ampersands and commas).",
    );
    let headers = with(
        web_app_via_server(),
        Header::MultiFactor,
        "type%3DTOTP%26timestamp%3D2021-11-21T13%253A20Z%26unique-reference%3D0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5",
    );
    assert_rejected(&headers, rules::SEPARATOR_PERCENT_ENCODED.code);
    let headers = with(
        batch_process_direct(),
        Header::MacAddresses,
        "ea%3A43%3A1a%3A5d%3A21%3A45%2C10%3A12%3Acc%3Afa%3Aaa%3A32",
    );
    assert_rejected(&headers, rules::SEPARATOR_PERCENT_ENCODED.code);
}

#[test]
fn a_key_value_structure_with_a_pair_lacking_a_key_or_an_equal_sign_is_refused() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Whenever a header contains a key-value data structure, you must use this format: \
         <key-1>=<value-1>&<key-2>=<value-2>&…",
    );
    for value in [
        "my-application",
        "=alice123",
        "os=domain%5Calice&&my-application=alice123",
        "os=domain%5Calice&",
    ] {
        let headers = with(batch_process_direct(), Header::UserIds, value);
        assert_rejected(&headers, rules::KEY_VALUE_MALFORMED.code);
    }
}

#[test]
fn a_list_with_an_empty_value_is_refused() {
    quote(
        "source/getting-it-right/index.html.md.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Values must not be empty.",
    );
    for value in ["10.1.2.3,,10.3.4.2", "10.1.2.3,", ",10.1.2.3"] {
        let headers = with(batch_process_direct(), Header::LocalIps, value);
        let findings = assert_rejected(&headers, rules::LIST_VALUE_EMPTY.code);
        assert_eq!(
            findings[0].source,
            "source/getting-it-right/index.html.md.erb"
        );
    }
}

#[test]
fn a_misspelt_field_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-screens.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "colour-depth is the colour depth of the screen in bits",
    );
    let headers = with(
        web_app_via_server(),
        Header::Screens,
        "width=1920&height=1080&scaling-factor=1&colour-depth=16&color-depth=16",
    );
    assert_warned(&headers, rules::FIELD_UNKNOWN.code);
}

// Gov-Client-* headers.

#[test]
fn a_device_id_that_is_not_a_uuid_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-device-id.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You need to generate a universally unique identifier (UUID), also known as a globally \
         unique identifier (GUID), to use as a device ID",
    );
    for value in [
        "beec798bb36647fab1f892cede14a1ce",
        "{beec798b-b366-47fa-b1f8-92cede14a1ce}",
        "beec798b-b366-47fa-b1f8-92cede14a1cg",
        "my-laptop",
    ] {
        let headers = with(batch_process_direct(), Header::DeviceId, value);
        assert_rejected(&headers, rules::DEVICE_ID_NOT_UUID.code);
    }
}

#[test]
fn a_private_or_loopback_address_as_the_client_public_ip_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-public-ip.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The public IPv4 or IPv6 address from which the originating device makes the request.",
    );
    let private = [
        "192.168.1.10",
        "10.0.0.7",
        "172.20.1.1",
        "127.0.0.1",
        "100.64.3.2",
        "169.254.0.9",
        "::1",
        "fe80::1",
        "fd00::7",
        "::ffff:192.168.1.10",
    ];
    for value in private {
        // Gov-Vendor-Forwarded still names the real client, so the address alone is wrong...
        let headers = with(web_app_via_server(), Header::PublicIp, value);
        let findings = assert_errors(
            &headers,
            &[
                rules::IP_NOT_PUBLIC.code,
                rules::FORWARDED_FIRST_HOP_FOR.code,
            ],
        );
        let refused = findings
            .iter()
            .find(|f| f.rule == rules::IP_NOT_PUBLIC.code);
        assert_eq!(
            refused.map(|f| f.header.as_str()),
            Some("Gov-Client-Public-IP")
        );
        assert_eq!(refused.map(|f| f.source), Some(Header::PublicIp.partial()));
        // ...and when it agrees, its first hop is a private one as well.
        let encoded = value.replace(':', "%3A");
        let forwarded = format!("by=203.0.113.6&for={encoded}");
        let headers = with(headers, Header::VendorForwarded, &forwarded);
        assert_errors(
            &headers,
            &[rules::IP_NOT_PUBLIC.code, rules::FORWARDED_HOP_PRIVATE.code],
        );
    }
}

#[test]
fn a_private_vendor_public_ip_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-public-ip.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The public IP address of the servers the originating device sent their requests to.",
    );
    let headers = with(web_app_via_server(), Header::VendorPublicIp, "10.0.0.1");
    let findings = assert_errors(
        &headers,
        &[
            rules::IP_NOT_PUBLIC.code,
            rules::FORWARDED_FIRST_HOP_BY.code,
        ],
    );
    let refused = findings
        .iter()
        .find(|f| f.rule == rules::IP_NOT_PUBLIC.code);
    assert_eq!(
        refused.map(|f| f.header.as_str()),
        Some("Gov-Vendor-Public-IP")
    );
}

#[test]
fn an_address_that_does_not_parse_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-local-ips.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "A list of all local IPv4 and IPv6 addresses available to the originating device.",
    );
    let headers = with(batch_process_direct(), Header::LocalIps, "10.1.2,10.3.4.2");
    assert_rejected(&headers, rules::IP_INVALID.code);
    let headers = with(web_app_via_server(), Header::PublicIp, "198.51.100.256");
    let findings = validate(&headers);
    assert!(
        findings.iter().any(|f| f.rule == rules::IP_INVALID.code),
        "{findings:#?}"
    );
}

#[test]
fn a_timestamp_not_in_utc_with_milliseconds_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-public-ip-timestamp.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Submit a UTC timestamp in the format yyyy-MM-ddThh:mm:ss.sssZ where Z designates zero \
         time offset",
    );
    quote(
        "source/connection-method/partials/gov-client-local-ips-timestamp.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You must include seconds and milliseconds, including trailing zeros",
    );
    for value in [
        "2020-09-21T14:30:05Z",
        "2020-09-21T14:30:05.12Z",
        "2020-09-21 14:30:05.123Z",
        "2020-09-21T14:30:05.123+01:00",
        "2020-09-21T14:30:05.123",
        "2020-09-21T2:30:05.123Z",
        "2020-13-21T14:30:05.123Z",
        "21/09/2020 14:30:05",
        "1600698605123",
    ] {
        assert_rejected(
            &with(web_app_via_server(), Header::PublicIpTimestamp, value),
            rules::TIMESTAMP_FORMAT.code,
        );
        assert_rejected(
            &with(batch_process_direct(), Header::LocalIpsTimestamp, value),
            rules::TIMESTAMP_FORMAT.code,
        );
    }
}

#[test]
fn a_port_outside_1_to_65535_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-public-port.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The valid range is between 1 and 65535",
    );
    for value in ["0", "65536", "-1", "12a45", "1234.0"] {
        assert_rejected(
            &with(web_app_via_server(), Header::PublicPort, value),
            rules::PORT_OUT_OF_RANGE.code,
        );
    }
}

#[test]
fn a_server_port_as_the_client_port_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-public-port.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "This must not be a server port, for example 80 for http connections and 443 for https connections",
    );
    for value in ["80", "443"] {
        assert_rejected(
            &with(web_app_via_server(), Header::PublicPort, value),
            rules::PORT_IS_SERVER_PORT.code,
        );
    }
    assert_warned(
        &with(web_app_via_server(), Header::PublicPort, "22"),
        rules::PORT_WELL_KNOWN.code,
    );
}

#[test]
fn a_screen_without_all_four_fields_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-screens.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "These fields should be submitted as a list of key-value data structures:",
    );
    let headers = with(
        web_app_via_server(),
        Header::Screens,
        "width=1920&height=1080&scaling-factor=1",
    );
    assert_warned(&headers, rules::SCREENS_FIELD_MISSING.code);
}

#[test]
fn a_window_size_without_width_or_height_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-window-size.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "This should be displayed as a key-value data structure with width and height fields.",
    );
    let headers = with(web_app_via_server(), Header::WindowSize, "width=1256");
    assert_warned(&headers, rules::WINDOW_SIZE_FIELD_MISSING.code);
}

#[test]
fn a_width_or_height_that_is_not_a_positive_whole_number_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-screens.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "width and height must be positive whole numbers.",
    );
    quote(
        "source/connection-method/partials/gov-client-window-size.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Values must be positive whole numbers.",
    );
    for value in ["0", "-1", "1256.5", "1e3", "wide"] {
        let headers = with(
            web_app_via_server(),
            Header::WindowSize,
            &format!("width={value}&height=803"),
        );
        assert_rejected(&headers, rules::NOT_POSITIVE_WHOLE_NUMBER.code);
        let screens = format!("width=1920&height={value}&scaling-factor=1&colour-depth=16");
        let headers = with(web_app_via_server(), Header::Screens, &screens);
        assert_rejected(&headers, rules::NOT_POSITIVE_WHOLE_NUMBER.code);
    }
}

#[test]
fn a_scaling_factor_or_colour_depth_that_is_not_a_number_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-screens.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For example, high-pixel density screens might have a scaling factor of 2, whereas \
         standard definition screens might have a scaling factor of 1",
    );
    for screen in [
        "width=1920&height=1080&scaling-factor=x2&colour-depth=16",
        "width=1920&height=1080&scaling-factor=0&colour-depth=16",
        "width=1920&height=1080&scaling-factor=1&colour-depth=16bit",
        "width=1920&height=1080&scaling-factor=1&colour-depth=1.5",
    ] {
        let headers = with(web_app_via_server(), Header::Screens, screen);
        assert_rejected(&headers, rules::FIELD_NOT_NUMERIC.code);
    }
}

#[test]
fn a_timezone_not_written_utc_plus_or_minus_hours_and_minutes_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-timezone.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You need to submit a recognised timezone in UTC (Coordinated Universal Time) format, \
         expressed as UTC±<hh>:<mm>",
    );
    for value in [
        "UTC+1:00",
        "GMT+01:00",
        "+01:00",
        "UTC+0100",
        "Europe/London",
        "UTC",
        "utc+01:00",
        "UTC\u{b1}01:00",
    ] {
        let headers = with(web_app_via_server(), Header::Timezone, value);
        let findings = validate(&headers);
        let codes: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        assert!(
            codes == [rules::TIMEZONE_FORMAT.code] || codes == [rules::NOT_US_ASCII.code],
            "{value}: {findings:#?}"
        );
    }
}

#[test]
fn a_timezone_offset_no_timezone_uses_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-timezone.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "You need to submit a recognised timezone",
    );
    for value in ["UTC+15:00", "UTC-13:00", "UTC+01:60", "UTC+01:07"] {
        let headers = with(web_app_via_server(), Header::Timezone, value);
        assert_rejected(&headers, rules::TIMEZONE_UNRECOGNISED.code);
    }
    for value in [
        "UTC+14:00",
        "UTC-12:00",
        "UTC+05:45",
        "UTC-09:30",
        "UTC-00:00",
    ] {
        assert_accepted(&with(web_app_via_server(), Header::Timezone, value));
    }
}

#[test]
fn a_batch_user_agent_without_its_four_fields_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-user-agent.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "These fields should be submitted as a list of key-value data structures:",
    );
    let headers = with(
        batch_process_direct(),
        Header::UserAgent,
        "os-family=Windows&os-version=Server%202012&device-manufacturer=Dell%20Inc.",
    );
    assert_warned(&headers, rules::USER_AGENT_FIELD_MISSING.code);
}

#[test]
fn a_browser_user_agent_not_shaped_like_one_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-browser-js-user-agent.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Pass the value as reported by the browser, usually in this format:",
    );
    let headers = with(
        web_app_via_server(),
        Header::BrowserJsUserAgent,
        "Safari on iPad",
    );
    assert_warned(&headers, rules::BROWSER_USER_AGENT_SHAPE.code);
}

#[test]
fn batch_user_ids_without_the_os_user_are_a_warning() {
    quote(
        "source/connection-method/partials/gov-client-user-ids.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The os field should contain the identifier of the user signed in on the originating device",
    );
    let headers = with(
        batch_process_direct(),
        Header::UserIds,
        "my-application=alice123",
    );
    assert_warned(&headers, rules::USER_IDS_OS_MISSING.code);
    // The web application's page prints no `os` field.
    assert_accepted(&with(
        web_app_via_server(),
        Header::UserIds,
        "my-application=alice123",
    ));
}

#[test]
fn a_multi_factor_entry_without_its_three_fields_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Fields for each key-value data structure",
    );
    let headers = with(
        web_app_via_server(),
        Header::MultiFactor,
        "type=TOTP&timestamp=2021-11-21T13%3A20Z",
    );
    assert_rejected(&headers, rules::MFA_FIELD_MISSING.code);
}

#[test]
fn a_multi_factor_type_other_than_totp_auth_code_or_other_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "type is a tag describing the MFA method being used. The possible values are:",
    );
    for kind in ["SMS", "totp", "PASSWORD"] {
        let value = format!(
            "type={kind}&timestamp=2021-11-21T13%3A20Z&unique-reference=0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5"
        );
        assert_rejected(
            &with(web_app_via_server(), Header::MultiFactor, &value),
            rules::MFA_TYPE_INVALID.code,
        );
    }
}

#[test]
fn a_multi_factor_timestamp_without_t_or_z_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "As a minimum, use this format yyyy-MM-ddThh:mmZ. You can include seconds and \
         milliseconds. You must include T and use the 24 hour format.",
    );
    for timestamp in [
        "2021-11-21%2013%3A20Z",
        "2021-11-21T13%3A20",
        "2021-11-21T13%3A20%2B01%3A00",
        "2021-11-21T1%3A20PM",
    ] {
        let value = format!(
            "type=TOTP&timestamp={timestamp}&unique-reference=0283da60063abfb3a87f1aed845d17fe2d9ba8c780b478dc4ae048f5ee97a6d5"
        );
        assert_rejected(
            &with(web_app_via_server(), Header::MultiFactor, &value),
            rules::MFA_TIMESTAMP_FORMAT.code,
        );
    }
}

#[test]
fn a_multi_factor_reference_that_is_a_plain_phone_number_or_address_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-multi-factor.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "unique-reference identifies a single factor. For example, a salted-and-hashed phone \
         number used for SMS, or an identifier linked to a TOTP secret, but not the secret itself.",
    );
    for reference in ["%2B447700900123", "07700%20900123", "alice%40example.com"] {
        let value =
            format!("type=AUTH_CODE&timestamp=2021-11-21T13%3A23Z&unique-reference={reference}");
        assert_rejected(
            &with(web_app_via_server(), Header::MultiFactor, &value),
            rules::MFA_REFERENCE_NOT_HASHED.code,
        );
    }
    let value = "type=TOTP&timestamp=2021-11-21T13%3A23Z&unique-reference=JBSWY3DPEHPK3PXP";
    assert_warned(
        &with(web_app_via_server(), Header::MultiFactor, value),
        rules::MFA_REFERENCE_LOOKS_LIKE_SECRET.code,
    );
}

#[test]
fn a_mac_address_list_item_that_is_not_a_mac_address_is_refused() {
    quote(
        "source/connection-method/partials/gov-client-mac-addresses.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The list of MAC addresses available on the originating device.",
    );
    for value in [
        "ea%3A43%3A1a%3A5d%3A21",
        "ea%3A43%3A1a%3A5d%3A21%3Azz",
        "ea431a5d2145",
    ] {
        assert_rejected(
            &with(batch_process_direct(), Header::MacAddresses, value),
            rules::MAC_INVALID.code,
        );
    }
}

// Gov-Vendor-* headers.

#[test]
fn a_forwarded_hop_without_by_or_for_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-forwarded.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For each hop over the internet, a key-value data structure with a by and for field must \
         be appended to the list",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=203.0.113.6",
    );
    assert_rejected(&headers, rules::FORWARDED_HOP_FIELD_MISSING.code);
}

#[test]
fn a_forwarded_hop_within_a_private_network_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-forwarded.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "Do not include hops within a private network",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=203.0.113.6&for=198.51.100.0,by=10.0.0.5&for=203.0.113.6",
    );
    assert_rejected(&headers, rules::FORWARDED_HOP_PRIVATE.code);
}

#[test]
fn a_first_forwarded_hop_not_received_on_the_vendor_public_ip_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-forwarded.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The by field must be the public IP address that the server received the request on. For \
         the first hop, this is the public IP address of the server and value of Gov-Vendor-Public-IP.",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=203.0.113.7&for=198.51.100.0",
    );
    assert_rejected(&headers, rules::FORWARDED_FIRST_HOP_BY.code);
}

#[test]
fn a_first_forwarded_hop_not_for_the_client_public_ip_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-forwarded.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "The for field must be the public IP address of the request sender. For the first hop, \
         this is the public IP address of the client and value of Gov-Client-Public-IP.",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=203.0.113.6&for=198.51.100.1",
    );
    assert_rejected(&headers, rules::FORWARDED_FIRST_HOP_FOR.code);
}

#[test]
fn a_later_hop_not_from_the_server_the_previous_hop_reached_is_a_warning() {
    quote(
        "source/connection-method/partials/gov-vendor-forwarded.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "For subsequent hops, it is the public IP address of the intermediate server.",
    );
    let headers = with(
        web_app_via_server(),
        Header::VendorForwarded,
        "by=203.0.113.6&for=198.51.100.0,by=176.30.57.118&for=203.0.113.9",
    );
    assert_warned(&headers, rules::FORWARDED_CHAIN_BROKEN.code);
}

#[test]
fn a_licence_key_sent_unhashed_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-license-ids.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "A key-value data structure of hashed license keys relating to the vendor software \
         initiating the API request on the originating device.",
    );
    for licence in ["ABCD-1234-EFGH-5678", "XK42P9", "my%20licence"] {
        let value = format!("my-licensed-software={licence}");
        assert_rejected(
            &with(batch_process_direct(), Header::VendorLicenseIds, &value),
            rules::LICENSE_NOT_HASHED.code,
        );
    }
}

#[test]
fn a_vendor_version_for_a_desktop_application_via_server_with_one_pair_is_refused() {
    quote(
        "source/connection-method/partials/gov-vendor-version.erb @ 5fc429b0cdb3d9eae9474db472c3e0f8a8bc9efb",
        "A minimum of two key-value pairs must be provided, one for the server and another for \
         the client application.",
    );
    let headers = with(
        full_set(ConnectionMethod::DesktopAppViaServer),
        Header::VendorVersion,
        "my-desktop-app=2.2.2",
    );
    assert_rejected(&headers, rules::VERSION_TOO_FEW_PAIRS.code);
    // A web application's page prints one pair.
    assert_accepted(&with(
        web_app_via_server(),
        Header::VendorVersion,
        "my-web-app=2.2.2",
    ));
}
