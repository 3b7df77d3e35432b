//! The rules of the Gov-Vendor-* headers, and the rule tying Gov-Vendor-Forwarded to the two
//! public IP headers.

use std::net::IpAddr;

use crate::check::{Check, get};
use crate::finding::Findings;
use crate::header::Header;
use crate::rules;
use crate::values;

/// One hop of Gov-Vendor-Forwarded, with the addresses that parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hop {
    pub by: Option<IpAddr>,
    pub for_: Option<IpAddr>,
}

const HOP_FIELDS: [&str; 2] = ["by", "for"];

pub(crate) fn forwarded(check: &mut Check, value: &str) -> Option<Vec<Hop>> {
    let structures = check.list_of_key_values(value)?;
    let mut hops = Vec::new();
    for (index, pairs) in structures.iter().enumerate() {
        let number = index + 1;
        check.unknown_fields(pairs, &HOP_FIELDS);
        let missing = Check::missing_fields(pairs, &HOP_FIELDS);
        if !missing.is_empty() {
            check.report(
                &rules::FORWARDED_HOP_FIELD_MISSING,
                format!("hop {number} has no {}", missing.join(", ")),
            );
        }
        let by = hop_address(check, number, "by", get(pairs, "by"));
        let for_ = hop_address(check, number, "for", get(pairs, "for"));
        hops.push(Hop { by, for_ });
    }
    Some(hops)
}

fn hop_address(check: &mut Check, hop: usize, field: &str, value: Option<&str>) -> Option<IpAddr> {
    let value = value.filter(|value| !value.is_empty())?;
    if check.placeholder(&format!("`{field}` of hop {hop}"), value) {
        return None;
    }
    let Some(ip) = values::ip(value) else {
        check.report(
            &rules::IP_INVALID,
            format!("`{field}` of hop {hop}, `{value}`, is not an IPv4 or IPv6 address"),
        );
        return None;
    };
    if !values::is_public(ip) {
        check.report(
            &rules::FORWARDED_HOP_PRIVATE,
            format!(
                "`{field}` of hop {hop} is {ip}, which is not public: leave out hops within a \
                 private network"
            ),
        );
    }
    Some(ip)
}

/// The first hop joins the client's public address to the vendor's; each later hop starts
/// where the one before ended.
pub(crate) fn forwarded_agrees(
    out: &mut Findings,
    hops: &[Hop],
    client_public_ip: Option<IpAddr>,
    vendor_public_ip: Option<IpAddr>,
) {
    let header = Header::VendorForwarded;
    let source = header.partial();
    let Some(first) = hops.first() else { return };
    if let (Some(by), Some(vendor)) = (first.by, vendor_public_ip)
        && by != vendor
    {
        out.add(
            header,
            &rules::FORWARDED_FIRST_HOP_BY,
            source,
            format!("the first hop's by is {by}, but Gov-Vendor-Public-IP is {vendor}"),
        );
    }
    if let (Some(for_), Some(client)) = (first.for_, client_public_ip)
        && for_ != client
    {
        out.add(
            header,
            &rules::FORWARDED_FIRST_HOP_FOR,
            source,
            format!("the first hop's for is {for_}, but Gov-Client-Public-IP is {client}"),
        );
    }
    for (index, pair) in hops.windows(2).enumerate() {
        if let (Some(previous_by), Some(for_)) = (pair[0].by, pair[1].for_)
            && previous_by != for_
        {
            out.add(
                header,
                &rules::FORWARDED_CHAIN_BROKEN,
                source,
                format!(
                    "hop {} is for {for_}, but hop {} reached {previous_by}; fine only if that \
                     server sends from another address than it receives on",
                    index + 2,
                    index + 1
                ),
            );
        }
    }
}

pub(crate) fn license_ids(check: &mut Check, value: &str) {
    let Some(pairs) = check.key_values(value) else {
        return;
    };
    if check.placeholder_values(&pairs) {
        return;
    }
    for pair in &pairs {
        if !pair.value.is_empty() && !values::looks_hashed(&pair.value) {
            check.report(
                &rules::LICENSE_NOT_HASHED,
                format!(
                    "the licence of `{}` is not a digest (hexadecimal or base64 of MD5, SHA-1 or \
                     SHA-2); send the licence key hashed, with the same function every time",
                    pair.key
                ),
            );
        }
    }
}

pub(crate) fn product_name(check: &mut Check, value: &str) {
    if let Some(name) = check.decoded("the product name", value) {
        check.placeholder("the product name", &name);
    }
}

pub(crate) fn version(check: &mut Check, value: &str) {
    let Some(pairs) = check.key_values(value) else {
        return;
    };
    check.placeholder_values(&pairs);
    if let Some(method) = check.method
        && method.requires_multiple_versions()
        && pairs.len() < 2
    {
        check.report(
            &rules::VERSION_TOO_FEW_PAIRS,
            format!(
                "{} pair(s); {method} needs at least one for the server and one for the client \
                 application, such as my-desktop-app=2.2.2&my-serverside-code=v3.8",
                pairs.len()
            ),
        );
    }
}
