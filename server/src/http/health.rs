//! `GET /api/health`: liveness plus what backend this server runs on.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let cluster = state.backend.info().await;
    let indices = state.backend.indices().await.unwrap_or_default();
    Json(json!({
        "status": if cluster.is_ok() { "ok" } else { "degraded" },
        "backend": state.backend.kind().as_str(),
        "version": env!("CARGO_PKG_VERSION"),
        "cluster": match cluster {
            Ok(info) => json!({ "version": info.version, "distribution": info.distribution }),
            Err(error) => json!({ "error": crate::redact::redact(&error.to_string()) }),
        },
        "indices": indices.len(),
        "documents": indices.iter().map(|i| i.docs).sum::<u64>(),
        "rolled_up_indices": indices.iter().filter(|i| i.rolled_up).count(),
    }))
}
