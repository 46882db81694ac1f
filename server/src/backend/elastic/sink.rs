//! Flow documents into the cluster with `_bulk`, as the AWS Lambda writes them (same index
//! names, same `_id`s). `create` actions make re-ingestion idempotent (a 409 is a duplicate);
//! 429s and 5xx answers are retried with backoff; every other failure is reported.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::runtime::Handle;

use super::ElasticBackend;
use crate::ingest::document::FlowDoc;
use crate::ingest::{DocSink, SinkError, SinkOutcome};

const BATCH_DOCS: usize = 2000;
const BATCH_BYTES: usize = 8 << 20;
const ATTEMPTS: u32 = 6;

/// Writes ingested documents to the cluster with `_bulk`, in batches of up to 2,000
/// documents or 8 MiB, retrying refused batches.
pub struct ElasticSink {
    backend: ElasticBackend,
    runtime: Handle,
    pending: Vec<FlowDoc>,
    pending_bytes: usize,
    touched: BTreeSet<String>,
    outcome: SinkOutcome,
}

impl ElasticSink {
    /// A sink on `backend`; `runtime` runs its requests from the ingesting thread.
    pub fn new(backend: ElasticBackend, runtime: Handle) -> ElasticSink {
        ElasticSink {
            backend,
            runtime,
            pending: Vec::new(),
            pending_bytes: 0,
            touched: BTreeSet::new(),
            outcome: SinkOutcome::default(),
        }
    }

    fn send_pending(&mut self) -> Result<(), SinkError> {
        let mut docs = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let needs_type = self
            .runtime
            .block_on(self.backend.version())
            .map_err(|e| SinkError(e.to_string()))?
            .needs_type();
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=ATTEMPTS {
            if docs.is_empty() {
                return Ok(());
            }
            let mut ndjson = Vec::with_capacity(docs.len() * 600);
            for doc in &docs {
                let mut action = json!({ "_index": doc.index, "_id": doc.id });
                if needs_type {
                    action["_type"] = json!("_doc");
                }
                ndjson.extend(json!({ "create": action }).to_string().into_bytes());
                ndjson.push(b'\n');
                doc.write_cluster_source_json(&mut ndjson);
                ndjson.push(b'\n');
                self.touched.insert(doc.index.to_string());
            }
            let (status, answer) = self
                .runtime
                .block_on(self.backend.bulk(ndjson))
                .map_err(|e| SinkError(e.to_string()))?;
            if matches!(status, 429 | 502 | 503 | 504) {
                if attempt == ATTEMPTS {
                    return Err(SinkError(format!(
                        "the cluster kept refusing bulk writes (HTTP {status})"
                    )));
                }
                tracing::warn!(status, attempt, "bulk request refused, retrying");
                std::thread::sleep(delay);
                delay *= 2;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(SinkError(format!(
                    "bulk request failed (HTTP {status}): {answer}"
                )));
            }
            let items = answer
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let mut retry = Vec::new();
            for (doc, item) in docs.into_iter().zip(items) {
                let result = item
                    .get("create")
                    .or_else(|| item.get("index"))
                    .cloned()
                    .unwrap_or_default();
                match result.get("status").and_then(Value::as_u64).unwrap_or(0) {
                    200 | 201 => self.outcome.stored += 1,
                    409 => self.outcome.duplicates += 1,
                    429 | 503 => retry.push(doc),
                    other => {
                        self.outcome.failed += 1;
                        if self.outcome.failures.len() < 100 {
                            let reason = result
                                .pointer("/error/reason")
                                .and_then(Value::as_str)
                                .unwrap_or("unknown error");
                            self.outcome.failures.push(format!(
                                "document {} ({}): HTTP {other}: {reason}",
                                doc.id, doc.index
                            ));
                        }
                    }
                }
            }
            docs = retry;
            if !docs.is_empty() {
                if attempt == ATTEMPTS {
                    return Err(SinkError(format!(
                        "{} documents were still refused after {ATTEMPTS} attempts",
                        docs.len()
                    )));
                }
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
        Ok(())
    }
}

impl DocSink for ElasticSink {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        self.pending_bytes += doc.message.as_ref().map_or(200, |m| m.len() * 3);
        self.pending.push(doc);
        if self.pending.len() >= BATCH_DOCS || self.pending_bytes >= BATCH_BYTES {
            self.send_pending()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        self.send_pending()?;
        let touched: Vec<String> = std::mem::take(&mut self.touched).into_iter().collect();
        self.runtime
            .block_on(self.backend.refresh(&touched))
            .map_err(|e| SinkError(e.to_string()))?;
        Ok(std::mem::take(&mut self.outcome))
    }
}
