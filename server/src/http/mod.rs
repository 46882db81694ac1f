//! The HTTP layer: one router per area, merged in [`build_app`], with the cross-cutting layers
//! (tracing, compression, body limit) applied in one place.

mod assets;
mod error;
mod export;
mod extract;
mod guard;
mod health;
mod ingest;
mod login;
mod objects_context;
mod render;
mod saved_objects;
mod search;
mod short_urls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::Router;
pub use error::AppError;
pub use extract::AppJson;
pub use guard::{HostAllowList, ScriptNonce};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
pub(crate) use search::search_within_deadline;
pub use search::IndexAllowList;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::auth::sessions::Sessions;
use crate::auth::users::UserStore;
use crate::auth::{Auth, AuthConfig, AuthMode};
use crate::backend::elastic::{ElasticBackend, ElasticConfig};
use crate::backend::embedded::{EmbeddedBackend, EmbeddedEngine, Retention};
use crate::backend::with_geo::WithGeo;
use crate::backend::SearchBackend;
use crate::es_api::documents::SystemIndices;
use crate::es_api::EsSurface;
use crate::ingest::IngestLimits;
use crate::networks::NetworksFile;
use crate::store::{ElasticStore, RedbStore, SavedObjectStore, ShortUrlStore};

/// What `flowdash serve` needs to start.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The address to listen on (`127.0.0.1:3000`).
    pub listen: SocketAddr,
    /// Where the embedded engine, saved objects, users and sessions are kept.
    pub data_dir: PathBuf,
    /// The built UI (`target/site`: the wasm, JS, CSS and public files).
    pub site_root: PathBuf,
    /// The largest request body, as sent.
    pub max_body_bytes: usize,
    /// The largest request body once decompressed (gzip ingest and `_bulk`).
    pub max_decompressed_bytes: u64,
    /// How long daily indices and their rollups are kept; `None` keeps everything.
    pub retention: Option<Retention>,
    /// Add live demo traffic at about this many records a minute (`--demo-follow`).
    pub demo_follow: Option<u32>,
    /// Index patterns the browser may search (`cwl-*`).
    pub allowed_indices: Vec<String>,
    /// Host names the server answers to besides addresses and `localhost` (DNS rebinding).
    pub allowed_hosts: Vec<String>,
    /// The named networks' file (`--networks`): read at start, written when the page saves.
    pub networks_file: Option<PathBuf>,
    /// The GeoIP and ASN databases the embedded engine's ingest reads (`--geoip-db`,
    /// `--asn-db`).
    pub geo: crate::geo::GeoFiles,
    /// How long one search may run before it answers a timeout.
    pub search_timeout: Duration,
    /// Whether the embedded engine makes and reads hourly rollups (`--no-rollups`).
    pub rollups: bool,
    /// Most rows one CSV export writes.
    pub csv_max_rows: usize,
    /// Memory one search's aggregations may take on the embedded engine.
    pub max_search_memory_bytes: usize,
    /// Memory the embedded engine keeps opened columns in.
    pub column_cache_bytes: usize,
    /// The memory the embedded engine's index writers may hold together.
    pub writer_memory_bytes: usize,
    /// The user's cluster; `None` runs the embedded engine in `data_dir`.
    pub elastic: Option<ElasticConfig>,
    /// With a cluster, keep saved objects in `data_dir` rather than its `.flowdash` index.
    pub local_saved_objects: bool,
    /// The Elasticsearch version `/es` answers as (its request checks and response shapes).
    pub es_compat_version: String,
    /// Users and roles, or none.
    pub auth: AuthConfig,
    /// Serve a non-loopback address with `--auth none` all the same.
    pub insecure_no_auth: bool,
    /// Serve HTTPS with this certificate chain and private key (PEM files).
    pub tls: Option<TlsFiles>,
}

/// The PEM files of `--tls-cert` and `--tls-key`.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
}

/// Bounds on what one request may cost.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest request body, as sent.
    pub max_body_bytes: usize,
    /// What one ingest request may cost (decompressed bytes, records).
    pub ingest: IngestLimits,
    /// How long one search may run.
    pub search_timeout: Duration,
    /// Most rows one CSV export writes.
    pub csv_max_rows: usize,
}

/// Shared by every handler and by the Leptos renderer.
#[derive(Clone)]
pub struct AppState {
    /// The UI's build settings, for the Leptos renderer and the static files.
    pub leptos_options: LeptosOptions,
    /// Where searches go: the embedded engine or the user's cluster.
    pub backend: Arc<dyn SearchBackend>,
    /// Embedded mode: the engine behind `backend`, with what `/es` serves from it. `None` with
    /// a cluster.
    pub embedded: Option<EsSurface>,
    /// Bounds on what one request may cost.
    pub limits: Arc<Limits>,
    /// Index patterns the browser may search.
    pub allowed_indices: Arc<IndexAllowList>,
    /// Host names the server answers to (DNS rebinding defence).
    pub allowed_hosts: HostAllowList,
    /// The named networks' file, written whenever the networks object is saved.
    pub networks_file: Option<Arc<NetworksFile>>,
    /// Users, sessions and roles (`--auth users`); `None` lets everyone do everything.
    pub auth: Option<Arc<Auth>>,
    /// Saved objects: index patterns, visualizations, searches, dashboards.
    pub store: Arc<dyn SavedObjectStore>,
    /// Short links of shared views.
    pub short_urls: Arc<dyn ShortUrlStore>,
    /// Dashboard panels' images begun as their pages are rendered.
    pub prerenders: Arc<render::Prerenders>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// State for the configured backend: the cluster when one is given, else the embedded
    /// engine in `data_dir`.
    pub fn new(config: &ServeConfig) -> anyhow::Result<AppState> {
        // Saved objects and short links: one store serves both.
        fn both<S: SavedObjectStore + ShortUrlStore>(
            store: S,
        ) -> (Arc<dyn SavedObjectStore>, Arc<dyn ShortUrlStore>) {
            let store = Arc::new(store);
            (store.clone(), store)
        }
        let local_store = || RedbStore::open(&config.data_dir.join("saved_objects"));
        let mut embedded_mode = None;
        let (backend, (store, short_urls)): (Arc<dyn SearchBackend>, _) = match &config.elastic {
            Some(elastic) => {
                let cluster = ElasticBackend::new(elastic)?;
                let stores = if config.local_saved_objects {
                    both(local_store()?)
                } else {
                    both(ElasticStore::new(cluster.clone()))
                };
                let backend: Arc<dyn SearchBackend> = Arc::new(cluster);
                // The cluster's documents are not flowdash's to change: its hits get the
                // country and AS fields as they are answered.
                let backend = match config.geo.open()? {
                    Some(databases) => Arc::new(WithGeo::new(backend, databases)),
                    None => backend,
                };
                (backend, stores)
            }
            None => {
                let embedded = Arc::new(EmbeddedEngine::open(&config.data_dir)?);
                embedded.set_search_timeout(config.search_timeout);
                embedded.set_rollups_enabled(config.rollups);
                embedded.set_collect_budget(config.max_search_memory_bytes);
                embedded
                    .column_cache()
                    .set_budget(config.column_cache_bytes);
                embedded.set_writer_memory(config.writer_memory_bytes);
                embedded.set_geo_databases(config.geo.open()?);
                embedded_mode = Some(EsSurface {
                    engine: embedded.clone(),
                    system: Arc::new(SystemIndices::open(&config.data_dir)?),
                    // A decompressed `_bulk` body may be as large as a plain one.
                    max_bulk_bytes: config
                        .max_decompressed_bytes
                        .min(config.max_body_bytes as u64),
                    compat_version: config.es_compat_version.as_str().into(),
                });
                (
                    Arc::new(EmbeddedBackend::new(embedded)),
                    both(local_store()?),
                )
            }
        };
        Ok(AppState {
            leptos_options: leptos_options(config),
            backend,
            embedded: embedded_mode,
            limits: Arc::new(Limits {
                max_body_bytes: config.max_body_bytes,
                ingest: IngestLimits {
                    max_decompressed_bytes: config.max_decompressed_bytes,
                    ..IngestLimits::default()
                },
                search_timeout: config.search_timeout,
                csv_max_rows: config.csv_max_rows,
            }),
            allowed_indices: Arc::new(IndexAllowList(config.allowed_indices.clone())),
            allowed_hosts: HostAllowList::new(&config.allowed_hosts),
            networks_file: config
                .networks_file
                .clone()
                .map(|path| Arc::new(NetworksFile::new(path))),
            auth: match config.auth.mode {
                AuthMode::None => None,
                AuthMode::Proxy => {
                    if config.auth.proxy.addresses.is_empty() {
                        anyhow::bail!("--auth proxy needs --trusted-proxies: the addresses of the proxies whose {} header names the user", config.auth.proxy.user_header);
                    }
                    let users = UserStore::open(&config.data_dir)?;
                    let sessions = Sessions::open(&config.data_dir);
                    Some(Arc::new(Auth::new(users, sessions, config.auth.clone())))
                }
                AuthMode::Users => {
                    let users = UserStore::open(&config.data_dir)?;
                    if users.is_empty() {
                        anyhow::bail!(
                            "--auth users, but {} holds no users: add one with `flowdash users add NAME --role admin --data-dir {}`",
                            config.data_dir.join("users.json").display(),
                            config.data_dir.display()
                        );
                    }
                    let mut auth = config.auth.clone();
                    // Browsers send a `Secure` cookie over HTTPS only.
                    auth.secure_cookies |= config.tls.is_some();
                    let sessions = Sessions::open(&config.data_dir);
                    Some(Arc::new(Auth::new(users, sessions, auth)))
                }
            },
            store,
            short_urls,
            prerenders: Arc::default(),
        })
    }
}

impl AppState {
    /// The state, with the default index pattern, visualizations and dashboard installed.
    pub async fn initialize(config: &ServeConfig) -> anyhow::Result<AppState> {
        let state = AppState::new(config)?;
        if let (Some(elastic), false) = (&config.elastic, config.local_saved_objects) {
            ElasticStore::new(ElasticBackend::new(elastic)?)
                .ensure_index()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("creating the .flowdash index for saved objects (or pass --local-saved-objects): {e}")
                })?;
        }
        let geo = state
            .embedded
            .as_ref()
            .and_then(|surface| surface.engine.geo_databases())
            .map(|databases| crate::overview::GeoPanels {
                country: databases.has_countries(),
                asn: databases.has_autonomous_systems(),
            })
            .unwrap_or_default();
        crate::defaults::install(state.store.as_ref(), state.backend.as_ref(), geo).await?;
        match &config.networks_file {
            Some(path) => crate::networks::apply_file(state.store.as_ref(), path).await?,
            // The newcomer's demo: its networks by name, unless some are named already.
            None if config.demo_follow.is_some() && state.embedded.is_some() => {
                crate::networks::name_demo_networks(state.store.as_ref()).await?
            }
            None => {}
        }
        Ok(state)
    }
}

/// The options Leptos renders with. The output name must match `name` in the workspace's
/// `[[workspace.metadata.leptos]]`, since the page links `/pkg/flowdash.js`.
///
/// A site built with `hash-files` has `hash.txt` at its root (`hash-file-name` in the same
/// settings), naming the hashed files the page must link. Leptos reads it relative to the
/// executable; an absolute path ties it to the site actually served instead.
pub fn leptos_options(config: &ServeConfig) -> LeptosOptions {
    let hash_file = std::path::absolute(config.site_root.join("hash.txt"))
        .unwrap_or_else(|_| config.site_root.join("hash.txt"));
    LeptosOptions::builder()
        .output_name("flowdash")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .hash_files(hash_file.is_file())
        .hash_file(Arc::from(hash_file.to_string_lossy().as_ref()))
        .build()
}

/// The whole application: API routes, server-rendered pages, static files.
pub fn build_app(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let api = Router::new()
        .merge(health::router())
        .merge(ingest::router())
        .merge(search::router())
        .merge(export::router())
        .merge(saved_objects::router())
        .merge(render::router())
        .merge(short_urls::api_router());
    let mut router = Router::new()
        .nest("/api", api)
        .merge(login::router())
        .merge(short_urls::goto_router());
    if let Some(es) = &state.embedded {
        router = router.merge(crate::es_api::router(es.clone()));
    }
    let options = &state.leptos_options;
    router = router.merge(assets::router(
        std::path::Path::new(options.site_root.as_ref()),
        &options.site_pkg_dir,
    ));
    router
        .leptos_routes_with_context(&state, routes, page_context(&state), {
            let options = state.leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context(&state), app::shell))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            login::authorize,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.allowed_hosts.clone(),
            guard::guard,
        ))
        // A bug that panics fails its own request, not the server.
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What every server-rendered page has in context: the saved-objects source, what begins its
/// panels' images, the theme the user chose, and the nonce its inline scripts (the hydration
/// bootstrap, streamed resources) carry under the CSP.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let objects = app::api::Objects(Arc::new(objects_context::StoreSource(state.store.clone())));
    let state = state.clone();
    move || {
        leptos::prelude::provide_context(objects.clone());
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>();
        // Panels' images begin drawing as the page is rendered, for this viewer's cookies.
        if let Some(parts) = &parts {
            let (state, headers) = (state.clone(), parts.headers.clone());
            leptos::prelude::provide_context(app::panels::Prerender(Arc::new(
                move |address: &str| state.prerenders.begin(&state, address, &headers),
            )));
        }
        // The theme chosen in an earlier visit, so the page is rendered in it.
        let theme = parts
            .as_ref()
            .map(|parts| theme_choice(&parts.headers))
            .unwrap_or_default();
        leptos::prelude::provide_context(theme);
        let nonce = parts.and_then(|parts| parts.extensions.get::<guard::ScriptNonce>().cloned());
        if let Some(guard::ScriptNonce(nonce)) = nonce {
            leptos::prelude::provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    }
}

/// A panic in a handler, answered as a 500 in the API's error shape (and logged).
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    axum::response::IntoResponse::into_response(AppError::Internal(anyhow::anyhow!(
        "request handler panicked: {message}"
    )))
}

/// Binds, serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    if config.auth.mode == AuthMode::None
        && !config.listen.ip().is_loopback()
        && !config.insecure_no_auth
    {
        anyhow::bail!(
            "{} is reachable from other machines, and without --auth users anyone who reaches it can read every flow and change every dashboard; add users (`flowdash users add NAME --role admin`) and pass --auth users, or pass --insecure-no-auth if something in front of flowdash authenticates",
            config.listen
        );
    }
    let state = AppState::initialize(&config).await?;
    let engine = state.embedded.as_ref().map(|es| es.engine.clone());
    if let (Some(retention), Some(engine)) = (config.retention, engine.clone()) {
        tokio::spawn(enforce_retention(engine, retention));
    }
    match (config.demo_follow, engine.clone()) {
        (Some(per_minute), Some(engine)) => {
            tokio::spawn(follow_demo(engine, per_minute));
        }
        (Some(_), None) => anyhow::bail!(
            "--demo-follow adds demo traffic to the embedded engine; it cannot write to a cluster (--es-url)"
        ),
        (None, _) => {}
    }
    let tls = match &config.tls {
        Some(files) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(&files.cert, &files.key)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "--tls-cert {} / --tls-key {}: {e}",
                        files.cert.display(),
                        files.key.display()
                    )
                })?,
        ),
        None => None,
    };
    assets::warn_unless_split(&config.site_root, "pkg");
    let listener = std::net::TcpListener::bind(config.listen)?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    match &config.elastic {
        Some(elastic) => {
            tracing::info!(%address, scheme, cluster = %elastic.url, auth = ?elastic.auth, "flowdash is listening")
        }
        None => {
            tracing::info!(%address, scheme, data_dir = %config.data_dir.display(), "flowdash is listening")
        }
    }
    if let Some(engine) = engine.clone() {
        tokio::spawn(close_idle_writers(engine.clone()));
        if engine.rollups_enabled() {
            tokio::spawn(refresh_rollups(engine));
        }
    }
    let app = build_app(state);
    match tls {
        Some(tls) => {
            let handle = axum_server::Handle::new();
            tokio::spawn({
                let handle = handle.clone();
                async move {
                    shutdown_signal().await;
                    handle.graceful_shutdown(Some(Duration::from_secs(30)));
                }
            });
            axum_server::from_tcp_rustls(listener, tls)?
                .handle(handle)
                .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                .await?;
        }
        None => {
            axum::serve(
                tokio::net::TcpListener::from_std(listener)?,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        }
    }
    if let Some(engine) = engine {
        tokio::task::spawn_blocking(move || engine.close_idle_writers(Duration::ZERO, 0)).await??;
    }
    tracing::info!("flowdash stopped");
    Ok(())
}

/// Commits and closes the writers of days that receive nothing, releasing their threads and
/// memory.
async fn close_idle_writers(engine: Arc<EmbeddedEngine>) {
    use crate::backend::embedded::{IDLE_WRITER, MAX_OPEN_WRITERS};
    let mut interval = tokio::time::interval(IDLE_WRITER / 4);
    loop {
        interval.tick().await;
        let engine = engine.clone();
        let closed = tokio::task::spawn_blocking(move || {
            engine.close_idle_writers(IDLE_WRITER, MAX_OPEN_WRITERS)
        })
        .await;
        match closed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "closing idle writers failed"),
            Err(error) => tracing::error!(%error, "closing idle writers panicked"),
        }
    }
}

/// How often indices are looked at for a rollup to make, and how long an index must have
/// gone unwritten to get one.
const ROLLUP_EVERY: Duration = Duration::from_secs(30);

/// Makes the hourly rollups of indices no longer written (see `embedded/rollup`), one index
/// at a time beside the searches.
async fn refresh_rollups(engine: Arc<EmbeddedEngine>) {
    let mut interval = tokio::time::interval(ROLLUP_EVERY);
    loop {
        interval.tick().await;
        let engine = engine.clone();
        let made = tokio::task::spawn_blocking(move || engine.refresh_rollups(ROLLUP_EVERY)).await;
        match made {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::error!(%error, "making a rollup failed"),
            Err(error) => tracing::error!(%error, "making a rollup panicked"),
        }
    }
}

/// How often live demo traffic is added: often enough that "last 15 minutes" looks live.
const DEMO_FOLLOW_EVERY: Duration = Duration::from_secs(5);

/// Adds the live demo's traffic of the seconds since the last round, every
/// [`DEMO_FOLLOW_EVERY`], from the moment the server starts.
async fn follow_demo(engine: Arc<EmbeddedEngine>, per_minute: u32) {
    let live = Arc::new(std::sync::Mutex::new(crate::ingest::demo::LiveDemo::new(
        1, per_minute,
    )));
    let mut interval = tokio::time::interval(DEMO_FOLLOW_EVERY);
    let mut from_s = chrono::Utc::now().timestamp();
    tracing::info!(per_minute, "adding live demo traffic");
    loop {
        interval.tick().await;
        let to_s = chrono::Utc::now().timestamp();
        if to_s <= from_s {
            continue;
        }
        let (engine, live) = (engine.clone(), live.clone());
        let added = tokio::task::spawn_blocking(move || {
            let mut live = live.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            crate::commands::demo::follow(&engine, &mut live, from_s, to_s)
        })
        .await;
        match added {
            Ok(Ok(_)) => from_s = to_s,
            Ok(Err(error)) => tracing::error!(%error, "adding live demo traffic failed"),
            Err(error) => tracing::error!(%error, "the live demo task failed"),
        }
    }
}

/// Drops old days, or their raw flows, every hour.
async fn enforce_retention(engine: Arc<EmbeddedEngine>, retention: Retention) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    loop {
        interval.tick().await;
        let engine = engine.clone();
        let now = chrono::Utc::now().timestamp_millis();
        match tokio::task::spawn_blocking(move || engine.enforce_retention(retention, now)).await {
            Ok(Ok(retained)) => retained.log(retention),
            Ok(Err(error)) => tracing::error!(%error, "retention failed"),
            Err(error) => tracing::error!(%error, "retention task failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod reference_examples;
#[cfg(test)]
mod security_tests;
/// The theme the viewer chose in an earlier visit (its cookie), for pages and images alike.
pub(crate) fn theme_choice(headers: &axum::http::HeaderMap) -> app::theme::ThemeChoice {
    let cookie = crate::auth::cookie(headers, app::theme::THEME_COOKIE);
    app::theme::ThemeChoice::from_attr(cookie.map(str::trim))
}

/// Whether an image drawn for the viewer's pages is dark: their choice, or for "system" what
/// their browser last said the system prefers (light until it has).
pub(crate) fn pages_are_dark(headers: &axum::http::HeaderMap) -> bool {
    let system = crate::auth::cookie(headers, app::theme::SYSTEM_THEME_COOKIE);
    theme_choice(headers).is_dark(system.map(str::trim) == Some("dark"))
}

#[cfg(test)]
pub(crate) mod tests;
