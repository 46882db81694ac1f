//! The bundle every page loads from `/pkg`: its script, WASM and stylesheet, and the WASM
//! chunks of the pages loaded lazily (`cargo leptos build --split`, see `app::pages`).
//!
//! A release build (`cargo leptos build --release --precompress`) leaves brotli and gzip copies
//! beside each file; a browser that accepts one gets it as it is, with no compression work per
//! request. Names that carry their content's hash (`hash-files` in the workspace's Leptos
//! settings) never change meaning, so browsers keep them for a year without asking again;
//! plain names are checked with the server each time.

use std::path::Path;

use axum::extract::Request;
use axum::http::header::{HeaderValue, CACHE_CONTROL, VARY};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::services::ServeDir;

/// How long a content-hashed file may be kept: a year, never revalidated.
const HASHED: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// A file whose name does not change with its content: kept, but checked with the server
/// (a 304 when it is unchanged) before each use.
const PLAIN: HeaderValue = HeaderValue::from_static("no-cache");

/// `/{pkg_dir}/*`: the files of `site_root/pkg_dir`, precompressed where a copy exists.
pub fn router<S: Clone + Send + Sync + 'static>(site_root: &Path, pkg_dir: &str) -> Router<S> {
    let files = ServeDir::new(site_root.join(pkg_dir))
        .precompressed_br()
        .precompressed_gzip();
    Router::new().nest_service(
        &format!("/{pkg_dir}"),
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn(cache_by_name))
            .service(files),
    )
}

/// Warns when the site in `site_root` was built without `--split`: its pages are compiled to
/// load their code lazily, and without the chunks they never become interactive. The server
/// still serves them; the warning says how to build the site.
pub fn warn_unless_split(site_root: &Path, pkg_dir: &str) {
    let Ok(files) = std::fs::read_dir(site_root.join(pkg_dir)) else {
        return; // no site at all: the pages are the server's HTML alone
    };
    let split = files.flatten().any(|file| {
        file.file_name()
            .to_string_lossy()
            .starts_with("__wasm_split.")
    });
    if !split {
        tracing::warn!(
            site_root = %site_root.display(),
            "the site was built without `--split`: its pages will not become interactive; \
             build it with `cargo leptos build --release --split` (scripts/run does)"
        );
    }
}

/// Sets how long the browser keeps a file, by whether its name carries its hash.
async fn cache_by_name(request: Request, next: Next) -> Response {
    let hashed = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(is_content_hashed);
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status().as_u16() == 304 {
        let lifetime = if hashed { HASHED } else { PLAIN };
        let headers = response.headers_mut();
        headers.insert(CACHE_CONTROL, lifetime);
        // The body depends on what the browser accepts: a shared cache must keep one per
        // encoding.
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// Whether a file name is `name.HASH.ext` as cargo-leptos writes it: the MD5 of the content in
/// unpadded URL-safe base64, 22 characters.
fn is_content_hashed(file_name: &str) -> bool {
    let mut parts = file_name.rsplit('.');
    let (Some(_ext), Some(hash), Some(stem)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !stem.is_empty()
        && hash.len() == 22
        && hash
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::is_content_hashed;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_content_hashed("flowdash.Zx3_1-abcdefghijklmnop.wasm"));
        assert!(is_content_hashed("flowdash.Zx3_1-abcdefghijklmnop.js"));
        // The chunks of `--split` and their loader.
        assert!(is_content_hashed("chunk_10.ApanDEOZS9lstMpvShlzKw.wasm"));
        assert!(is_content_hashed(
            "split___editor_route_view_9722255964469527986.u9D_FHIlkd34JlW_Nb17RQ.wasm"
        ));
        assert!(is_content_hashed("__wasm_split.OjXmnDPZBeh66WWRqbiNrQ.js"));
        assert!(!is_content_hashed("flowdash.wasm"));
        assert!(!is_content_hashed("flowdash_bg.wasm"));
        // The hash is the part before the extension, not a precompressed copy's suffix.
        assert!(!is_content_hashed("flowdash.css.br"));
        assert!(!is_content_hashed(".Zx3_1-abcdefghijklmnop.js"));
        assert!(!is_content_hashed("flowdash.Zx3_1-abcdefghijklmn!p.js"));
    }
}
