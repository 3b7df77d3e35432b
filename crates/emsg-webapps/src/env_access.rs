//! Which environment variables a `{env: VARIABLE}` reference may read, by who asks.
//!
//! The server's environment belongs to the operator. A file given on the command line
//! (`emsg import`, the first-start import of `serve --web-apps`) is the operator's choice, so
//! its references may read any variable but emsg's own settings. A file or form that comes
//! through a page or the API comes from an administrator, who is not the operator: only the
//! variables the operator listed in `EMSG_PAGE_ENV_VARS` are read for it. emsg's own settings
//! (`EMSG_*`: the master key, the database URL…) are never read into a record by anyone.

use std::fmt;

use crate::source::is_env_var_name;

/// The setting with which the operator lets pages and the API read some variables.
pub const PAGE_ENV_VARS_SETTING: &str = "EMSG_PAGE_ENV_VARS";

/// emsg's own settings start with this (compared ignoring case: some systems do).
const OWN_PREFIX: &str = "EMSG_";

/// Who asked for a `{env: …}` reference to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvAccess {
    /// The operator, on the command line: any variable but emsg's own settings.
    CommandLine,
    /// An administrator, through a page or the API: only the variables the operator allowed.
    Page(PageEnvVars),
}

/// The variables the operator lets pages and the API read: exact names, or a prefix ending in
/// `*` (`HMRC_*`). Never one of emsg's own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageEnvVars(Vec<String>);

impl PageEnvVars {
    /// None: pages and the API read no variable (the default).
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads the setting: names and `PREFIX*` patterns separated by commas (spaces allowed).
    pub fn parse(setting: &str) -> Result<Self, String> {
        let mut patterns = Vec::new();
        for item in setting.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (stem, is_prefix) = match item.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (item, false),
            };
            if stem.is_empty() || !is_env_var_name(stem) {
                return Err(format!(
                    "{PAGE_ENV_VARS_SETTING}: `{item}` is neither a variable name nor a prefix \
                     followed by `*`; write names like `HMRC_VAT_CLIENT_ID` or prefixes like \
                     `HMRC_*`, separated by commas (a lone `*` is not accepted: list what the \
                     pages may read)"
                ));
            }
            let upper = stem.to_ascii_uppercase();
            if upper.starts_with(OWN_PREFIX) || (is_prefix && OWN_PREFIX.starts_with(&upper)) {
                return Err(format!(
                    "{PAGE_ENV_VARS_SETTING}: `{item}` would let pages read emsg's own settings \
                     (EMSG_*: the master key, the database URL), which are never read into a \
                     record; remove it"
                ));
            }
            patterns.push(item.to_owned());
        }
        Ok(Self(patterns))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn allows(&self, var: &str) -> bool {
        self.0
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => var.starts_with(prefix),
                None => var == pattern,
            })
    }
}

impl fmt::Display for PageEnvVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

impl EnvAccess {
    /// Whether `var` may be read; the error says why not and what the operator can do (it
    /// names the variable, never a value).
    pub fn check(&self, var: &str) -> Result<(), String> {
        if var
            .get(..OWN_PREFIX.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(OWN_PREFIX))
        {
            return Err(format!(
                "`{{env: {var}}}` refers to one of emsg's own settings (EMSG_*), which are never \
                 read into a record; put the value in a variable of its own (e.g. \
                 HMRC_VAT_CLIENT_ID) and refer to that"
            ));
        }
        match self {
            EnvAccess::CommandLine => Ok(()),
            EnvAccess::Page(allowed) if allowed.allows(var) => Ok(()),
            EnvAccess::Page(_) => Err(format!(
                "`{{env: {var}}}` cannot be read from a page or the API: the server's \
                 environment belongs to the operator, who has not allowed {var} in \
                 {PAGE_ENV_VARS_SETTING}. Ask the operator to import this file with `emsg \
                 import` or to allow the variable, or type the value instead"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emsg_settings_are_never_readable_even_from_the_command_line() {
        for var in [
            "EMSG_MASTER_KEY",
            "EMSG_DATABASE_URL",
            "emsg_master_key",
            "Emsg_X",
        ] {
            let error = EnvAccess::CommandLine.check(var).err().unwrap_or_default();
            assert!(
                error.contains(var) && error.contains("EMSG_*"),
                "{var}: {error}"
            );
            let page = EnvAccess::Page(PageEnvVars::parse("EM*X,E*").unwrap_or_default());
            assert!(page.check(var).is_err(), "{var}");
        }
        assert_eq!(EnvAccess::CommandLine.check("HMRC_VAT_CLIENT_ID"), Ok(()));
        assert_eq!(EnvAccess::CommandLine.check("EMSGX"), Ok(()));
    }

    #[test]
    fn pages_read_only_the_variables_the_operator_listed() {
        let page = EnvAccess::Page(PageEnvVars::parse(" HMRC_*, NO_ID, ").unwrap_or_default());
        assert_eq!(page.check("HMRC_VAT_CLIENT_ID"), Ok(()));
        assert_eq!(page.check("NO_ID"), Ok(()));
        for refused in ["NO_IDX", "PATH", "DATABASE_URL", "hmrc_x", "HOME"] {
            let error = page.check(refused).err().unwrap_or_default();
            assert!(
                error.contains(refused) && error.contains(PAGE_ENV_VARS_SETTING),
                "{refused}: {error}"
            );
        }
        let none = EnvAccess::Page(PageEnvVars::none());
        assert!(none.check("HMRC_VAT_CLIENT_ID").is_err());
    }

    #[test]
    fn the_setting_refuses_wildcards_and_emsg_settings() {
        for bad in [
            "*",
            "EMSG_*",
            "EMSG_MASTER_KEY",
            "E*",
            "EMS*",
            "emsg_*",
            "A-B",
            "1A",
        ] {
            assert!(PageEnvVars::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            PageEnvVars::parse("HMRC_*,NO_*").map(|p| p.to_string()),
            Ok("HMRC_*,NO_*".to_owned())
        );
        assert!(PageEnvVars::parse("").is_ok_and(|p| p.is_empty()));
    }
}
