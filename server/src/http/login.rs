//! The door of `auth/`: the [`authorize`] middleware that applies [`required_role`] to every
//! request, and `/login`, `/api/login`, `/api/logout`, `/api/me`. Who may do what is decided in
//! `auth/`; this file only reads requests and writes answers.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{AppError, AppJson, AppState, ScriptNonce};
use crate::auth::{required_role, Auth, Identity, Need, Role, FAILURE_WINDOW};

/// The address a request came from over TCP.
fn peer_address(request: &Request) -> Option<std::net::IpAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// The client a request is from (see [`Auth::client_address`]), for the login rate limit.
#[derive(Clone, Copy, Debug)]
struct ClientAddress(Option<std::net::IpAddr>);

/// Lets a request through when its identity may call its route; writes the audit line of
/// every write.
pub async fn authorize(
    State(auth): State<Option<Arc<Auth>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let need = required_role(&method, &path);
    let identity = match &auth {
        None => Some(Identity {
            user: "anonymous".into(),
            role: Role::Admin,
        }),
        Some(auth) => {
            auth.identify(request.headers(), peer_address(&request))
                .await
        }
    };
    match (&identity, need) {
        (_, Need::Anyone) => {}
        (Some(identity), need) if identity.role.allows(need) => {}
        (Some(identity), need) => {
            return AppError::Forbidden(format!(
                "user [{}] with role [{}] may not {method} {path} (it needs the {} role)",
                identity.user,
                identity.role.as_str(),
                match need {
                    Need::Ingest => "ingest",
                    Need::Editor => "editor",
                    Need::Admin => "admin",
                    _ => "viewer",
                }
            ))
            .into_response()
        }
        (None, _)
            if matches!(method, Method::GET | Method::HEAD)
                && !path.starts_with("/api/")
                && !path.starts_with("/es") =>
        {
            let next_path = request.uri().path_and_query().map_or("/", |p| p.as_str());
            let target = format!("/login?next={}", percent_encode(next_path));
            return Redirect::to(&target).into_response();
        }
        (None, _) => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                Json(json!({ "error": { "type": "security_exception", "reason": "log in first: a session cookie (POST /api/login), or an Authorization header (Basic, or Bearer with an API token)" }, "status": 401 })),
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"flowdash\", charset=\"UTF-8\""),
            );
            return response;
        }
    }
    if let Some(identity) = &identity {
        request.extensions_mut().insert(identity.clone());
    }
    if let Some(auth) = &auth {
        let client = auth.client_address(request.headers(), peer_address(&request));
        request.extensions_mut().insert(ClientAddress(client));
    }
    let response = next.run(request).await;
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        tracing::info!(
            target: "flowdash::audit",
            user = identity.as_ref().map_or("-", |i| i.user.as_str()),
            role = identity.as_ref().map_or("-", |i| i.role.as_str()),
            %method,
            path,
            status = response.status().as_u16(),
            "write"
        );
    }
    response
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `/login`, `/api/login`, `/api/logout`, `/api/me`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    client: Option<axum::Extension<ClientAddress>>,
    AppJson(credentials): AppJson<Credentials>,
) -> Result<Response, AppError> {
    let Some(auth) = &state.auth else {
        return Ok(Json(json!({ "user": "anonymous", "role": "admin" })).into_response());
    };
    let client = client.and_then(|axum::Extension(ClientAddress(client))| client);
    if auth.too_many_failures(&credentials.username, client) {
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, FAILURE_WINDOW.as_secs().to_string())],
            Json(json!({ "error": { "type": "too_many_requests", "reason": format!("too many failed logins for [{}] or from this address; try again in a minute", credentials.username) }, "status": 429 })),
        )
            .into_response());
    }
    let role = auth
        .check_password(&credentials.username, &credentials.password)
        .await;
    let Some(role) = role.filter(|role| *role != Role::Ingest) else {
        auth.count_failure(&credentials.username, client);
        return Ok((
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": { "type": "security_exception", "reason": "unknown user or wrong password" }, "status": 401 })),
        )
            .into_response());
    };
    let identity = Identity {
        user: credentials.username,
        role,
    };
    tracing::info!(target: "flowdash::audit", user = identity.user, role = role.as_str(), "login");
    let session = auth.sessions.start(&identity.user, auth.config.session_ttl);
    let mut response =
        Json(json!({ "user": identity.user, "role": role.as_str() })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        auth.session_cookie(&session, auth.config.session_ttl.as_secs()),
    );
    Ok(response)
}

async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = Json(json!({ "logged_out": true })).into_response();
    if let Some(auth) = &state.auth {
        auth.end_session(&headers);
        response
            .headers_mut()
            .insert(header::SET_COOKIE, auth.session_cookie("", 0));
    }
    response
}

/// Who the browser is logged in as, and what the UI may offer.
async fn me(identity: Option<axum::Extension<Identity>>) -> Json<serde_json::Value> {
    let identity = identity.map(|axum::Extension(i)| i);
    Json(json!({
        "user": identity.as_ref().map(|i| i.user.clone()),
        "role": identity.as_ref().map(|i| i.role.as_str()),
    }))
}

/// A plain page: it works without the WASM bundle, and posts JSON with a few lines of script.
async fn login_page(nonce: Option<axum::Extension<ScriptNonce>>) -> Html<String> {
    // Its one inline script runs under this answer's CSP nonce.
    let nonce = nonce.map_or_else(String::new, |axum::Extension(nonce)| nonce.0.to_string());
    Html(include_str!("login.html").replace("{nonce}", &nonce))
}
