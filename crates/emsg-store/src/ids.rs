//! Typed row ids: a user's id cannot be passed where a message's is meant. The numbers are the
//! database's; `get` hands the number to a query.

use std::fmt;

use serde::Serialize;

/// A user (`users.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(i64);

/// An electronic message (`messages.id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MessageId(i64);

impl UserId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl MessageId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {}", self.0)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Whose connection: the company's (records that are not user-specific) or one user's own.
/// Stored as the connection's `user_key` (0 for the company), which only this type reads and
/// writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Company,
    User(UserId),
}

impl Subject {
    /// The stored `user_key`.
    pub const fn user_key(self) -> i64 {
        match self {
            Self::Company => 0,
            Self::User(id) => id.0,
        }
    }

    /// The subject a stored `user_key` names.
    pub const fn from_user_key(key: i64) -> Self {
        if key > 0 {
            Self::User(UserId(key))
        } else {
            Self::Company
        }
    }

    pub const fn user(self) -> Option<UserId> {
        match self {
            Self::Company => None,
            Self::User(id) => Some(id),
        }
    }
}
