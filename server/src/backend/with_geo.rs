//! A cluster with country and AS at display time. flowdash does not write the documents the
//! cluster already holds, so the fields that `--geoip-db` and `--asn-db` add at ingest on the
//! embedded engine (`src_country`, `src_asn`, `src_as_org` and the `dst_*` ones) are added
//! to the hits a search answers instead. They are listed among the index pattern's fields
//! as neither searchable nor aggregatable, since the cluster cannot search what it does not
//! hold. Aggregation buckets keyed by an address (top talkers, conversations) carry what is
//! known of it under [`ADDRESS_FACTS`], which labels, tooltips and tables show beside it.
//! Flows that flowdash ingests into the cluster get them stored.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use app::model::flow::{document_field_type, GEO_FIELDS};
use app::result::ADDRESS_FACTS;
use async_trait::async_trait;
use serde_json::Value;

use super::{BackendError, BackendKind, ClusterInfo, FieldCaps, IndexSummary, SearchBackend};
use crate::geo::{AddressFacts, EnrichingSink, GeoDatabases, ADDRESS_FIELDS};
use crate::ingest::DocSink;

/// A backend whose hits carry what the GeoIP and ASN databases know of their addresses.
pub struct WithGeo {
    inner: Arc<dyn SearchBackend>,
    databases: Arc<GeoDatabases>,
}

impl WithGeo {
    /// `inner`'s searches, with the databases' fields added to hits.
    pub fn new(inner: Arc<dyn SearchBackend>, databases: Arc<GeoDatabases>) -> WithGeo {
        WithGeo { inner, databases }
    }
}

/// Adds the facts of each hit's addresses to its `_source`, where it lacks them: those the
/// search's `_source` names, when it names fields (see [`ask_for_addresses`]).
fn add_to_hits(databases: &GeoDatabases, wanted: Option<&[String]>, answer: &mut Value) {
    let Some(hits) = answer
        .pointer_mut("/hits/hits")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    // A page of hits repeats its addresses.
    let mut known: HashMap<IpAddr, AddressFacts> = HashMap::new();
    for source in hits
        .iter_mut()
        .filter_map(|hit| hit.get_mut("_source").and_then(Value::as_object_mut))
    {
        for (address_field, names) in ADDRESS_FIELDS {
            let Some(address) = source
                .get(address_field)
                .and_then(Value::as_str)
                .and_then(|text| text.parse::<IpAddr>().ok())
            else {
                continue;
            };
            let facts = known
                .entry(address)
                .or_insert_with(|| databases.lookup(address));
            for (name, value) in facts.values(names) {
                if wanted.is_none_or(|wanted| wanted.iter().any(|w| w == name)) {
                    source.entry(name).or_insert_with(|| value.to_json());
                }
            }
        }
    }
}

/// Adds to each aggregation bucket keyed by an address (or by several values, some of them
/// addresses: a conversation) what the databases know of it, in a few words.
fn add_to_buckets(databases: &GeoDatabases, answer: &mut Value) {
    let mut known: HashMap<IpAddr, Option<String>> = HashMap::new();
    let mut summary = |text: &str| -> Option<String> {
        let address = text.parse::<IpAddr>().ok()?;
        known
            .entry(address)
            .or_insert_with(|| databases.lookup(address).summary())
            .clone()
    };
    // Walked without recursion: the cluster's answer nests as deep as it likes (serde_json
    // reads no deeper than 128).
    let mut pending: Vec<&mut Value> = answer.get_mut("aggregations").into_iter().collect();
    while let Some(value) = pending.pop() {
        let Value::Object(object) = value else {
            continue;
        };
        for (name, child) in object.iter_mut() {
            if name != "buckets" {
                pending.push(child);
                continue;
            }
            let buckets: Vec<&mut Value> = match child {
                Value::Array(buckets) => buckets.iter_mut().collect(),
                Value::Object(keyed) => keyed.values_mut().collect(),
                _ => continue,
            };
            for bucket in buckets {
                let facts = match bucket.get("key") {
                    Some(Value::String(key)) => summary(key).map(Value::from),
                    Some(Value::Array(parts)) => {
                        let parts: Vec<Option<String>> = parts
                            .iter()
                            .map(|part| part.as_str().and_then(&mut summary))
                            .collect();
                        parts
                            .iter()
                            .any(Option::is_some)
                            .then(|| Value::from(parts))
                    }
                    _ => None,
                };
                if let Value::Object(bucket) = &mut *bucket {
                    // Only the databases say what is known of an address, never the cluster.
                    bucket.remove(ADDRESS_FACTS);
                    if let Some(facts) = facts {
                        bucket.insert(ADDRESS_FACTS.into(), facts);
                    }
                }
                pending.push(bucket);
            }
        }
    }
}

/// The fields a search's `_source` names (`None` when it names none, or uses wildcards: every
/// field comes back). One that names fields of an address without the address itself (a CSV
/// export of `src_country` alone) asks for the address too, since the fields are made from it;
/// the addresses so added come back second, and the answer's hits lose them again.
fn ask_for_addresses(body: &mut Value) -> (Option<Vec<String>>, Vec<&'static str>) {
    let Some(Value::Object(source)) = body.get_mut("_source").map(as_filter_object) else {
        return (None, Vec::new());
    };
    // Fields left out are not added back.
    let excluded: Vec<String> = match source.get("excludes") {
        Some(Value::Array(fields)) => fields
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(field)) => vec![field.clone()],
        _ => Vec::new(),
    };
    let listed = match source.get_mut("includes") {
        Some(Value::Array(fields)) if !fields.is_empty() => fields,
        // No list, or an empty one: every field comes back, less those left out.
        _ => {
            let wanted = GEO_FIELDS
                .iter()
                .filter(|name| !excluded.iter().any(|e| e == *name))
                .map(|name| (*name).to_owned())
                .collect();
            return (Some(wanted), Vec::new());
        }
    };
    let names: Vec<String> = listed
        .iter()
        .filter_map(Value::as_str)
        .filter(|name| !excluded.iter().any(|e| e == name))
        .map(str::to_owned)
        .collect();
    if names.iter().any(|name| name.contains('*')) {
        return (None, Vec::new());
    }
    let named = |field: &str| names.iter().any(|name| name == field);
    let added: Vec<&'static str> = ADDRESS_FIELDS
        .iter()
        .filter(|(address, facts)| !named(address) && facts.iter().any(|fact| named(fact)))
        .map(|(address, _)| *address)
        .collect();
    listed.extend(added.iter().map(|address| Value::from(*address)));
    (Some(names), added)
}

/// A `_source` filter in its object form, `{ "includes": [...], "excludes": [...] }`: a list
/// or a single field is made the includes; `true` or `false` is left as it is (every field,
/// or none: no hit has a `_source` to add to).
fn as_filter_object(source: &mut Value) -> &mut Value {
    match source {
        Value::Array(_) | Value::String(_) => {
            let includes = match source.take() {
                Value::String(field) => vec![Value::String(field)],
                Value::Array(fields) => fields,
                _ => Vec::new(),
            };
            *source = serde_json::json!({ "includes": includes });
        }
        Value::Object(filter) => {
            if let Some(Value::String(field)) = filter.get("includes") {
                let field = Value::String(field.clone());
                filter.insert("includes".into(), Value::Array(vec![field]));
            }
        }
        _ => {}
    }
    source
}

/// Takes the `fields` a search did not ask for out of each hit's `_source`.
fn drop_from_hits(fields: &[&str], answer: &mut Value) {
    if fields.is_empty() {
        return;
    }
    let Some(hits) = answer
        .pointer_mut("/hits/hits")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for source in hits
        .iter_mut()
        .filter_map(|hit| hit.get_mut("_source").and_then(Value::as_object_mut))
    {
        for field in fields {
            source.remove(*field);
        }
    }
}

#[async_trait]
impl SearchBackend for WithGeo {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    async fn info(&self) -> Result<ClusterInfo, BackendError> {
        self.inner.info().await
    }

    async fn search(&self, index: &str, mut body: Value) -> Result<Value, BackendError> {
        let (wanted, borrowed) = ask_for_addresses(&mut body);
        let mut answer = self.inner.search(index, body).await?;
        // A lookup per address: an answer of many buckets or hits takes a while.
        let databases = self.databases.clone();
        tokio::task::spawn_blocking(move || {
            add_to_hits(&databases, wanted.as_deref(), &mut answer);
            add_to_buckets(&databases, &mut answer);
            drop_from_hits(&borrowed, &mut answer);
            answer
        })
        .await
        .map_err(|e| BackendError::Internal(e.to_string()))
    }

    async fn field_caps(&self, index: &str) -> Result<Vec<FieldCaps>, BackendError> {
        let mut fields = self.inner.field_caps(index).await?;
        // Indices without flows (none yet, at a first start) get no fields of flows either.
        if !fields
            .iter()
            .any(|f| f.name == "srcaddr" || f.name == "dstaddr")
        {
            return Ok(fields);
        }
        for name in GEO_FIELDS {
            let given = if name.ends_with("country") {
                self.databases.has_countries()
            } else {
                self.databases.has_autonomous_systems()
            };
            if given && !fields.iter().any(|f| f.name == name) {
                fields.push(FieldCaps {
                    name: name.to_owned(),
                    field_type: document_field_type(name)
                        .map(|t| t.es_type())
                        .unwrap_or("keyword")
                        .to_owned(),
                    searchable: false,
                    aggregatable: false,
                });
            }
        }
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(fields)
    }

    async fn indices(&self) -> Result<Vec<IndexSummary>, BackendError> {
        self.inner.indices().await
    }

    fn ingest_sink(&self) -> Box<dyn DocSink + Send> {
        Box::new(EnrichingSink::new(
            self.inner.ingest_sink(),
            self.databases.clone(),
        ))
    }
}
