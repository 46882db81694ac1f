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
    Json(json!({
        "status": "ok",
        "backend": state.info.backend,
        "version": env!("CARGO_PKG_VERSION"),
        "data_dir": state.info.data_dir,
    }))
}
