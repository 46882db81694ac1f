use super::*;
use crate::ingest::{ingest_reader, DocSink, IngestOptions, IngestReport};

fn lines(start: i64, count: usize, action: &str) -> String {
    (0..count)
        .map(|i| {
            let t = start + i as i64 * 60;
            format!(
                "2 123456789012 eni-0a1 10.0.0.{} 10.0.1.1 {} 443 6 5 500 {t} {} {action} OK\n",
                i % 250,
                40000 + i,
                t + 60
            )
        })
        .collect()
}

pub(crate) fn ingest(engine: &Arc<EmbeddedEngine>, text: &str) -> IngestReport {
    let mut sink = engine.sink(OnExistingId::KeepExisting);
    let mut report = IngestReport::default();
    ingest_reader(
        None,
        text.as_bytes(),
        &IngestOptions::default(),
        &mut sink,
        &mut report,
    )
    .unwrap();
    report.record(sink.flush().unwrap());
    report
}

#[test]
fn documents_land_in_daily_indices_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    // 2020-03-06 23:00 UTC, two hours of one record a minute: crosses midnight.
    let text = lines(1_583_535_600, 120, "ACCEPT");
    let report = ingest(&engine, &text);
    assert_eq!(report.accepted, 120);
    let names: Vec<_> = engine.indices().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["cwl-2020.03.06", "cwl-2020.03.07"]);
    assert_eq!(engine.index("cwl-2020.03.06").unwrap().stats().docs, 60);
    let stats = engine.index("cwl-2020.03.07").unwrap().stats();
    assert_eq!(stats.docs, 60);
    assert_eq!(stats.min_ms, Some(1_583_539_200_000));
    engine.close_idle_writers(Duration::ZERO, 0).unwrap();
    drop(engine);

    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    assert_eq!(engine.indices().len(), 2);
    assert_eq!(engine.index("cwl-2020.03.07").unwrap().stats().docs, 60);
    // Ingesting the same data again stores nothing new, even after a restart.
    let report = ingest(&engine, &text);
    assert_eq!((report.accepted, report.skipped), (0, 120));
    let report = ingest(&engine, &lines(1_583_535_600, 130, "ACCEPT"));
    assert_eq!((report.accepted, report.skipped), (10, 120));
}

#[test]
fn overwrite_replaces_the_document_with_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    ingest(&engine, &lines(1_583_535_600, 3, "ACCEPT"));
    let index = engine.index("cwl-2020.03.06").unwrap();
    let mut sink = engine.sink(OnExistingId::Overwrite);
    let mut docs = Vec::new();
    let mut report = IngestReport::default();
    struct Collect<'a>(&'a mut Vec<crate::ingest::document::FlowDoc>);
    impl DocSink for Collect<'_> {
        fn write(
            &mut self,
            doc: crate::ingest::document::FlowDoc,
        ) -> Result<(), crate::ingest::SinkError> {
            self.0.push(doc);
            Ok(())
        }
        fn flush(&mut self) -> Result<crate::ingest::SinkOutcome, crate::ingest::SinkError> {
            Ok(Default::default())
        }
    }
    let text = lines(1_583_535_600, 1, "ACCEPT");
    ingest_reader(
        None,
        text.as_bytes(),
        &IngestOptions::default(),
        &mut Collect(&mut docs),
        &mut report,
    )
    .unwrap();
    for doc in docs {
        sink.write_item(doc, OnExistingId::Overwrite).unwrap();
    }
    let results = sink.finish_items().unwrap();
    assert_eq!(results, [Ok(WriteResult::Updated)]);
    assert_eq!(index.stats().docs, 3);
}

#[test]
fn index_expressions_resolve_like_elasticsearch() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    for name in ["cwl-2020.03.06", "cwl-2020.03.07", "other"] {
        engine.index_or_create(name).unwrap();
    }
    let names = |expr: &str| -> Vec<String> {
        engine
            .resolve(expr)
            .unwrap()
            .iter()
            .map(|i| i.name.clone())
            .collect()
    };
    assert_eq!(names("cwl-*"), ["cwl-2020.03.06", "cwl-2020.03.07"]);
    assert_eq!(names("cwl-*,-cwl-2020.03.06"), ["cwl-2020.03.07"]);
    assert_eq!(names("other,cwl-2020.03.07"), ["other", "cwl-2020.03.07"]);
    assert_eq!(names("_all").len(), 3);
    assert!(names("nothing-*").is_empty());
    assert!(matches!(
        engine.resolve("missing"),
        Err(EngineError::IndexNotFound(_))
    ));
}

#[test]
fn retention_drops_whole_old_days() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    ingest(&engine, &lines(1_583_535_600, 120, "REJECT"));
    // "Now" is 2020-03-08 00:30: keeping one day (newer than 03-07 00:30) drops the 6th only.
    let policy = Retention {
        days: 1,
        rollup_days: None,
    };
    let retained = engine.enforce_retention(policy, 1_583_627_400_000).unwrap();
    assert_eq!(retained.dropped, ["cwl-2020.03.06"]);
    assert!(retained.rolled_up.is_empty());
    assert_eq!(engine.indices().len(), 1);
    assert!(!dir.path().join("indices/cwl-2020.03.06").exists());
}

#[test]
fn index_names_are_validated() {
    for bad in ["", "..", "_x", "-x", "UPPER", "a/b", "a b", "a*", "a,b"] {
        assert!(validate_index_name(bad).is_err(), "{bad:?}");
    }
    for good in ["cwl-2020.03.06", "vpcflow", "logs_x.1"] {
        assert!(validate_index_name(good).is_ok(), "{good:?}");
    }
}

#[test]
fn wildcards() {
    assert!(wildcard_match("cwl-*", "cwl-2020.03.06"));
    assert!(wildcard_match("*", "x"));
    assert!(wildcard_match("c*-2020*06", "cwl-2020.03.06"));
    assert!(!wildcard_match("cwl-*", "xcwl-1"));
    assert!(!wildcard_match("a*b*c", "acb"));
    assert!(wildcard_match("abc", "abc"));
}

/// `days` days of `per_day` records each, one line per record; `shuffled` mixes the days as
/// a file sorted by something else (interface, say) would, else they come in time order.
fn days_of_lines(days: i64, per_day: i64, shuffled: bool) -> String {
    // 2020-03-01 00:00 UTC.
    let start = 1_583_020_800;
    let mut times: Vec<i64> = (0..days * per_day)
        .map(|i| start + (i / per_day) * 86_400 + (i % per_day) * (86_400 / per_day))
        .collect();
    if shuffled {
        // A fixed permutation: multiplication by a number prime to the count.
        let n = times.len();
        let step = (1..n)
            .rev()
            .find(|s| gcd(*s, n) == 1 && s * 3 < n * 2)
            .unwrap_or(1);
        times = (0..n).map(|i| times[(i * step) % n]).collect();
    }
    times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            format!(
                "2 123456789012 eni-0a1 10.0.{}.{} 10.0.1.1 {} 443 6 5 500 {t} {} ACCEPT OK\n",
                (i / 250) % 250,
                i % 250,
                1024 + i % 60_000,
                t + 60
            )
        })
        .collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A sink that notes the most the open writers held after any document.
struct WatchWriters {
    sink: EmbeddedSink,
    engine: Arc<EmbeddedEngine>,
    most_bytes: usize,
    most_open: usize,
}

impl DocSink for WatchWriters {
    fn write(
        &mut self,
        doc: crate::ingest::document::FlowDoc,
    ) -> Result<(), crate::ingest::SinkError> {
        self.sink.write(doc)?;
        let (bytes, open) = self.engine.writers_held();
        self.most_bytes = self.most_bytes.max(bytes);
        self.most_open = self.most_open.max(open);
        Ok(())
    }
    fn flush(&mut self) -> Result<crate::ingest::SinkOutcome, crate::ingest::SinkError> {
        self.sink.flush()
    }
}

/// Ingests `text` with the writers' memory set to `budget`, watching the writers: the
/// report, the most they held and the most open at once.
fn ingest_watching(dir: &Path, text: &str, budget: usize) -> (IngestReport, usize, usize) {
    let engine = Arc::new(EmbeddedEngine::open(dir).unwrap());
    engine.set_writer_memory(budget);
    let mut watch = WatchWriters {
        sink: engine.sink(OnExistingId::KeepExisting),
        engine: engine.clone(),
        most_bytes: 0,
        most_open: 0,
    };
    let mut report = IngestReport::default();
    ingest_reader(
        None,
        text.as_bytes(),
        &IngestOptions::default(),
        &mut watch,
        &mut report,
    )
    .unwrap();
    report.record(watch.flush().unwrap());
    engine.close_idle_writers(Duration::ZERO, 0).unwrap();
    (report, watch.most_bytes, watch.most_open)
}

fn day_counts(dir: &Path) -> Vec<u64> {
    let engine = EmbeddedEngine::open(dir).unwrap();
    engine.indices().iter().map(|i| i.stats().docs).collect()
}

#[test]
fn writers_of_a_shuffled_fortnight_share_the_budget() {
    const MB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let text = days_of_lines(12, 1500, true);
    let (report, most_bytes, most_open) = ingest_watching(dir.path(), &text, 256 * MB);
    assert_eq!((report.accepted, report.rejected), (18_000, 0));
    assert_eq!(day_counts(dir.path()), vec![1500; 12]);
    // Every day has a batch waiting all along: as many writers as may be open are, sharing
    // 256 MB (each alone would take 128 MB).
    assert_eq!(most_open, MAX_OPEN_WRITERS);
    assert!(most_bytes <= 256 * MB, "{} MB", most_bytes / MB);
}

#[test]
fn a_month_in_time_order_keeps_within_a_small_budget() {
    const MB: usize = 1 << 20;
    let dir = tempfile::tempdir().unwrap();
    let text = days_of_lines(30, 700, false);
    let (report, most_bytes, most_open) = ingest_watching(dir.path(), &text, 48 * MB);
    assert_eq!((report.accepted, report.rejected), (21_000, 0));
    assert_eq!(day_counts(dir.path()), vec![700; 30]);
    // Each day's last partial batch waits for the flush, so by the end thirty days are being
    // written, more than 48 MB gives their 16 MB each: they close in turn, and the budget holds.
    // It is checked when a writer opens; the open ones' id sets grow after, by 11 bytes a flow
    // (at most 21 000 flows here).
    let id_growth = 21_000 * 11 * 2;
    assert!(most_bytes <= 48 * MB + id_growth, "{} kB", most_bytes >> 10);
    assert!((1..=3).contains(&most_open), "{most_open}");
}

#[test]
fn another_process_commit_is_seen_without_a_watcher_thread() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let writer = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let docs_seen = |engine: &EmbeddedEngine| -> Vec<u64> {
        engine.indices().iter().map(|i| i.stats().docs).collect()
    };
    ingest(&writer, &lines(1_583_535_600, 10, "ACCEPT"));
    // The first listing after the rescan interval finds the new index...
    std::thread::sleep(RESCAN_INTERVAL + Duration::from_millis(100));
    assert_eq!(docs_seen(&reader), [10]);
    // ...and the next one the other engine's next commit to it.
    ingest(&writer, &lines(1_583_535_600 + 600, 10, "ACCEPT"));
    assert_eq!(docs_seen(&reader), [10]);
    std::thread::sleep(RESCAN_INTERVAL + Duration::from_millis(100));
    assert_eq!(docs_seen(&reader), [20]);
}

/// The `(key, doc_count)` buckets of the terms aggregation `a` in a search answer.
fn term_counts(answer: &serde_json::Value) -> Vec<(String, u64)> {
    answer["aggregations"]["a"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let key = b["key"].as_str().unwrap().to_owned();
            (key, b["doc_count"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn answers_without_hits_are_kept_until_the_data_changes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    ingest(&engine, &lines(1_583_535_600, 10, "ACCEPT"));
    let body =
        serde_json::json!({ "size": 0, "aggs": { "a": { "terms": { "field": "action" } } } });
    let first = search::search(&engine, "cwl-*", &body).unwrap();
    let again = search::search(&engine, "cwl-*", &body).unwrap();
    assert_eq!(term_counts(&first), [("ACCEPT".to_owned(), 10)]);
    assert_eq!(first["aggregations"], again["aggregations"]);
    assert_eq!(engine.request_cache().hits_and_misses(), (1, 1));

    // New flows reach the searchers: the kept answer is not served for them.
    ingest(&engine, &lines(1_583_535_600 + 3_600, 5, "REJECT"));
    let after = search::search(&engine, "cwl-*", &body).unwrap();
    assert_eq!(
        term_counts(&after),
        [("ACCEPT".to_owned(), 10), ("REJECT".to_owned(), 5)]
    );
    assert_eq!(engine.request_cache().hits_and_misses(), (1, 2));

    // Hits, and answers that depend on the moment, are never kept.
    let with_hits = serde_json::json!({ "size": 1 });
    let relative = serde_json::json!({ "size": 0,
        "query": { "range": { "@timestamp": { "gte": "now-100y" } } } });
    // `now` escaped in a query string reads the moment all the same.
    let escaped = |query: &str| serde_json::json!({ "size": 0, "query": { "query_string": { "query": query } } });
    for body in [
        with_hits,
        relative,
        escaped(r"@timestamp:[n\ow-100y TO *]"),
        escaped(r"@timestamp:>=n\ow-100y"),
    ] {
        let first = search::search(&engine, "cwl-*", &body).unwrap();
        assert_eq!(first["hits"]["total"]["value"], 15, "{body}");
        search::search(&engine, "cwl-*", &body).unwrap();
    }
    assert_eq!(engine.request_cache().hits_and_misses(), (1, 2));

    // The word "now" as a value is no date math: that answer is kept.
    let word = serde_json::json!({ "size": 0, "query": { "term": { "action": "now" } } });
    search::search(&engine, "cwl-*", &word).unwrap();
    search::search(&engine, "cwl-*", &word).unwrap();
    assert_eq!(engine.request_cache().hits_and_misses(), (2, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_searches_at_once_share_an_answer_and_a_write_is_seen_after_it() {
    use crate::backend::SearchBackend;
    let dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    ingest(&engine, &lines(1_583_535_600, 10, "ACCEPT"));
    let backend = EmbeddedBackend::new(engine.clone());
    let body = serde_json::json!({ "size": 0, "aggs": {
        "a": { "terms": { "field": "action" } },
        "per_minute": { "date_histogram": { "field": "@timestamp", "fixed_interval": "1m" } } } });
    for round in 0..2 {
        let searches: Vec<_> = (0..16)
            .map(|_| {
                let backend = backend.clone();
                let body = body.clone();
                tokio::spawn(async move { backend.search("cwl-*", body).await })
            })
            .collect();
        let mut answers = Vec::new();
        for search in searches {
            answers.push(search.await.unwrap().unwrap());
        }
        let expected = match round {
            0 => vec![("ACCEPT".to_owned(), 10)],
            _ => vec![("ACCEPT".to_owned(), 10), ("REJECT".to_owned(), 5)],
        };
        for answer in &answers {
            assert_eq!(term_counts(answer), expected, "round {round}");
            assert_eq!(answer["aggregations"], answers[0]["aggregations"]);
        }
        assert_eq!(engine.in_flight().running(), 0);
        // A write reaches the searchers before the next round: every answer after it sees it.
        ingest(&engine, &lines(1_583_535_600 + 3_600, 5, "REJECT"));
    }
    // Sixteen searches a round, two states: each state was searched at least once, and the
    // rest were answered from the cache or by an identical search's run.
    let (hits, misses) = engine.request_cache().hits_and_misses();
    assert!(misses >= 2, "{hits} hits, {misses} misses");
    assert!(
        hits + engine.in_flight().joined() >= 2,
        "{hits} hits, {} joined",
        engine.in_flight().joined()
    );
}

/// Flows between addresses MaxMind's test databases know (and private ones they do not), an
/// hour apart from 2020-03-06 22:00 UTC on: the last days cross midnight.
fn geo_lines(count: usize) -> (String, Vec<(&'static str, &'static str)>) {
    const PAIRS: [(&str, &str); 4] = [
        ("81.2.69.160", "10.0.0.5"),    // GB → private
        ("89.160.20.200", "1.128.0.1"), // SE → AS1221 Telstra
        ("10.0.0.5", "12.81.92.7"),     // private → AS7018 AT&T
        ("10.0.0.6", "10.0.0.7"),       // private → private
    ];
    let pairs: Vec<_> = (0..count).map(|i| PAIRS[i % PAIRS.len()]).collect();
    let text = pairs
        .iter()
        .enumerate()
        .map(|(i, (src, dst))| {
            let t = 1_583_532_000 + i as i64 * 3_600;
            format!(
                "2 123456789012 eni-0a1 {src} {dst} 40000 443 6 5 500 {t} {} ACCEPT OK\n",
                t + 60
            )
        })
        .collect();
    (text, pairs)
}

fn geo_engine(dir: &Path) -> Arc<EmbeddedEngine> {
    let engine = Arc::new(EmbeddedEngine::open(dir).unwrap());
    let files = crate::geo::GeoFiles {
        geoip: Some(crate::geo::tests::test_db("GeoLite2-City-Test.mmdb")),
        asn: Some(crate::geo::tests::test_db("GeoLite2-ASN-Test.mmdb")),
    };
    engine.set_geo_databases(files.open().unwrap());
    engine
}

/// `(key, doc_count)` of the terms on `field` over every index, keys as text.
fn terms_of(engine: &EmbeddedEngine, field: &str, query: serde_json::Value) -> Vec<(String, u64)> {
    let body = serde_json::json!({ "size": 0, "query": query,
        "aggs": { "a": { "terms": { "field": field, "order": { "_key": "asc" } } } } });
    let answer = search::search(engine, "cwl-*", &body).unwrap();
    answer["aggregations"]["a"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            let key = match &b["key"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, b["doc_count"].as_u64().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn geoip_fields_are_added_at_ingest_and_aggregate_filter_and_list_like_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let engine = geo_engine(dir.path());
    let (text, pairs) = geo_lines(50);
    assert_eq!(ingest(&engine, &text).accepted, 50);
    assert!(engine.indices().len() >= 3, "the flows span days");

    // Counted from the records: which pairs have which address.
    let count = |address: &str, at_source: bool| {
        pairs
            .iter()
            .filter(|(src, dst)| {
                if at_source {
                    *src == address
                } else {
                    *dst == address
                }
            })
            .count() as u64
    };
    let all = serde_json::json!({ "match_all": {} });
    assert_eq!(
        terms_of(&engine, "src_country", all.clone()),
        [
            ("GB".to_owned(), count("81.2.69.160", true)),
            ("SE".to_owned(), count("89.160.20.200", true))
        ]
    );
    assert_eq!(
        terms_of(&engine, "dst_asn", all.clone()),
        [
            ("1221".to_owned(), count("1.128.0.1", false)),
            ("7018".to_owned(), count("12.81.92.7", false))
        ]
    );
    assert_eq!(
        terms_of(&engine, "dst_as_org.keyword", all.clone()),
        [
            ("AT&T Services".to_owned(), count("12.81.92.7", false)),
            ("Telstra Pty Ltd".to_owned(), count("1.128.0.1", false))
        ]
    );
    // Filters as Discover and the query bar send them; flows the databases do not know lack
    // the field.
    let gb = serde_json::json!({ "query_string": { "query": "src_country:GB AND dst_asn:*" } });
    assert_eq!(terms_of(&engine, "action", gb), []);
    let se = serde_json::json!({ "query_string": { "query": "src_country:SE AND dst_asn:1221" } });
    assert_eq!(
        terms_of(&engine, "action", se),
        [("ACCEPT".to_owned(), count("89.160.20.200", true))]
    );
    let unknown = serde_json::json!({ "bool": { "must_not": [
        { "exists": { "field": "src_country" } }, { "exists": { "field": "dst_asn" } } ] } });
    assert_eq!(
        terms_of(&engine, "action", unknown),
        [("ACCEPT".to_owned(), count("10.0.0.6", true))]
    );

    // A hit's `_source` carries them.
    let body = serde_json::json!({ "size": 1, "query": { "term": { "dst_asn": 1221 } } });
    let hit = &search::search(&engine, "cwl-*", &body).unwrap()["hits"]["hits"][0]["_source"];
    assert_eq!(
        (&hit["src_country"], &hit["dst_asn"], &hit["dst_as_org"]),
        (
            &serde_json::json!("SE"),
            &serde_json::json!(1221),
            &serde_json::json!("Telstra Pty Ltd")
        )
    );

    // The index pattern lists them as aggregatable, as it lists none in a store without them.
    let listed = |engine: Arc<EmbeddedEngine>| async move {
        let backend = EmbeddedBackend::new(engine);
        let caps = crate::backend::SearchBackend::field_caps(&backend, "cwl-*")
            .await
            .unwrap();
        caps.into_iter()
            .filter(|f| app::model::flow::GEO_FIELDS.contains(&f.name.as_str()))
            .map(|f| (f.name, f.field_type, f.aggregatable))
            .collect::<Vec<_>>()
    };
    let geo = listed(engine.clone()).await;
    // No destination here is in the City test database: no `dst_country` was added.
    let expected = [
        ("dst_as_org", "keyword"),
        ("dst_asn", "long"),
        ("src_as_org", "keyword"),
        ("src_asn", "long"),
        ("src_country", "keyword"),
    ]
    .map(|(name, kind)| (name.to_owned(), kind.to_owned(), true));
    assert_eq!(geo, expected);
    let plain = tempfile::tempdir().unwrap();
    let without = Arc::new(EmbeddedEngine::open(plain.path()).unwrap());
    ingest(&without, &text);
    assert_eq!(listed(without.clone()).await, []);
    assert_eq!(terms_of(&without, "src_country", all), []);
}

fn with_message_words(index: &tantivy::Index) {
    index.tokenizers().register(
        schema::MESSAGE_TOKENIZER,
        message_words::tokenizer::message_analyzer(),
    );
}

/// A day as a flowdash before the GeoIP fields made it: its schema lacks them (and the
/// rollups' flow count and the conversation digests, added after them), and so do its
/// segments. Two flows from 81.2.69.160 (GB in the test database), written through tantivy.
fn older_day(dir: &Path, name: &str, start: i64) -> std::path::PathBuf {
    let current = FlowSchema::new();
    let mut older = tantivy::schema::Schema::builder();
    for (_, entry) in current.schema.fields() {
        let newer = app::model::flow::GEO_FIELDS.contains(&entry.name())
            || [schema::FLOW_COUNT, schema::CONVERSATION].contains(&entry.name());
        if !newer {
            older.add_field(entry.clone());
        }
    }
    let schema = older.build();
    let path = dir.join("indices").join(name);
    std::fs::create_dir_all(&path).unwrap();
    let index = tantivy::Index::create_in_dir(&path, schema.clone()).unwrap();
    with_message_words(&index);
    let mut writer: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
    let field = |name: &str| schema.get_field(name).unwrap();
    for n in 0..2 {
        let id = format!("older-{n}");
        let mut doc = tantivy::TantivyDocument::default();
        doc.add_text(field("_id"), &id);
        doc.add_u64(field("_id_hash"), crate::ingest::document::id_hash(&id));
        doc.add_date(
            field("@timestamp"),
            tantivy::DateTime::from_timestamp_secs(start + n),
        );
        doc.add_ip_addr(field("srcaddr"), "::ffff:81.2.69.160".parse().unwrap());
        doc.add_ip_addr(field("dstaddr"), "::ffff:10.0.0.5".parse().unwrap());
        doc.add_text(field("action"), "REJECT");
        doc.add_text(field("@message"), "an older line REJECT");
        writer.add_document(doc).unwrap();
    }
    writer.commit().unwrap();
    path
}

#[test]
fn days_made_before_the_geoip_fields_get_them_and_their_older_flows_read_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    // 2020-03-06 21:00 UTC, before the new flows of that day.
    let first = older_day(dir.path(), "cwl-2020.03.06", 1_583_528_400);
    let engine = geo_engine(dir.path());
    let meta = std::fs::read_to_string(first.join("meta.json")).unwrap();
    assert!(meta.contains("\"src_as_org\""), "the fields were added");
    let (text, pairs) = geo_lines(8);
    assert_eq!(ingest(&engine, &text).accepted, 8);

    // The older flows lack the fields; the newer ones of the same day have them.
    let newer = |address: &str| pairs.iter().filter(|(src, _)| *src == address).count();
    assert_eq!(
        terms_of(
            &engine,
            "src_country",
            serde_json::json!({ "match_all": {} })
        ),
        [
            ("GB".to_owned(), newer("81.2.69.160") as u64),
            ("SE".to_owned(), newer("89.160.20.200") as u64)
        ]
    );
    let count = |query: serde_json::Value| {
        let body = serde_json::json!({ "size": 0, "query": query });
        search::search(&engine, "cwl-*", &body).unwrap()["hits"]["total"]["value"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(count(serde_json::json!({ "match_all": {} })), 10);
    let missing =
        serde_json::json!({ "bool": { "must_not": { "exists": { "field": "src_country" } } } });
    assert_eq!(
        count(missing),
        2 + pairs
            .iter()
            .filter(|(src, _)| src.starts_with("10."))
            .count() as u64
    );
    // A word of `@message` is looked for in every column, new ones included.
    assert_eq!(
        count(serde_json::json!({ "query_string": { "query": "older" } })),
        2
    );
    let with_address = pairs
        .iter()
        .filter(|(src, dst)| [src, dst].contains(&&"10.0.0.5"))
        .count() as u64;
    let either = serde_json::json!({ "query_string": { "query": "reject OR 10.0.0.5" } });
    assert_eq!(count(either), 2 + with_address);
    let body = serde_json::json!({ "size": 2, "sort": [{ "@timestamp": "asc" }] });
    let hits = search::search(&engine, "cwl-*", &body).unwrap();
    for hit in hits["hits"]["hits"].as_array().unwrap() {
        assert_eq!(hit["_source"]["srcaddr"], "81.2.69.160", "{hit}");
        assert!(hit["_source"].get("src_country").is_none(), "{hit}");
    }

    // Opened again, it is left as it is.
    engine.close_idle_writers(Duration::ZERO, 0).unwrap();
    drop(engine);
    let before = std::fs::read(first.join("meta.json")).unwrap();
    drop(geo_engine(dir.path()));
    assert_eq!(std::fs::read(first.join("meta.json")).unwrap(), before);
}

#[test]
fn an_older_day_another_process_writes_waits_until_it_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let day = older_day(dir.path(), "cwl-2020.03.01", 1_583_020_800);
    older_day(dir.path(), "cwl-2020.03.02", 1_583_107_200);
    let other = tantivy::Index::open_in_dir(&day).unwrap();
    with_message_words(&other);
    let writing: tantivy::IndexWriter = other.writer(15_000_000).unwrap();
    // The day being written stays out until it can be changed; the others are there.
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    let names: Vec<_> = engine.indices().iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, ["cwl-2020.03.02"]);
    assert!(!std::fs::read_to_string(day.join("meta.json"))
        .unwrap()
        .contains("src_country"));
    drop(writing);
    drop(engine);
    let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
    assert_eq!(engine.indices().len(), 2);
    assert!(std::fs::read_to_string(day.join("meta.json"))
        .unwrap()
        .contains("src_country"));
    drop(engine);
    // A day that is broken, not busy, still stops the engine from opening.
    let broken = dir.path().join("indices/cwl-2020.03.03");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("meta.json"), "{ not json").unwrap();
    assert!(EmbeddedEngine::open(dir.path()).is_err());
}

#[test]
fn flows_with_an_as_number_stay_wholly_backed_and_their_words_are_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let engine = geo_engine(dir.path());
    // Every pair but the private one gets a country or an AS; 1221 and 7018 are in no line.
    let (text, pairs) = geo_lines(8);
    ingest(&engine, &text);
    let wholly_backed: u64 = engine
        .indices()
        .iter()
        .map(|index| {
            let message = index.schema().field("@message").unwrap().field;
            let marker = tantivy::query::TermQuery::new(
                tantivy::Term::from_field_text(message, "\n\n"),
                tantivy::schema::IndexRecordOption::Basic,
            );
            index
                .searcher()
                .search(&marker, &tantivy::collector::Count)
                .unwrap() as u64
        })
        .sum();
    assert_eq!(wholly_backed, pairs.len() as u64);
    let count = |query: serde_json::Value| {
        let body = serde_json::json!({ "size": 0, "query": query });
        search::search(&engine, "cwl-*", &body).unwrap()["hits"]["total"]["value"]
            .as_u64()
            .unwrap()
    };
    let with = |address: &str| pairs.iter().filter(|(_, dst)| *dst == address).count() as u64;
    // A word of the line is found; an AS number, which only a column holds, is not.
    assert_eq!(
        count(serde_json::json!({ "match": { "@message": "1.128.0.1" } })),
        with("1.128.0.1")
    );
    assert!(with("1.128.0.1") > 0);
    for word in ["1221", "7018", "70*"] {
        let query = serde_json::json!({ "query_string": { "query": format!("@message:{word}") } });
        assert_eq!(count(query), 0, "{word}");
    }
    assert_eq!(
        count(serde_json::json!({ "term": { "dst_asn": 1221 } })),
        with("1.128.0.1")
    );
}
