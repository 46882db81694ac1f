//! The top conversations' sieve (sieve.rs) against answers computed from the records: flows
//! of three days (three indices), a few conversations carrying most bytes among thousands of
//! one-flow ones, and flows without a port, which are in no conversation.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use serde_json::{json, Value as Json};

use super::super::super::search_at;
use crate::backend::embedded::message_words::tokenizer::message_analyzer;
use crate::backend::embedded::schema::{FlowSchema, CONVERSATION, MESSAGE_TOKENIZER};
use crate::backend::embedded::{conversation, EmbeddedEngine, OnExistingId};
use crate::ingest::document::FlowDoc;
use crate::ingest::DocSink;

/// 2020-03-06T00:00:00Z.
const DAY: i64 = 1_583_452_800_000;
const NOW: i64 = DAY + 86_400_000;

/// One flow: source, destination, port (`None` for a record without one), bytes.
type Flow = (Ipv4Addr, Ipv4Addr, Option<i64>, i64);

/// A deterministic stream of numbers (no dependency on a random crate's versions).
struct Numbers(u64);

impl Numbers {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// An engine holding the flows, spread over the two days before [`NOW`] and the day after.
fn engine_with(flows: &[Flow]) -> (tempfile::TempDir, Arc<EmbeddedEngine>) {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    write_flows(&engine, flows, |i| {
        DAY - 86_400_000 + (i as i64 * 7_919_000) % (3 * 86_400_000)
    });
    engine
        .close_idle_writers(std::time::Duration::ZERO, 0)
        .unwrap();
    (dir, engine)
}

/// Ingests the flows, the `i`th at `timestamp(i)`, each into its day's index.
fn write_flows(engine: &Arc<EmbeddedEngine>, flows: &[Flow], timestamp: impl Fn(usize) -> i64) {
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    for (i, (source, destination, port, bytes)) in flows.iter().enumerate() {
        let timestamp = timestamp(i);
        let day = chrono::DateTime::from_timestamp_millis(timestamp).unwrap();
        let mut record = json!({
            "@timestamp": timestamp, "version": 2, "action": "ACCEPT",
            "srcaddr": source.to_string(), "dstaddr": destination.to_string(),
            "protocol": 6, "bytes": bytes, "packets": 1 + bytes / 1000,
        });
        if let Some(port) = port {
            record["dstport"] = json!(port);
        }
        let index = format!("cwl-{}", day.format("%Y.%m.%d"));
        let id = format!("flow-{i}");
        let doc = FlowDoc::from_source(&index, Some(&id), record.as_object().unwrap().clone());
        sink.write(doc.unwrap()).unwrap();
    }
    assert_eq!(sink.flush().unwrap().stored as usize, flows.len());
}

/// `light` one-flow conversations with a few hundred bytes, and `heavy` conversations of
/// about a megabyte a flow, the first with `flows` flows, each next with 3 more; every
/// tenth light record has no port.
fn traffic(heavy: u32, flows: u32, light: u32, seed: u64) -> Vec<Flow> {
    let mut numbers = Numbers(seed);
    let mut all = Vec::new();
    for conversation in 0..heavy {
        for _ in 0..flows + 3 * conversation {
            all.push((
                Ipv4Addr::from(0x0a00_0000 + conversation),
                Ipv4Addr::from(0x0a01_0000 + conversation),
                Some(5432),
                1_000_000 + numbers.below(1000) as i64,
            ));
        }
    }
    for i in 0..light {
        all.push((
            Ipv4Addr::from(0x0a02_0000 + numbers.below(1 << 16) as u32),
            Ipv4Addr::from(0xcb00_7100 + numbers.below(256) as u32),
            (i % 10 != 0).then(|| 1024 + numbers.below(60_000) as i64),
            100 + numbers.below(900) as i64,
        ));
    }
    // Heavy and light flows interleaved, as they arrive.
    for i in (1..all.len()).rev() {
        all.swap(i, numbers.below(i as u64 + 1) as usize);
    }
    all
}

/// The best `size` conversations by bytes (`by_bytes`) or by flows, ties by key, as
/// `(key, flows, bytes)`, and the flows of the others.
fn expected(flows: &[Flow], by_bytes: bool, size: usize) -> (Vec<(Json, u64, i64)>, u64) {
    let mut all: HashMap<(Ipv4Addr, Ipv4Addr, i64), (u64, i64)> = HashMap::new();
    for (source, destination, port, bytes) in flows {
        if let Some(port) = port {
            let entry = all.entry((*source, *destination, *port)).or_default();
            entry.0 += 1;
            entry.1 += bytes;
        }
    }
    let rank = |v: &(u64, i64)| if by_bytes { v.1 } else { v.0 as i64 };
    let mut sorted: Vec<_> = all.into_iter().collect();
    sorted.sort_by(|a, b| rank(&b.1).cmp(&rank(&a.1)).then(a.0.cmp(&b.0)));
    let other = sorted[size..].iter().map(|(_, (count, _))| count).sum();
    let best = sorted[..size]
        .iter()
        .map(|((source, destination, port), (count, bytes))| {
            let key = json!([source.to_string(), destination.to_string(), port, 6]);
            (key, *count, *bytes)
        })
        .collect();
    (best, other)
}

/// The engine's top conversations, in the order of [`expected`], and `sum_other_doc_count`.
fn top_conversations(
    engine: &EmbeddedEngine,
    by_bytes: bool,
    size: usize,
) -> (Vec<(Json, u64, i64)>, u64) {
    let order = if by_bytes {
        json!([{ "bytes": "desc" }, { "_key": "asc" }])
    } else {
        json!([{ "_count": "desc" }, { "_key": "asc" }])
    };
    let body = json!({
        "size": 0,
        "aggs": { "conversations": {
            "multi_terms": {
                // Not in the digest's order: the sieve serves the fields in any order.
                "terms": [ { "field": "srcaddr" }, { "field": "dstaddr" },
                           { "field": "dstport" }, { "field": "protocol" } ],
                "order": order, "size": size
            },
            "aggs": { "bytes": { "sum": { "field": "bytes" } } }
        } }
    });
    let answer = search_at(engine, "cwl-*", &body, NOW).unwrap();
    let agg = &answer["aggregations"]["conversations"];
    let buckets = agg["buckets"].as_array().unwrap();
    let best = buckets
        .iter()
        .map(|b| {
            let bytes = b["bytes"]["value"].as_f64().unwrap() as i64;
            (b["key"].clone(), b["doc_count"].as_u64().unwrap(), bytes)
        })
        .collect();
    (best, agg["sum_other_doc_count"].as_u64().unwrap())
}

#[test]
fn the_top_conversations_group_only_the_flows_that_can_be_among_them() {
    let flows = traffic(30, 40, 20_000, 7);
    let (_dir, engine) = engine_with(&flows);
    for by_bytes in [true, false] {
        let before = engine.sieved_searches();
        let got = top_conversations(&engine, by_bytes, 10);
        assert_eq!(got, expected(&flows, by_bytes, 10), "by bytes: {by_bytes}");
        let after = engine.sieved_searches();
        assert_eq!(after.0, before.0 + 1, "the search was sieved");
        assert_eq!(after.1, before.1, "the best had bins of their own");
    }
}

#[test]
fn a_sieve_that_may_have_left_out_a_best_conversation_is_widened() {
    // Conversations chosen by the bin their digest falls in (see sieve.rs): 300 bins of five
    // two-flow conversations each (10 flows a bin), twenty four-flow conversations with a bin
    // of their own, and a thousand one-flow ones. The first pass groups the 300 crowded bins,
    // where the tenth best has 2 flows; the bins left out reach 4, so they may hold better
    // ones, and do. The widened sieve groups every bin of 2 flows or more.
    let mut numbers = Numbers(3);
    let mut by_bin: HashMap<u64, Vec<(Ipv4Addr, Ipv4Addr, i64)>> = HashMap::new();
    while by_bin.len() < 2_000 || by_bin.values().filter(|c| c.len() >= 5).count() < 300 {
        let conversation = (
            Ipv4Addr::from(0x0a02_0000 + numbers.below(1 << 16) as u32),
            Ipv4Addr::from(0xcb00_7100 + numbers.below(256) as u32),
            1024 + numbers.below(60_000) as i64,
        );
        let (source, destination, port) = conversation;
        let digest = conversation::digest(
            source.to_ipv6_mapped(),
            destination.to_ipv6_mapped(),
            port,
            6,
        );
        by_bin
            .entry(super::sieve::bin(digest as u64) as u64)
            .or_default()
            .push(conversation);
    }
    let mut bins: Vec<_> = by_bin.into_values().collect();
    bins.sort();
    let (crowded, alone): (Vec<_>, Vec<_>) = bins.into_iter().partition(|c| c.len() >= 5);
    let mut flows = Vec::new();
    let mut add = |(source, destination, port): (Ipv4Addr, Ipv4Addr, i64), times: usize| {
        for _ in 0..times {
            flows.push((source, destination, Some(port), 500));
        }
    };
    for bin in &crowded[..300] {
        for conversation in &bin[..5] {
            add(*conversation, 2);
        }
    }
    for (i, bin) in alone.iter().take(1_020).enumerate() {
        add(bin[0], if i < 20 { 4 } else { 1 });
    }
    let (_dir, engine) = engine_with(&flows);
    let before = engine.sieved_searches();
    let got = top_conversations(&engine, false, 10);
    let want = expected(&flows, false, 10);
    assert!(want.0.iter().all(|(_, count, _)| *count == 4), "{want:?}");
    assert_eq!(got, want);
    let after = engine.sieved_searches();
    assert_eq!(after, (before.0 + 1, before.1 + 1), "sieved, then widened");
}

/// A day as flowdash wrote it before conversation digests: its schema and segments lack them.
fn day_without_digests(dir: &std::path::Path, name: &str, flows: &[(Flow, i64)]) {
    let current = FlowSchema::new();
    let mut older = tantivy::schema::Schema::builder();
    for (_, entry) in current.schema.fields() {
        if entry.name() != CONVERSATION {
            older.add_field(entry.clone());
        }
    }
    let schema = older.build();
    let path = dir.join("indices").join(name);
    std::fs::create_dir_all(&path).unwrap();
    let index = tantivy::Index::create_in_dir(&path, schema.clone()).unwrap();
    index
        .tokenizers()
        .register(MESSAGE_TOKENIZER, message_analyzer());
    let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
    let field = |name: &str| schema.get_field(name).unwrap();
    for (n, ((source, destination, port, bytes), timestamp)) in flows.iter().enumerate() {
        let id = format!("{name}-{n}");
        let mut doc = tantivy::TantivyDocument::default();
        doc.add_text(field("_id"), &id);
        doc.add_u64(field("_id_hash"), crate::ingest::document::id_hash(&id));
        doc.add_date(
            field("@timestamp"),
            tantivy::DateTime::from_timestamp_millis(*timestamp),
        );
        doc.add_ip_addr(field("srcaddr"), source.to_ipv6_mapped());
        doc.add_ip_addr(field("dstaddr"), destination.to_ipv6_mapped());
        doc.add_i64(field("dstport"), port.unwrap());
        doc.add_i64(field("protocol"), 6);
        doc.add_i64(field("bytes"), *bytes);
        writer.add_document(doc).unwrap();
    }
    writer.commit().unwrap();
}

#[test]
fn flows_written_before_digests_may_add_to_any_conversation() {
    // One conversation has two flows on a day written before digests (200 bytes) and one
    // since (100 bytes): 300 in all, the best. A bin of its own holds only its 100 bytes,
    // and the first bins grouped are those of five 250-byte conversations and a 280-byte
    // one. Its older flows are grouped, as every flow without a digest is, and found alone
    // they total 200, less than 280: the bins left out are bounded with them added.
    let best = (
        Ipv4Addr::new(10, 0, 0, 1),
        Ipv4Addr::new(10, 0, 0, 2),
        Some(443),
    );
    let flow = |(source, destination, port): (Ipv4Addr, Ipv4Addr, Option<i64>), bytes| {
        (source, destination, port, bytes)
    };
    let dir = tempfile::tempdir().unwrap();
    let older: Vec<(Flow, i64)> = (0..2)
        .map(|n| (flow(best, 100), DAY - 86_400_000 + n))
        .collect();
    day_without_digests(dir.path(), "cwl-2020.03.05", &older);
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let mut newer = vec![flow(best, 100)];
    newer.push(flow(
        (
            Ipv4Addr::new(10, 0, 1, 1),
            Ipv4Addr::new(10, 0, 1, 2),
            Some(22),
        ),
        280,
    ));
    for n in 0..5 {
        let other = (
            Ipv4Addr::new(10, 0, 2, n),
            Ipv4Addr::new(10, 0, 3, n),
            Some(80),
        );
        newer.push(flow(other, 250));
    }
    write_flows(&engine, &newer, |n| DAY + n as i64);
    let mut all: Vec<Flow> = older.into_iter().map(|(flow, _)| flow).collect();
    all.extend(newer);
    let (got, other) = top_conversations(&engine, true, 1);
    assert_eq!((got.clone(), other), expected(&all, true, 1));
    assert_eq!(got[0].2, 300, "{got:?}");
    assert_eq!(engine.sieved_searches(), (1, 1), "sieved, then widened");
}

#[test]
fn a_sieve_is_not_tried_when_flows_without_a_digest_weigh_as_much_as_a_bin() {
    // A day written before digests holds 45 one-flow conversations; the day after, twelve
    // conversations of 3 to 36 flows among one-flow ones. The bins grouped first would total
    // 3 flows at least, and the older flows, which may add to any conversation, 45: no bin
    // could be left out, so the search groups everything in one pass, as before.
    let dir = tempfile::tempdir().unwrap();
    let older: Vec<(Flow, i64)> = traffic(0, 0, 60, 5)
        .into_iter()
        .filter(|flow| flow.2.is_some())
        .take(45)
        .enumerate()
        .map(|(n, flow)| (flow, DAY - 86_400_000 + n as i64))
        .collect();
    day_without_digests(dir.path(), "cwl-2020.03.05", &older);
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let newer = traffic(12, 3, 20, 9);
    write_flows(&engine, &newer, |n| DAY + n as i64);
    let mut all: Vec<Flow> = older.into_iter().map(|(flow, _)| flow).collect();
    all.extend(newer);
    assert_eq!(
        top_conversations(&engine, false, 3),
        expected(&all, false, 3)
    );
    assert_eq!(engine.sieved_searches(), (0, 0), "not sieved");
}

/// `pairs` pairs of conversations towards one destination that share a digest, found by
/// trying sources in turn.
fn conversations_sharing_a_digest(pairs: usize) -> Vec<[(Ipv4Addr, Ipv4Addr, i64); 2]> {
    let destination = Ipv4Addr::new(10, 9, 0, 1);
    let mut seen: HashMap<i64, Ipv4Addr> = HashMap::new();
    let mut found = Vec::new();
    for n in 0u32.. {
        let source = Ipv4Addr::from(0x0a40_0000 + n);
        let digest = conversation::digest(
            source.to_ipv6_mapped(),
            destination.to_ipv6_mapped(),
            443,
            6,
        );
        if let Some(first) = seen.insert(digest, source) {
            found.push([(first, destination, 443), (source, destination, 443)]);
            if found.len() == pairs {
                break;
            }
        }
    }
    found
}

#[test]
fn conversations_sharing_a_digest_are_told_apart() {
    // Among the best conversations, three pairs whose digests are the same: both of the
    // first pair among the best, and beside each of the others a conversation of one flow,
    // or of fewer flows than the best have. Flows of a digest take the bucket of its first
    // flow unless the digest is shared: grouped by digest, each pair would be one bucket.
    let pairs = conversations_sharing_a_digest(3);
    let mut flows = traffic(30, 40, 20_000, 11);
    let mut add = |(source, destination, port): (Ipv4Addr, Ipv4Addr, i64), times: usize| {
        for _ in 0..times {
            flows.push((source, destination, Some(port), 1_000_000));
        }
    };
    add(pairs[0][0], 200);
    add(pairs[0][1], 150);
    add(pairs[1][0], 180);
    add(pairs[1][1], 1);
    add(pairs[2][1], 170);
    add(pairs[2][0], 30);
    let mut numbers = Numbers(5);
    for i in (1..flows.len()).rev() {
        flows.swap(i, numbers.below(i as u64 + 1) as usize);
    }
    let (_dir, engine) = engine_with(&flows);
    // The later searches (of fewer bins: the request cache would answer the same one) use
    // what the first learnt of the segments' digests.
    for (by_bytes, size) in [(true, 10), (false, 10), (true, 9), (false, 8)] {
        let before = engine.sieved_searches();
        let got = top_conversations(&engine, by_bytes, size);
        assert_eq!(
            got,
            expected(&flows, by_bytes, size),
            "by bytes: {by_bytes}"
        );
        assert_eq!(
            engine.sieved_searches().0,
            before.0 + 1,
            "the search was sieved"
        );
    }
}
