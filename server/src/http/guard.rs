//! What a browser may not be tricked into: reaching this server under a name an attacker
//! controls (DNS rebinding), and changing state from another site's page (CSRF). Also the
//! headers every answer carries so pages cannot be framed, sniffed or fed foreign scripts.
//!
//! - **Host.** A request must name this server by an IP address, `localhost`, or one of the
//!   names given with `--allowed-hosts`. A rebinding attack needs a host name the attacker's
//!   DNS answers, so it never passes; addresses and loopback names always do.
//! - **Writes** (every method but GET, HEAD and OPTIONS) are refused when the browser says they
//!   come from another site (`Sec-Fetch-Site`), when `Origin` names another host, and when
//!   their content type is one an HTML form or a preflight-free `fetch` can send
//!   (`text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`) unless they
//!   carry the `kbn-xsrf` header, which no cross-site request can set without a preflight
//!   that this server never grants. JSON, NDJSON, gzip and bodies without a type pass, as
//!   the AWS Lambda, Fluent Bit, `flowdash ingest --to` and curl send them.
//! - **Scripts.** Each answer's Content-Security-Policy allows scripts from this server and
//!   inline scripts carrying that answer's random nonce ([`ScriptNonce`]: Leptos's hydration
//!   bootstrap and the login page have it), so injected markup cannot run script.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppError;

/// The header that marks a write as coming from a script of this server's own pages (the
/// name Kibana uses, so its clients pass too).
pub const XSRF_HEADER: &str = "kbn-xsrf";

/// Host names, besides addresses and `localhost`, that this server answers to.
#[derive(Clone, Debug, Default)]
pub struct HostAllowList {
    /// Lower-case names without port; `*` turns the check off.
    names: Arc<[String]>,
}

impl HostAllowList {
    /// The names of `--allowed-hosts`, compared without case or a trailing dot.
    pub fn new(names: &[String]) -> HostAllowList {
        HostAllowList {
            names: names
                .iter()
                .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|n| !n.is_empty())
                .collect(),
        }
    }

    /// Whether a `Host` header value (`name`, `name:port`, `[v6]:port`) names this server.
    pub fn allows(&self, host: &str) -> bool {
        let name = host_name(host).trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        name.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self
                .names
                .iter()
                .any(|allowed| allowed == "*" || *allowed == name)
    }
}

/// The name part of a `Host` value.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The nonce of one answer's inline scripts, in the request's extensions for whatever renders
/// a page (128 random bits, base64url).
#[derive(Clone, Debug)]
pub struct ScriptNonce(pub Arc<str>);

impl ScriptNonce {
    fn new() -> ScriptNonce {
        use base64::Engine;
        let random = uuid::Uuid::new_v4();
        ScriptNonce(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(random.as_bytes())
                .into(),
        )
    }
}

/// Refuses requests for foreign host names and cross-site writes; adds the security headers.
pub async fn guard(
    State(hosts): State<HostAllowList>,
    mut request: Request,
    next: Next,
) -> Response {
    // HTTP/2 names the host in the `:authority` of the URI, HTTP/1.1 in `Host`.
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default()
        .to_owned();
    let nonce = ScriptNonce::new();
    if let Err(error) = check(&hosts, &host, request.method(), request.headers()) {
        let mut response = error.into_response();
        add_security_headers(response.headers_mut(), &nonce);
        return response;
    }
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    add_security_headers(response.headers_mut(), &nonce);
    response
}

fn check(
    hosts: &HostAllowList,
    host: &str,
    method: &Method,
    headers: &HeaderMap,
) -> Result<(), AppError> {
    if !hosts.allows(host) {
        return Err(AppError::Forbidden(format!(
            "this server does not answer to the host name [{}]; start it with --allowed-hosts {} (FLOWDASH_ALLOWED_HOSTS) to allow it",
            host_name(host),
            host_name(host)
        )));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    check_write(host, headers)
}

/// A write must come from this server's own pages or from a program that is not a browser.
fn check_write(host: &str, headers: &HeaderMap) -> Result<(), AppError> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if !matches!(site, "same-origin" | "none") {
            return Err(cross_site(format!("the browser marks it as {site}")));
        }
    }
    if let Some(origin) = text(header::ORIGIN) {
        let origin_host = origin.split_once("://").map(|(_, rest)| rest);
        if origin_host.is_none_or(|origin_host| !origin_host.eq_ignore_ascii_case(host)) {
            return Err(cross_site(format!("it comes from the origin {origin}")));
        }
    }
    let content_type = text(header::CONTENT_TYPE).map(|t| {
        t.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    });
    let form_sendable = content_type.as_deref().is_some_and(|t| {
        matches!(
            t,
            "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
        )
    });
    if form_sendable && !headers.contains_key(XSRF_HEADER) {
        return Err(AppError::Forbidden(format!(
            "a write with content type [{}] needs the header `{XSRF_HEADER}: true` (any page could send this request); send JSON, NDJSON or gzip, or add the header",
            content_type.unwrap_or_default()
        )));
    }
    Ok(())
}

fn cross_site(why: String) -> AppError {
    AppError::Forbidden(format!(
        "cross-site write refused: {why}; flowdash accepts changes only from its own pages"
    ))
}

/// Pages may not be framed (clickjacking), content types are not guessed, and scripts,
/// styles and connections come from this server only: inline scripts only with this answer's
/// nonce (WASM compiles under `wasm-unsafe-eval`). Inline styles stay allowed: Leptos sets
/// `style` attributes, which nonces cannot cover, and styles cannot run code.
fn add_security_headers(headers: &mut HeaderMap, nonce: &ScriptNonce) {
    let csp = format!(
        "default-src 'self'; script-src 'self' 'nonce-{}' 'wasm-unsafe-eval'; \
        style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; \
        object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        nonce.0
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(csp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_by_address_loopback_name_or_configured_name() {
        let hosts = HostAllowList::new(&["Flowdash.Internal".into()]);
        for allowed in [
            "127.0.0.1:3000",
            "10.1.2.3",
            "[::1]:3000",
            "localhost:3000",
            "app.localhost",
            "flowdash.internal:8080",
            "FLOWDASH.internal.",
        ] {
            assert!(hosts.allows(allowed), "{allowed}");
        }
        for refused in [
            "evil.example:3000",
            "",
            "flowdash.internal.evil.example",
            "localhost.evil.example",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        assert!(HostAllowList::new(&["*".into()]).allows("anything.example"));
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn writes_from_other_sites_or_forms_are_refused() {
        let host = "127.0.0.1:3000";
        let refused = [
            vec![("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "same-site")],
            vec![("origin", "http://evil.example")],
            vec![("origin", "null")],
            vec![("content-type", "text/plain;charset=UTF-8")],
            vec![("content-type", "application/x-www-form-urlencoded")],
            vec![("content-type", "multipart/form-data; boundary=x")],
        ];
        for pairs in refused {
            assert!(check_write(host, &headers(&pairs)).is_err(), "{pairs:?}");
        }
        let allowed = [
            vec![],
            vec![("content-type", "application/json")],
            vec![("content-type", "application/x-ndjson")],
            vec![("content-type", "text/plain"), ("kbn-xsrf", "true")],
            vec![
                ("origin", "http://127.0.0.1:3000"),
                ("sec-fetch-site", "same-origin"),
            ],
            vec![("sec-fetch-site", "none")],
        ];
        for pairs in allowed {
            assert!(check_write(host, &headers(&pairs)).is_ok(), "{pairs:?}");
        }
    }
}
