//! Typed row ids: a user's id cannot be passed where a message's is meant. The numbers are the
//! database's; the ids bind to and load from their `BIGINT` columns themselves.

use std::fmt;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::BigInt;
use diesel::sqlite::Sqlite;
use serde::Serialize;

use crate::db::MultiBackend;

/// Declares a row id: a number only the store makes from a row and hands back to a query.
macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize,
            AsExpression, FromSqlRow,
        )]
        #[diesel(sql_type = BigInt)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl ToSql<BigInt, Sqlite> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
                <i64 as ToSql<BigInt, Sqlite>>::to_sql(&self.0, out)
            }
        }

        impl ToSql<BigInt, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <i64 as ToSql<BigInt, Pg>>::to_sql(&self.0, out)
            }
        }

        impl ToSql<BigInt, MultiBackend> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((BigInt, self));
                Ok(IsNull::No)
            }
        }

        impl<DB: Backend> FromSql<BigInt, DB> for $name
        where
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map(Self)
            }
        }

        impl $name {
            pub const fn new(id: i64) -> Self {
                Self(id)
            }
            pub const fn get(self) -> i64 {
                self.0
            }
        }

    };
}

row_id!(
    /// A user (`users.id`).
    UserId
);
row_id!(
    /// An electronic message (`messages.id`).
    MessageId
);
row_id!(
    /// A web application record (`web_applications.id`).
    WebApplicationId
);
row_id!(
    /// A connection: one company's or one user's tokens for a record (`connections.id`).
    ConnectionId
);

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

impl fmt::Display for WebApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for ConnectionId {
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
