//! `POST /api/ingest`: flow-log text (any format, header lines honoured), gzip of it, or a
//! CloudWatch Logs subscription payload. Answers what was accepted, rejected and skipped, with
//! the line number and reason of each rejected line. `?format=${...}` gives the record format
//! of headerless text.

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::Body;
use super::{AppError, AppState};
use crate::ingest::format::RecordFormat;
use crate::ingest::{ingest_reader, IngestOptions, IngestReport};

pub fn router() -> Router<AppState> {
    Router::new().route("/ingest", post(ingest))
}

#[derive(Debug, Deserialize)]
struct IngestParams {
    format: Option<String>,
}

async fn ingest(
    State(state): State<AppState>,
    Query(params): Query<IngestParams>,
    Body(body): Body,
) -> Result<Json<IngestReport>, AppError> {
    let format = params
        .format
        .as_deref()
        .map(RecordFormat::parse_format_string)
        .transpose()
        .map_err(|e| AppError::bad_request(format!("format: {e}")))?;
    let options = IngestOptions {
        format,
        limits: state.limits.ingest.clone(),
    };
    let mut sink = state.backend.ingest_sink();
    let report = tokio::task::spawn_blocking(move || -> Result<IngestReport, AppError> {
        let mut report = IngestReport::default();
        ingest_reader(None, &body[..], &options, &mut *sink, &mut report)
            .map_err(|e| AppError::Internal(e.into()))?;
        report.record(sink.flush().map_err(|e| AppError::Internal(e.into()))?);
        Ok(report)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))??;
    Ok(Json(report))
}
