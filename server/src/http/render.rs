//! `GET /api/visualizations/{id}/render.svg|png?from=&to=&q=&lang=&filters=&width=&height=&time_zone=`:
//! a saved visualization drawn on the server with the browser's chart code, for the view a
//! dashboard's address gives (time, query and filters, read as the dashboard reads them).
//! Without `time_zone`, times follow the zone the viewer's pages told the server
//! (`UTC_OFFSET_COOKIE`), else UTC; the viewer's chosen dark theme is kept too.
//!
//! A dashboard page's images begin drawing as the server renders the page ([`Prerenders`]),
//! and the browser's requests for them take what was drawn.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::charts::{ChartTheme, DrawOptions};
use app::model::saved_object::ObjectType;
use app::model::time::{format_utc_offset, parse_utc_offset, TimeRange, UTC_OFFSET_COOKIE};
use app::model::visualization::Visualization;
use app::panels::ViewInputs;
use app::state::ViewState;
use axum::extract::{OriginalUri, Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::future::{BoxFuture, FutureExt, Shared};
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
    RawQuery(raw): RawQuery,
    OriginalUri(address): OriginalUri,
    method: Method,
    headers: HeaderMap,
) -> Result<impl IntoResponse, AppError> {
    let request = ImageRequest::new(id, file, raw.unwrap_or_default(), &headers);
    let key = prerender_key(&address, &request);
    // A `HEAD` (a link checker, a proxy warming up) shares the drawing and leaves it to the
    // `GET` it was begun for.
    let begun = if method == Method::HEAD {
        state.prerenders.share(&key)
    } else {
        state.prerenders.take(&key)
    };
    let drawn = match begun {
        Some(started) => started.await,
        None => None,
    };
    let (format, bytes) = match drawn {
        Some(drawn) => (drawn.0, drawn.1.clone()),
        // Not started, or it failed: drawn here, so that its error is answered.
        None => draw(&state, &request).await?,
    };
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    ))
}

/// One image asked for: which visualization, which file, the view in its query string, and
/// what the viewer's cookies say (zone, dark theme).
struct ImageRequest {
    id: String,
    file: String,
    query: String,
    cookie_zone: Option<String>,
    dark: bool,
}

impl ImageRequest {
    fn new(id: String, file: String, query: String, headers: &HeaderMap) -> ImageRequest {
        // The zone the viewer's pages told the server: an image on a page labels times as
        // the page does.
        let cookie_zone = crate::auth::cookie(headers, UTC_OFFSET_COOKIE)
            .and_then(|value| parse_utc_offset(value.trim()).map(|_| value.trim().to_owned()));
        ImageRequest {
            id,
            file,
            query,
            cookie_zone,
            dark: super::pages_are_dark(headers),
        }
    }
}

/// Draws a visualization for a view: its search, then its chart as SVG or PNG.
async fn draw(
    state: &AppState,
    request: &ImageRequest,
) -> Result<(ImageFormat, Vec<u8>), AppError> {
    let format = match request.file.as_str() {
        "render.svg" => ImageFormat::Svg,
        "render.png" => ImageFormat::Png,
        other => {
            return Err(AppError::NotFound(format!(
                "[{other}]: render.svg or render.png"
            )))
        }
    };
    let params: RenderParams = render_params(&request.query)?;
    let view = ViewState::from_query_string(&request.query);
    let object = state
        .store
        .get(ObjectType::Visualization, &request.id)
        .await?;
    let vis = Visualization::from_value(object.attributes)
        .map_err(|e| AppError::bad_request(e.to_string()))?;
    state.allowed_indices.check(&vis.index_pattern)?;
    // The zone asked for, else the viewer's, else UTC.
    let time_zone = params.time_zone.or_else(|| request.cookie_zone.clone());
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
    let data = crate::visualizations::chart_data(state, &vis, &inputs).await;
    let options = DrawOptions {
        legend: vis.options.legend,
        colors: vis.options.colors.clone(),
        utc_offset_secs,
        theme: ChartTheme::for_dark(request.dark),
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
    Ok((format, bytes))
}

/// The query string's parameters, refused as axum's `Query` refuses them.
fn render_params(query: &str) -> Result<RenderParams, AppError> {
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| AppError::bad_request("the query string is not a valid address"))?;
    Query::<RenderParams>::try_from_uri(&uri)
        .map(|Query(params)| params)
        .map_err(|e| AppError::bad_request(e.body_text()))
}

/// An image drawn, shared by whoever waits for it.
type Drawn = Option<Arc<(ImageFormat, Vec<u8>)>>;

/// An image being drawn, which any number may wait for.
type Drawing = Shared<BoxFuture<'static, Drawn>>;

/// What identifies an image begun for a page: its address, and what the viewer's cookies
/// change in it. Viewers all see the same images, so whose page began it does not matter.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PrerenderKey {
    address: String,
    cookie_zone: Option<String>,
    dark: bool,
}

fn prerender_key(address: &axum::http::Uri, request: &ImageRequest) -> PrerenderKey {
    PrerenderKey {
        address: address
            .path_and_query()
            .map_or_else(|| address.to_string(), |p| p.as_str().to_owned()),
        cookie_zone: request.cookie_zone.clone(),
        dark: request.dark,
    }
}

/// Images begun while the pages that show them were rendered (see [`app::panels::Prerender`]):
/// a dashboard's browser asks for its images a few at a time (six connections), while it
/// compiles the WASM on the same cores, so the last used to begin half a second after the
/// page. Each is taken by the first request for it. One never asked for is let go
/// [`PRERENDER_TTL`] after it is drawn, and a drawing still running after [`MAX_DRAWING_TIME`]
/// is stopped. At most [`MAX_PRERENDERS`] are kept and [`MAX_DRAWING`] drawn at once; past
/// those, a page's images are drawn when they are asked for. An image shows the visualization
/// as it was when its page was rendered, as the page itself does.
#[derive(Default)]
pub struct Prerenders {
    begun: Arc<Mutex<HashMap<PrerenderKey, Begun>>>,
}

/// An image begun: when, its drawing, and the task that draws it and lets it go.
struct Begun {
    at: Instant,
    drawing: Drawing,
    task: tokio::task::AbortHandle,
}

/// How long a drawn image waits for its request.
const PRERENDER_TTL: Duration = Duration::from_secs(30);

/// How long a drawing may run before it is stopped (a request then draws its image itself).
const MAX_DRAWING_TIME: Duration = Duration::from_secs(60);

/// Images begun and not yet asked for, at most: a few dashboards' worth.
const MAX_PRERENDERS: usize = 256;

/// Images being drawn at once, at most: two dashboards' worth.
const MAX_DRAWING: usize = 32;

impl Prerenders {
    /// Begins drawing an image a page shows (`address`, as the page's `<img>` names it), for
    /// a viewer whose request had `headers`. Addresses of other kinds are ignored.
    pub fn begin(&self, state: &AppState, address: &str, headers: &HeaderMap) {
        let Ok(uri) = address.parse::<axum::http::Uri>() else {
            return;
        };
        let Some(rest) = uri.path().strip_prefix("/api/visualizations/") else {
            return;
        };
        let Some((id, file)) = rest.split_once('/') else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let request = ImageRequest::new(
            app::api::decode(id),
            file.to_owned(),
            uri.query().unwrap_or_default().to_owned(),
            headers,
        );
        let key = prerender_key(&uri, &request);
        let mut begun = self.lock_pruned();
        let drawing_now = begun
            .values()
            .filter(|begun| begun.drawing.peek().is_none())
            .count();
        if begun.len() >= MAX_PRERENDERS || drawing_now >= MAX_DRAWING || begun.contains_key(&key) {
            return;
        }
        let state = state.clone();
        let drawing = async move { draw(&state, &request).await.ok().map(Arc::new) }
            .boxed()
            .shared();
        // Drawn whether or not it is asked for soon (the request then waits for the rest), and
        // let go if it is not asked for in time.
        let at = Instant::now();
        let (held, drawn, held_key) = (Arc::downgrade(&self.begun), drawing.clone(), key.clone());
        let task = runtime.spawn(async move {
            drawn.await;
            tokio::time::sleep(PRERENDER_TTL).await;
            if let Some(held) = held.upgrade() {
                let mut begun = held.lock().unwrap_or_else(|e| e.into_inner());
                // Unless it was taken, and the same image begun again since.
                if begun.get(&held_key).is_some_and(|begun| begun.at == at) {
                    begun.remove(&held_key);
                }
            }
        });
        begun.insert(
            key,
            Begun {
                at,
                drawing,
                task: task.abort_handle(),
            },
        );
    }

    /// Images begun and not yet taken.
    #[cfg(test)]
    pub fn begun(&self) -> usize {
        self.begun.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Waits until every image begun so far is drawn.
    #[cfg(test)]
    pub async fn drawn(&self) {
        let drawings: Vec<_> = {
            let begun = self.begun.lock().unwrap_or_else(|e| e.into_inner());
            begun.values().map(|begun| begun.drawing.clone()).collect()
        };
        futures_util::future::join_all(drawings).await;
    }

    fn take(&self, key: &PrerenderKey) -> Option<Drawing> {
        self.lock_pruned().remove(key).map(|begun| begun.drawing)
    }

    /// The drawing under `key`, left for the request that takes it.
    fn share(&self, key: &PrerenderKey) -> Option<Drawing> {
        self.lock_pruned()
            .get(key)
            .map(|begun| begun.drawing.clone())
    }

    /// The images begun, drawings running past [`MAX_DRAWING_TIME`] stopped and let go first.
    fn lock_pruned(&self) -> std::sync::MutexGuard<'_, HashMap<PrerenderKey, Begun>> {
        let mut begun = self.begun.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        begun.retain(|_, begun| {
            let stuck =
                begun.drawing.peek().is_none() && now.duration_since(begun.at) >= MAX_DRAWING_TIME;
            if stuck {
                begun.task.abort();
            }
            !stuck
        });
        begun
    }
}
