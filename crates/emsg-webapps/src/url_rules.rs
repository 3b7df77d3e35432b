//! The rules every URL in the file follows: absolute `https` (plain `http` only to this
//! machine, for tests), no user name or password, no fragment; kept exactly as written.

use std::net::IpAddr;

use url::{Host, Url};

/// The out-of-band redirect URI of installed applications, accepted as `redirect_url`.
pub const OOB_REDIRECT: &str = "urn:ietf:wg:oauth:2.0:oob";

/// Checks an endpoint URL; the error says what is wrong and how to write it.
pub(crate) fn check_url(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("the URL is empty; write an absolute https:// URL".to_owned());
    }
    // The url crate drops surrounding spaces and inner tabs and newlines while parsing; the
    // string we keep would then differ from the URL we checked.
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "the URL contains spaces or control characters; remove them (encode a space as %20)"
                .to_owned(),
        );
    }
    let url = Url::parse(text).map_err(|e| {
        format!(
            "{} is not a valid absolute URL ({e}); write it like https://host/path",
            shown(text)
        )
    })?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(format!(
                "{} uses plain http; use https (http is accepted only for localhost, \
                 127.0.0.0/8 and [::1])",
                shown(text)
            ));
        }
        other => {
            return Err(format!(
                "{} has the scheme `{other}`; only https URLs are accepted (and http for \
                 localhost)",
                shown(text)
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The URL is not repeated: the part before `@` may be a password.
        return Err(
            "the URL contains a user name or password before `@`; remove it and configure \
             credentials in client_id and client_secret"
                .to_owned(),
        );
    }
    if url.fragment().is_some() {
        return Err(format!(
            "{} has a fragment (`#...`); remove it, fragments are never sent to a server",
            shown(text)
        ));
    }
    Ok(())
}

/// Checks a redirect URL: the same rules as [`check_url`], or exactly [`OOB_REDIRECT`].
pub(crate) fn check_redirect_url(text: &str) -> Result<(), String> {
    if text == OOB_REDIRECT {
        return Ok(());
    }
    check_url(text).map_err(|e| format!("{e}; or write `{OOB_REDIRECT}` for out-of-band"))
}

/// The URL quoted for a message, unless it may hold a password before an `@`.
fn shown(text: &str) -> String {
    if text.contains('@') {
        "the URL".to_owned()
    } else {
        format!("`{text}`")
    }
}

/// How outbound URLs (every URL of a record but `redirect_url`, and web services' base URLs)
/// are checked at import and before every request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlRules {
    /// `EMSG_ALLOW_LOOPBACK_URLS`: plain http and IP literals to 127.0.0.0/8 and ::1 (and the
    /// name `localhost`) are allowed, for local stand-ins of the providers. Never any other
    /// private or special address.
    pub allow_loopback: bool,
}

/// The setting that allows loopback stand-ins.
pub const ALLOW_LOOPBACK_SETTING: &str = "EMSG_ALLOW_LOOPBACK_URLS";

impl UrlRules {
    /// Checks an outbound URL: https to a host name; IP literals and names of this machine
    /// (`localhost`) are refused unless loopback stand-ins are allowed, and then only loopback.
    /// The names are checked again after DNS resolution by the engine's HTTP client.
    pub fn check_outbound(self, text: &str) -> Result<(), String> {
        check_url(text)?;
        let url =
            Url::parse(text).map_err(|e| format!("{} is not a valid URL ({e})", shown(text)))?;
        let loopback_hint = if self.allow_loopback {
            String::new()
        } else {
            format!(
                " (an operator running local stand-ins of the providers can set {ALLOW_LOOPBACK_SETTING}=true to allow http and 127.0.0.0/8 and ::1)"
            )
        };
        let ip = match url.host() {
            Some(Host::Domain(domain)) => {
                let domain = domain.trim_end_matches('.').to_ascii_lowercase();
                if domain == "localhost" || domain.ends_with(".localhost") {
                    if self.allow_loopback {
                        return Ok(());
                    }
                    return Err(format!(
                        "{} names this machine; requests with secrets and tokens go only to the provider's public host name{loopback_hint}",
                        shown(text)
                    ));
                }
                None
            }
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            None => {
                return Err(format!(
                    "{} has no host; write https://host/path",
                    shown(text)
                ));
            }
        };
        match ip {
            Some(ip) if self.allow_loopback && ip.is_loopback() => Ok(()),
            Some(ip) => Err(format!(
                "{} is an IP address ({ip}); write the provider's host name with https, as its documentation gives it{loopback_hint}",
                shown(text)
            )),
            None if url.scheme() == "http" && !self.allow_loopback => Err(format!(
                "{} uses plain http; use https{loopback_hint}",
                shown(text)
            )),
            None => Ok(()),
        }
    }

    /// Checks the URL of a request about to be sent (the stored records', and URLs learnt at
    /// run time such as a key set's from discovery): https, or http to loopback when allowed;
    /// an IP literal only if [`UrlRules::allows_address`]. Host names are checked on their
    /// addresses by the HTTP client's resolver.
    pub fn check_destination(self, text: &str) -> Result<(), String> {
        let url = Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL ({e})"))?;
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(Host::Domain(_)) => None,
            None => return Err(format!("{} has no host", shown(text))),
        };
        let refused = match (url.scheme(), ip) {
            (_, Some(ip)) if !self.allows_address(ip) => Some(format!(
                "{ip} is not a public address (loopback, private, link-local or reserved)"
            )),
            ("https", _) => None,
            ("http", _) if self.allow_loopback && is_loopback(&url) => None,
            ("http", _) => Some("plain http is not used".to_owned()),
            (other, _) => Some(format!("the scheme `{other}` is not used")),
        };
        match refused {
            Some(why) => Err(format!(
                "emsg refused to send a request to {}: {why}. Requests with secrets and tokens go only to providers' public https hosts",
                shown(&format!(
                    "{}://{}",
                    url.scheme(),
                    url.host_str().unwrap_or_default()
                ))
            )),
            None => Ok(()),
        }
    }

    /// Whether a request may connect to `ip` (after DNS resolution, or an IP literal): public
    /// addresses always, loopback only when allowed; never private, link-local (cloud metadata
    /// at 169.254.169.254), shared, multicast, reserved or unspecified ones.
    pub fn allows_address(self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        if ip.is_loopback() {
            return self.allow_loopback;
        }
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                !(v4.is_private()
                    || v4.is_link_local()
                    || v4.is_unspecified()
                    || v4.is_broadcast()
                    || v4.is_multicast()
                    || v4.is_documentation()
                    || a == 0
                    || (a == 100 && (64..128).contains(&b)) // shared (carrier-grade NAT)
                    || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                    || (a == 198 && (18..20).contains(&b)) // benchmarking
                    || a >= 240)
            }
            IpAddr::V6(v6) => {
                let first = v6.segments()[0];
                !(v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is metadata)
                    || (first & 0xffc0) == 0xfe80 // link-local
                    || (first & 0xffc0) == 0xfec0 // site-local (deprecated)
                    || first == 0x2001 && v6.segments()[1] == 0x0db8 // documentation
                    || first == 0x0064 && v6.segments()[1] == 0xff9b // NAT64 to anything
                    || first == 0x2002) // 6to4, which embeds an IPv4 address
            }
        }
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlRules = UrlRules {
        allow_loopback: false,
    };
    const LOOPBACK: UrlRules = UrlRules {
        allow_loopback: true,
    };

    #[test]
    fn outbound_urls_are_https_to_a_host_name() {
        for good in [
            "https://api.service.hmrc.gov.uk/oauth/token",
            "https://idporten.no",
            "https://platform.tt02.altinn.no/authentication/api/v1/exchange/id-porten",
        ] {
            assert_eq!(STRICT.check_outbound(good), Ok(()), "{good}");
            assert_eq!(LOOPBACK.check_outbound(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("http://127.0.0.1:8080/token", "IP address"),
            ("https://127.0.0.1/token", "IP address"),
            ("https://10.0.0.5/token", "IP address"),
            ("https://169.254.169.254/latest/meta-data/", "IP address"),
            ("https://[::1]/token", "IP address"),
            ("https://[fd00:ec2::254]/", "IP address"),
            ("https://localhost/token", "this machine"),
            ("http://localhost:8080/token", "this machine"),
            ("https://a.localhost./token", "this machine"),
        ] {
            let error = STRICT.check_outbound(bad).err().unwrap_or_default();
            assert!(
                error.contains(why) && error.contains(ALLOW_LOOPBACK_SETTING),
                "{bad}: {error}"
            );
        }
        let error = STRICT.check_outbound("http://example.com/").err();
        assert!(error.is_some_and(|e| e.contains("plain http")));
    }

    #[test]
    fn allowing_loopback_allows_loopback_only() {
        for good in [
            "http://127.0.0.1:8080/token",
            "http://127.9.9.9/",
            "http://[::1]:3000/",
            "http://localhost:8080/",
            "https://127.0.0.1/",
        ] {
            assert_eq!(LOOPBACK.check_outbound(good), Ok(()), "{good}");
        }
        for bad in [
            "https://10.0.0.5/",
            "https://169.254.169.254/",
            "https://192.168.1.1/",
            "https://[fe80::1]/",
            "https://0.0.0.0/",
            "http://example.com/",
        ] {
            assert!(LOOPBACK.check_outbound(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_go_to_https_or_allowed_loopback_and_never_to_private_ip_literals() {
        assert_eq!(
            STRICT.check_destination("https://idporten.no/jwks.json"),
            Ok(())
        );
        for refused in [
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.1/token",
            "https://127.0.0.1/token",
            "http://example.com/token",
            "ftp://example.com/",
        ] {
            assert!(STRICT.check_destination(refused).is_err(), "{refused}");
        }
        assert_eq!(LOOPBACK.check_destination("http://127.0.0.1:9/t"), Ok(()));
        assert_eq!(LOOPBACK.check_destination("http://localhost:9/t"), Ok(()));
        assert!(LOOPBACK.check_destination("http://example.com/t").is_err());
        assert!(
            LOOPBACK
                .check_destination("https://169.254.169.254/")
                .is_err()
        );
    }

    #[test]
    fn only_public_addresses_are_connected_to_unless_loopback_is_allowed() {
        let ip = |text: &str| text.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        for public in ["81.144.2.1", "2a00:1450:4001::1", "8.8.8.8"] {
            assert!(STRICT.allows_address(ip(public)), "{public}");
        }
        for refused in [
            "127.0.0.1",
            "::1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "fd00:ec2::254",
            "fe80::1",
            "::",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "2002:a00:1::",
        ] {
            assert!(!STRICT.allows_address(ip(refused)), "{refused}");
        }
        assert!(LOOPBACK.allows_address(ip("127.0.0.1")));
        assert!(LOOPBACK.allows_address(ip("::1")));
        assert!(LOOPBACK.allows_address(ip("::ffff:127.0.0.1")));
        assert!(!LOOPBACK.allows_address(ip("10.1.2.3")));
        assert!(!LOOPBACK.allows_address(ip("169.254.169.254")));
    }

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for good in [
            "https://api.service.hmrc.gov.uk",
            "https://test-api.service.hmrc.gov.uk/oauth/token",
            "https://example.com:8443/a?b=c",
            "http://localhost:8080/oauth/callback",
            "http://127.0.0.1:8080/oauth/callback",
            "http://127.9.9.9/",
            "http://[::1]:3000/",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn other_urls_are_refused_with_a_reason() {
        let cases = [
            ("http://example.com/", "plain http"),
            ("http://10.0.0.1/", "plain http"),
            ("http://localhost.evil.com/", "plain http"),
            ("ftp://example.com/", "scheme `ftp`"),
            ("https://user:pass@example.com/", "user name or password"),
            ("https://example.com/#frag", "fragment"),
            ("https://example.com/#", "fragment"),
            ("/oauth/token", "not a valid absolute URL"),
            ("https://", "not a valid absolute URL"),
            (" https://example.com", "spaces"),
            ("https://exa mple.com", "spaces"),
            ("", "empty"),
            ("mailto:a@example.com", "scheme `mailto`"),
            ("https://user:pw@/", "not a valid absolute URL"),
        ];
        for (bad, fragment) in cases {
            let error = check_url(bad).err().unwrap_or_default();
            assert!(error.contains(fragment), "{bad}: {error}");
        }
    }

    #[test]
    fn a_password_in_a_url_is_not_repeated_in_the_error() {
        for url in [
            "https://user:hunter2@example.com/",
            "https://u:hunter2@/",
            "ftp://u:hunter2@x/",
        ] {
            let error = check_url(url).err().unwrap_or_default();
            assert!(!error.is_empty() && !error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn redirect_urls_also_accept_exactly_the_oob_urn() {
        assert_eq!(check_redirect_url(OOB_REDIRECT), Ok(()));
        assert!(check_redirect_url("urn:ietf:wg:oauth:2.0:oob:auto").is_err());
        assert!(check_redirect_url("urn:other").is_err());
    }
}
