//! `GET /api/visualizations/{id}/render.svg|png?from=&to=&q=&lang=&filters=&width=&height=&time_zone=`:
//! a saved visualization drawn on the server with the browser's chart code, for the view a
//! dashboard's address gives (time, query and filters, read as the dashboard reads them).
//! Without `time_zone`, times follow the zone the viewer's pages told the server
//! (`UTC_OFFSET_COOKIE`), else UTC; the viewer's chosen dark theme is kept too.

use app::charts::{ChartTheme, DrawOptions};
use app::model::saved_object::ObjectType;
use app::model::time::{format_utc_offset, parse_utc_offset, TimeRange, UTC_OFFSET_COOKIE};
use app::model::visualization::Visualization;
use app::panels::ViewInputs;
use app::state::ViewState;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{AppError, AppState};
use crate::chart_image::{render, ImageFormat};

pub fn router() -> Router<AppState> {
    Router::new().route("/visualizations/{id}/{file}", get(render_visualization))
}

#[derive(Debug, Deserialize)]
struct RenderParams {
    #[serde(default = "default_from")]
    from: String,
    #[serde(default = "default_to")]
    to: String,
    #[serde(default = "default_width")]
    width: u32,
    #[serde(default = "default_height")]
    height: u32,
    /// The viewer's zone as the browser sends it (`+09:00`): calendar intervals, date math
    /// rounding and the times drawn follow it. UTC when absent.
    time_zone: Option<String>,
    /// The moment relative times count from, in epoch milliseconds; the server's clock when
    /// absent. A dashboard's images carry the `now` of the page that shows them, so the
    /// browser's own searches for that page ask for the same ranges (and are answered from the
    /// request cache).
    now: Option<i64>,
}

/// The moments `now` may name: 1970 to the end of 9999, as dates can be written.
const NOW_RANGE_MS: std::ops::RangeInclusive<i64> = 0..=253_402_300_799_999;

fn default_from() -> String {
    "now-24h".into()
}
fn default_to() -> String {
    "now".into()
}
fn default_width() -> u32 {
    800
}
fn default_height() -> u32 {
    400
}

async fn render_visualization(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    Query(params): Query<RenderParams>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let view = ViewState::from_query_string(raw.as_deref().unwrap_or_default());
    let format = match file.as_str() {
        "render.svg" => ImageFormat::Svg,
        "render.png" => ImageFormat::Png,
        other => {
            return Err(AppError::NotFound(format!(
                "[{other}]: render.svg or render.png"
            )))
        }
    };
    let object = state.store.get(ObjectType::Visualization, &id).await?;
    let vis = Visualization::from_value(object.attributes)
        .map_err(|e| AppError::bad_request(e.to_string()))?;
    state.allowed_indices.check(&vis.index_pattern)?;
    // The zone asked for, else the one the viewer's pages told the server (an image on a
    // page labels times as the page does), else UTC.
    let cookie_zone = crate::auth::cookie(&headers, UTC_OFFSET_COOKIE)
        .and_then(|value| parse_utc_offset(value.trim()).map(|_| value.trim().to_owned()));
    let time_zone = params.time_zone.or(cookie_zone);
    let utc_offset_secs = match &time_zone {
        Some(zone) => parse_utc_offset(zone).ok_or_else(|| {
            AppError::bad_request(format!("time_zone [{zone}]: an offset such as +09:00"))
        })?,
        None => 0,
    };
    let now = match params.now {
        Some(now) if NOW_RANGE_MS.contains(&now) => now,
        Some(now) => {
            return Err(AppError::bad_request(format!(
                "now [{now}]: epoch milliseconds from 1970 to 9999"
            )))
        }
        None => chrono::Utc::now().timestamp_millis(),
    };
    let dark = super::pages_are_dark(&headers);
    let inputs = ViewInputs::resolve(
        &TimeRange {
            from: params.from,
            to: params.to,
        },
        view.query,
        view.filters,
        now,
        utc_offset_secs,
        // Written as the browser writes it, whatever form it came in.
        time_zone.map(|_| format_utc_offset(utc_offset_secs)),
    )
    .map_err(|e| AppError::bad_request(format!("time range: {e}")))?;
    let data = crate::visualizations::chart_data(&state, &vis, &inputs).await;
    let options = DrawOptions {
        legend: vis.options.legend,
        colors: vis.options.colors.clone(),
        utc_offset_secs,
        theme: ChartTheme::for_dark(dark),
        ..DrawOptions::default()
    };
    let (width, height) = (params.width, params.height);
    let bytes = tokio::task::spawn_blocking(move || {
        let data = data.as_ref().map_err(String::as_str);
        render(data, &options, width, height, format)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| match e {
        crate::chart_image::RenderError::BadSize => AppError::bad_request(e.to_string()),
        other => AppError::Internal(other.into()),
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}
