//! A progress bar for long ingests: bytes read against the total, records and records/s.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::document::FlowDoc;
use crate::ingest::{DocSink, SinkError, SinkOutcome};

/// The bar plus a record counter the sink increments.
#[derive(Clone)]
pub struct Progress {
    pub bar: ProgressBar,
    records: Arc<AtomicU64>,
    started: Instant,
}

impl Progress {
    /// A bar over `total_bytes` (a spinner when unknown); hidden when stderr is not a terminal.
    pub fn new(total_bytes: Option<u64>) -> Progress {
        let bar = match total_bytes {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
                )
                .expect("valid template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec}) {msg}")
                    .expect("valid template"),
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(5));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress {
            bar,
            records: Arc::new(AtomicU64::new(0)),
            started: Instant::now(),
        }
    }

    pub fn add_records(&self, n: u64) {
        let records = self.records.fetch_add(n, Ordering::Relaxed) + n;
        if records % 4096 < n {
            self.refresh_message(records);
        }
    }

    fn refresh_message(&self, records: u64) {
        let rate = records as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar
            .set_message(format!("{records} records ({rate:.0}/s)"));
    }

    pub fn records(&self) -> u64 {
        self.records.load(Ordering::Relaxed)
    }

    pub fn finish(&self) {
        self.refresh_message(self.records());
        self.bar.finish_and_clear();
    }
}

/// How often a long ingest commits what it has written: a run that is killed keeps what was
/// committed, and a rerun skips it (documents have deterministic ids).
pub const COMMIT_EVERY: Duration = Duration::from_secs(5);

/// Records between two looks at the clock.
const CLOCK_EVERY_RECORDS: u64 = 16_384;

/// Counts records on their way into another sink, and commits it every [`COMMIT_EVERY`].
pub struct Counting<S> {
    inner: S,
    progress: Progress,
    since_clock: u64,
    committed_at: Instant,
    /// What the commits so far stored, until [`DocSink::flush`] reports it.
    committed: SinkOutcome,
}

impl<S> Counting<S> {
    pub fn new(inner: S, progress: Progress) -> Counting<S> {
        Counting {
            inner,
            progress,
            since_clock: 0,
            committed_at: Instant::now(),
            committed: SinkOutcome::default(),
        }
    }
}

impl<S: DocSink> DocSink for Counting<S> {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        self.progress.add_records(1);
        self.inner.write(doc)?;
        self.since_clock += 1;
        if self.since_clock >= CLOCK_EVERY_RECORDS {
            self.since_clock = 0;
            if self.committed_at.elapsed() >= COMMIT_EVERY {
                let outcome = self.inner.flush()?;
                self.committed.add(outcome);
                self.committed_at = Instant::now();
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        let mut outcome = std::mem::take(&mut self.committed);
        outcome.add(self.inner.flush()?);
        self.committed_at = Instant::now();
        Ok(outcome)
    }
}
