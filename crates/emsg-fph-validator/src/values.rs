//! The shapes of single values: timestamps, timezones, UUIDs, IP and MAC addresses, numbers and
//! digests. Pure functions, so each is tested on its own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// How precise a UTC timestamp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precision {
    /// `yyyy-MM-ddThh:mmZ`
    Minutes,
    /// `yyyy-MM-ddThh:mm:ssZ`
    Seconds,
    /// `yyyy-MM-ddThh:mm:ss.sssZ`
    Milliseconds,
}

/// The precision of `value` if it is a valid UTC timestamp in one of the three shapes, with a
/// real date and a 24-hour time.
pub(crate) fn utc_timestamp(value: &str) -> Option<Precision> {
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = value.get(range)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 17 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute) = (digits(11..13)?, digits(14..16)?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 {
        return None;
    }
    let precision = match &value[16..] {
        "Z" => Precision::Minutes,
        rest if rest.len() == 4 && rest.starts_with(':') && rest.ends_with('Z') => {
            Precision::Seconds
        }
        rest if rest.len() == 8
            && rest.starts_with(':')
            && rest.as_bytes()[3] == b'.'
            && rest.ends_with('Z') =>
        {
            digits(20..23)?;
            Precision::Milliseconds
        }
        _ => return None,
    };
    if precision != Precision::Minutes && digits(17..19)? > 59 {
        return None;
    }
    Some(precision)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The Unix epoch, which is what a clock that was never read prints.
pub(crate) fn is_epoch(value: &str) -> bool {
    value.starts_with("1970-01-01T00:00")
}

/// Why a timezone is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimezoneError {
    /// Not `UTC±hh:mm`.
    Format,
    /// `UTC±hh:mm`, but no timezone has that offset.
    Unrecognised,
}

/// Checks `UTC±hh:mm`, and that the offset is one a timezone uses: from -12:00 to +14:00, in
/// quarter hours (every offset in use is a multiple of 15 minutes; the specification's own
/// example `UTC-01:15` is one).
pub(crate) fn timezone(value: &str) -> Result<(), TimezoneError> {
    let rest = value.strip_prefix("UTC").ok_or(TimezoneError::Format)?;
    let b = rest.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return Err(TimezoneError::Format);
    }
    let number = |part: &str| -> Result<i32, TimezoneError> {
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().map_err(|_| TimezoneError::Format)
        } else {
            Err(TimezoneError::Format)
        }
    };
    let (hours, minutes) = (number(&rest[1..3])?, number(&rest[4..6])?);
    let offset = hours * 60 + minutes;
    let in_range = if b[0] == b'+' {
        offset <= 14 * 60
    } else {
        offset <= 12 * 60
    };
    if minutes > 59 || minutes % 15 != 0 || !in_range {
        return Err(TimezoneError::Unrecognised);
    }
    Ok(())
}

/// `8-4-4-4-12` hexadecimal digits, as the specification's example; braces are refused.
pub(crate) fn is_uuid(value: &str) -> bool {
    value.len() == 36
        && value.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

pub(crate) fn is_nil_uuid(value: &str) -> bool {
    value.chars().all(|c| c == '0' || c == '-')
}

/// An IP address written plainly. Zone identifiers (`fe80::1%eth0`) are refused: they only
/// mean something on the host that wrote them.
pub(crate) fn ip(value: &str) -> Option<IpAddr> {
    value.parse().ok()
}

/// Whether `ip` is reachable over the internet. Private, loopback, link-local, shared (CGNAT),
/// multicast, reserved and unspecified ranges are not.
///
/// The documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
/// are taken as public: they are not routed, but the specification prints them as public
/// addresses in its own examples.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let not_public = a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 224;
    !not_public
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let first = ip.segments()[0];
    let not_public = ip.is_unspecified()
        || ip.is_loopback()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // site-local fec0::/10, deprecated
        || (first & 0xff00) == 0xff00 // multicast
        || ip.segments()[..4] == [0x0100, 0, 0, 0]; // discard-only 100::/64
    !not_public
}

/// `0.0.0.0` or `::`, which a program prints when it has no address.
pub(crate) fn is_unspecified(ip: IpAddr) -> bool {
    ip.is_unspecified()
}

/// Six hexadecimal octets separated by `:` (as the specification's example) or `-`.
pub(crate) fn is_mac(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 17 {
        return false;
    }
    let separator = b[2];
    if separator != b':' && separator != b'-' {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| {
        if i % 3 == 2 {
            c == separator
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

/// All zeros, or `02:00:00:00:00:00`, which iOS and Android return to applications that may
/// not read the real address.
pub(crate) fn is_placeholder_mac(value: &str) -> bool {
    let hex: String = value.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    hex == "000000000000" || hex == "020000000000"
}

/// A positive whole number written in decimal digits.
pub(crate) fn is_positive_whole_number(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|c| c.is_ascii_digit())
        && value.bytes().any(|c| c != b'0')
}

/// A positive number written in decimal digits with an optional fraction (`1`, `1.25`).
pub(crate) fn is_positive_decimal(value: &str) -> bool {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |part: &str| part.bytes().all(|c| c.is_ascii_digit());
    let fraction_ok = if value.contains('.') {
        !fraction.is_empty()
    } else {
        true
    };
    !whole.is_empty()
        && digits(whole)
        && digits(fraction)
        && fraction_ok
        && value.bytes().any(|c| c.is_ascii_digit() && c != b'0')
}

/// Byte lengths of the digests in common use: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512.
const DIGEST_LENGTHS: [usize; 6] = [16, 20, 28, 32, 48, 64];

/// Whether `value` looks like a digest: hexadecimal of a digest's length, or base64 (standard
/// or URL-safe, padded or not) of one.
pub(crate) fn looks_hashed(value: &str) -> bool {
    let hex = value.bytes().all(|c| c.is_ascii_hexdigit())
        && value.len().is_multiple_of(2)
        && DIGEST_LENGTHS.contains(&(value.len() / 2));
    let unpadded = value.trim_end_matches('=');
    let base64 = !unpadded.is_empty()
        && unpadded
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_'))
        && unpadded.len() % 4 != 1
        && DIGEST_LENGTHS.contains(&(unpadded.len() * 3 / 4));
    hex || base64
}

/// An e-mail address or a phone number: personal data the specification wants hashed.
pub(crate) fn looks_like_contact(value: &str) -> bool {
    let email = value
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    let digits = value.bytes().filter(|c| c.is_ascii_digit()).count();
    let phone = (7..=15).contains(&digits)
        && value
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'+' | b' ' | b'-' | b'(' | b')' | b'.'));
    email || phone
}

/// A base32 TOTP secret (RFC 4648 alphabet, as authenticator apps show), not a hex digest.
pub(crate) fn looks_like_totp_secret(value: &str) -> bool {
    let unpadded = value.trim_end_matches('=');
    unpadded.len() >= 16
        && unpadded
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c))
        && unpadded.bytes().any(|c| c > b'F' && c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_need_a_real_date_a_24_hour_time_and_z() {
        assert_eq!(
            utc_timestamp("2020-09-21T14:30:05.123Z"),
            Some(Precision::Milliseconds)
        );
        assert_eq!(utc_timestamp("2021-11-21T13:23Z"), Some(Precision::Minutes));
        assert_eq!(
            utc_timestamp("2021-11-21T13:23:59Z"),
            Some(Precision::Seconds)
        );
        assert_eq!(
            utc_timestamp("2024-02-29T00:00:00.000Z"),
            Some(Precision::Milliseconds)
        );
        for wrong in [
            "2023-02-29T00:00:00.000Z",
            "2020-09-21T24:00:00.000Z",
            "2020-09-21T14:60:00.000Z",
            "2020-09-21T14:30:60.000Z",
            "2020-09-21t14:30:05.123Z",
            "2020-09-21T14:30:05.123",
            "2020-09-21T14:30:05.1234Z",
            "2020-09-21T14:30:05,123Z",
            "2020-9-21T14:30:05.123Z",
        ] {
            assert_eq!(utc_timestamp(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn ranges_that_do_not_reach_the_internet_are_not_public() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:192.168.0.1",
        ] {
            let address = ip(private).unwrap_or_else(|| panic!("{private} parses"));
            assert!(!is_public(address), "{private}");
        }
        for public in [
            "198.51.100.0",
            "203.0.113.6",
            "176.30.57.118",
            "172.32.0.1",
            "2001:db8::1",
        ] {
            let address = ip(public).unwrap_or_else(|| panic!("{public} parses"));
            assert!(is_public(address), "{public}");
        }
    }

    #[test]
    fn digests_look_hashed_and_licence_keys_do_not() {
        assert!(looks_hashed(
            "8D7963490527D33716835EE7C195516D5E562E03B224E9B359836466EE40CDE1"
        ));
        assert!(looks_hashed("47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"));
        assert!(!looks_hashed("ABCD-1234-EFGH-5678"));
        assert!(!looks_hashed("1234"));
    }
}
