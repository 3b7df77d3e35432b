//! Failed log-ins counted per user name and per client address: five failures within a quarter
//! of an hour lock that name (or address) for a quarter of an hour. In memory, like sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 5;
pub const LOCK: Duration = Duration::from_secs(15 * 60);

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    first_at: Instant,
    locked_until: Option<Instant>,
}

#[derive(Default)]
pub struct Throttle {
    map: Mutex<HashMap<String, Failures>>,
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How long the first of `keys` that is locked stays locked.
    pub fn locked(&self, keys: &[String]) -> Option<Duration> {
        let now = Instant::now();
        let map = self.lock();
        keys.iter()
            .filter_map(|k| map.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    pub fn fail(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() > 10_000 {
            map.retain(|_, f| f.locked_until.is_some_and(|u| u > now) || now - f.first_at < LOCK);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert(Failures {
                count: 0,
                first_at: now,
                locked_until: None,
            });
            if now - entry.first_at >= LOCK {
                *entry = Failures {
                    count: 0,
                    first_at: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            if entry.count >= MAX_FAILURES {
                entry.locked_until = Some(now + LOCK);
                entry.count = 0;
                entry.first_at = now;
            }
        }
    }

    /// A successful log-in clears the user name's count (not the address's).
    pub fn succeed(&self, key: &str) {
        self.lock().remove(key);
    }
}
