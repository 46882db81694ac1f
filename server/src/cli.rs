//! The command line: `flowdash serve | ingest | demo | users`. Every flag has a `FLOWDASH_*`
//! variable. Parsing is in two steps: clap reads the flags into the `*Args` structs, and each
//! becomes the checked configuration of its command (`ServeConfig`, `IngestConfig`, ...), so
//! the commands never see clap.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::auth::{AuthConfig, ProxyTrust};
use crate::backend::elastic::auth::{aws_credentials_from_environment, aws_region, Auth};
use crate::backend::elastic::ElasticConfig;
use crate::backend::embedded::search::column_cache;
use crate::backend::embedded::Retention;
use crate::commands;
use crate::commands::demo::{DemoCommandConfig, DemoTarget};
use crate::commands::ingest::{IngestConfig, IngestTarget};
use crate::commands::users::{UserChange, UsersConfig};
use crate::geo::GeoFiles;
use crate::http::{ServeConfig, TlsFiles};
use crate::ingest::format::RecordFormat;
use crate::telemetry::LogFormat;

/// Dashboards for AWS VPC Flow Logs: who talks to whom, what gets rejected, and when.
///
/// Without an Elasticsearch cluster flowdash keeps flows in its own embedded engine under
/// --data-dir; `flowdash demo` fills it with realistic traffic for a first look.
#[derive(Debug, Parser)]
#[command(name = "flowdash", version, propagate_version = true)]
pub struct Cli {
    /// Log line format on stderr (filter with RUST_LOG).
    #[arg(
        long,
        global = true,
        env = "FLOWDASH_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// `flowdash`'s commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the UI and the HTTP API.
    Serve(Box<ServeArgs>),
    /// Ingest flow logs from files, directories (recursively), .gz files or stdin (`-`):
    /// text in any record format (header lines are honoured) or CloudWatch Logs subscription
    /// payloads. Exits 1 when some lines were rejected (the rest is ingested), 2 on failure.
    Ingest(Box<IngestArgs>),
    /// Generate realistic synthetic VPC traffic into the store (or a file), ending now.
    Demo(DemoArgs),
    /// Manage the users of `--auth users`: add, passwd, remove, list.
    Users(UsersArgs),
}

/// `flowdash users`: the action, and the data directory that holds `users.json`.
#[derive(Debug, Args)]
pub struct UsersArgs {
    /// What to do with the users.
    #[command(subcommand)]
    pub action: UsersAction,

    /// Where the users are kept (`users.json`), with the server's other data.
    #[arg(
        long,
        env = "FLOWDASH_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
}

/// The actions of `flowdash users`.
#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Add a user. An `ingest` user gets an API token (printed once) for shippers such as the
    /// AWS Lambda (`Authorization: Bearer TOKEN`, or basic authentication with the token as
    /// password); the others log in with a password.
    Add {
        /// The user's login name.
        name: String,
        /// What the user may do.
        #[arg(long, value_enum)]
        role: crate::auth::Role,
        /// Read the password from the first line of stdin (otherwise one is made and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (or, for an `ingest` user, a new token).
    Passwd {
        /// The user's login name.
        name: String,
        /// Read the password from the first line of stdin (otherwise one is made and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user.
    Remove {
        /// The user's login name.
        name: String,
    },
    /// List users and their roles.
    List,
}

/// Where the embedded engine keeps its data.
#[derive(Debug, Clone, Args)]
pub struct DataDirArg {
    /// Where the embedded engine keeps its indices and saved objects.
    #[arg(long, env = "FLOWDASH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Memory the embedded engine's index writers may hold together, in MiB: each day being
    /// written has a writer, and input spread over many days shares this between them.
    #[arg(long, env = "FLOWDASH_INGEST_MEMORY_MB", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(32..=65_536))]
    pub ingest_memory_mb: u64,
}

impl DataDirArg {
    /// `--ingest-memory-mb` in bytes.
    pub fn writer_memory_bytes(&self) -> usize {
        (self.ingest_memory_mb as usize) << 20
    }
}

/// The GeoIP and ASN databases the embedded engine's ingest adds country and AS fields from.
#[derive(Debug, Clone, Args)]
pub struct GeoArgs {
    /// A MaxMind City or Country database (GeoLite2-City.mmdb, GeoLite2-Country.mmdb): ingest
    /// adds `src_country` and `dst_country` (ISO codes) to flows whose addresses it knows.
    #[arg(long, env = "FLOWDASH_GEOIP_DB", value_name = "FILE")]
    pub geoip_db: Option<PathBuf>,

    /// A MaxMind ASN database (GeoLite2-ASN.mmdb): ingest adds `src_asn`, `src_as_org`,
    /// `dst_asn` and `dst_as_org`.
    #[arg(long, env = "FLOWDASH_ASN_DB", value_name = "FILE")]
    pub asn_db: Option<PathBuf>,
}

impl GeoArgs {
    /// The files given.
    pub fn files(self) -> GeoFiles {
        GeoFiles {
            geoip: self.geoip_db,
            asn: self.asn_db,
        }
    }
}

/// How long the embedded engine keeps flows, counted from a day's newest flow.
#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// Delete the raw flows of days older than this many days. Off by default.
    #[arg(long, env = "FLOWDASH_RETAIN_DAYS")]
    pub retain_days: Option<u32>,

    /// Keep the hourly rollups of days past --retain-days until they are this many days old:
    /// long time ranges still chart every panel that splits by action, protocol, port,
    /// interface or account; panels that need the flows (addresses, Discover) say which days
    /// they lack. By default rollups go with their flows.
    #[arg(long, env = "FLOWDASH_ROLLUP_RETAIN_DAYS", requires = "retain_days")]
    pub rollup_retain_days: Option<u32>,
}

impl RetentionArgs {
    /// The policy, when any; `rollups` says whether the server makes rollups at all.
    pub fn policy(&self, rollups: bool) -> anyhow::Result<Option<Retention>> {
        let Some(days) = self.retain_days else {
            return Ok(None);
        };
        match self.rollup_retain_days {
            Some(rollup_days) if rollup_days < days => anyhow::bail!(
                "--rollup-retain-days {rollup_days} is shorter than --retain-days {days}: a rollup is kept at least as long as its flows"
            ),
            Some(_) if !rollups => anyhow::bail!(
                "--rollup-retain-days keeps rollups, and --no-rollups makes none"
            ),
            _ => {}
        }
        Ok(Some(Retention {
            days,
            rollup_days: self.rollup_retain_days.filter(|&d| d > days),
        }))
    }
}

/// The user's Elasticsearch / OpenSearch cluster, when flowdash should use it instead of the
/// embedded engine.
#[derive(Debug, Clone, Args)]
pub struct ElasticArgs {
    /// Elasticsearch 6.x-8.x or OpenSearch 1-2 URL (https://vpc-....es.amazonaws.com, or
    /// http://127.0.0.1:9200 through a tunnel). Without it, flowdash uses its embedded engine.
    #[arg(long, env = "FLOWDASH_ES_URL")]
    pub es_url: Option<String>,
    /// HTTP basic authentication user.
    #[arg(long, env = "FLOWDASH_ES_USER", requires = "es_password")]
    pub es_user: Option<String>,
    /// HTTP basic authentication password.
    #[arg(long, env = "FLOWDASH_ES_PASSWORD", hide_env_values = true)]
    pub es_password: Option<String>,
    /// Elasticsearch API key (the base64 `id:api_key`).
    #[arg(long, env = "FLOWDASH_ES_API_KEY", hide_env_values = true)]
    pub es_api_key: Option<String>,
    /// Bearer token.
    #[arg(long, env = "FLOWDASH_ES_BEARER_TOKEN", hide_env_values = true)]
    pub es_bearer_token: Option<String>,
    /// Sign requests with AWS Signature Version 4 (Amazon OpenSearch Service / Elasticsearch
    /// Service); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or
    /// the AWS_PROFILE profile of ~/.aws/credentials.
    #[arg(long, env = "FLOWDASH_ES_AWS_SIGV4")]
    pub es_aws_sigv4: bool,
    /// AWS region for signing (default: AWS_REGION, AWS_DEFAULT_REGION or ~/.aws/config).
    #[arg(long, env = "FLOWDASH_ES_AWS_REGION")]
    pub es_aws_region: Option<String>,
    /// AWS service name for signing: `es` (managed domains) or `aoss` (serverless).
    #[arg(long, env = "FLOWDASH_ES_AWS_SERVICE", default_value = "es")]
    pub es_aws_service: String,
    /// PEM file of CA certificates to trust for the cluster.
    #[arg(long, env = "FLOWDASH_ES_CA_CERT")]
    pub es_ca_cert: Option<PathBuf>,
    /// Do not verify the cluster's TLS certificate.
    #[arg(long, env = "FLOWDASH_ES_INSECURE")]
    pub es_insecure: bool,
    /// Let searches from the browser carry scripts, `terms` lookups and `more_like_this`
    /// documents to the cluster (refused by default: they run code on the cluster or read
    /// indices outside --allowed-indices).
    #[arg(long, env = "FLOWDASH_ES_ALLOW_SCRIPTS")]
    pub es_allow_scripts: bool,
    /// Timeout of one request to the cluster, in milliseconds.
    #[arg(long, env = "FLOWDASH_ES_TIMEOUT_MS", default_value_t = 30_000)]
    pub es_timeout_ms: u64,
}

impl ElasticArgs {
    /// The cluster configuration, when `--es-url` is given.
    pub fn config(&self) -> anyhow::Result<Option<ElasticConfig>> {
        let Some(url) = &self.es_url else {
            return Ok(None);
        };
        // Credentials in the URL (`http://user:password@host`) become basic authentication,
        // and the URL that is kept (and shown in messages) has none.
        let (url, url_credentials) = split_user_info(url)?;
        for secret in [&self.es_password, &self.es_api_key, &self.es_bearer_token]
            .into_iter()
            .flatten()
        {
            crate::redact::register_secret(secret);
        }
        if let (Some(user), Some(password)) = (&self.es_user, &self.es_password) {
            crate::redact::register_basic_credentials(user, password);
        }
        let auth = if self.es_aws_sigv4 {
            Auth::AwsSigV4 {
                region: aws_region(self.es_aws_region.as_deref())?,
                service: self.es_aws_service.clone(),
                credentials: aws_credentials_from_environment()?,
            }
        } else if let Some(key) = &self.es_api_key {
            Auth::ApiKey(key.clone())
        } else if let Some(token) = &self.es_bearer_token {
            Auth::Bearer(token.clone())
        } else if let (Some(user), Some(password)) = (&self.es_user, &self.es_password) {
            Auth::Basic {
                user: user.clone(),
                password: password.clone(),
            }
        } else if let Some((user, password)) = url_credentials {
            Auth::Basic { user, password }
        } else {
            Auth::None
        };
        if let Auth::AwsSigV4 { credentials, .. } = &auth {
            crate::redact::register_secret(&credentials.secret_access_key);
            if let Some(token) = &credentials.session_token {
                crate::redact::register_secret(token);
            }
        }
        Ok(Some(ElasticConfig {
            url,
            auth,
            ca_cert: self.es_ca_cert.clone(),
            insecure: self.es_insecure,
            timeout: Duration::from_millis(self.es_timeout_ms),
            allow_scripts: self.es_allow_scripts,
        }))
    }
}

/// A cluster URL without its user-info part, and the user and password that part held
/// (registered as secrets, so no message shows them).
fn split_user_info(url: &str) -> anyhow::Result<(String, Option<(String, String)>)> {
    let mut parsed =
        reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("--es-url: not a URL ({e})"))?;
    if parsed.username().is_empty() && parsed.password().is_none() {
        return Ok((url.to_owned(), None));
    }
    let user = percent_decode(parsed.username());
    let password = percent_decode(parsed.password().unwrap_or_default());
    crate::redact::register_basic_credentials(&user, &password);
    crate::redact::register_secret(parsed.password().unwrap_or_default());
    // Setting an empty user and password cannot fail on an http(s) URL.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    Ok((
        parsed.as_str().trim_end_matches('/').to_owned(),
        Some((user, password)),
    ))
}

/// `%40` → `@`, as URL user-info is written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[at],
            bytes.get(at + 1).copied().and_then(hex),
            bytes.get(at + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                at += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `flowdash serve`'s flags; [`ServeArgs::config`] makes them a [`ServeConfig`].
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FLOWDASH_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Where the embedded engine, the saved objects and the users are kept.
    #[command(flatten)]
    pub data: DataDirArg,

    /// The compiled UI (WASM, JS, CSS, static files) that `cargo leptos build` writes.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Largest request body accepted, in bytes (ingestion and `_bulk` included).
    #[arg(long, env = "FLOWDASH_MAX_BODY_BYTES", default_value_t = 64 << 20)]
    pub max_body_bytes: usize,

    /// Largest size a gzip body may expand to, in bytes.
    #[arg(long, env = "FLOWDASH_MAX_DECOMPRESSED_BYTES", default_value_t = 1 << 30)]
    pub max_decompressed_bytes: u64,

    /// How long flows and their rollups are kept (checked hourly).
    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Keep adding demo traffic as it happens, about this many records a minute (200 when
    /// given no number), so recent time ranges are never empty. Embedded engine only.
    #[arg(
        long,
        env = "FLOWDASH_DEMO_FOLLOW",
        value_name = "PER_MINUTE",
        num_args = 0..=1,
        default_missing_value = "200"
    )]
    pub demo_follow: Option<u32>,

    /// Index patterns the UI may search, comma-separated: the server never searches others
    /// on a browser's behalf.
    #[arg(
        long,
        env = "FLOWDASH_ALLOWED_INDICES",
        value_delimiter = ',',
        default_value = "cwl-*"
    )]
    pub allowed_indices: Vec<String>,

    /// Host names the server answers to, comma-separated, besides IP addresses and
    /// `localhost` (`flowdash.internal`): a page under any other name is refused, so a web
    /// site cannot reach this server by rebinding its own name to this address. `*` allows
    /// every name (behind a proxy that checks names itself).
    #[arg(long, env = "FLOWDASH_ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,

    /// Named address ranges, one `CIDR = name` a line (`10.0.0.0/16 = prod-vpc`; mark a range
    /// not your own with `(external)`): read at start, and written back when the Networks
    /// page saves. Visualizations split by source or destination network and by direction.
    #[arg(long, env = "FLOWDASH_NETWORKS", value_name = "FILE")]
    pub networks: Option<PathBuf>,

    /// Country and AS fields for ingested flows.
    #[command(flatten)]
    pub geo: GeoArgs,

    /// Longest a search may take before it is answered with a 504, in milliseconds.
    #[arg(long, env = "FLOWDASH_SEARCH_TIMEOUT_MS", default_value_t = 30_000)]
    pub search_timeout_ms: u64,

    /// Neither make nor read hourly rollups: every search reads the raw flows. Rollups
    /// (made for days no longer written) answer long time ranges exactly as the raw flows do.
    #[arg(long, env = "FLOWDASH_NO_ROLLUPS")]
    pub no_rollups: bool,

    /// Most rows one CSV export of a search writes (`/api/discover/export.csv`); an export
    /// that stops there says so in its `X-Flowdash-Truncated` header.
    #[arg(long, env = "FLOWDASH_CSV_MAX_ROWS", default_value_t = 100_000)]
    pub csv_max_rows: usize,

    /// Memory one search's aggregations may take on the embedded engine, in MiB; a search
    /// that needs more is answered 429 (`circuit_breaking_exception`).
    #[arg(long, env = "FLOWDASH_MAX_SEARCH_MEMORY_MB", default_value_t = 1024)]
    pub max_search_memory_mb: usize,

    /// Memory the embedded engine keeps columns in for later searches, in MiB (by default a
    /// quarter of the machine's): opening a day's columns costs more than reading them, so
    /// searches that read the same days again reuse them. The least recently used are given
    /// back first.
    #[arg(long, env = "FLOWDASH_COLUMN_CACHE_MB")]
    pub column_cache_mb: Option<usize>,

    /// The cluster to use instead of the embedded engine.
    #[command(flatten)]
    pub elastic: ElasticArgs,

    /// Who may use the server: `none` (everyone may do everything; only on a loopback
    /// address unless --insecure-no-auth), `users` (logins and roles; `flowdash users`), or
    /// `proxy` (a trusted reverse proxy names the user; see --trusted-proxies).
    #[arg(long, env = "FLOWDASH_AUTH", value_enum, default_value = "none")]
    pub auth: crate::auth::AuthMode,

    /// With --auth proxy: the header in which the proxy names the user.
    #[arg(
        long,
        env = "FLOWDASH_PROXY_USER_HEADER",
        default_value = "x-forwarded-user"
    )]
    pub proxy_user_header: String,

    /// With --auth proxy: the proxies' addresses, comma-separated; the header of any other
    /// client is ignored.
    #[arg(long, env = "FLOWDASH_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// With --auth proxy: the role of users that `flowdash users` does not list.
    #[arg(
        long,
        env = "FLOWDASH_PROXY_DEFAULT_ROLE",
        value_enum,
        default_value = "viewer"
    )]
    pub proxy_default_role: crate::auth::Role,

    /// Serve a non-loopback --listen address with --auth none (when a proxy in front of
    /// flowdash authenticates).
    #[arg(long, env = "FLOWDASH_INSECURE_NO_AUTH")]
    pub insecure_no_auth: bool,

    /// Hours a login lasts.
    #[arg(long, env = "FLOWDASH_SESSION_HOURS", default_value_t = 8)]
    pub session_hours: u64,

    /// Serve HTTPS with this certificate chain (PEM), with --tls-key.
    #[arg(long, env = "FLOWDASH_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --tls-cert.
    #[arg(long, env = "FLOWDASH_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Mark session cookies `Secure` (when browsers reach flowdash over HTTPS through a
    /// proxy; automatic with --tls-cert).
    #[arg(long, env = "FLOWDASH_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// With --es-url, keep saved objects (index patterns, visualizations, dashboards, short
    /// links) in the data directory instead of the cluster's `.flowdash` index (for read-only
    /// cluster credentials; they are then not shared with other flowdash servers).
    #[arg(long, env = "FLOWDASH_LOCAL_SAVED_OBJECTS")]
    pub local_saved_objects: bool,

    /// The Elasticsearch version the embedded engine's /es surface answers as (6.x, 7.x or
    /// 8.x request rules and response shapes), for testing clients.
    #[arg(long, env = "FLOWDASH_ES_COMPAT_VERSION", default_value = crate::backend::embedded::EMULATED_VERSION, hide = true)]
    pub es_compat_version: String,
}

/// `flowdash ingest`'s flags; [`IngestArgs::config`] makes them an [`IngestConfig`].
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories, or `-` for stdin.
    #[arg(required = true)]
    pub paths: Vec<String>,

    /// The data directory to ingest into (without --to or --es-url).
    #[command(flatten)]
    pub data: DataDirArg,

    /// Send to a running flowdash server (`http://127.0.0.1:3000`) instead of the data dir.
    #[arg(long, env = "FLOWDASH_INGEST_TO", conflicts_with = "data_dir")]
    pub to: Option<String>,

    /// The record format of input without header lines, as in the flow log's settings:
    /// '${version} ${account-id} ${interface-id} ...'. Default: the version 2 format.
    #[arg(long, env = "FLOWDASH_FORMAT")]
    pub format: Option<String>,

    /// How long flows and their rollups are kept, enforced once the inputs are in.
    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Print the final report as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Country and AS fields for the flows ingested into the data directory.
    #[command(flatten)]
    pub geo: GeoArgs,

    /// The cluster to ingest into instead of the data directory.
    #[command(flatten)]
    pub elastic: ElasticArgs,
}

/// `flowdash demo`'s flags; [`DemoArgs::config`] makes them a [`DemoCommandConfig`].
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of flow records.
    #[arg(long, env = "FLOWDASH_DEMO_FLOWS", default_value_t = 200_000)]
    pub flows: u64,

    /// Hours of traffic, ending now.
    #[arg(long, env = "FLOWDASH_DEMO_HOURS", default_value_t = 24)]
    pub hours: u32,

    /// Random seed: the same seed gives the same traffic.
    #[arg(long, env = "FLOWDASH_DEMO_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Do nothing when the store already holds flows.
    #[arg(long)]
    pub if_empty: bool,

    /// Write flow-log text (with a header line; gzip when the name ends in .gz) instead of
    /// storing.
    #[arg(long)]
    pub output: Option<PathBuf>,

    /// The data directory to generate into (without --output).
    #[command(flatten)]
    pub data: DataDirArg,
}

impl ServeArgs {
    /// The server's configuration; registers the cluster's credentials as secrets.
    pub fn config(self) -> anyhow::Result<ServeConfig> {
        Ok(ServeConfig {
            listen: self.listen,
            writer_memory_bytes: self.data.writer_memory_bytes(),
            data_dir: self.data.data_dir,
            site_root: self.site_root,
            max_body_bytes: self.max_body_bytes,
            max_decompressed_bytes: self.max_decompressed_bytes,
            retention: self.retention.policy(!self.no_rollups)?,
            demo_follow: self.demo_follow.filter(|&per_minute| per_minute > 0),
            allowed_indices: self.allowed_indices,
            allowed_hosts: self.allowed_hosts,
            networks_file: self.networks,
            geo: self.geo.files(),
            search_timeout: Duration::from_millis(self.search_timeout_ms),
            rollups: !self.no_rollups,
            csv_max_rows: self.csv_max_rows,
            max_search_memory_bytes: self.max_search_memory_mb << 20,
            column_cache_bytes: self
                .column_cache_mb
                .map_or_else(column_cache::default_budget, |mb| mb << 20),
            elastic: self.elastic.config()?,
            local_saved_objects: self.local_saved_objects,
            es_compat_version: self.es_compat_version,
            auth: AuthConfig {
                mode: self.auth,
                session_ttl: Duration::from_secs(self.session_hours * 3600),
                secure_cookies: self.secure_cookies,
                proxy: ProxyTrust {
                    user_header: self.proxy_user_header.to_ascii_lowercase(),
                    addresses: self.trusted_proxies,
                    default_role: self.proxy_default_role,
                },
            },
            insecure_no_auth: self.insecure_no_auth,
            tls: self
                .tls_cert
                .zip(self.tls_key)
                .map(|(cert, key)| TlsFiles { cert, key }),
        })
    }
}

impl IngestArgs {
    /// The ingestion's configuration: `--format` parsed, and one target out of `--to`,
    /// `--es-url` and `--data-dir` (in that order of precedence).
    pub fn config(self) -> anyhow::Result<IngestConfig> {
        let format = self
            .format
            .as_deref()
            .map(RecordFormat::parse_format_string)
            .transpose()
            .context("--format")?;
        let mut geo = self.geo.files();
        if self.to.is_some() && (geo.geoip.is_some() || geo.asn.is_some()) {
            // Perhaps from the environment, shared with the server: that server adds them.
            tracing::warn!(
                "--geoip-db and --asn-db are not used with --to: the server adds the fields \
                 if it was started with them"
            );
            geo = GeoFiles::default();
        }
        let target = match (self.to, self.elastic.config()?) {
            (Some(url), _) => IngestTarget::Server(url),
            (None, Some(cluster)) => IngestTarget::Cluster(cluster),
            (None, None) => IngestTarget::DataDir {
                writer_memory_bytes: self.data.writer_memory_bytes(),
                data_dir: self.data.data_dir,
                retention: self.retention.policy(true)?,
            },
        };
        Ok(IngestConfig {
            paths: self.paths,
            format,
            target,
            geo,
            json: self.json,
        })
    }
}

impl DemoArgs {
    /// The demo's configuration: a file with `--output` (where `--if-empty` has no say), or
    /// the data directory.
    pub fn config(self) -> DemoCommandConfig {
        DemoCommandConfig {
            flows: self.flows,
            hours: self.hours,
            seed: self.seed,
            target: match self.output {
                Some(path) => DemoTarget::File(path),
                None => DemoTarget::DataDir {
                    writer_memory_bytes: self.data.writer_memory_bytes(),
                    data_dir: self.data.data_dir,
                    if_empty: self.if_empty,
                },
            },
        }
    }
}

impl UsersArgs {
    /// The user change to make in the data directory.
    pub fn config(self) -> UsersConfig {
        let change = match self.action {
            UsersAction::Add {
                name,
                role,
                password_stdin,
            } => UserChange::Add {
                name,
                role,
                password_stdin,
            },
            UsersAction::Passwd {
                name,
                password_stdin,
            } => UserChange::Passwd {
                name,
                password_stdin,
            },
            UsersAction::Remove { name } => UserChange::Remove { name },
            UsersAction::List => UserChange::List,
        };
        UsersConfig {
            data_dir: self.data_dir,
            change,
        }
    }
}

/// Runs the parsed command to completion: builds its configuration, then runs it.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Serve(args) => {
            let config = (*args).config()?;
            runtime.block_on(crate::http::serve(config))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(args) => commands::ingest::run((*args).config()?, runtime.handle()),
        Command::Demo(args) => commands::demo::run(args.config()),
        Command::Users(args) => commands::users::run(args.config()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn credentials_in_the_cluster_url_become_basic_auth_and_leave_the_url() {
        let (url, credentials) =
            split_user_info("http://alice:S3cret%40Pass@127.0.0.1:9200/").unwrap();
        assert_eq!(url, "http://127.0.0.1:9200");
        assert_eq!(
            credentials,
            Some(("alice".to_owned(), "S3cret@Pass".to_owned()))
        );
        assert_eq!(crate::redact::redact("x S3cret@Pass y"), "x [redacted] y");
        let (url, credentials) = split_user_info("https://es.example:9200").unwrap();
        assert_eq!(url, "https://es.example:9200");
        assert_eq!(credentials, None);
    }

    #[test]
    fn flags_parse() {
        let cli = Cli::try_parse_from([
            "flowdash",
            "serve",
            "--listen",
            "127.0.0.1:4000",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.listen.port(), 4000);
        assert_eq!(args.data.data_dir, PathBuf::from("/tmp/x"));

        let cli = Cli::try_parse_from([
            "flowdash",
            "ingest",
            "a.log",
            "-",
            "--to",
            "http://127.0.0.1:3000",
        ])
        .unwrap();
        let Command::Ingest(args) = cli.command else {
            panic!("ingest")
        };
        assert_eq!(args.paths, ["a.log", "-"]);
        assert!(
            Cli::try_parse_from(["flowdash", "ingest"]).is_err(),
            "paths are required"
        );
        assert!(
            Cli::try_parse_from([
                "flowdash",
                "ingest",
                "x",
                "--to",
                "http://h",
                "--data-dir",
                "d"
            ])
            .is_err(),
            "--to and --data-dir conflict"
        );
    }

    #[test]
    fn rollups_are_kept_at_least_as_long_as_their_flows_and_only_when_made() {
        let policy = |args: &[&str]| {
            let cli = Cli::try_parse_from(["flowdash", "serve"].iter().chain(args))?;
            let Command::Serve(args) = cli.command else {
                panic!("serve")
            };
            args.retention
                .policy(!args.no_rollups)
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e))
        };
        assert_eq!(policy(&[]).unwrap(), None);
        assert_eq!(
            policy(&["--retain-days", "30", "--rollup-retain-days", "395"]).unwrap(),
            Some(Retention {
                days: 30,
                rollup_days: Some(395)
            })
        );
        assert_eq!(
            policy(&["--retain-days", "30", "--rollup-retain-days", "30"]).unwrap(),
            Some(Retention {
                days: 30,
                rollup_days: None
            })
        );
        let error = |args: &[&str]| policy(args).unwrap_err().to_string();
        assert!(error(&["--rollup-retain-days", "90"]).contains("--retain-days"));
        assert!(
            error(&["--retain-days", "30", "--rollup-retain-days", "7"]).contains("shorter"),
            "{}",
            error(&["--retain-days", "30", "--rollup-retain-days", "7"])
        );
        assert!(error(&[
            "--retain-days",
            "30",
            "--rollup-retain-days",
            "90",
            "--no-rollups"
        ])
        .contains("--no-rollups"));
    }

    #[test]
    fn geoip_flags_go_to_the_data_directory_or_the_cluster_and_not_through_to() {
        let parse = |args: &[&str]| {
            let cli =
                Cli::try_parse_from(["flowdash", "ingest", "a.log"].iter().chain(args)).unwrap();
            let Command::Ingest(args) = cli.command else {
                panic!("ingest")
            };
            args.config().unwrap()
        };
        let config = parse(&["--geoip-db", "City.mmdb", "--asn-db", "ASN.mmdb"]);
        assert!(matches!(config.target, IngestTarget::DataDir { .. }));
        assert_eq!(config.geo.geoip, Some(PathBuf::from("City.mmdb")));
        assert_eq!(config.geo.asn, Some(PathBuf::from("ASN.mmdb")));
        let config = parse(&["--asn-db", "ASN.mmdb", "--es-url", "http://127.0.0.1:9200"]);
        assert!(matches!(config.target, IngestTarget::Cluster(_)));
        assert_eq!(config.geo.asn, Some(PathBuf::from("ASN.mmdb")));
        // The server a file is sent to adds its own.
        let config = parse(&["--asn-db", "ASN.mmdb", "--to", "http://127.0.0.1:3000"]);
        assert!(matches!(config.target, IngestTarget::Server(_)));
        assert_eq!(config.geo.asn, None);

        let cli = Cli::try_parse_from(["flowdash", "serve", "--geoip-db", "Country.mmdb"]).unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        let config = args.config().unwrap();
        assert_eq!(config.geo.geoip, Some(PathBuf::from("Country.mmdb")));
        assert_eq!(config.geo.asn, None);
    }
}
