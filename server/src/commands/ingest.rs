//! `flowdash ingest`: inputs into the data dir, or to a running server with `--to`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::runtime::Handle;

use super::progress::{Counting, Progress};
use crate::backend::elastic::{ElasticBackend, ElasticConfig, ElasticSink};
use crate::backend::embedded::{EmbeddedEngine, OnExistingId, Retention};
use crate::geo::{EnrichingSink, GeoDatabases, GeoFiles};
use crate::ingest::format::RecordFormat;
use crate::ingest::remote::RemoteIngest;
use crate::ingest::sources::{expand, Input};
use crate::ingest::{ingest_reader, DocSink, IngestLimits, IngestOptions, IngestReport};

/// What `flowdash ingest` is to do, checked and built from its flags by the command line (`cli`).
#[derive(Debug)]
pub struct IngestConfig {
    /// Files, directories, or `-` for stdin, as given.
    pub paths: Vec<String>,
    /// The record format of input without header lines (`None`: the version 2 format).
    pub format: Option<RecordFormat>,
    /// Where the records go.
    pub target: IngestTarget,
    /// The GeoIP and ASN databases that add country and AS fields (data directory and
    /// cluster).
    pub geo: GeoFiles,
    /// Print the final report as JSON on stdout.
    pub json: bool,
}

/// Where `flowdash ingest` writes.
#[derive(Debug)]
pub enum IngestTarget {
    /// A running flowdash server, by its base URL (`--to`).
    Server(String),
    /// The user's cluster (`--es-url`), as the AWS Lambda would write to it.
    Cluster(ElasticConfig),
    /// The embedded engine's data directory, enforcing `retention` after.
    DataDir {
        /// Where the embedded engine keeps its indices.
        data_dir: PathBuf,
        /// Enforced once the inputs are in.
        retention: Option<Retention>,
        /// The memory its index writers may hold together.
        writer_memory_bytes: usize,
    },
}

/// Runs `flowdash ingest`: exit code 1 when some lines were rejected.
pub fn run(config: IngestConfig, runtime: &Handle) -> anyhow::Result<ExitCode> {
    // The HTTP clients (`--to`, `--es-url`) are built here, outside any async task: they
    // need the runtime's context to find its reactor and timers.
    let _context = runtime.enter();
    let options = IngestOptions {
        format: config.format,
        // The user's own files: a month of flows gzipped expands far beyond what a request
        // body to a server may, and reading it is streamed, so it may expand as far as it
        // does. (A server bounds the bodies sent to it with its own limits.)
        limits: IngestLimits {
            max_decompressed_bytes: u64::MAX,
            ..IngestLimits::default()
        },
    };
    // Checked before anything is read: a wrong file is said at once.
    let geo = config.geo.open()?;
    let inputs = expand(&config.paths)?;
    let total: Option<u64> = inputs.iter().map(Input::size).sum();
    let progress = Progress::new(total);
    let started = Instant::now();
    let report = match &config.target {
        IngestTarget::Server(url) => send(url, &inputs, &options, runtime, &progress)?,
        IngestTarget::Cluster(cluster) => {
            let backend = ElasticBackend::new(cluster)?;
            let sink = ElasticSink::new(backend, runtime.clone());
            match geo {
                Some(databases) => read_all(
                    EnrichingSink::new(sink, databases),
                    &inputs,
                    &options,
                    &progress,
                )?,
                None => read_all(sink, &inputs, &options, &progress)?,
            }
        }
        IngestTarget::DataDir {
            data_dir,
            retention,
            writer_memory_bytes,
        } => store(
            data_dir,
            *retention,
            *writer_memory_bytes,
            geo,
            &inputs,
            &options,
            &progress,
        )?,
    };
    progress.finish();
    let elapsed = started.elapsed();
    if config.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    print_summary(&report, elapsed);
    Ok(if report.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads every input into `sink`, which commits every few seconds so that a run that is
/// killed keeps what it had done.
fn read_all(
    sink: impl DocSink,
    inputs: &[Input],
    options: &IngestOptions,
    progress: &Progress,
) -> anyhow::Result<IngestReport> {
    let mut sink = Counting::new(sink, progress.clone());
    let mut report = IngestReport::default();
    for input in inputs {
        let name = input.name();
        let reader = input.open().with_context(|| name.clone())?;
        let reader = progress.bar.wrap_read(reader);
        ingest_reader(Some(&name), reader, options, &mut sink, &mut report)?;
    }
    report.record(sink.flush()?);
    Ok(report)
}

fn store(
    data_dir: &Path,
    retention: Option<Retention>,
    writer_memory_bytes: usize,
    geo: Option<Arc<GeoDatabases>>,
    inputs: &[Input],
    options: &IngestOptions,
    progress: &Progress,
) -> anyhow::Result<IngestReport> {
    let engine = Arc::new(EmbeddedEngine::open(data_dir)?);
    engine.set_writer_memory(writer_memory_bytes);
    engine.set_geo_databases(geo);
    let report = read_all(
        engine.sink(OnExistingId::KeepExisting),
        inputs,
        options,
        progress,
    )?;
    progress.bar.set_message("merging segments");
    engine.close_idle_writers(Duration::ZERO, 0)?;
    if let Some(retention) = retention {
        let retained =
            engine.enforce_retention(retention, chrono::Utc::now().timestamp_millis())?;
        retained.log(retention);
    }
    Ok(report)
}

fn send(
    url: &str,
    inputs: &[Input],
    options: &IngestOptions,
    runtime: &Handle,
    progress: &Progress,
) -> anyhow::Result<IngestReport> {
    let remote = RemoteIngest::new(url)?;
    let mut report = IngestReport::default();
    for input in inputs {
        let name = input.name();
        let reader = progress
            .bar
            .wrap_read(input.open().with_context(|| name.clone())?);
        remote.send(runtime, &name, reader, options, &mut report, &|lines| {
            progress.add_records(lines)
        })?;
    }
    Ok(report)
}

fn print_summary(report: &IngestReport, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let records = report.accepted + report.rejected + report.skipped;
    let peak = peak_memory_bytes()
        .map(|bytes| format!(", peak memory {} MiB", bytes >> 20))
        .unwrap_or_default();
    eprintln!(
        "ingested {} records in {:.1}s ({:.0} records/s{peak}): {} accepted, {} rejected, {} skipped (already stored or control messages)",
        records,
        seconds,
        records as f64 / seconds,
        report.accepted,
        report.rejected,
        report.skipped
    );
    for error in &report.errors {
        let source = error.source.as_deref().unwrap_or("input");
        eprintln!("  {source}:{}: {}", error.line, error.reason);
    }
    if report.errors_not_listed > 0 {
        eprintln!("  ... and {} more rejected lines", report.errors_not_listed);
    }
}

/// The most memory this process has held (its peak resident set), where the system says.
fn peak_memory_bytes() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` fills the struct it is given and touches nothing else.
    let done = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if done != 0 {
        return None;
    }
    // SAFETY: it succeeded, so the struct is filled.
    let max_rss_kib = unsafe { usage.assume_init() }.ru_maxrss;
    u64::try_from(max_rss_kib)
        .ok()
        .filter(|&kib| kib > 0)
        .map(|kib| kib * 1024)
}
