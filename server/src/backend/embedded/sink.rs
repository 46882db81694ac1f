//! The embedded engine as a [`DocSink`]: documents wait in one buffer; a full buffer is split
//! by index and each index's documents are written under its writer in turn; a flush commits.
//! `flowdash ingest`, `POST /api/ingest` and `_bulk` all write through it; `_bulk` also asks
//! what happened to each document ([`EmbeddedSink::write_item`]).
//!
//! Splitting a buffer by index is what keeps input spread over many days as cheap as a
//! one-day file: each day's writer takes its documents in long runs, and the writers a buffer
//! needs share the memory budget between them (see [`super::writers`]).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use compact_str::CompactString;

use super::{EmbeddedEngine, FlowIndex, OnExistingId, WriteResult};
use crate::ingest::document::FlowDoc;
use crate::ingest::{DocSink, SinkError, SinkOutcome};

/// Documents buffered before they are split by index and written: enough for long runs per
/// day when a week is shuffled, few enough to be a small part of the writers' budget (about
/// 1.5 kB each).
const BUFFER_DOCS: usize = 8192;

/// Documents handed to a writer at once: a chunk is still in cache when it is converted.
const WRITE_CHUNK: usize = 128;

/// Writes ingested documents to the embedded engine: buffers them, splits the buffer by
/// index, and hands each index's documents to its writer.
pub struct EmbeddedSink {
    engine: Arc<EmbeddedEngine>,
    mode: OnExistingId,
    buffer: Vec<Pending>,
    touched: HashMap<String, Arc<FlowIndex>>,
    outcome: SinkOutcome,
    /// What happened to each document given to [`EmbeddedSink::write_item`], in that order:
    /// `None` until it is written.
    items: Vec<Option<ItemResult>>,
}

/// What happened to one document of `write_item`: its result, or why it could not be written.
pub type ItemResult = Result<WriteResult, String>;

/// A document waiting in the buffer.
struct Pending {
    doc: FlowDoc,
    mode: OnExistingId,
    /// Its place in [`EmbeddedSink::items`] (documents of `write_item` only).
    item: Option<usize>,
}

/// One index's documents out of a buffer, in the order given.
struct Group {
    name: CompactString,
    docs: Vec<FlowDoc>,
    modes: Vec<OnExistingId>,
    items: Vec<Option<usize>>,
}

impl Group {
    /// Ranges of consecutive documents in one mode.
    fn mode_runs(&self) -> Vec<(Range<usize>, OnExistingId)> {
        let mut runs: Vec<(Range<usize>, OnExistingId)> = Vec::new();
        for (at, &mode) in self.modes.iter().enumerate() {
            match runs.last_mut() {
                Some((range, run_mode)) if *run_mode == mode => range.end = at + 1,
                _ => runs.push((at..at + 1, mode)),
            }
        }
        runs
    }
}

/// Splits documents by index, keeping the order of each index's documents.
fn split_by_index(buffer: Vec<Pending>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_name: HashMap<CompactString, usize> = HashMap::new();
    for pending in buffer {
        let at = *by_name.entry(pending.doc.index.clone()).or_insert_with(|| {
            groups.push(Group {
                name: pending.doc.index.clone(),
                docs: Vec::new(),
                modes: Vec::new(),
                items: Vec::new(),
            });
            groups.len() - 1
        });
        let group = &mut groups[at];
        group.modes.push(pending.mode);
        group.items.push(pending.item);
        group.docs.push(pending.doc);
    }
    groups
}

impl EmbeddedSink {
    pub(super) fn new(engine: Arc<EmbeddedEngine>, mode: OnExistingId) -> EmbeddedSink {
        EmbeddedSink {
            engine,
            mode,
            buffer: Vec::new(),
            touched: HashMap::new(),
            outcome: SinkOutcome::default(),
            items: Vec::new(),
        }
    }

    /// The index of that name, opened or created, and kept until the flush commits it.
    fn index(&mut self, name: &str) -> Result<Arc<FlowIndex>, SinkError> {
        if let Some(index) = self.touched.get(name) {
            return Ok(index.clone());
        }
        let index = self
            .engine
            .index_or_create(name)
            .map_err(|e| SinkError(e.to_string()))?;
        self.touched.insert(name.to_owned(), index.clone());
        Ok(index)
    }

    /// Writes every buffered document, index by index. Indices whose writer is open go
    /// first, so that writers the others need room from are done with.
    fn write_buffer(&mut self) -> Result<(), SinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let mut groups: Vec<(Group, Result<Arc<FlowIndex>, SinkError>)> =
            split_by_index(std::mem::take(&mut self.buffer))
                .into_iter()
                .map(|group| {
                    let index = self.index(&group.name);
                    (group, index)
                })
                .collect();
        groups.sort_by_key(
            |(_, index)| !matches!(index, Ok(index) if index.writer_footprint().is_some()),
        );
        let indices: Vec<Arc<FlowIndex>> = groups
            .iter()
            .filter_map(|(_, index)| index.as_ref().ok().cloned())
            .collect();
        let plan = self.engine.plan_writers(&indices);
        let needed: &[Arc<FlowIndex>] = if plan.needed_stay_open { &indices } else { &[] };
        for (group, index) in groups {
            let written = index.and_then(|index| {
                self.engine
                    .make_room_for(&index, plan.indexing_bytes, needed)
                    .map_err(|e| SinkError(e.to_string()))?;
                self.write_group(&index, &group, plan.indexing_bytes)
            });
            if let Err(error) = written {
                // A `_bulk` item answers its own failure; ingestion stops on it.
                if group.items.iter().all(Option::is_none) {
                    return Err(error);
                }
                for &item in group.items.iter().flatten() {
                    if self.items[item].is_none() {
                        self.items[item] = Some(Err(error.0.clone()));
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes one index's documents, in runs of one mode, counting what happened; the
    /// results of `write_item` documents go to their places.
    fn write_group(
        &mut self,
        index: &FlowIndex,
        group: &Group,
        indexing_bytes: usize,
    ) -> Result<(), SinkError> {
        let failed = |e: super::EngineError| SinkError(e.to_string());
        for (run, mode) in group.mode_runs() {
            for start in run.clone().step_by(WRITE_CHUNK) {
                let chunk = start..(start + WRITE_CHUNK).min(run.end);
                let results = index
                    .write(&group.docs[chunk.clone()], mode, indexing_bytes)
                    .map_err(failed)?;
                for (result, item) in results.into_iter().zip(&group.items[chunk]) {
                    match result {
                        WriteResult::Created | WriteResult::Updated => self.outcome.stored += 1,
                        WriteResult::Duplicate => self.outcome.duplicates += 1,
                    }
                    if let Some(item) = *item {
                        self.items[item] = Some(Ok(result));
                    }
                }
            }
        }
        Ok(())
    }

    /// Buffers a document in `mode`, writing the buffer when it is full. Documents of one
    /// index are written in the order given.
    fn add(
        &mut self,
        doc: FlowDoc,
        mode: OnExistingId,
        item: Option<usize>,
    ) -> Result<(), SinkError> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(BUFFER_DOCS);
        }
        self.buffer.push(Pending { doc, mode, item });
        if self.buffer.len() >= BUFFER_DOCS {
            self.write_buffer()?;
        }
        Ok(())
    }

    /// Writes a document in `mode`, after those given before it, and keeps what happens to
    /// it for [`EmbeddedSink::finish_items`] (`_bulk`, whose items each answer on their own).
    pub fn write_item(&mut self, doc: FlowDoc, mode: OnExistingId) -> Result<(), SinkError> {
        self.items.push(None);
        let item = self.items.len() - 1;
        self.add(doc, mode, Some(item))
    }

    /// Deletes the document with this `_id` after the documents given before it. Says whether
    /// it existed; an index that does not exist holds nothing to delete.
    pub fn delete_item(&mut self, index: &str, id: &str) -> Result<bool, SinkError> {
        self.write_buffer()?;
        let target = match self.touched.get(index) {
            Some(target) => target.clone(),
            None => match self.engine.index(index) {
                Some(target) => {
                    self.touched.insert(index.to_owned(), target.clone());
                    target
                }
                None => return Ok(false),
            },
        };
        target.delete(id).map_err(|e| SinkError(e.to_string()))
    }

    /// Writes and commits everything, and answers what happened to each document of
    /// [`EmbeddedSink::write_item`], in order.
    pub fn finish_items(&mut self) -> Result<Vec<ItemResult>, SinkError> {
        self.flush()?;
        Ok(std::mem::take(&mut self.items)
            .into_iter()
            .map(|item| item.unwrap_or_else(|| Err("the document was not written".into())))
            .collect())
    }
}

impl DocSink for EmbeddedSink {
    fn write(&mut self, doc: FlowDoc) -> Result<(), SinkError> {
        self.add(doc, self.mode, None)
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        self.write_buffer()?;
        for index in self.touched.values() {
            index.commit().map_err(|e| SinkError(e.to_string()))?;
        }
        self.touched.clear();
        Ok(std::mem::take(&mut self.outcome))
    }
}
