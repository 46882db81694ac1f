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
use crate::ingest::demo::{demo_format, generate, DemoConfig};
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
    let (data_dir, if_empty) = match command.target {
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
        DemoTarget::DataDir { data_dir, if_empty } => (data_dir, if_empty),
    };
    let engine = Arc::new(EmbeddedEngine::open(&data_dir)?);
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
    let mut sink = Counting::new(engine.sink(OnExistingId::KeepExisting), progress.clone());
    let format = demo_format();
    let mut spare = Vec::with_capacity(format.len());
    let mut failure = None;
    generate(config, |line| {
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
    engine.close_idle_writers(Duration::ZERO, 0)?;
    progress.finish();
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
