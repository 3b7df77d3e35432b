//! HMRC's fraud-prevention headers. From the admin page a message is sent with the
//! `WEB_APP_VIA_SERVER` set: what the finance user's browser reported (screens, window size,
//! timezone, JavaScript user agent, device-ID cookie) and what the server saw (the client's
//! public IP and port, the hops it came through). From the command line and the scheduler it
//! is `BATCH_PROCESS_DIRECT`: this machine's own details. Key-value headers are `k=v&k2=v2`
//! with keys and values percent-encoded; lists are comma-separated.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::render::percent_encode;

/// What the page's script reports about the browser (`assets/fraud-prevention.js`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserData {
    #[serde(default)]
    pub screens: Vec<Screen>,
    #[serde(default)]
    pub window: Option<WindowSize>,
    /// `UTC±hh:mm`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// `navigator.userAgent`.
    #[serde(default)]
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
    pub scaling_factor: f64,
    pub colour_depth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSize {
    pub width: u32,
    pub height: u32,
}

impl BrowserData {
    /// Reads the script's JSON; values out of any sane range are dropped rather than sent.
    pub fn from_json(text: &str) -> Result<Self, String> {
        if text.len() > 8 * 1024 {
            return Err("the browser data is larger than 8 KiB".to_owned());
        }
        let mut data: BrowserData = serde_json::from_str(text)
            .map_err(|e| format!("the browser data is not readable: {e}"))?;
        data.screens.retain(|s| {
            (1..=100_000).contains(&s.width)
                && (1..=100_000).contains(&s.height)
                && s.scaling_factor.is_finite()
                && s.scaling_factor > 0.0
                && s.scaling_factor <= 16.0
                && (1..=64).contains(&s.colour_depth)
        });
        data.screens.truncate(16);
        data.window = data
            .window
            .filter(|w| (1..=100_000).contains(&w.width) && (1..=100_000).contains(&w.height));
        data.timezone = data.timezone.filter(|t| is_utc_offset(t));
        data.user_agent = data
            .user_agent
            // Exactly as the browser reported it (the whole report is bounded above); only
            // control characters, which no user agent holds, are dropped.
            .map(|ua| ua.chars().filter(|c| !c.is_control()).collect())
            .filter(|ua: &String| !ua.is_empty());
        Ok(data)
    }
}

/// `UTC+01:00`, `UTC-05:30`.
fn is_utc_offset(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 9
        && text.starts_with("UTC")
        && matches!(bytes[3], b'+' | b'-')
        && bytes[4].is_ascii_digit()
        && bytes[5].is_ascii_digit()
        && bytes[6] == b':'
        && bytes[7].is_ascii_digit()
        && bytes[8].is_ascii_digit()
}

/// A device ID as the page's cookie holds it: a UUID.
pub fn is_device_id(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// One hop between the client and emsg (a reverse proxy, or emsg itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub by: IpAddr,
    pub for_: IpAddr,
}

/// What the server saw of the finance user's request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebClient {
    pub browser: BrowserData,
    pub device_id: Option<String>,
    pub public_ip: IpAddr,
    /// The client's source port; unknown behind a reverse proxy, which does not pass it on
    /// (the header is then left out, and the message history says so).
    pub public_port: Option<u16>,
    /// When the IP was seen, in milliseconds since the epoch.
    pub ip_seen_at_ms: i64,
    pub forwarded: Vec<Hop>,
    /// The emsg user name.
    pub user_name: String,
}

/// This machine, for batch processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchClient {
    /// The installation's device ID (made once, kept in the database).
    pub device_id: String,
    pub local_ips: Vec<IpAddr>,
    pub local_ips_seen_at_ms: i64,
    pub mac_addresses: Vec<String>,
    /// The machine's own offset from UTC now, `UTC+01:00` (a UK server in summer).
    pub timezone: String,
    pub os_family: String,
    /// `None` where the operating system does not tell (then left out, never `unknown`).
    pub os_version: Option<String>,
    pub device_manufacturer: Option<String>,
    pub device_model: Option<String>,
    pub os_user: Option<String>,
    /// The emsg user the command ran as, if any.
    pub user_name: Option<String>,
}

/// How the message reaches emsg, which decides the header set. Kept with a processing's
/// message (no secret is in it), so that every step carries the data of the person who
/// started or last continued it, whichever node sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Origin {
    WebAppViaServer(WebClient),
    BatchProcessDirect(BatchClient),
}

impl Origin {
    pub fn connection_method(&self) -> &'static str {
        match self {
            Origin::WebAppViaServer(_) => "WEB_APP_VIA_SERVER",
            Origin::BatchProcessDirect(_) => "BATCH_PROCESS_DIRECT",
        }
    }
}

/// The software, as HMRC's vendor headers describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vendor {
    pub product_name: String,
    pub version: String,
    /// The server's public IP, when configured (`EMSG_PUBLIC_IP`).
    pub public_ip: Option<IpAddr>,
    /// Licence keys, if the installation has any; the header is left out otherwise.
    pub license_ids: Vec<(String, String)>,
}

impl Default for Vendor {
    fn default() -> Self {
        Self {
            product_name: "emsg".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            public_ip: None,
            license_ids: Vec::new(),
        }
    }
}

/// The headers, and the names of those that could not be collected (the message log says so).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FraudHeaders {
    pub headers: Vec<(String, String)>,
    pub missing: Vec<&'static str>,
}

impl FraudHeaders {
    /// A header that could not be collected is still sent, empty, as the specification asks
    /// (never left out, never a placeholder), and named so the message history and the report to
    /// HMRC say so.
    fn put(&mut self, name: &'static str, value: Option<String>) {
        let value = value.filter(|v| !v.is_empty());
        if value.is_none() {
            self.missing.push(name);
        }
        self.headers
            .push((name.to_owned(), value.unwrap_or_default()));
    }
}

/// `k=v&k2=v2`, each key and value percent-encoded.
pub fn key_values<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn list(items: impl IntoIterator<Item = String>) -> Option<String> {
    let joined = items.into_iter().collect::<Vec<_>>().join(",");
    (!joined.is_empty()).then_some(joined)
}

/// The fraud-prevention headers for `origin`.
pub fn headers(origin: &Origin, vendor: &Vendor) -> FraudHeaders {
    let mut out = FraudHeaders::default();
    out.put(
        "Gov-Client-Connection-Method",
        Some(origin.connection_method().to_owned()),
    );
    match origin {
        Origin::WebAppViaServer(client) => web_headers(&mut out, client, vendor),
        Origin::BatchProcessDirect(client) => batch_headers(&mut out, client),
    }
    // `software-name=hashed-licence&…`: licence keys are never sent in clear. emsg itself has
    // none, so the header goes empty (and is named) unless the installation configures some.
    let hashed: Vec<(String, String)> = vendor
        .license_ids
        .iter()
        .map(|(k, v)| (k.clone(), sha256_hex(v)))
        .collect();
    out.put(
        "Gov-Vendor-License-IDs",
        Some(key_values(
            hashed.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )),
    );
    out.put(
        "Gov-Vendor-Product-Name",
        Some(percent_encode(&vendor.product_name)),
    );
    out.put(
        "Gov-Vendor-Version",
        Some(key_values([(
            vendor.product_name.as_str(),
            vendor.version.as_str(),
        )])),
    );
    out
}

fn web_headers(out: &mut FraudHeaders, client: &WebClient, vendor: &Vendor) {
    let browser = &client.browser;
    out.put(
        "Gov-Client-Browser-JS-User-Agent",
        browser.user_agent.as_deref().map(non_ascii_encoded),
    );
    out.put(
        "Gov-Client-Device-ID",
        client.device_id.clone().filter(|id| is_device_id(id)),
    );
    // A client inside a private network (or this machine) has no public address this server
    // can see: the value cannot be collected, so it goes empty and named, with its port.
    let public = is_public(client.public_ip);
    out.put(
        "Gov-Client-Public-IP",
        public.then(|| client.public_ip.to_string()),
    );
    out.put(
        "Gov-Client-Public-IP-Timestamp",
        Some(emsg_store::format_iso_millis(client.ip_seen_at_ms)),
    );
    out.put(
        "Gov-Client-Public-Port",
        client
            .public_port
            .filter(|_| public)
            .map(|port| port.to_string()),
    );
    out.put(
        "Gov-Client-Screens",
        list(browser.screens.iter().map(|s| {
            key_values([
                ("width", s.width.to_string().as_str()),
                ("height", s.height.to_string().as_str()),
                ("scaling-factor", format_scaling(s.scaling_factor).as_str()),
                ("colour-depth", s.colour_depth.to_string().as_str()),
            ])
        })),
    );
    out.put("Gov-Client-Timezone", browser.timezone.clone());
    out.put(
        "Gov-Client-User-IDs",
        Some(key_values([("emsg", client.user_name.as_str())])),
    );
    out.put(
        "Gov-Client-Window-Size",
        browser.window.map(|w| {
            key_values([
                ("width", w.width.to_string().as_str()),
                ("height", w.height.to_string().as_str()),
            ])
        }),
    );
    out.put(
        "Gov-Vendor-Forwarded",
        list(internet_hops(client, vendor.public_ip).iter().map(|hop| {
            key_values([
                ("by", hop.by.to_string().as_str()),
                ("for", hop.for_.to_string().as_str()),
            ])
        })),
    );
    out.put(
        "Gov-Vendor-Public-IP",
        vendor.public_ip.map(|ip| ip.to_string()),
    );
}

fn batch_headers(out: &mut FraudHeaders, client: &BatchClient) {
    out.put("Gov-Client-Device-ID", Some(client.device_id.clone()));
    out.put(
        "Gov-Client-Local-IPs",
        list(
            client
                .local_ips
                .iter()
                .map(|ip| percent_encode(&ip.to_string())),
        ),
    );
    out.put(
        "Gov-Client-Local-IPs-Timestamp",
        Some(emsg_store::format_iso_millis(client.local_ips_seen_at_ms)),
    );
    out.put(
        "Gov-Client-MAC-Addresses",
        list(client.mac_addresses.iter().map(|mac| percent_encode(mac))),
    );
    out.put("Gov-Client-Timezone", Some(client.timezone.clone()));
    // A field the machine does not tell is left out of the structure, never a placeholder.
    let agent: Vec<(&str, &str)> = [
        ("os-family", Some(client.os_family.as_str())),
        ("os-version", client.os_version.as_deref()),
        ("device-manufacturer", client.device_manufacturer.as_deref()),
        ("device-model", client.device_model.as_deref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    out.put("Gov-Client-User-Agent", Some(key_values(agent)));
    let mut ids: Vec<(&str, &str)> = Vec::new();
    if let Some(os_user) = &client.os_user {
        ids.push(("os", os_user));
    }
    if let Some(user) = &client.user_name {
        ids.push(("emsg", user));
    }
    out.put("Gov-Client-User-IDs", list([key_values(ids)]));
}

/// The hops over the internet between the client and this service, as `Gov-Vendor-Forwarded`
/// wants them: the first hop's `by` is the public address the client reached
/// (`Gov-Vendor-Public-IP`) and its `for` the client's public address; hops inside a private
/// network are left out. None when the client or the first server has no known public address.
fn internet_hops(client: &WebClient, vendor_public_ip: Option<IpAddr>) -> Vec<Hop> {
    if !is_public(client.public_ip) {
        return Vec::new();
    }
    // The servers the request passed, in order: each hop's receiver but the last, which is
    // this server's listening socket (its public face is `vendor_public_ip`).
    let receivers = client.forwarded.iter().map(|hop| hop.by);
    let count = client.forwarded.len().saturating_sub(1);
    let mut path: Vec<IpAddr> = vec![client.public_ip];
    path.extend(receivers.take(count).filter(|ip| is_public(*ip)));
    // Without a public proxy, the client reached this server itself.
    if path.len() == 1 {
        match vendor_public_ip {
            Some(vendor) => path.push(vendor),
            None => return Vec::new(),
        }
    }
    path.dedup();
    path.windows(2)
        .map(|pair| Hop {
            by: pair[1],
            for_: pair[0],
        })
        .collect()
}

/// Whether `ip` is an address on the internet, as HMRC's "public IP" means it: not private,
/// loopback, link-local, shared (carrier-grade NAT), unspecified, broadcast or multicast.
/// Documentation ranges count as public, as the specification's own examples use them.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// `1`, `1.25`, `2`: no trailing zeros.
fn format_scaling(factor: f64) -> String {
    let text = format!("{factor:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// This machine's details for `BATCH_PROCESS_DIRECT`, read from the operating system.
pub fn this_machine(device_id: String, user_name: Option<String>, now_ms: i64) -> BatchClient {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .map(|s| s.trim().to_owned())
            .ok()
            .filter(|s| !s.is_empty())
    };
    BatchClient {
        device_id,
        local_ips: local_ips(),
        local_ips_seen_at_ms: now_ms,
        mac_addresses: mac_addresses(),
        timezone: local_utc_offset(),
        os_family: std::env::consts::OS.to_owned(),
        os_version: read("/proc/sys/kernel/osrelease"),
        device_manufacturer: read("/sys/class/dmi/id/sys_vendor"),
        device_model: read("/sys/class/dmi/id/product_name"),
        os_user: std::env::var("USER").ok().filter(|u| !u.is_empty()),
        user_name,
    }
}

/// This machine's offset from UTC now, as `Gov-Client-Timezone` writes it: `UTC+01:00`.
pub fn local_utc_offset() -> String {
    use chrono::Offset as _;
    utc_offset(chrono::Local::now().offset().fix().local_minus_utc())
}

fn utc_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.unsigned_abs() / 60;
    format!("UTC{sign}{:02}:{:02}", minutes / 60, minutes % 60)
}

/// Every address of this machine's interfaces but loopback (Linux: the kernel's routing table
/// for IPv4, /proc/net/if_inet6 for IPv6), else the address it would use to reach the internet
/// (no packet is sent: a UDP socket is only connected).
fn local_ips() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = std::fs::read_to_string("/proc/net/fib_trie")
        .map(|text| local_ipv4s(&text))
        .unwrap_or_default();
    ips.extend(
        std::fs::read_to_string("/proc/net/if_inet6")
            .map(|text| local_ipv6s(&text))
            .unwrap_or_default(),
    );
    ips.retain(|ip| !ip.is_loopback() && !ip.is_unspecified());
    ips.sort();
    ips.dedup();
    if ips.is_empty() {
        let routed = std::net::UdpSocket::bind("0.0.0.0:0")
            .and_then(|socket| {
                socket.connect("192.0.2.1:9")?;
                socket.local_addr()
            })
            .map(|addr| addr.ip())
            .ok()
            .filter(|ip| !ip.is_unspecified() && !ip.is_loopback());
        ips.extend(routed);
    }
    ips
}

/// The host addresses in /proc/net/fib_trie: a `|-- ADDRESS` line followed by `/32 host LOCAL`.
fn local_ipv4s(fib_trie: &str) -> Vec<IpAddr> {
    let lines: Vec<&str> = fib_trie.lines().collect();
    lines
        .windows(2)
        .filter(|pair| pair[1].trim_start().starts_with("/32 host LOCAL"))
        .filter_map(|pair| pair[0].trim().strip_prefix("|-- "))
        .filter_map(|address| address.parse().ok())
        .collect()
}

/// The addresses in /proc/net/if_inet6: 32 hex digits, then the interface's details.
fn local_ipv6s(if_inet6: &str) -> Vec<IpAddr> {
    if_inet6
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|hex| hex.len() == 32)
        .filter_map(|hex| u128::from_str_radix(hex, 16).ok())
        .map(|bits| IpAddr::from(std::net::Ipv6Addr::from(bits)))
        .collect()
}

/// The user agent as the browser reported it (the specification's example is not encoded), with
/// only the characters a header cannot carry — anything outside printable US-ASCII —
/// percent-encoded as UTF-8.
fn non_ascii_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut buffer = [0u8; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The MAC addresses of the network interfaces other than loopback (Linux: /sys/class/net).
fn mac_addresses() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut macs: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_name() != "lo")
        .filter_map(|e| std::fs::read_to_string(e.path().join("address")).ok())
        .map(|mac| mac.trim().to_owned())
        .filter(|mac| mac.len() == 17 && mac != "00:00:00:00:00:00")
        .collect();
    macs.sort();
    macs.dedup();
    macs
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_user_agent_is_sent_as_reported_with_only_non_ascii_characters_encoded() {
        let long = format!("Mozilla/5.0 (X11; Linux x86_64) {}", "x".repeat(600));
        assert_eq!(
            super::non_ascii_encoded(&long),
            long,
            "no cut at 512 characters"
        );
        assert_eq!(
            super::non_ascii_encoded("Mozilla/5.0 (Linux; Android 14; Pixel) Bjørn/1"),
            "Mozilla/5.0 (Linux; Android 14; Pixel) Bj%C3%B8rn/1"
        );
    }

    fn web_client(public_ip: [u8; 4], hops: &[([u8; 4], [u8; 4])]) -> super::WebClient {
        super::WebClient {
            browser: super::BrowserData::default(),
            device_id: None,
            public_ip: public_ip.into(),
            public_port: Some(50_000),
            ip_seen_at_ms: 0,
            forwarded: hops
                .iter()
                .map(|(by, for_)| super::Hop {
                    by: (*by).into(),
                    for_: (*for_).into(),
                })
                .collect(),
            user_name: "fiona".to_owned(),
        }
    }

    fn forwarded(client: &super::WebClient, vendor: Option<[u8; 4]>) -> String {
        super::internet_hops(client, vendor.map(Into::into))
            .iter()
            .map(|h| format!("by={}&for={}", h.by, h.for_))
            .collect::<Vec<_>>()
            .join(",")
    }

    #[test]
    fn the_first_forwarded_hop_is_from_the_clients_public_address_to_the_vendors() {
        // Example 1 of gov-vendor-forwarded.erb (hmrc/txm-fph-specification @ 5fc429b0): "A web
        // client with the public IP address 198.51.100.0 makes a request to a vendor server";
        // here the server listens on a private address behind its public one.
        let direct = web_client([198, 51, 100, 0], &[([10, 0, 0, 5], [198, 51, 100, 0])]);
        assert_eq!(
            forwarded(&direct, Some([203, 0, 113, 6])),
            "by=203.0.113.6&for=198.51.100.0"
        );
        assert_eq!(
            forwarded(&direct, None),
            "",
            "no vendor address: not collectable"
        );
        // Behind a public proxy and a private one: "Do not include hops within a private network".
        let proxied = web_client(
            [198, 51, 100, 7],
            &[
                ([203, 0, 113, 9], [198, 51, 100, 7]),
                ([127, 0, 0, 1], [203, 0, 113, 9]),
                ([127, 0, 0, 1], [127, 0, 0, 1]),
            ],
        );
        assert_eq!(forwarded(&proxied, None), "by=203.0.113.9&for=198.51.100.7");
        // A client on a private network has no public address to give.
        let private = web_client([192, 168, 1, 20], &[([10, 0, 0, 5], [192, 168, 1, 20])]);
        assert_eq!(forwarded(&private, Some([203, 0, 113, 6])), "");
        let headers = super::headers(
            &super::Origin::WebAppViaServer(private),
            &super::Vendor::default(),
        );
        let value = |name: &str| {
            headers
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(value("Gov-Client-Public-IP"), Some(""));
        assert_eq!(value("Gov-Client-Public-Port"), Some(""));
        assert!(headers.missing.contains(&"Gov-Client-Public-IP"));
    }

    #[test]
    fn the_machines_offset_is_written_as_hmrc_asks() {
        assert_eq!(super::utc_offset(0), "UTC+00:00");
        assert_eq!(super::utc_offset(3600), "UTC+01:00");
        assert_eq!(super::utc_offset(-(5 * 3600 + 30 * 60)), "UTC-05:30");
    }

    #[test]
    fn every_local_host_address_is_read_from_the_kernels_tables() {
        let fib_trie = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 10.0.2.15\n        /32 host LOCAL\n     |-- 10.0.2.255\n        /32 link BROADCAST\n     |-- 127.0.0.1\n        /32 host LOCAL\n     |-- 192.168.1.20\n        /32 host LOCAL\n";
        let v4: Vec<String> = super::local_ipv4s(fib_trie)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(v4, ["10.0.2.15", "127.0.0.1", "192.168.1.20"]);
        let if_inet6 = "fe800000000000000a0027fffe4b3c1d 02 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\n";
        let v6: Vec<String> = super::local_ipv6s(if_inet6)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(v6, ["fe80::a00:27ff:fe4b:3c1d", "::1"]);
    }

    #[test]
    fn licence_keys_are_hashed_and_an_installation_without_any_sends_the_header_empty() {
        let batch = super::Origin::BatchProcessDirect(super::this_machine(String::new(), None, 0));
        let none = super::headers(&batch, &super::Vendor::default());
        let value = |h: &super::FraudHeaders| {
            h.headers
                .iter()
                .find(|(k, _)| k == "Gov-Vendor-License-IDs")
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value(&none).as_deref(), Some(""));
        assert!(none.missing.contains(&"Gov-Vendor-License-IDs"));
        let vendor = super::Vendor {
            license_ids: vec![("erp".to_owned(), "LICENCE-KEY-1".to_owned())],
            ..super::Vendor::default()
        };
        let some = value(&super::headers(&batch, &vendor)).expect("the header is always sent");
        assert!(some.starts_with("erp=") && some.len() == 4 + 64, "{some}");
        assert!(!some.contains("LICENCE"), "{some}");
    }

    use super::*;

    #[test]
    fn browser_data_keeps_only_sane_values() {
        let data = BrowserData::from_json(
            r#"{"screens":[{"width":1920,"height":1080,"scaling_factor":1.25,"colour_depth":24},
                {"width":0,"height":1,"scaling_factor":1,"colour_depth":24}],
               "window":{"width":1256,"height":803},"timezone":"UTC+01:00",
               "user_agent":"Mozilla/5.0 (X11)\n"}"#,
        )
        .expect("readable");
        assert_eq!(data.screens.len(), 1);
        assert_eq!(data.timezone.as_deref(), Some("UTC+01:00"));
        assert_eq!(data.user_agent.as_deref(), Some("Mozilla/5.0 (X11)"));
        let bad_zone = BrowserData::from_json(r#"{"timezone":"Europe/London"}"#).expect("ok");
        assert_eq!(bad_zone.timezone, None);
    }

    #[test]
    fn key_values_are_percent_encoded() {
        assert_eq!(
            key_values([("emsg", "anne smith&co"), ("os", "a=b")]),
            "emsg=anne%20smith%26co&os=a%3Db"
        );
        assert_eq!(format_scaling(1.0), "1");
        assert_eq!(format_scaling(1.25), "1.25");
    }

    #[test]
    fn device_ids_are_uuids() {
        assert!(is_device_id("beec798b-b366-47fa-b1f8-92cede14a1ce"));
        assert!(!is_device_id("beec798b-b366-47fa-b1f8-92cede14a1c"));
        assert!(!is_device_id("beec798b+b366-47fa-b1f8-92cede14a1ce"));
    }
}
