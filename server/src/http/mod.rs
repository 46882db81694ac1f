//! The HTTP layer: one router per area, merged in [`build_app`], with the cross-cutting layers
//! (tracing, compression, body limit) applied in one place.

mod error;
mod health;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

pub use error::AppError;

/// What `flowdash serve` needs to start.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub site_root: PathBuf,
}

/// Shared by every handler and by the Leptos renderer.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub info: Arc<ServerInfo>,
}

/// Facts about this server that `/api/health` reports.
#[derive(Debug)]
pub struct ServerInfo {
    pub backend: &'static str,
    pub data_dir: PathBuf,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The options Leptos renders with. The output name must match `name` in the workspace's
/// `[[workspace.metadata.leptos]]`, since the page links `/pkg/flowdash.js`.
pub fn leptos_options(config: &ServeConfig) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("flowdash")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build()
}

/// The whole application: API routes, server-rendered pages, static files.
pub fn build_app(state: AppState) -> Router {
    let routes = generate_route_list(app::App);
    let api = Router::new().merge(health::router());
    Router::new()
        .nest("/api", api)
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || app::shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Binds, serves until SIGINT or SIGTERM, then finishes the requests in flight.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let state = AppState {
        leptos_options: leptos_options(&config),
        info: Arc::new(ServerInfo {
            backend: "embedded",
            data_dir: config.data_dir.clone(),
        }),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "flowdash is listening");
    axum::serve(listener, build_app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("flowdash stopped");
    Ok(())
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
