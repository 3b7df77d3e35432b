//! The unfiltered pages of the record list, kept in memory per node. A page is served from here
//! only while the names' generation — read with the session, in the page's first statement —
//! is the one it was read at: an import or edit on any node bumps it in its own transaction,
//! so a page never shows names older than the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Pages kept at most (of 100 names each): the first ones are the ones looked at.
const MAX_PAGES: usize = 64;

#[derive(Default)]
pub struct NamesCache {
    current: Mutex<Generation>,
}

#[derive(Default)]
struct Generation {
    value: i64,
    /// Page number → the names on it and how many names there are in all.
    pages: HashMap<i64, (Arc<Vec<String>>, i64)>,
}

impl NamesCache {
    /// Page `page`'s names and the total, if they were read at `generation`.
    pub fn get(&self, generation: i64, page: i64) -> Option<(Arc<Vec<String>>, i64)> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.value != generation {
            return None;
        }
        current.pages.get(&page).cloned()
    }

    /// Keeps page `page` as read at `generation`; pages of another generation are dropped.
    pub fn put(&self, generation: i64, page: i64, names: Arc<Vec<String>>, total: i64) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current.value != generation {
            // A request that read an older generation must not replace a newer one.
            if generation < current.value {
                return;
            }
            *current = Generation {
                value: generation,
                pages: HashMap::new(),
            };
        }
        if current.pages.len() < MAX_PAGES || current.pages.contains_key(&page) {
            current.pages.insert(page, (names, total));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Arc<Vec<String>> {
        Arc::new(n.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn a_page_is_served_only_at_the_generation_it_was_read_at() {
        let cache = NamesCache::default();
        assert!(cache.get(0, 1).is_none());
        cache.put(3, 1, names(&["A", "B"]), 2);
        assert_eq!(cache.get(3, 1).map(|(n, t)| (n.len(), t)), Some((2, 2)));
        assert!(cache.get(3, 2).is_none(), "another page");
        assert!(cache.get(4, 1).is_none(), "the names changed since");
        cache.put(4, 1, names(&["A", "B", "C"]), 3);
        assert!(cache.get(3, 1).is_none(), "the old generation is gone");
        // A slow request that read the old generation does not bring it back.
        cache.put(3, 1, names(&["A", "B"]), 2);
        assert_eq!(cache.get(4, 1).map(|(_, t)| t), Some(3));
        assert!(cache.get(3, 1).is_none());
    }

    #[test]
    fn at_most_max_pages_are_kept() {
        let cache = NamesCache::default();
        for page in 1..=(MAX_PAGES as i64 + 10) {
            cache.put(1, page, names(&["X"]), 1);
        }
        assert!(cache.get(1, MAX_PAGES as i64).is_some());
        assert!(cache.get(1, MAX_PAGES as i64 + 1).is_none());
    }
}
