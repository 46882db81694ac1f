//! The user's Elasticsearch 6.x–8.x or OpenSearch 1–2 cluster behind [`SearchBackend`]: the
//! version is read from `GET /` once and requests are adapted to it; responses come back in
//! the 7.x shape the rest of flowdash reads.

pub mod auth;
pub mod compat;
pub mod policy;
mod sink;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use self::auth::Auth;
use self::compat::{adapt_request, normalize_response, ClusterVersion};
pub use self::sink::ElasticSink;
use super::{
    BackendError, BackendKind, ClusterInfo, FieldCaps, IndexSummary, SearchBackend, SearchRequest,
};
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
}

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

/// A cluster error answer as a [`BackendError`]. Authentication failures are the server's
/// problem, not the browser's: they become 502s that say so.
fn cluster_error(status: u16, body: &Value) -> BackendError {
    let (kind, reason) = match body.get("error") {
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
        adapt_request(&mut body, version);
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

    async fn msearch(
        &self,
        searches: Vec<SearchRequest>,
    ) -> Result<Vec<Result<Value, BackendError>>, BackendError> {
        if searches.is_empty() {
            return Ok(Vec::new());
        }
        // A search the policy refuses fails on its own; the others go to the cluster.
        let mut refused: Vec<Option<BackendError>> = Vec::with_capacity(searches.len());
        let mut allowed = Vec::with_capacity(searches.len());
        for search in searches {
            match policy::check_search_body(&search.body, self.inner.allow_scripts) {
                Ok(()) => {
                    refused.push(None);
                    allowed.push(search);
                }
                Err(error) => refused.push(Some(error)),
            }
        }
        let mut answers = if allowed.is_empty() {
            Vec::new()
        } else {
            self.msearch_allowed(allowed).await?
        }
        .into_iter();
        Ok(refused
            .into_iter()
            .map(|refusal| match refusal {
                Some(error) => Err(error),
                None => answers.next().unwrap_or_else(|| {
                    Err(BackendError::Internal(
                        "the cluster answered too few searches".into(),
                    ))
                }),
            })
            .collect())
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
    /// One `_msearch` of searches the policy allowed.
    async fn msearch_allowed(
        &self,
        searches: Vec<SearchRequest>,
    ) -> Result<Vec<Result<Value, BackendError>>, BackendError> {
        let version = self.version().await?;
        let mut ndjson = Vec::new();
        for mut search in searches {
            adapt_request(&mut search.body, version);
            ndjson.extend(json!({ "index": search.index }).to_string().into_bytes());
            ndjson.push(b'\n');
            ndjson.extend(search.body.to_string().into_bytes());
            ndjson.push(b'\n');
        }
        let answer = self
            .call(
                reqwest::Method::POST,
                // A dashboard's panels arrive as one batch; the cluster runs a few at a time
                // rather than all at once next to everyone else's queries.
                "/_msearch?max_concurrent_searches=4",
                Some((ndjson, "application/x-ndjson")),
            )
            .await?;
        let responses = answer
            .get("responses")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                BackendError::Internal(format!("unexpected _msearch answer: {answer}"))
            })?;
        Ok(responses
            .iter()
            .map(|response| {
                if response.get("error").is_some() {
                    let status = response
                        .get("status")
                        .and_then(Value::as_u64)
                        .unwrap_or(500) as u16;
                    Err(cluster_error(status, response))
                } else {
                    let mut response = response.clone();
                    normalize_response(&mut response);
                    if let Some(object) = response.as_object_mut() {
                        object.remove("status");
                    }
                    Ok(response)
                }
            })
            .collect())
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
                        })
                    })
                    .filter(|i| !i.name.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default())
    }
}
