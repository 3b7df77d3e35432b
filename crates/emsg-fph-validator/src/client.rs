//! The rules of the Gov-Client-* headers, one function per header, each following the
//! header's partial.

use std::net::IpAddr;

use crate::check::{Check, get};
use crate::rules;
use crate::values::{self, Precision, TimezoneError};

pub(crate) fn browser_js_user_agent(check: &mut Check, value: &str) {
    if check.placeholder("the user agent", value) {
        return;
    }
    let shaped = value
        .split_whitespace()
        .next()
        .and_then(|product| product.split_once('/'))
        .is_some_and(|(name, version)| !name.is_empty() && !version.is_empty());
    if !shaped {
        check.report(
            &rules::BROWSER_USER_AGENT_SHAPE,
            format!(
                "`{value}` does not start with <product>/<product-version>; send \
                 `navigator.userAgent` as the browser reports it"
            ),
        );
    }
}

pub(crate) fn device_id(check: &mut Check, value: &str) {
    if check.placeholder("the device ID", value) {
        return;
    }
    if !values::is_uuid(value) {
        check.report(
            &rules::DEVICE_ID_NOT_UUID,
            format!(
                "`{value}` is not a UUID such as beec798b-b366-47fa-b1f8-92cede14a1ce; generate \
                 one and store it on the device"
            ),
        );
    } else if values::is_nil_uuid(value) {
        check.report_placeholder("the device ID", value);
    }
}

/// An IP address sent as it is (Gov-Client-Public-IP, Gov-Vendor-Public-IP), which must be
/// public.
pub(crate) fn public_ip(check: &mut Check, value: &str) -> Option<IpAddr> {
    if check.placeholder("the address", value) {
        return None;
    }
    let Some(ip) = values::ip(value) else {
        check.report(
            &rules::IP_INVALID,
            format!("`{value}` is not an IPv4 or IPv6 address; send the address as it is"),
        );
        return None;
    };
    if values::is_unspecified(ip) {
        check.report_placeholder("the address", value);
        return None;
    }
    if !values::is_public(ip) {
        check.report(
            &rules::IP_NOT_PUBLIC,
            format!(
                "{ip} is not a public address; send the address the request reached you from \
                 over the internet, or, if the connection is over a private network, explain \
                 that to HMRC and leave the value empty"
            ),
        );
    }
    Some(ip)
}

pub(crate) fn local_ips(check: &mut Check, value: &str) {
    let Some(items) = check.list(value) else {
        return;
    };
    for item in items {
        let Some(decoded) = check.decoded("the address", item) else {
            continue;
        };
        if check.encoded_list_separator(item, &decoded) || check.placeholder("an address", &decoded)
        {
            continue;
        }
        match values::ip(&decoded) {
            None => check.report(
                &rules::IP_INVALID,
                format!("`{decoded}` is not an IPv4 or IPv6 address"),
            ),
            Some(ip) if values::is_unspecified(ip) => {
                check.report_placeholder("an address", &decoded);
            }
            Some(_) => {}
        }
    }
}

/// Gov-Client-Local-IPs-Timestamp and Gov-Client-Public-IP-Timestamp.
pub(crate) fn collection_timestamp(check: &mut Check, value: &str) {
    if check.placeholder("the timestamp", value) {
        return;
    }
    if values::utc_timestamp(value) != Some(Precision::Milliseconds) {
        check.report(
            &rules::TIMESTAMP_FORMAT,
            format!(
                "`{value}` is not a UTC timestamp yyyy-MM-ddThh:mm:ss.sssZ with a 24-hour time \
                 and three digits of milliseconds, such as 2020-09-21T14:30:05.123Z"
            ),
        );
    } else if values::is_epoch(value) {
        check.report_placeholder("the timestamp", value);
    }
}

pub(crate) fn mac_addresses(check: &mut Check, value: &str) {
    let Some(items) = check.list(value) else {
        return;
    };
    for item in items {
        let Some(decoded) = check.decoded("the MAC address", item) else {
            continue;
        };
        if check.encoded_list_separator(item, &decoded)
            || check.placeholder("a MAC address", &decoded)
        {
            continue;
        }
        if !values::is_mac(&decoded) {
            check.report(
                &rules::MAC_INVALID,
                format!("`{decoded}` is not a MAC address such as ea:43:1a:5d:21:45"),
            );
        } else if values::is_placeholder_mac(&decoded) {
            check.report_placeholder("a MAC address", &decoded);
        }
    }
}

const MFA_FIELDS: [&str; 3] = ["type", "timestamp", "unique-reference"];

pub(crate) fn multi_factor(check: &mut Check, value: &str) {
    let Some(factors) = check.list_of_key_values(value) else {
        return;
    };
    for factor in factors {
        check.unknown_fields(&factor, &MFA_FIELDS);
        let missing = Check::missing_fields(&factor, &MFA_FIELDS);
        if !missing.is_empty() {
            check.report(
                &rules::MFA_FIELD_MISSING,
                format!("a factor has no {}", missing.join(", ")),
            );
        }
        if check.placeholder_values(&factor) {
            continue;
        }
        if let Some(kind) = get(&factor, "type")
            && !kind.is_empty()
            && !["TOTP", "AUTH_CODE", "OTHER"].contains(&kind)
        {
            check.report(
                &rules::MFA_TYPE_INVALID,
                format!("type `{kind}` is not TOTP, AUTH_CODE or OTHER"),
            );
        }
        if let Some(timestamp) = get(&factor, "timestamp")
            && !timestamp.is_empty()
            && values::utc_timestamp(timestamp).is_none()
        {
            check.report(
                &rules::MFA_TIMESTAMP_FORMAT,
                format!(
                    "timestamp `{timestamp}` is not a UTC yyyy-MM-ddThh:mmZ (seconds and \
                     milliseconds optional) with a 24-hour time"
                ),
            );
        }
        if let Some(reference) = get(&factor, "unique-reference") {
            if values::looks_like_contact(reference) {
                check.report(
                    &rules::MFA_REFERENCE_NOT_HASHED,
                    "unique-reference is a plain phone number or e-mail address; send it \
                     salted and hashed, with the same function on every call",
                );
            } else if values::looks_like_totp_secret(reference) {
                check.report(
                    &rules::MFA_REFERENCE_LOOKS_LIKE_SECRET,
                    "unique-reference looks like a base32 TOTP secret; send an identifier \
                     linked to the secret, never the secret itself",
                );
            }
        }
    }
}

pub(crate) fn public_port(check: &mut Check, value: &str) {
    if check.placeholder("the port", value) {
        return;
    }
    let port = value
        .bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| value.parse::<u32>().ok())
        .flatten()
        .filter(|port| (1..=65535).contains(port));
    match port {
        None => check.report(
            &rules::PORT_OUT_OF_RANGE,
            format!("`{value}` is not a whole number between 1 and 65535"),
        ),
        Some(port @ (80 | 443)) => check.report(
            &rules::PORT_IS_SERVER_PORT,
            format!("{port} is the server's port; send the port the client's connection came from"),
        ),
        Some(port) if port < 1024 => check.report(
            &rules::PORT_WELL_KNOWN,
            format!(
                "{port} is a well-known server port, which a client's connection does not come \
                 from; check that this is the client's port"
            ),
        ),
        Some(_) => {}
    }
}

const SCREEN_FIELDS: [&str; 4] = ["width", "height", "scaling-factor", "colour-depth"];

pub(crate) fn screens(check: &mut Check, value: &str) {
    let Some(screens) = check.list_of_key_values(value) else {
        return;
    };
    for screen in screens {
        check.unknown_fields(&screen, &SCREEN_FIELDS);
        let missing = Check::missing_fields(&screen, &SCREEN_FIELDS);
        if !missing.is_empty() {
            check.report(
                &rules::SCREENS_FIELD_MISSING,
                format!("a screen has no {}", missing.join(", ")),
            );
        }
        if check.placeholder_values(&screen) {
            continue;
        }
        width_and_height(check, &screen);
        if let Some(factor) = get(&screen, "scaling-factor")
            && !factor.is_empty()
            && !values::is_positive_decimal(factor)
        {
            check.report(
                &rules::FIELD_NOT_NUMERIC,
                format!("scaling-factor `{factor}` is not a positive number such as 1 or 1.25"),
            );
        }
        if let Some(depth) = get(&screen, "colour-depth")
            && !depth.is_empty()
            && !values::is_positive_whole_number(depth)
        {
            check.report(
                &rules::FIELD_NOT_NUMERIC,
                format!("colour-depth `{depth}` is not a positive whole number of bits"),
            );
        }
    }
}

fn width_and_height(check: &mut Check, pairs: &[crate::check::Pair]) {
    for key in ["width", "height"] {
        if let Some(pixels) = get(pairs, key)
            && !pixels.is_empty()
            && !values::is_positive_whole_number(pixels)
        {
            check.report(
                &rules::NOT_POSITIVE_WHOLE_NUMBER,
                format!("{key} `{pixels}` is not a positive whole number of pixels"),
            );
        }
    }
}

pub(crate) fn timezone(check: &mut Check, value: &str) {
    if check.placeholder("the timezone", value) {
        return;
    }
    match values::timezone(value) {
        Ok(()) => {}
        Err(TimezoneError::Format) => check.report(
            &rules::TIMEZONE_FORMAT,
            format!("`{value}` is not UTC±<hh>:<mm>, such as UTC+01:00 or UTC-01:15"),
        ),
        Err(TimezoneError::Unrecognised) => check.report(
            &rules::TIMEZONE_UNRECOGNISED,
            format!(
                "`{value}` is no timezone's offset: offsets run from UTC-12:00 to UTC+14:00 in \
                 quarter hours"
            ),
        ),
    }
}

const USER_AGENT_FIELDS: [&str; 4] = [
    "os-family",
    "os-version",
    "device-manufacturer",
    "device-model",
];

pub(crate) fn user_agent(check: &mut Check, value: &str) {
    let Some(pairs) = check.key_values(value) else {
        return;
    };
    check.unknown_fields(&pairs, &USER_AGENT_FIELDS);
    let missing = Check::missing_fields(&pairs, &USER_AGENT_FIELDS);
    if !missing.is_empty() {
        check.report(
            &rules::USER_AGENT_FIELD_MISSING,
            format!("no {}", missing.join(", ")),
        );
    }
    check.placeholder_values(&pairs);
}

pub(crate) fn user_ids(check: &mut Check, value: &str) {
    let Some(pairs) = check.key_values(value) else {
        return;
    };
    check.placeholder_values(&pairs);
    if let Some(method) = check.method
        && method.asks_for_os_user()
        && get(&pairs, "os").is_none()
    {
        check.report(
            &rules::USER_IDS_OS_MISSING,
            format!(
                "no `os` field; for {method} it holds the user signed in on the originating \
                 device, such as os=domain%5Calice"
            ),
        );
    }
}

const WINDOW_FIELDS: [&str; 2] = ["width", "height"];

pub(crate) fn window_size(check: &mut Check, value: &str) {
    let Some(pairs) = check.key_values(value) else {
        return;
    };
    check.unknown_fields(&pairs, &WINDOW_FIELDS);
    let missing = Check::missing_fields(&pairs, &WINDOW_FIELDS);
    if !missing.is_empty() {
        check.report(
            &rules::WINDOW_SIZE_FIELD_MISSING,
            format!("no {}", missing.join(", ")),
        );
    }
    if !check.placeholder_values(&pairs) {
        width_and_height(check, &pairs);
    }
}
