//! A short-lived cache of fresh access tokens, the hot path of every send.
//!
//! A token is served from memory, with no database work, for at most [`MAX_AGE`] after it was
//! read and only while it lives longer than the skew. Bound on staleness: a change made by
//! *this* process (refresh, disconnect, obtain, exchange) invalidates that connection's entry at
//! once; a change made by another process (another `serve` node, `emsg auth …` on the command
//! line) is seen at the latest [`MAX_AGE`] (1 s) later, when the entry has to be read again.
//!
//! Requests are keyed by (record, company, requesting user) and several keys may resolve to one
//! connection (records that are not user-specific), so tokens live per connection and keys map
//! to connection ids: an invalidation drops exactly the affected connection.

use emsg_store::{ConnectionId, UserId};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::actions::valid_token::AccessToken;

pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Entries kept before the cache starts over (a bound on memory, not a tuning knob).
const MAX_ENTRIES: usize = 100_000;

/// Record name key, company, requesting user.
type Key = (String, String, Option<UserId>);

struct Slot {
    token: Option<(AccessToken, Instant)>,
    /// The [`TokenCache::clock`] value of the newest invalidation of this connection.
    invalidated_at: u64,
}

#[derive(Default)]
struct Entries {
    connections: HashMap<Key, ConnectionId>,
    tokens: HashMap<ConnectionId, Slot>,
}

#[derive(Default)]
pub struct TokenCache {
    entries: RwLock<Entries>,
    /// Counts invalidations, so that a fill started before one cannot put an older token back.
    clock: AtomicU64,
}

/// Taken before a token is read from the database; handed back to [`TokenCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct ReadStarted(u64);

impl TokenCache {
    pub fn get(
        &self,
        app: &str,
        company: &str,
        user: Option<UserId>,
        fresh_until: i64,
    ) -> Option<AccessToken> {
        let entries = self
            .entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = entries
            .connections
            .get(&(app.to_owned(), company.to_owned(), user))?;
        let (token, fetched) = entries.tokens.get(id)?.token.as_ref()?;
        let fresh = token.expires_at.is_none_or(|at| at > fresh_until);
        (fetched.elapsed() < MAX_AGE && fresh).then(|| token.clone())
    }

    /// Call before reading the token that will be [`put`](Self::put).
    pub fn read_started(&self) -> ReadStarted {
        ReadStarted(self.clock.load(Ordering::Acquire))
    }

    /// Caches `token`, unless its connection was invalidated since `started` (the token read
    /// may predate that change).
    pub fn put(
        &self,
        app: &str,
        company: &str,
        user: Option<UserId>,
        token: &AccessToken,
        started: ReadStarted,
    ) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries
            .tokens
            .get(&token.connection_id)
            .is_some_and(|slot| slot.invalidated_at > started.0)
        {
            return;
        }
        if entries.connections.len() > MAX_ENTRIES || entries.tokens.len() > MAX_ENTRIES {
            *entries = Entries::default();
        }
        entries.connections.insert(
            (app.to_owned(), company.to_owned(), user),
            token.connection_id,
        );
        let slot = entries.tokens.entry(token.connection_id).or_insert(Slot {
            token: None,
            invalidated_at: 0,
        });
        slot.token = Some((token.clone(), Instant::now()));
    }

    /// Drops the cached token of one connection (it was refreshed, disconnected, re-authorized).
    pub fn invalidate(&self, connection_id: ConnectionId) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = self.clock.fetch_add(1, Ordering::AcqRel) + 1;
        let slot = entries.tokens.entry(connection_id).or_insert(Slot {
            token: None,
            invalidated_at: 0,
        });
        slot.token = None;
        slot.invalidated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use emsg_seal::Secret;

    fn token(connection_id: i64, value: &str) -> AccessToken {
        AccessToken {
            token: Secret::new(value),
            token_type: "Bearer".to_owned(),
            expires_at: None,
            connection_id: ConnectionId::new(connection_id),
        }
    }

    fn value(cache: &TokenCache, user: i64) -> Option<String> {
        cache
            .get("app", "default", Some(UserId::new(user)), 0)
            .map(|t| t.token.expose().to_owned())
    }

    #[test]
    fn invalidating_one_connection_keeps_the_others_cached() {
        let cache = TokenCache::default();
        let started = cache.read_started();
        cache.put(
            "app",
            "default",
            Some(UserId::new(1)),
            &token(10, "a"),
            started,
        );
        cache.put(
            "app",
            "default",
            Some(UserId::new(2)),
            &token(20, "b"),
            started,
        );
        cache.invalidate(ConnectionId::new(10));
        assert_eq!(value(&cache, 1), None);
        assert_eq!(value(&cache, 2).as_deref(), Some("b"));
    }

    #[test]
    fn every_user_resolving_to_an_invalidated_connection_misses() {
        let cache = TokenCache::default();
        let started = cache.read_started();
        cache.put(
            "app",
            "default",
            Some(UserId::new(1)),
            &token(10, "a"),
            started,
        );
        cache.put(
            "app",
            "default",
            Some(UserId::new(2)),
            &token(10, "a"),
            started,
        );
        cache.invalidate(ConnectionId::new(10));
        assert_eq!(value(&cache, 1), None);
        assert_eq!(value(&cache, 2), None);
    }

    #[test]
    fn a_read_that_started_before_an_invalidation_is_not_cached() {
        let cache = TokenCache::default();
        let started = cache.read_started();
        cache.invalidate(ConnectionId::new(10));
        cache.put(
            "app",
            "default",
            Some(UserId::new(1)),
            &token(10, "old"),
            started,
        );
        assert_eq!(value(&cache, 1), None);
        cache.put(
            "app",
            "default",
            Some(UserId::new(1)),
            &token(10, "new"),
            cache.read_started(),
        );
        assert_eq!(value(&cache, 1).as_deref(), Some("new"));
    }

    #[test]
    fn an_entry_is_served_for_at_most_max_age() {
        let cache = TokenCache::default();
        cache.put(
            "app",
            "default",
            Some(UserId::new(1)),
            &token(10, "a"),
            cache.read_started(),
        );
        assert!(value(&cache, 1).is_some());
        std::thread::sleep(MAX_AGE + Duration::from_millis(50));
        assert_eq!(value(&cache, 1), None);
    }
}
