//! The catalogue of rules: each has a stable code that tests and callers match on, a severity,
//! and a one-line summary. The sentence of the specification behind each rule is quoted by the
//! test that enforces it.

/// How bad a finding is. An error is something the specification forbids; a warning is
/// something it allows only in a case the validator cannot see (for example an empty value
/// after talking to HMRC) or only recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// A rule of the specification the validator enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

const fn error(code: &'static str, summary: &'static str) -> Rule {
    Rule {
        code,
        severity: Severity::Error,
        summary,
    }
}

const fn warning(code: &'static str, summary: &'static str) -> Rule {
    Rule {
        code,
        severity: Severity::Warning,
        summary,
    }
}

// Connection method and required headers.
pub const CONNECTION_METHOD_MISSING: Rule = error(
    "connection_method_missing",
    "Gov-Client-Connection-Method is sent with every request",
);
pub const CONNECTION_METHOD_UNKNOWN: Rule = error(
    "connection_method_unknown",
    "Gov-Client-Connection-Method is one of the eight methods the specification lists",
);
pub const HEADER_MISSING: Rule = error(
    "header_missing",
    "every header the connection method's page lists is sent",
);
pub const HEADER_EMPTY: Rule = warning(
    "header_empty",
    "an empty value is allowed only after explaining to HMRC why it cannot be collected",
);

// Encoding, for every header.
pub const NOT_US_ASCII: Rule = error(
    "not_us_ascii",
    "header data is US-ASCII, other characters percent encoded",
);
pub const PLACEHOLDER_VALUE: Rule = error(
    "placeholder_value",
    "no placeholder such as null, undefined or unknown stands in for a value",
);
pub const NOT_PERCENT_ENCODED: Rule = error(
    "not_percent_encoded",
    "keys, values and list items are percent encoded (RFC 3986 section 2.1)",
);
pub const SEPARATOR_PERCENT_ENCODED: Rule = error(
    "separator_percent_encoded",
    "the separators `=`, `&` and `,` are not percent encoded",
);
pub const KEY_VALUE_MALFORMED: Rule = error(
    "key_value_malformed",
    "a key-value structure is `<key-1>=<value-1>&<key-2>=<value-2>` with non-empty keys",
);
pub const LIST_VALUE_EMPTY: Rule = error("list_value_empty", "list values are not empty");
pub const FIELD_UNKNOWN: Rule = warning(
    "field_unknown",
    "a key-value structure with fixed fields uses only the fields the specification names",
);

// One header each.
pub const DEVICE_ID_NOT_UUID: Rule = error(
    "device_id_not_uuid",
    "Gov-Client-Device-ID is a UUID (8-4-4-4-12 hexadecimal digits)",
);
pub const IP_INVALID: Rule = error("ip_invalid", "an IP address is an IPv4 or IPv6 address");
pub const IP_NOT_PUBLIC: Rule = error(
    "ip_not_public",
    "Gov-Client-Public-IP and Gov-Vendor-Public-IP are public addresses",
);
pub const TIMESTAMP_FORMAT: Rule = error(
    "timestamp_format",
    "timestamps are UTC in the format yyyy-MM-ddThh:mm:ss.sssZ",
);
pub const PORT_OUT_OF_RANGE: Rule = error(
    "port_out_of_range",
    "Gov-Client-Public-Port is a whole number between 1 and 65535",
);
pub const PORT_IS_SERVER_PORT: Rule = error(
    "port_is_server_port",
    "Gov-Client-Public-Port is not a server port such as 80 or 443",
);
pub const PORT_WELL_KNOWN: Rule = warning(
    "port_well_known",
    "Gov-Client-Public-Port below 1024 is a well-known server port, not a client's port",
);
pub const SCREENS_FIELD_MISSING: Rule = warning(
    "screens_field_missing",
    "each Gov-Client-Screens entry has width, height, scaling-factor and colour-depth",
);
pub const WINDOW_SIZE_FIELD_MISSING: Rule = warning(
    "window_size_field_missing",
    "Gov-Client-Window-Size has width and height",
);
pub const NOT_POSITIVE_WHOLE_NUMBER: Rule = error(
    "not_positive_whole_number",
    "screen and window width and height are positive whole numbers",
);
pub const FIELD_NOT_NUMERIC: Rule = error(
    "field_not_numeric",
    "scaling-factor is a positive number and colour-depth a positive whole number of bits",
);
pub const TIMEZONE_FORMAT: Rule = error("timezone_format", "Gov-Client-Timezone is UTC±<hh>:<mm>");
pub const TIMEZONE_UNRECOGNISED: Rule = error(
    "timezone_unrecognised",
    "Gov-Client-Timezone is a recognised offset, from UTC-12:00 to UTC+14:00 in quarter hours",
);
pub const USER_AGENT_FIELD_MISSING: Rule = warning(
    "user_agent_field_missing",
    "Gov-Client-User-Agent has os-family, os-version, device-manufacturer and device-model",
);
pub const BROWSER_USER_AGENT_SHAPE: Rule = warning(
    "browser_user_agent_shape",
    "Gov-Client-Browser-JS-User-Agent looks like <product>/<product-version> ...",
);
pub const USER_IDS_OS_MISSING: Rule = warning(
    "user_ids_os_missing",
    "Gov-Client-User-IDs has an `os` field where the connection method's page asks for it",
);
pub const MFA_FIELD_MISSING: Rule = error(
    "mfa_field_missing",
    "each Gov-Client-Multi-Factor entry has type, timestamp and unique-reference",
);
pub const MFA_TYPE_INVALID: Rule = error(
    "mfa_type_invalid",
    "a Gov-Client-Multi-Factor type is TOTP, AUTH_CODE or OTHER",
);
pub const MFA_TIMESTAMP_FORMAT: Rule = error(
    "mfa_timestamp_format",
    "a Gov-Client-Multi-Factor timestamp is UTC, yyyy-MM-ddThh:mmZ at least",
);
pub const MFA_REFERENCE_NOT_HASHED: Rule = error(
    "mfa_reference_not_hashed",
    "a Gov-Client-Multi-Factor unique-reference is not a plain phone number or e-mail address",
);
pub const MFA_REFERENCE_LOOKS_LIKE_SECRET: Rule = warning(
    "mfa_reference_looks_like_secret",
    "a Gov-Client-Multi-Factor unique-reference is not a TOTP secret",
);
pub const MAC_INVALID: Rule = error(
    "mac_invalid",
    "Gov-Client-MAC-Addresses holds MAC addresses (six hexadecimal octets)",
);
pub const FORWARDED_HOP_FIELD_MISSING: Rule = error(
    "forwarded_hop_field_missing",
    "each Gov-Vendor-Forwarded hop has a by and a for field",
);
pub const FORWARDED_HOP_PRIVATE: Rule = error(
    "forwarded_hop_private",
    "Gov-Vendor-Forwarded has no hop within a private network: by and for are public",
);
pub const FORWARDED_FIRST_HOP_BY: Rule = error(
    "forwarded_first_hop_by",
    "the first Gov-Vendor-Forwarded hop's by is the value of Gov-Vendor-Public-IP",
);
pub const FORWARDED_FIRST_HOP_FOR: Rule = error(
    "forwarded_first_hop_for",
    "the first Gov-Vendor-Forwarded hop's for is the value of Gov-Client-Public-IP",
);
pub const FORWARDED_CHAIN_BROKEN: Rule = warning(
    "forwarded_chain_broken",
    "each later Gov-Vendor-Forwarded hop's for is the server the previous hop reached",
);
pub const LICENSE_NOT_HASHED: Rule = error(
    "license_not_hashed",
    "Gov-Vendor-License-IDs values are hashed license keys (a hex or base64 digest)",
);
pub const VERSION_TOO_FEW_PAIRS: Rule = error(
    "version_too_few_pairs",
    "Gov-Vendor-Version has a pair for the server and one for the client where the page asks",
);

/// Every rule, for callers that list them and for the test that each one is exercised.
pub const RULES: &[Rule] = &[
    CONNECTION_METHOD_MISSING,
    CONNECTION_METHOD_UNKNOWN,
    HEADER_MISSING,
    HEADER_EMPTY,
    NOT_US_ASCII,
    PLACEHOLDER_VALUE,
    NOT_PERCENT_ENCODED,
    SEPARATOR_PERCENT_ENCODED,
    KEY_VALUE_MALFORMED,
    LIST_VALUE_EMPTY,
    FIELD_UNKNOWN,
    DEVICE_ID_NOT_UUID,
    IP_INVALID,
    IP_NOT_PUBLIC,
    TIMESTAMP_FORMAT,
    PORT_OUT_OF_RANGE,
    PORT_IS_SERVER_PORT,
    PORT_WELL_KNOWN,
    SCREENS_FIELD_MISSING,
    WINDOW_SIZE_FIELD_MISSING,
    NOT_POSITIVE_WHOLE_NUMBER,
    FIELD_NOT_NUMERIC,
    TIMEZONE_FORMAT,
    TIMEZONE_UNRECOGNISED,
    USER_AGENT_FIELD_MISSING,
    BROWSER_USER_AGENT_SHAPE,
    USER_IDS_OS_MISSING,
    MFA_FIELD_MISSING,
    MFA_TYPE_INVALID,
    MFA_TIMESTAMP_FORMAT,
    MFA_REFERENCE_NOT_HASHED,
    MFA_REFERENCE_LOOKS_LIKE_SECRET,
    MAC_INVALID,
    FORWARDED_HOP_FIELD_MISSING,
    FORWARDED_HOP_PRIVATE,
    FORWARDED_FIRST_HOP_BY,
    FORWARDED_FIRST_HOP_FOR,
    FORWARDED_CHAIN_BROKEN,
    LICENSE_NOT_HASHED,
    VERSION_TOO_FEW_PAIRS,
];
