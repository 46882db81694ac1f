//! The user's Elasticsearch 6.x–8.x or OpenSearch 1–2 cluster behind [`SearchBackend`]: the
//! version is read from `GET /` once and requests are adapted to it; responses come back in
//! the 7.x shape the rest of flowdash reads.

pub mod auth;
pub mod compat;
mod multi_terms;
pub mod policy;
mod sink;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::OnceCell;

use self::auth::Auth;
use self::compat::{
    adapt_request, id_sort_position, normalize_response, replace_id_sort, ClusterVersion,
};
pub use self::sink::ElasticSink;
use super::{BackendError, BackendKind, ClusterInfo, FieldCaps, IndexSummary, SearchBackend};
use crate::ingest::DocSink;

/// How to reach the cluster.
#[derive(Clone, Debug)]
pub struct ElasticConfig {
    /// `https://vpc-domain.region.es.amazonaws.com`, or `http://127.0.0.1:9200` through a tunnel.
    pub url: String,
    /// How requests authenticate.
    pub auth: Auth,
    /// A PEM file of CA certificates to trust besides the system's.
    pub ca_cert: Option<PathBuf>,
    /// Accept any certificate (for clusters with self-signed certificates; says so in the log).
    pub insecure: bool,
    /// Timeout of one request to the cluster.
    pub timeout: Duration,
    /// Let browsers' searches carry scripts, `terms` lookups and `more_like_this` documents
    /// (see [`policy`]).
    pub allow_scripts: bool,
}

/// A client for one cluster. Cheap to clone.
#[derive(Clone)]
pub struct ElasticBackend {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    base: String,
    auth: Auth,
    allow_scripts: bool,
    version: OnceCell<(ClusterVersion, ClusterInfo)>,
    /// By index expression, the field that stands in for `_id` in sorts on a cluster that
    /// refuses `_id` sorts ([`ElasticBackend::id_sort_field`]).
    id_sort_fields: Mutex<HashMap<String, Option<String>>>,
}

/// Index expressions whose `_id` stand-in is remembered; past it the memory starts afresh.
const ID_SORT_FIELDS_KEPT: usize = 64;

impl ElasticBackend {
    /// A client for the cluster of `config` (it connects on its first request).
    pub fn new(config: &ElasticConfig) -> Result<ElasticBackend, BackendError> {
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(10))
            .gzip(true);
        if let Some(path) = &config.ca_cert {
            let pem = std::fs::read(path).map_err(|e| {
                BackendError::Unavailable(format!("cannot read {}: {e}", path.display()))
            })?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                BackendError::Unavailable(format!("{}: not PEM certificates: {e}", path.display()))
            })?;
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if config.insecure {
            tracing::warn!("TLS certificate verification is off for the cluster (--es-insecure)");
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder
            .build()
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        Ok(ElasticBackend {
            inner: Arc::new(Inner {
                client,
                base: config.url.trim_end_matches('/').to_owned(),
                auth: config.auth.clone(),
                allow_scripts: config.allow_scripts,
                version: OnceCell::new(),
                id_sort_fields: Mutex::default(),
            }),
        })
    }

    /// Sends a request with authentication; answers the status and the JSON body.
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<(u16, Value), BackendError> {
        let url = format!("{}{path}", self.inner.base);
        let mut builder = self.inner.client.request(method, &url);
        let payload = match body {
            Some((bytes, content_type)) => {
                builder = builder.header("content-type", content_type);
                bytes
            }
            None => Vec::new(),
        };
        if !payload.is_empty() {
            builder = builder.body(payload.clone());
        }
        let mut request = builder
            .build()
            .map_err(|e| BackendError::Internal(e.to_string()))?;
        self.inner
            .auth
            .apply(&mut request, &payload, chrono::Utc::now());
        let response = self.inner.client.execute(request).await.map_err(|error| {
            if error.is_timeout() {
                BackendError::Timeout(0)
            } else {
                BackendError::Unavailable(format!("{}: {error}", self.inner.base))
            }
        })?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| BackendError::Unavailable(e.to_string()))?;
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Ok((status, value))
    }

    /// Sends and turns cluster errors into [`BackendError`]s.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(Vec<u8>, &str)>,
    ) -> Result<Value, BackendError> {
        let (status, value) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(cluster_error(status, &value))
        }
    }

    /// The cluster's version, read once.
    pub async fn version(&self) -> Result<ClusterVersion, BackendError> {
        self.detect().await.map(|(version, _)| version)
    }

    async fn detect(&self) -> Result<(ClusterVersion, ClusterInfo), BackendError> {
        self.inner
            .version
            .get_or_try_init(|| async {
                let root = self.call(reqwest::Method::GET, "/", None).await?;
                let version = ClusterVersion::from_root(&root)
                    .ok_or_else(|| BackendError::Unavailable(format!("{} does not look like Elasticsearch or OpenSearch: {root}", self.inner.base)))?;
                let info = ClusterInfo {
                    version: root.pointer("/version/number").and_then(Value::as_str).unwrap_or_default().to_owned(),
                    distribution: if version.opensearch { "opensearch" } else { "elasticsearch" }.to_owned(),
                };
                tracing::info!(version = %info.version, distribution = %info.distribution, "connected to the cluster");
                Ok((version, info))
            })
            .await
            .cloned()
    }

    /// Writes NDJSON to `_bulk`.
    pub(crate) async fn bulk(&self, ndjson: Vec<u8>) -> Result<(u16, Value), BackendError> {
        self.send(
            reqwest::Method::POST,
            "/_bulk",
            Some((ndjson, "application/x-ndjson")),
        )
        .await
    }

    /// Makes recent writes to these indices searchable now.
    pub(crate) async fn refresh(&self, indices: &[String]) -> Result<(), BackendError> {
        if indices.is_empty() {
            return Ok(());
        }
        self.call(
            reqwest::Method::POST,
            &format!("/{}/_refresh", encode_index(&indices.join(","))),
            None,
        )
        .await
        .map(|_| ())
    }
}

/// An index expression as a path segment.
fn encode_index(index: &str) -> String {
    index
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' | b',' | b'+' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// At most this many characters of a cluster's error reason reach the browser.
const LONGEST_REASON: usize = 300;

/// The first characters of a cluster's message, without what looks like a credential.
fn summarize(reason: &str) -> String {
    let redacted = crate::redact::redact(reason);
    if redacted.chars().count() <= LONGEST_REASON {
        return redacted;
    }
    let mut short: String = redacted.chars().take(LONGEST_REASON).collect();
    short.push_str(" …");
    short
}

/// Whether the cluster refused a search for the buckets it would make.
fn is_too_many_buckets(error: &BackendError) -> bool {
    matches!(error, BackendError::Cluster { kind, .. } if kind == "too_many_buckets_exception")
}

/// A cluster error answer as a [`BackendError`]. Authentication failures are the server's
/// problem, not the browser's: they become 502s that say so.
fn cluster_error(status: u16, body: &Value) -> BackendError {
    // "all shards failed" says little: the shards' first cause says what failed (too many
    // buckets, a bad field).
    let error = body.get("error").map(|error| {
        let generic =
            error.get("type").and_then(Value::as_str) == Some("search_phase_execution_exception");
        let cause = error
            .pointer("/root_cause/0")
            .or_else(|| error.get("caused_by"))
            .filter(|cause| generic && cause.get("reason").is_some_and(Value::is_string));
        cause.unwrap_or(error)
    });
    let (kind, reason) = match error {
        Some(Value::Object(error)) => (
            error
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("cluster_error")
                .to_owned(),
            error
                .get("reason")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| Value::Object(error.clone()).to_string()),
        ),
        Some(Value::String(text)) => ("cluster_error".to_owned(), text.clone()),
        _ => (
            "cluster_error".to_owned(),
            body.to_string().chars().take(500).collect(),
        ),
    };
    // A cluster, or a proxy in front of it, may echo the request, credentials included: pass
    // on a short, redacted summary, never the body as it came.
    let reason = summarize(&reason);
    match status {
        401 | 403 => BackendError::Unavailable(format!(
            "the cluster refused flowdash's credentials ({status}: {reason})"
        )),
        _ => BackendError::Cluster {
            status,
            kind,
            reason,
        },
    }
}

#[async_trait]
impl SearchBackend for ElasticBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Elasticsearch
    }

    async fn info(&self) -> Result<ClusterInfo, BackendError> {
        self.detect().await.map(|(_, info)| info)
    }

    async fn search(&self, index: &str, mut body: Value) -> Result<Value, BackendError> {
        policy::check_search_body(&body, self.inner.allow_scripts)?;
        let version = self.version().await?;
        // A top-level `multi_terms` the cluster lacks is answered from composite pages.
        let emulated = if version.runs("multi_terms") {
            Vec::new()
        } else {
            multi_terms::take(&mut body)?
        };
        if let Some(reason) = version.lacking_aggregation(&body) {
            return Err(BackendError::BadRequest {
                kind: "illegal_argument_exception".into(),
                reason,
            });
        }
        let search = multi_terms::page_base(&body);
        let mut response = self.search_as_is(index, body, version).await?;
        for multi in emulated {
            let answer = self
                .multi_terms_from_pages(index, &multi, &search, version)
                .await?;
            response["aggregations"][multi.name()] = answer;
        }
        Ok(response)
    }

    async fn field_caps(&self, index: &str) -> Result<Vec<FieldCaps>, BackendError> {
        self.field_caps_of(index).await
    }

    async fn indices(&self) -> Result<Vec<IndexSummary>, BackendError> {
        self.indices_of().await
    }

    fn ingest_sink(&self) -> Box<dyn DocSink + Send> {
        Box::new(ElasticSink::new(
            self.clone(),
            tokio::runtime::Handle::current(),
        ))
    }
}

impl ElasticBackend {
    /// A search sent as the cluster's version needs it written, its answer read back in the
    /// 7.x shape.
    async fn search_as_is(
        &self,
        index: &str,
        mut body: Value,
        version: ClusterVersion,
    ) -> Result<Value, BackendError> {
        adapt_request(&mut body, version);
        if version.refuses_id_sort() && id_sort_position(&body).is_some() {
            let field = self.id_sort_field(index).await?;
            replace_id_sort(&mut body, field.as_deref());
        }
        let bytes = serde_json::to_vec(&body).map_err(|e| BackendError::Internal(e.to_string()))?;
        let mut response = self
            .call(
                reqwest::Method::POST,
                &format!("/{}/_search", encode_index(index)),
                Some((bytes, "application/json")),
            )
            .await?;
        normalize_response(&mut response);
        Ok(response)
    }

    /// A `multi_terms` the cluster lacks, answered from every page of a composite over its
    /// fields (see [`multi_terms`]). A page past the cluster's `search.max_buckets` (its
    /// sub-aggregations' buckets count too) is asked again at half the size.
    async fn multi_terms_from_pages(
        &self,
        index: &str,
        multi: &multi_terms::Emulated,
        search: &Value,
        version: ClusterVersion,
    ) -> Result<Value, BackendError> {
        let mut pages = multi_terms::Pages::new(multi);
        let mut page_size = multi_terms::PAGE_SIZE;
        while let Some(page) = pages.next_page(search, page_size) {
            // Refused whole, or by some shards (which `gather` turns into the same error).
            let gathered = match self.search_as_is(index, page, version).await {
                Ok(mut response) => pages.gather(&mut response, page_size),
                Err(error) => Err(error),
            };
            match gathered {
                Ok(()) => {}
                Err(error) if is_too_many_buckets(&error) && page_size > 1 => page_size /= 2,
                Err(error) => return Err(error),
            }
        }
        pages.answer()
    }

    /// What sorts stand in for `_id` where the cluster refuses to sort on it (8.x): the
    /// documents' `@id`, which the CloudWatch Logs Lambda and flowdash both write equal to
    /// `_id`, as a keyword (`@id`, or dynamic mapping's `@id.keyword`). `None` when the indices
    /// have neither; their pages are then ordered by time alone, and flows of the very same
    /// instant may repeat or be skipped at a page's edge.
    async fn id_sort_field(&self, index: &str) -> Result<Option<String>, BackendError> {
        let remembered = (self.inner.id_sort_fields.lock())
            .expect("not poisoned")
            .get(index)
            .cloned();
        if let Some(field) = remembered {
            return Ok(field);
        }
        let caps = self.field_caps_of(index).await?;
        let keyword = |name: &str| {
            caps.iter()
                .any(|f| f.name == name && f.field_type == "keyword" && f.aggregatable)
        };
        let field = ["@id", "@id.keyword"]
            .into_iter()
            .find(|name| keyword(name))
            .map(str::to_owned);
        if field.is_none() {
            tracing::warn!(
                index,
                "the cluster refuses sorts on _id and [{index}] has no keyword @id: flows are paged by time alone"
            );
        }
        let mut fields = self.inner.id_sort_fields.lock().expect("not poisoned");
        if fields.len() >= ID_SORT_FIELDS_KEPT {
            fields.clear();
        }
        fields.insert(index.to_owned(), field.clone());
        Ok(field)
    }

    async fn field_caps_of(&self, index: &str) -> Result<Vec<FieldCaps>, BackendError> {
        let answer = self
            .call(
                reqwest::Method::GET,
                &format!("/{}/_field_caps?fields=*", encode_index(index)),
                None,
            )
            .await?;
        let mut fields: Vec<FieldCaps> = answer
            .get("fields")
            .and_then(Value::as_object)
            .map(|fields| {
                fields
                    .iter()
                    .filter(|(name, _)| !name.starts_with('_'))
                    .filter_map(|(name, types)| {
                        let (field_type, caps) = types
                            .as_object()?
                            .iter()
                            .find(|(t, _)| t.as_str() != "unmapped")?;
                        if field_type == "object" || field_type == "nested" {
                            return None;
                        }
                        Some(FieldCaps {
                            name: name.clone(),
                            field_type: field_type.clone(),
                            searchable: caps
                                .get("searchable")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            aggregatable: caps
                                .get("aggregatable")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(fields)
    }

    async fn indices_of(&self) -> Result<Vec<IndexSummary>, BackendError> {
        let answer = self
            .call(reqwest::Method::GET, "/_cat/indices?format=json", None)
            .await?;
        Ok(answer
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| {
                        Some(IndexSummary {
                            name: row.get("index")?.as_str()?.to_owned(),
                            docs: row
                                .get("docs.count")
                                .and_then(|c| {
                                    c.as_str()
                                        .and_then(|s| s.parse().ok())
                                        .or_else(|| c.as_u64())
                                })
                                .unwrap_or(0),
                            rolled_up: false,
                        })
                    })
                    .filter(|i| !i.name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default())
    }
}
