//! Rollups: an index's flows consolidated per hour (and, over a few dimensions, per minute),
//! for searches over long time ranges.
//!
//! A day of flows is millions of documents, but a dashboard panel that splits by action,
//! protocol or interface asks about a few thousand combinations per hour. A rollup keeps,
//! for each hour (or minute) and each combination of a cuboid's dimensions, one document: the
//! dimensions' values, the flows it stands for (`_flow_count`) and their summed bytes and
//! packets. The documents are flow documents in every other respect (same schema, same
//! field names), so the engine's queries and aggregations read them unchanged; what a
//! search must do differently (count `_flow_count` instead of documents, read only whole
//! hours from the rollup) is `search/rollup.rs`.
//!
//! A rollup is made from a snapshot of its index and answers only for that snapshot: it
//! records the segments it was made from (ids and deletions), and a searcher whose segments
//! differ (a write, a delete, a merge) gets none. Rollups are made for indices that are not
//! being written (`build.rs`), and live in the index's directory (`rollup-1h/`), so deleting
//! the index deletes them.
//!
//! Rollups may be kept longer than the flows (`--rollup-retain-days`): past the flows'
//! retention an index's raw flows are deleted and its rollup answers alone, for the flows
//! it was made from ([`Rollups::expire_raw`]); `state.json` then records their count and
//! time bounds, which stand for the index's own.

mod build;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tantivy::Searcher;

use super::index::{stats_of, FlowIndex, IndexStats};
use super::schema::FlowSchema;
use super::search::column_cache::ColumnCache;
use super::EngineError;

pub use build::build;

/// The directory of an index's rollups, inside the index's own.
pub const ROLLUP_DIR: &str = "rollup-1h";
/// The resolution of most cuboids.
pub const HOUR_MS: i64 = 3_600_000;
/// The resolution of the cuboid that answers per-minute charts.
pub const MINUTE_MS: i64 = 60_000;
/// An index with fewer flows gets no rollup: reading it raw is cheap already.
pub const MIN_FLOWS: u64 = 20_000;

/// A set of dimensions consolidated together at a resolution. A search is answered from the
/// first cuboid that holds every field it filters or splits on and whose resolution its
/// buckets are whole multiples of, so smaller cuboids come first.
#[derive(Debug)]
pub struct Cuboid {
    /// Its directory within [`ROLLUP_DIR`].
    pub name: &'static str,
    /// The fields kept; flows with the same values of all of them (and the same hour, or
    /// minute) become one rollup document.
    pub dimensions: &'static [&'static str],
    /// The stretch of time one document sums: [`HOUR_MS`] or [`MINUTE_MS`].
    pub resolution_ms: i64,
}

/// Summed in every rollup document (besides the flow count).
pub const SUMMED: &[&str] = &["bytes", "packets"];

/// The cuboids kept, smallest first. On 10M demo flows over 7 days the first holds 33k rows
/// (300 flows each); with destination ports or source addresses a few flows each (most return
/// traffic goes to an ephemeral port, and the internet's sources are many).
pub const CUBOIDS: &[Cuboid] = &[
    Cuboid {
        name: "traffic",
        dimensions: &[
            "version",
            "account_id",
            "interface_id",
            "vpc_id",
            "subnet_id",
            "instance_id",
            "region",
            "az_id",
            "type",
            "protocol",
            "protocol_name",
            "action",
            "log_status",
            "flow_direction",
            "traffic_path",
            "reject_reason",
            "src_country",
            "dst_country",
            "@owner",
            "@log_group",
        ],
        resolution_ms: HOUR_MS,
    },
    Cuboid {
        name: "ports",
        dimensions: &[
            "dstport",
            "protocol",
            "protocol_name",
            "action",
            "log_status",
            "flow_direction",
        ],
        resolution_ms: HOUR_MS,
    },
    Cuboid {
        name: "sources",
        dimensions: &[
            "srcaddr",
            "action",
            "log_status",
            "flow_direction",
            "src_country",
            "src_as_org",
        ],
        resolution_ms: HOUR_MS,
    },
    // Per-minute charts by action, protocol, direction or status (the dashboards' flows over
    // time): on the bench's store, about 8 documents a minute for 1,000 flows (336 KB a day).
    Cuboid {
        name: "minutes",
        dimensions: &[
            "action",
            "protocol",
            "protocol_name",
            "log_status",
            "flow_direction",
        ],
        resolution_ms: MINUTE_MS,
    },
];

/// What `state.json` records: the segments the rollup was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    /// Bumped when what a rollup holds changes meaning; another version is made again.
    version: u32,
    /// Each segment's id and how many of its documents were deleted, sorted.
    segments: Vec<(String, u32)>,
    /// Set when the index's raw flows were deleted and the rollup answers alone: what they
    /// were (count and time bounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    raw_expired: Option<ExpiredFlows>,
}

/// The raw flows a rollup stood for when they were deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ExpiredFlows {
    flows: u64,
    min_ms: i64,
    max_ms: i64,
}

impl ExpiredFlows {
    fn stats(self) -> IndexStats {
        IndexStats {
            docs: self.flows,
            min_ms: Some(self.min_ms),
            max_ms: Some(self.max_ms),
        }
    }
}

const STATE_VERSION: u32 = 1;
/// Cuboids added since rollups of [`STATE_VERSION`] were first made: a rollup may lack them.
const ADDED_SINCE_VERSION_1: &[&str] = &["minutes"];
const STATE_FILE: &str = "state.json";

/// The segments of a snapshot, as [`State`] records them.
fn segments_of(searcher: &Searcher) -> Vec<(String, u32)> {
    let mut segments: Vec<(String, u32)> = searcher
        .segment_readers()
        .iter()
        .map(|segment| {
            (
                segment.segment_id().uuid_string(),
                segment.num_deleted_docs(),
            )
        })
        .collect();
    segments.sort();
    segments
}

/// An index's rollup: one rollup index per cuboid, and the snapshot they were made from.
pub struct Rollup {
    /// Per cuboid of [`CUBOIDS`], its index; `None` for one added since it was made.
    cuboids: Vec<(&'static Cuboid, Option<Arc<FlowIndex>>)>,
    made_from: Vec<(String, u32)>,
    /// Set when the raw flows were deleted (see [`Rollups::expire_raw`]).
    raw_expired: Option<ExpiredFlows>,
}

impl Rollup {
    /// Opens the rollup in `dir`, if one was made there by this version; its columns are
    /// kept in `columns`.
    pub fn open(
        dir: &Path,
        index_name: &str,
        schema: Arc<FlowSchema>,
        columns: &Arc<ColumnCache>,
    ) -> Option<Rollup> {
        let state = read_state(dir)?;
        if state.version != STATE_VERSION {
            return None;
        }
        let mut cuboids = Vec::with_capacity(CUBOIDS.len());
        for cuboid in CUBOIDS {
            let name = format!("{index_name}/{ROLLUP_DIR}/{}", cuboid.name);
            // A cuboid added since the rollup was made: it is made again, unless its flows
            // were deleted; meanwhile its searches read what it has.
            if ADDED_SINCE_VERSION_1.contains(&cuboid.name) && !dir.join(cuboid.name).exists() {
                cuboids.push((cuboid, None));
                continue;
            }
            match FlowIndex::open(
                &dir.join(cuboid.name),
                &name,
                schema.clone(),
                columns,
                false,
            ) {
                Ok(index) => cuboids.push((cuboid, Some(Arc::new(index)))),
                Err(error) => {
                    tracing::warn!(index = %name, %error, "cannot open a rollup; its index is read raw");
                    return None;
                }
            }
        }
        Some(Rollup {
            cuboids,
            made_from: state.segments,
            raw_expired: state.raw_expired,
        })
    }

    /// Whether the rollup holds exactly the flows `searcher` reads. Once the raw flows are
    /// deleted it answers for the flows it was made from, whatever the raw index holds: a
    /// late flow written there is past retention, and the next pass deletes it.
    pub fn answers_for(&self, searcher: &Searcher) -> bool {
        self.raw_expired.is_some() || self.made_from == segments_of(searcher)
    }

    /// The count and time bounds of the raw flows it stands for, once they were deleted.
    pub fn expired_flows(&self) -> Option<IndexStats> {
        self.raw_expired.map(ExpiredFlows::stats)
    }

    /// The rollup index of the cuboid at `position` in [`CUBOIDS`], when it has one.
    pub fn cuboid(&self, position: usize) -> Option<&Arc<FlowIndex>> {
        self.cuboids[position].1.as_ref()
    }

    /// Whether it has every cuboid of [`CUBOIDS`].
    fn complete(&self) -> bool {
        self.cuboids.iter().all(|(_, index)| index.is_some())
    }
}

/// The rollups of an engine's indices, by index name: the last made of each, which answers
/// only for the snapshot it was made from.
#[derive(Default)]
pub struct Rollups {
    made: RwLock<HashMap<String, Arc<Rollup>>>,
    /// Held while a rollup is made or its flows deleted: the refresh and retention would
    /// otherwise make one in the same place, or make one again from a day emptied meanwhile.
    changing: Mutex<()>,
}

impl Rollups {
    /// Opens the rollup `index` keeps, if it has one.
    pub fn open(&self, index: &FlowIndex) {
        let dir = dir_of(index.path());
        // A day whose flows were deleted is marked even if its rollup does not open: it
        // keeps its time, and retention deletes it in its turn.
        if let Some(expired) = read_state(&dir).and_then(|state| state.raw_expired) {
            index.set_rolled_up_only(expired.stats());
        }
        let schema = index.shared_schema();
        if let Some(rollup) = Rollup::open(&dir, &index.name, schema, index.column_cache()) {
            self.write().insert(index.name.clone(), Arc::new(rollup));
        }
    }

    /// The rollup of `index`, if it has one, whatever snapshot it answers for.
    fn get(&self, index: &FlowIndex) -> Option<Arc<Rollup>> {
        let rollups = self.made.read().unwrap_or_else(|e| e.into_inner());
        rollups.get(&index.name).cloned()
    }

    /// The rollup of `index` when it holds exactly the flows `searcher` reads.
    pub fn for_searcher(&self, index: &FlowIndex, searcher: &Searcher) -> Option<Arc<Rollup>> {
        let rollups = self.made.read().unwrap_or_else(|e| e.into_inner());
        rollups
            .get(&index.name)
            .filter(|rollup| rollup.answers_for(searcher))
            .cloned()
    }

    /// Makes the rollup of `index` again when the one it has does not hold its current
    /// flows, unless it is being written, was committed to within `quiet`, or holds fewer
    /// than `min_flows`. Whether one was made.
    pub fn refresh(
        &self,
        index: &FlowIndex,
        quiet: Duration,
        min_flows: u64,
    ) -> Result<bool, EngineError> {
        if index.written_within(quiet) || index.rolled_up_only() {
            return Ok(false);
        }
        let _changing = self.changing.lock().unwrap_or_else(|e| e.into_inner());
        if index.rolled_up_only() {
            return Ok(false);
        }
        let searcher = index.searcher();
        let made = self.for_searcher(index, &searcher);
        if searcher.num_docs() < min_flows || made.is_some_and(|rollup| rollup.complete()) {
            return Ok(false);
        }
        match build(index)? {
            Some(rollup) => {
                self.write().insert(index.name.clone(), Arc::new(rollup));
                Ok(true)
            }
            None => {
                self.forget(&index.name);
                Ok(false)
            }
        }
    }

    /// Deletes the raw flows of `index`, which is past the flows' retention, and keeps its
    /// rollup (made now when it has none for its current flows, whatever their number).
    /// False when it can have no rollup (it is empty, or a field holds several values per
    /// flow): the caller deletes the index instead. An index whose raw flows were deleted
    /// already loses what was written to it since.
    pub fn expire_raw(&self, index: &FlowIndex) -> Result<bool, EngineError> {
        let _changing = self.changing.lock().unwrap_or_else(|e| e.into_inner());
        if self.get(index).is_some_and(|r| r.raw_expired.is_some()) {
            if index.searcher().num_docs() > 0 {
                index.delete_all()?;
            }
            return Ok(true);
        }
        index.close_writer()?;
        let searcher = index.searcher();
        let flows = stats_of(&searcher);
        let (Some(min_ms), Some(max_ms)) = (flows.min_ms, flows.max_ms) else {
            return Ok(false);
        };
        // A rollup made before a cuboid was added is made again whole first: once the flows
        // are gone it never can be.
        let made = self.for_searcher(index, &searcher).filter(|r| r.complete());
        let rollup = match made {
            Some(rollup) => rollup,
            None => match build(index)? {
                Some(rollup) => Arc::new(rollup),
                None => return Ok(false),
            },
        };
        let expired = ExpiredFlows {
            flows: flows.docs,
            min_ms,
            max_ms,
        };
        // The state is written before the flows are deleted: stopped in between, the next
        // pass finds the rollup answering alone and deletes the flows again.
        let dir = dir_of(index.path());
        write_state(
            &dir,
            &State {
                version: STATE_VERSION,
                segments: rollup.made_from.clone(),
                raw_expired: Some(expired),
            },
        )?;
        let alone = Rollup {
            cuboids: rollup.cuboids.clone(),
            made_from: rollup.made_from.clone(),
            raw_expired: Some(expired),
        };
        index.set_rolled_up_only(expired.stats());
        self.write().insert(index.name.clone(), Arc::new(alone));
        index.delete_all()?;
        Ok(true)
    }

    /// Forgets the rollup of a deleted index.
    pub fn forget(&self, name: &str) {
        self.write().remove(name);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<Rollup>>> {
        self.made.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The `state.json` in `dir`, when it reads.
fn read_state(dir: &Path) -> Option<State> {
    serde_json::from_slice(&std::fs::read(dir.join(STATE_FILE)).ok()?).ok()
}

/// Writes `state.json` in `dir` whole and durably (a new file synced, renamed over the old,
/// the directory synced): flows are deleted only once it says so.
fn write_state(dir: &Path, state: &State) -> Result<(), EngineError> {
    use std::io::Write;

    let json = serde_json::to_vec(state).map_err(|e| EngineError::Io(std::io::Error::other(e)))?;
    let new = dir.join(format!("{STATE_FILE}.new"));
    let mut file = std::fs::File::create(&new)?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(new, dir.join(STATE_FILE))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Where an index keeps its rollup.
pub fn dir_of(index_path: &Path) -> PathBuf {
    index_path.join(ROLLUP_DIR)
}

/// Whether `field` is one some cuboid keeps, or one every rollup document sums.
pub fn is_dimension(field: &str) -> bool {
    CUBOIDS.iter().any(|c| c.dimensions.contains(&field))
}

/// Opens a freshly made rollup of `index`, or says why it cannot be.
fn open_made(
    dir: &Path,
    index: &FlowIndex,
    schema: Arc<FlowSchema>,
) -> Result<Rollup, EngineError> {
    Rollup::open(dir, &index.name, schema, index.column_cache()).ok_or_else(|| {
        EngineError::Io(std::io::Error::other(format!(
            "the rollup just made in {} does not open",
            dir.display()
        )))
    })
}
