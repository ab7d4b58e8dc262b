//! A per-process map of hints keyed by stream id: what this process last wrote, so the next write can skip
//! a read. Only ever a hint (the database decides), so it is bounded crudely: when it holds `limit`
//! entries it starts over.

use std::collections::HashMap;
use std::sync::Mutex;

/// Stream id → what this process last knew of it.
#[derive(Debug)]
pub struct Hints<V> {
    map: Mutex<HashMap<String, V>>,
    limit: usize,
}

impl<V: Clone> Hints<V> {
    /// An empty map that starts over when it reaches `limit` entries.
    pub fn new(limit: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            limit,
        }
    }

    pub fn get(&self, stream_id: &str) -> Option<V> {
        self.map.lock().ok()?.get(stream_id).cloned()
    }

    pub fn contains(&self, stream_id: &str) -> bool {
        self.map.lock().is_ok_and(|map| map.contains_key(stream_id))
    }

    pub fn put(&self, stream_id: impl Into<String>, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.limit {
                map.clear();
            }
            map.insert(stream_id.into(), value);
        }
    }

    pub fn forget(&self, stream_id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(stream_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_starts_over_and_forgotten_hints_are_gone() {
        let hints = Hints::new(2);
        hints.put("a", 1);
        hints.put("b", 2);
        assert_eq!((hints.get("a"), hints.get("b")), (Some(1), Some(2)));
        hints.put("c", 3);
        assert_eq!((hints.get("a"), hints.get("c")), (None, Some(3)));
        hints.forget("c");
        assert!(!hints.contains("c"));
    }
}
