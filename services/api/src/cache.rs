//! Per-business values kept in memory and tagged with the version they were read at: the business
//! aggregate (tagged with its stream's version) and the booking catalog (tagged with the catalog
//! projector's revision for the business). A request reads the current version in the query it makes
//! anyway and takes the cached value only when the versions match, so it never sees older data than a fresh
//! read would; a changed version reads the value again and replaces the entry.
//!
//! One entry per business, never evicted: a catalog is a few kilobytes, so even 100,000 businesses fit in a
//! few hundred megabytes. A process serving more than that would want an LRU here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// Values of type `T` per business, each with the version it was read at.
#[derive(Debug)]
pub struct VersionedCache<T> {
    entries: Mutex<HashMap<Uuid, (i64, Arc<T>)>>,
}

impl<T> Default for VersionedCache<T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> VersionedCache<T> {
    /// The value of `business` read at exactly `version`, if cached.
    pub fn get(&self, business: Uuid, version: i64) -> Option<Arc<T>> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&business)
            .filter(|(cached, _)| *cached == version)
            .map(|(_, value)| Arc::clone(value))
    }

    /// Keeps `value`, read at `version`, unless a newer version is already cached (two requests may
    /// read concurrently; the newer one wins).
    pub fn put(&self, business: Uuid, version: i64, value: Arc<T>) {
        if let Ok(mut entries) = self.entries.lock() {
            match entries.get(&business) {
                Some((cached, _)) if *cached > version => {}
                _ => {
                    entries.insert(business, (version, value));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_served_only_at_the_version_it_was_read_at() {
        let cache = VersionedCache::default();
        let business = Uuid::now_v7();
        assert!(cache.get(business, 1).is_none());
        cache.put(business, 1, Arc::new("one"));
        assert_eq!(cache.get(business, 1).as_deref(), Some(&"one"));
        assert!(cache.get(business, 2).is_none(), "a newer version misses");
        assert!(
            cache.get(Uuid::now_v7(), 1).is_none(),
            "another business misses"
        );
    }

    #[test]
    fn an_older_read_never_replaces_a_newer_one() {
        let cache = VersionedCache::default();
        let business = Uuid::now_v7();
        cache.put(business, 3, Arc::new("three"));
        cache.put(business, 2, Arc::new("two"));
        assert_eq!(cache.get(business, 3).as_deref(), Some(&"three"));
        cache.put(business, 4, Arc::new("four"));
        assert_eq!(cache.get(business, 4).as_deref(), Some(&"four"));
        assert!(cache.get(business, 3).is_none());
    }
}
