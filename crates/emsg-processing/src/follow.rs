//! URLs taken from an answer (Altinn's data-element links, Skatteetaten's feedback files, a
//! `Location`) are followed only when they stay on the web application's API: same origin and
//! below its base path. Anything else would let a provider's answer, or whoever forged it, send
//! the user's token elsewhere.

use url::Url;

/// Why a URL from an answer is not followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowError {
    #[error("`{url}` from the answer is not a URL: {reason}")]
    NotAUrl { url: String, reason: String },
    #[error("`{url}` from the answer is on {found}, not on the API's {expected}: not followed")]
    OtherOrigin {
        url: String,
        found: String,
        expected: String,
    },
    #[error("`{url}` from the answer is outside the API's path `{prefix}`: not followed")]
    OutsidePath { url: String, prefix: String },
    #[error("`{url}` from the answer has `.` or `..` path segments or credentials: not followed")]
    Tricky { url: String },
}

/// `candidate` (absolute, or relative to `base`) if it is on `base`'s origin and below its path.
pub fn followable(candidate: &str, base: &Url) -> Result<Url, FollowError> {
    let lowered = candidate.to_ascii_lowercase();
    if candidate
        .split(['/', '?', '#'])
        .any(|s| s == "." || s == "..")
        || lowered.contains("%2e")
        || lowered.contains('\\')
    {
        return Err(FollowError::Tricky {
            url: candidate.to_owned(),
        });
    }
    let url = base.join(candidate).map_err(|e| FollowError::NotAUrl {
        url: candidate.to_owned(),
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FollowError::Tricky {
            url: candidate.to_owned(),
        });
    }
    if url.origin() != base.origin() {
        return Err(FollowError::OtherOrigin {
            url: candidate.to_owned(),
            found: url.origin().ascii_serialization(),
            expected: base.origin().ascii_serialization(),
        });
    }
    let prefix = match base.path() {
        p if p.ends_with('/') => p.to_owned(),
        p => format!("{p}/"),
    };
    if !(url.path().starts_with(&prefix) || format!("{}/", url.path()) == prefix) {
        return Err(FollowError::OutsidePath {
            url: candidate.to_owned(),
            prefix,
        });
    }
    Ok(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://skd.apps.altinn.no/skd/mva-melding-innsending-v1").unwrap()
    }

    #[test]
    fn links_on_the_apps_origin_and_path_are_followed() {
        let link = "https://skd.apps.altinn.no/skd/mva-melding-innsending-v1/instances/50267437/55604b08-1690-4a8d-bf6b-95c11dc40c58/data/13750453";
        assert_eq!(followable(link, &base()).unwrap().as_str(), link);
        assert!(followable("/skd/mva-melding-innsending-v1/instances/1/2", &base()).is_ok());
    }

    #[test]
    fn links_elsewhere_are_refused_saying_where_they_point() {
        for (link, kind) in [
            (
                "https://evil.example/skd/mva-melding-innsending-v1/x",
                "origin",
            ),
            (
                "http://skd.apps.altinn.no/skd/mva-melding-innsending-v1/x",
                "origin",
            ),
            (
                "https://skd.apps.altinn.no:8443/skd/mva-melding-innsending-v1/x",
                "origin",
            ),
            (
                "https://skd.apps.altinn.no/skd/other-app/instances/1",
                "path",
            ),
            (
                "https://skd.apps.altinn.no/skd/mva-melding-innsending-v1-evil/x",
                "path",
            ),
            (
                "https://skd.apps.altinn.no/skd/mva-melding-innsending-v1/../other/x",
                "tricky",
            ),
            (
                "https://skd.apps.altinn.no/skd/mva-melding-innsending-v1/%2e%2e/other",
                "tricky",
            ),
            (
                "https://user:pw@skd.apps.altinn.no/skd/mva-melding-innsending-v1/x",
                "tricky",
            ),
            ("//evil.example/skd/mva-melding-innsending-v1/x", "origin"),
        ] {
            let error = followable(link, &base()).unwrap_err();
            let matched = match kind {
                "origin" => matches!(error, FollowError::OtherOrigin { .. }),
                "path" => matches!(error, FollowError::OutsidePath { .. }),
                _ => matches!(error, FollowError::Tricky { .. }),
            };
            assert!(matched, "{link}: {error}");
            assert!(error.to_string().contains("not followed"));
        }
    }
}
