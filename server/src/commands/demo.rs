//! `flowdash demo`: synthetic traffic into the store, or into a flow-log file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use flate2::write::GzEncoder;

use super::progress::{Counting, Progress};
use crate::backend::embedded::{EmbeddedEngine, OnExistingId};
use crate::ingest::demo::{demo_format, generate, DemoConfig, LiveDemo};
use crate::ingest::document::{EventContext, FlowDoc};
use crate::ingest::parse::parse_record;
use crate::ingest::{recycle, DocSink, IngestReport};

/// What `flowdash demo` is to do, checked and built from its flags by the command line (`cli`).
#[derive(Debug)]
pub struct DemoCommandConfig {
    /// Number of flow records.
    pub flows: u64,
    /// Hours of traffic, ending now.
    pub hours: u32,
    /// Random seed: the same seed gives the same traffic.
    pub seed: u64,
    /// Where the records go.
    pub target: DemoTarget,
}

/// Where `flowdash demo` writes.
#[derive(Debug)]
pub enum DemoTarget {
    /// Flow-log text with a header line (gzip when the name ends in `.gz`).
    File(PathBuf),
    /// The embedded engine's data directory.
    DataDir {
        /// Where the embedded engine keeps its indices.
        data_dir: PathBuf,
        /// Do nothing when the store already holds flows.
        if_empty: bool,
        /// The memory its index writers may hold together.
        writer_memory_bytes: usize,
    },
}

/// Runs `flowdash demo`.
pub fn run(command: DemoCommandConfig) -> anyhow::Result<ExitCode> {
    let config = DemoConfig {
        flows: command.flows,
        hours: command.hours,
        end_ms: chrono::Utc::now().timestamp_millis(),
        seed: command.seed,
    };
    let started = Instant::now();
    let (data_dir, if_empty, writer_memory_bytes) = match command.target {
        DemoTarget::File(path) => {
            write_file(&config, &path)?;
            eprintln!(
                "wrote {} records to {} in {:.1}s",
                config.flows,
                path.display(),
                started.elapsed().as_secs_f64()
            );
            return Ok(ExitCode::SUCCESS);
        }
        DemoTarget::DataDir {
            data_dir,
            if_empty,
            writer_memory_bytes,
        } => (data_dir, if_empty, writer_memory_bytes),
    };
    let engine = Arc::new(EmbeddedEngine::open(&data_dir)?);
    engine.set_writer_memory(writer_memory_bytes);
    if if_empty && engine.indices().iter().any(|i| i.stats().docs > 0) {
        eprintln!(
            "the store in {} already holds flows; not generating demo data",
            data_dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let report = store(&engine, &config)?;
    eprintln!(
        "generated {} demo records over the last {} hours into {} in {:.1}s ({} stored)",
        config.flows,
        config.hours,
        data_dir.display(),
        started.elapsed().as_secs_f64(),
        report.accepted
    );
    Ok(ExitCode::SUCCESS)
}

/// Generates into the embedded engine through the same parser and documents as ingestion.
pub fn store(engine: &Arc<EmbeddedEngine>, config: &DemoConfig) -> anyhow::Result<IngestReport> {
    let progress = Progress::new(None);
    let sink = Counting::new(engine.sink(OnExistingId::KeepExisting), progress.clone());
    let report = store_lines(sink, |emit| generate(config, emit))?;
    engine.close_idle_writers(Duration::ZERO, 0)?;
    progress.finish();
    Ok(report)
}

/// Adds the live demo's records of the seconds `[from_s, to_s)` to the embedded engine, for
/// `flowdash serve --demo-follow`; they are searchable when this returns.
pub fn follow(
    engine: &Arc<EmbeddedEngine>,
    live: &mut LiveDemo,
    from_s: i64,
    to_s: i64,
) -> anyhow::Result<IngestReport> {
    let sink = engine.sink(OnExistingId::KeepExisting);
    store_lines(sink, |emit| live.generate(from_s, to_s, emit))
}

/// Parses the lines of [`crate::ingest::demo::DEMO_FORMAT`] that `produce` emits into
/// documents, as ingestion does, and writes them to `sink`, then flushes it.
fn store_lines(
    mut sink: impl DocSink,
    produce: impl FnOnce(&mut dyn FnMut(&str)),
) -> anyhow::Result<IngestReport> {
    let format = demo_format();
    let mut spare = Vec::with_capacity(format.len());
    let mut failure = None;
    produce(&mut |line| {
        if failure.is_some() {
            return;
        }
        let mut values = recycle(std::mem::take(&mut spare));
        let doc = parse_record(&format, line, &mut values)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|()| {
                FlowDoc::from_record(&format, &values, line, &EventContext::default())
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .and_then(|doc| sink.write(doc).map_err(|e| anyhow::anyhow!("{e}")));
        if let Err(error) = doc {
            failure = Some(error.context(format!("demo record `{line}`")));
        }
        spare = recycle(values);
    });
    if let Some(error) = failure {
        return Err(error);
    }
    let mut report = IngestReport::default();
    report.record(sink.flush()?);
    Ok(report)
}

fn write_file(config: &DemoConfig, path: &std::path::Path) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| path.display().to_string())?;
    let mut out: Box<dyn Write> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufWriter::new(GzEncoder::new(
            file,
            flate2::Compression::fast(),
        )))
    } else {
        Box::new(BufWriter::new(file))
    };
    writeln!(out, "{}", demo_format().header())?;
    let mut result = Ok(());
    generate(config, |line| {
        if result.is_ok() {
            result = writeln!(out, "{line}");
        }
    });
    result?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::backend::embedded::search::search_at;

    #[test]
    fn following_adds_the_seconds_since_the_last_round_searchable_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Arc::new(EmbeddedEngine::open(dir.path()).unwrap());
        let mut live = LiveDemo::new(1, 120);
        let start = 1_583_535_600; // 2020-03-06 23:00 UTC
        let first = follow(&engine, &mut live, start, start + 60).unwrap();
        let second = follow(&engine, &mut live, start + 60, start + 300).unwrap();
        assert!(first.accepted > 0 && second.accepted > first.accepted);
        // About 120 a minute for 5 minutes, as the day's rhythm weighs this hour (0.4–1.6).
        let stored = first.accepted + second.accepted;
        assert!((240..=960).contains(&stored), "{stored}");
        let answer = search_at(
            &engine,
            "cwl-*",
            &json!({ "size": 0, "track_total_hits": true, "aggs": {
                "first": { "min": { "field": "@timestamp" } },
                "last": { "max": { "field": "@timestamp" } } } }),
            (start + 300) * 1000,
        )
        .unwrap();
        assert_eq!(answer["hits"]["total"]["value"], stored);
        // Each record starts in the second it was made for, or up to 4 s before it.
        let first_ms = answer["aggregations"]["first"]["value"].as_f64().unwrap();
        let last_ms = answer["aggregations"]["last"]["value"].as_f64().unwrap();
        assert!(first_ms >= ((start - 4) * 1000) as f64, "{first_ms}");
        assert!(last_ms < ((start + 300) * 1000) as f64, "{last_ms}");
    }
}
