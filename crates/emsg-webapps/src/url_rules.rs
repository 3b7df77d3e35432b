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
