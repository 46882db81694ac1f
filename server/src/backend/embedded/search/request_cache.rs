//! The request cache, as Elasticsearch's shard request cache: the answer of a search that
//! returns no hits (`size: 0`, the aggregations every dashboard panel asks for) is kept,
//! keyed by the exact request and by the state of every index it reads, its segments and
//! their deletes. A write that reaches the searchers changes that state, so an answer is
//! never served for data it did not see; entries of an older state are never asked for
//! again and leave as the budget needs room, oldest first.
//!
//! A request whose answer depends on the moment it runs (date math on `now`) is not kept, as
//! Elasticsearch keeps none either.
//!
//! Answers are kept as JSON text, read again on each hit: the budget then counts the bytes
//! held, where a parsed tree takes many times its text.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;
use tantivy::Searcher;

use super::super::index::FlowIndex;

/// The memory the cached answers may take together.
pub const REQUEST_CACHE_BYTES: usize = 64 << 20;

/// An answer larger than this share of the budget is not kept: one answer of millions of
/// buckets must not push out every dashboard's.
const MAX_ENTRY_SHARE: usize = 8;

/// Kept answers by request and index state, within a byte budget.
pub struct RequestCache {
    budget: usize,
    inner: Mutex<Entries>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Entries {
    answers: HashMap<String, Arc<str>>,
    /// Keys in the order they were kept: the oldest leaves first.
    order: VecDeque<String>,
    bytes: usize,
}

impl RequestCache {
    pub fn new(budget: usize) -> RequestCache {
        RequestCache {
            budget,
            inner: Mutex::default(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The answer kept under `key`, if any.
    pub fn get(&self, key: &str) -> Option<Json> {
        let text = self.lock().answers.get(key).cloned();
        // Text this cache wrote itself: it reads back.
        let found: Option<Json> = text.and_then(|text| serde_json::from_str(&text).ok());
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps an answer, making room by letting the oldest go.
    pub fn put(&self, key: String, answer: &Json) {
        let text: Arc<str> = answer.to_string().into();
        // The key is held twice: in the map and in the order.
        let bytes = 2 * key.len() + text.len();
        if bytes > self.budget / MAX_ENTRY_SHARE {
            return;
        }
        let mut entries = self.lock();
        if entries.answers.contains_key(&key) {
            return;
        }
        while entries.bytes + bytes > self.budget {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some(text) = entries.answers.remove(&oldest) {
                entries.bytes -= 2 * oldest.len() + text.len();
            }
        }
        entries.bytes += bytes;
        entries.order.push_back(key.clone());
        entries.answers.insert(key, text);
    }

    /// The text of the answer kept under `key`, if any (a hit is counted; a miss is not: the
    /// search that runs counts it).
    pub fn get_text(&self, key: &str) -> Option<Arc<str>> {
        let text = self.lock().answers.get(key).cloned();
        if text.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        text
    }

    /// Answers served from the cache, and searches that looked and did not find one.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The bytes the kept answers take.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The key of a search's answer, when it can be kept: no hits asked (the caller leaves out
/// requests whose date math read `now`). It
/// names the request, every index the expression resolved to (they count in `_shards`), and
/// the segments and deletes of those searched.
pub fn key(
    body: &Json,
    hits_asked: usize,
    resolved: &[Arc<FlowIndex>],
    searchers: &[(String, Searcher)],
) -> Option<String> {
    if hits_asked > 0 {
        return None;
    }
    let mut key = body.to_string();
    key.push('\u{0}');
    for index in resolved {
        let _ = write!(key, "{};", index.name);
    }
    for (name, searcher) in searchers {
        let _ = write!(key, "\u{0}{name}");
        for segment in searcher.segment_readers() {
            let _ = write!(
                key,
                " {}:{:?}",
                segment.segment_id().uuid_string(),
                segment.delete_opstamp()
            );
        }
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_answers_leave_when_the_budget_needs_room() {
        let answer = |n: u64| serde_json::json!({ "n": n, "pad": "x".repeat(100) });
        let cache = RequestCache::new(2000);
        for n in 0..30 {
            cache.put(format!("key {n}"), &answer(n));
        }
        assert!(cache.bytes() <= 2000);
        assert!(cache.get("key 0").is_none(), "the oldest left");
        assert_eq!(cache.get("key 29").unwrap()["n"], 29);
        assert_eq!(cache.hits_and_misses(), (1, 1));
        // Too large for its share of the budget: not kept.
        cache.put("big".into(), &serde_json::json!("y".repeat(1000)));
        assert!(cache.get_text("big").is_none());
    }
}
