//! A short-lived cache of fresh access tokens, the hot path of every send.
//!
//! An entry is served for at most [`MAX_AGE`] and only while the token lives longer than the
//! skew, so a disconnect or refresh on another node is seen within a second; any state change
//! made by this process clears the cache at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::actions::valid_token::AccessToken;

pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Record name key, company, requesting user.
type Key = (String, String, i64);

#[derive(Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<Key, (AccessToken, Instant)>>,
}

impl TokenCache {
    pub fn get(
        &self,
        app: &str,
        company: &str,
        user: i64,
        fresh_until: i64,
    ) -> Option<AccessToken> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (token, fetched) = entries.get(&(app.to_owned(), company.to_owned(), user))?;
        let fresh = token.expires_at.is_none_or(|at| at > fresh_until);
        (fetched.elapsed() < MAX_AGE && fresh).then(|| token.clone())
    }

    pub fn put(&self, app: &str, company: &str, user: i64, token: &AccessToken) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() > 100_000 {
            entries.clear();
        }
        entries.insert(
            (app.to_owned(), company.to_owned(), user),
            (token.clone(), Instant::now()),
        );
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}
