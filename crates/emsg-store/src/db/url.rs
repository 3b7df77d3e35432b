//! `--database-url`: `sqlite://PATH` or `postgres://…`.

use std::fmt;
use std::path::PathBuf;

/// Where the data lives. The scheme decides the backend, never a guess.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the database URL `{shown}` is not understood: {reason}. Use `sqlite://PATH` (for example \
     `sqlite://./emsg.db`) or `postgres://USER@HOST:PORT/DATABASE`"
)]
pub struct DatabaseUrlError {
    shown: String,
    reason: &'static str,
}

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, DatabaseUrlError> {
        let error = |reason| DatabaseUrlError {
            shown: redact_password(text),
            reason,
        };
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(error("the path after sqlite:// is empty"));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err(error("the scheme must be sqlite:// or postgres://"))
    }
}

/// Shows a URL without the password it may carry (`postgres://user:pw@host` → `user:***@host`).
pub fn redact_password(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &text[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &text[..scheme_end + 3], &text[at..]),
                None => text.to_owned(),
            }
        }
        _ => text.to_owned(),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            Self::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_told_apart_by_their_scheme() {
        assert!(
            matches!(DatabaseUrl::parse("sqlite://./emsg.db"), Ok(DatabaseUrl::Sqlite(p)) if p == std::path::Path::new("./emsg.db"))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://127.0.0.1/test"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("./emsg.db").is_err());
    }

    #[test]
    fn a_postgres_password_is_never_shown() {
        let url = DatabaseUrl::parse("postgres://emsg:s3cret@db:5432/emsg").expect("valid");
        assert_eq!(url.to_string(), "postgres://emsg:***@db:5432/emsg");
        let error = DatabaseUrl::parse("mysql://emsg:s3cret@db/emsg").expect_err("bad scheme");
        assert!(!error.to_string().contains("s3cret"));
    }
}
