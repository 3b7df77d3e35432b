//! The actions the audit log names: one variant per action, stored as the words below.

use std::fmt;
use std::str::FromStr;

use crate::error::StoreError;

/// What was done. [`AuditAction::as_str`] is what the `action` column holds, what the audit
/// page and `/api/v1/audit` show and filter on: those words never change once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    // The actions on a connection (the engine).
    GetCode,
    Callback,
    ObtainToken,
    Exchange,
    Refresh,
    Disconnect,
    AuthorizationExpiring,
    // What an administrator or the operator does with users and API keys.
    AddUser,
    ChangePassword,
    SetPassword,
    DisableUser,
    EnableUser,
    RemoveUser,
    ChangeRole,
    LogoutEverywhere,
    MakeApiKey,
    RevokeApiKey,
    // Web-application records and the master key.
    Import,
    Edit,
    EndpointsMoved,
    SetClientSecret,
    KeysRotate,
}

impl AuditAction {
    /// Every action, for whoever lists them (and the round-trip test).
    pub const ALL: [Self; 22] = [
        Self::GetCode,
        Self::Callback,
        Self::ObtainToken,
        Self::Exchange,
        Self::Refresh,
        Self::Disconnect,
        Self::AuthorizationExpiring,
        Self::AddUser,
        Self::ChangePassword,
        Self::SetPassword,
        Self::DisableUser,
        Self::EnableUser,
        Self::RemoveUser,
        Self::ChangeRole,
        Self::LogoutEverywhere,
        Self::MakeApiKey,
        Self::RevokeApiKey,
        Self::Import,
        Self::Edit,
        Self::EndpointsMoved,
        Self::SetClientSecret,
        Self::KeysRotate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetCode => "get-code",
            Self::Callback => "callback",
            Self::ObtainToken => "obtain-token",
            Self::Exchange => "exchange",
            Self::Refresh => "refresh",
            Self::Disconnect => "disconnect",
            Self::AuthorizationExpiring => "authorization-expiring",
            Self::AddUser => "add-user",
            Self::ChangePassword => "change-password",
            Self::SetPassword => "set-password",
            Self::DisableUser => "disable-user",
            Self::EnableUser => "enable-user",
            Self::RemoveUser => "remove-user",
            Self::ChangeRole => "change-role",
            Self::LogoutEverywhere => "logout-everywhere",
            Self::MakeApiKey => "make-api-key",
            Self::RevokeApiKey => "revoke-api-key",
            Self::Import => "import",
            Self::Edit => "edit",
            // The one name with an underscore: entries were written with it, so it stays.
            Self::EndpointsMoved => "endpoints_moved",
            Self::SetClientSecret => "set-client-secret",
            Self::KeysRotate => "keys-rotate",
        }
    }
}

impl FromStr for AuditAction {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "`{text}` is not an audit action; the audit page lists those recorded"
                ))
            })
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::AuditAction;

    #[test]
    fn every_action_reads_back_from_the_words_it_is_stored_as() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), action);
            assert_eq!(action.to_string(), action.as_str());
        }
    }

    #[test]
    fn no_two_actions_are_stored_as_the_same_words() {
        let words: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(words.len(), AuditAction::ALL.len());
    }

    #[test]
    fn the_stored_words_are_those_entries_were_always_written_with() {
        let words: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            words,
            [
                "get-code",
                "callback",
                "obtain-token",
                "exchange",
                "refresh",
                "disconnect",
                "authorization-expiring",
                "add-user",
                "change-password",
                "set-password",
                "disable-user",
                "enable-user",
                "remove-user",
                "change-role",
                "logout-everywhere",
                "make-api-key",
                "revoke-api-key",
                "import",
                "edit",
                "endpoints_moved",
                "set-client-secret",
                "keys-rotate",
            ]
        );
    }

    #[test]
    fn words_that_name_no_action_are_refused() {
        let error = "endpoints-moved".parse::<AuditAction>().unwrap_err();
        assert!(error.to_string().contains("`endpoints-moved`"), "{error}");
    }
}
