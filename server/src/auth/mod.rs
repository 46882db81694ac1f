//! Users, roles and sessions (`--auth users`).
//!
//! - **Roles.** `viewer` reads dashboards and flows; `editor` also changes saved objects;
//!   `admin` also manages index patterns and writes or deletes on `/es`; `ingest` only sends
//!   flows (`/api/ingest`, `/es/_bulk`), with an API token as `Bearer` or as basic
//!   authentication's password, as the AWS Lambda and Fluent Bit send it.
//! - **Sessions.** `POST /api/login` answers an `HttpOnly`, `SameSite=Strict` cookie (`Secure`
//!   with `--secure-cookies`) that expires after `--session-hours`; sessions are kept in the
//!   data directory ([`sessions`]), so a restart logs no one out. Failed logins of a name, and
//!   from an address, are limited.
//! - **Who may do what** is one table, [`required_role`], read by the `authorize`
//!   middleware (`http/login.rs`, this module's door with the login routes) before any route; every write is written to the audit log (target
//!   `flowdash::audit`): who, what, when, and the answer.
//! - `--auth proxy` trusts a reverse proxy that authenticates (oauth2-proxy, an AWS ALB with
//!   OIDC): the user is the `--proxy-user-header` of requests from the `--trusted-proxies`
//!   addresses only, with the role `users.json` gives that name, or `--proxy-default-role`.
//! - `--auth none` lets everyone do everything: only on a loopback address, unless
//!   `--insecure-no-auth` says otherwise.

pub mod sessions;
pub mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap, HeaderValue, Method};
use base64::Engine;
use serde::{Deserialize, Serialize};

use self::sessions::Sessions;
use self::users::UserStore;

/// What a user may do; each role includes the ones before it, except `ingest`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads dashboards, visualizations and flows.
    Viewer,
    /// Also saves, edits, deletes and imports visualizations and dashboards.
    Editor,
    /// Also manages index patterns and writes or deletes on `/es`.
    Admin,
    /// Sends flows, nothing else (an API token for a shipper).
    Ingest,
}

impl Role {
    /// The role's name in `users.json`, flags and `/api/me`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }

    /// Whether this role may do what `need` asks.
    pub(crate) fn allows(self, need: Need) -> bool {
        match need {
            Need::Anyone => true,
            Need::Viewer => matches!(self, Role::Viewer | Role::Editor | Role::Admin),
            Need::Editor => matches!(self, Role::Editor | Role::Admin),
            Need::Admin => self == Role::Admin,
            Need::Ingest => matches!(self, Role::Ingest | Role::Admin),
        }
    }
}

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// No identity needed (the login page, health, static files).
    Anyone,
    /// A viewer or more.
    Viewer,
    /// An editor or admin.
    Editor,
    /// An admin.
    Admin,
    /// The `ingest` role or admin.
    Ingest,
}

/// Who may call what: the one table of the server's routes.
pub fn required_role(method: &Method, path: &str) -> Need {
    let read = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["login"] | ["api", "login"] | ["api", "logout"] | ["api", "health"] => Need::Anyone,
        ["pkg", ..] | ["favicon.ico"] => Need::Anyone,
        ["api", "ingest"] => Need::Ingest,
        // Reading: searches, fields, objects, renders, sharing a view.
        ["api", "search" | "msearch" | "short_urls" | "me"] => Need::Viewer,
        ["api", "saved_objects", "_find" | "_export"] => Need::Viewer,
        ["api", ..] if read => Need::Viewer,
        // Index patterns are the admin's: they decide what the others can see.
        ["api", "saved_objects", "index-pattern", ..] | ["api", "index_patterns", ..] => {
            Need::Admin
        }
        ["api", "saved_objects", ..] => Need::Editor,
        ["api", ..] => Need::Admin,
        // The Elasticsearch surface: shippers write, viewers search, admins do the rest.
        ["es"] | ["es", ""] if read => Need::Anyone,
        ["es", "_bulk"] | ["es", _, "_bulk"] | ["es", "_refresh"] | ["es", _, "_refresh"]
            if !segments[1].starts_with('.') =>
        {
            Need::Ingest
        }
        ["es", first, ..] if first.starts_with('.') => Need::Admin,
        ["es", .., "_search" | "_msearch" | "_count" | "_field_caps"] => Need::Viewer,
        ["es", ..] if read => Need::Viewer,
        ["es", ..] => Need::Admin,
        // Pages.
        _ if read => Need::Viewer,
        _ => Need::Admin,
    }
}

/// `--auth` and its settings.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Who may use the server (`--auth`).
    pub mode: AuthMode,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// Mark the session cookie `Secure` (served over HTTPS, by a proxy or otherwise).
    pub secure_cookies: bool,
    /// `--auth proxy`: the header that names the user, from these addresses only.
    pub proxy: ProxyTrust,
}

/// Which reverse proxy is trusted to say who the user is.
#[derive(Clone, Debug)]
pub struct ProxyTrust {
    /// The header (lower-case) in which the proxy names the user.
    pub user_header: String,
    /// The proxies' addresses: the header of any other client is ignored.
    pub addresses: Vec<std::net::IpAddr>,
    /// The role of a proxy user that `users.json` does not list.
    pub default_role: Role,
}

impl Default for ProxyTrust {
    fn default() -> Self {
        ProxyTrust {
            user_header: "x-forwarded-user".into(),
            addresses: Vec::new(),
            default_role: Role::Viewer,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::None,
            session_ttl: Duration::from_secs(8 * 3600),
            secure_cookies: false,
            proxy: ProxyTrust::default(),
        }
    }
}

/// How the server learns who is calling (`--auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Everyone may do everything (a loopback-only server).
    None,
    /// Built-in users and roles (`flowdash users add`).
    Users,
    /// The user a trusted reverse proxy names in a header (`--proxy-user-header`).
    Proxy,
}

/// Who made a request; handlers find it in the request's extensions.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The user's name (`anonymous` without authentication).
    pub user: String,
    /// What the user may do.
    pub role: Role,
}

const COOKIE: &str = "flowdash_session";

/// Failed logins allowed per window for one name, and for one client address (which may try
/// several names), and the window.
const FAILURES_ALLOWED: u32 = 5;
const FAILURES_ALLOWED_PER_ADDRESS: u32 = 20;
pub(crate) const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Who failed to log in: a user name, or a client address.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Failing {
    Name(String),
    Address(std::net::IpAddr),
}

/// Users, sessions and failed-login counts of a server with `--auth users`.
pub struct Auth {
    users: UserStore,
    pub(crate) config: AuthConfig,
    pub(crate) sessions: Sessions,
    failures: Mutex<HashMap<Failing, (u32, Instant)>>,
}

impl Auth {
    /// The authentication state of a server, over its users and sessions.
    pub fn new(users: UserStore, sessions: Sessions, config: AuthConfig) -> Auth {
        Auth {
            users,
            config,
            sessions,
            failures: Mutex::default(),
        }
    }

    /// The identity a request carries: the trusted proxy's header (`--auth proxy`), a session
    /// cookie, a bearer token, or basic authentication (a password, or an ingest user's
    /// token). `peer` is the address the request came from.
    pub(crate) async fn identify(
        self: &Arc<Self>,
        headers: &HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Option<Identity> {
        if self.config.mode == AuthMode::Proxy {
            let trust = &self.config.proxy;
            let name = headers
                .get(trust.user_header.as_str())?
                .to_str()
                .ok()?
                .trim();
            if name.is_empty() || !peer.is_some_and(|peer| trust.addresses.contains(&peer)) {
                return None;
            }
            let role = self.users.role_of(name).unwrap_or(trust.default_role);
            return Some(Identity {
                user: name.to_owned(),
                role,
            });
        }
        if let Some(session) = cookie(headers, COOKIE) {
            if let Some(identity) = self.session_identity(session) {
                return Some(identity);
            }
        }
        let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, value) = authorization.split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            let (user, role) = self.users.verify_token(value.trim())?;
            return Some(Identity { user, role });
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .ok()?;
            let decoded = String::from_utf8(decoded).ok()?;
            let (user, secret) = decoded.split_once(':')?;
            let client = self.client_address(headers, peer);
            if self.too_many_failures(user, client) {
                return None;
            }
            return match self.check_password(user, secret).await {
                Some(role) => Some(Identity {
                    user: user.to_owned(),
                    role,
                }),
                None => {
                    self.count_failure(user, client);
                    None
                }
            };
        }
        None
    }

    /// The identity of a live session, with the user's role as it is now: a user removed or
    /// given another role since logging in is so at once.
    fn session_identity(&self, session: &str) -> Option<Identity> {
        let user = self.sessions.user_of(session)?;
        match self.users.role_of(&user) {
            Some(role) => Some(Identity { user, role }),
            None => {
                self.sessions.end(session);
                None
            }
        }
    }

    /// The role of a user whose password (or token) this is. Argon2 is slow on purpose, so a
    /// password not verified before is checked off the async workers.
    pub(crate) async fn check_password(self: &Arc<Self>, user: &str, secret: &str) -> Option<Role> {
        if let Some(role) = self.users.verify_remembered(user, secret) {
            return Some(role);
        }
        let auth = self.clone();
        let (user, secret) = (user.to_owned(), secret.to_owned());
        tokio::task::spawn_blocking(move || auth.users.verify(&user, &secret))
            .await
            .ok()
            .flatten()
    }

    /// The address a request comes from: the peer, or, when the peer is a trusted proxy, the
    /// address it says it forwards for (the last in `X-Forwarded-For`).
    pub(crate) fn client_address(
        &self,
        headers: &HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Option<std::net::IpAddr> {
        let peer = peer?;
        if !self.config.proxy.addresses.contains(&peer) {
            return Some(peer);
        }
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .next_back();
        Some(forwarded.unwrap_or(peer))
    }

    pub(crate) fn too_many_failures(&self, user: &str, client: Option<std::net::IpAddr>) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let exceeded = |who: Failing, allowed: u32| {
            failures
                .get(&who)
                .is_some_and(|(count, since)| *count >= allowed && since.elapsed() < FAILURE_WINDOW)
        };
        exceeded(Failing::Name(user.to_owned()), FAILURES_ALLOWED)
            || client.is_some_and(|client| {
                exceeded(Failing::Address(client), FAILURES_ALLOWED_PER_ADDRESS)
            })
    }

    pub(crate) fn count_failure(&self, user: &str, client: Option<std::net::IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        // Forget windows that are over, so that the map does not grow with every name tried.
        if failures.len() > 10_000 {
            failures.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        }
        let who =
            std::iter::once(Failing::Name(user.to_owned())).chain(client.map(Failing::Address));
        for who in who {
            let entry = failures.entry(who).or_insert((0, now));
            if now.duration_since(entry.1) >= FAILURE_WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    pub(crate) fn end_session(&self, headers: &HeaderMap) {
        if let Some(session) = cookie(headers, COOKIE) {
            self.sessions.end(session);
        }
    }

    pub(crate) fn session_cookie(&self, value: &str, max_age: u64) -> HeaderValue {
        let secure = if self.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        HeaderValue::from_str(&format!(
            "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
        ))
        .expect("a cookie of token characters")
    }
}

/// The value of cookie `name`, among all the request's `Cookie` headers (HTTP/2 may send
/// each cookie in a header of its own).
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("flowdash-theme=dark"),
        );
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "flowdash-theme"), Some("dark"));
        assert_eq!(cookie(&headers, "theme"), None);
        assert_eq!(cookie(&HeaderMap::new(), "a"), None);
    }

    #[test]
    fn the_route_table() {
        let get = Method::GET;
        let post = Method::POST;
        let cases = [
            (&get, "/", Need::Viewer),
            (&get, "/dashboards/x", Need::Viewer),
            (&get, "/login", Need::Anyone),
            (&post, "/api/login", Need::Anyone),
            (&get, "/api/health", Need::Anyone),
            (&post, "/api/search", Need::Viewer),
            (&post, "/api/msearch", Need::Viewer),
            (&post, "/api/short_urls", Need::Viewer),
            (&post, "/api/saved_objects/_export", Need::Viewer),
            (&post, "/api/saved_objects/visualization", Need::Editor),
            (&Method::PUT, "/api/saved_objects/dashboard/x", Need::Editor),
            (
                &Method::DELETE,
                "/api/saved_objects/dashboard/x",
                Need::Editor,
            ),
            (&post, "/api/saved_objects/_import", Need::Editor),
            (&post, "/api/saved_objects/index-pattern/x", Need::Admin),
            (&post, "/api/index_patterns/x/_refresh", Need::Admin),
            (&post, "/api/ingest", Need::Ingest),
            (&post, "/es/_bulk", Need::Ingest),
            (&post, "/es/cwl-2020.01.01/_bulk", Need::Ingest),
            (&post, "/es/.flowdash/_bulk", Need::Admin),
            (&get, "/es/", Need::Anyone),
            (&post, "/es/cwl-*/_search", Need::Viewer),
            (&get, "/es/_cat/indices", Need::Viewer),
            (&get, "/es/.flowdash/_search", Need::Admin),
            (&Method::DELETE, "/es/_all", Need::Admin),
            (&Method::PUT, "/es/.flowdash/_doc/x", Need::Admin),
        ];
        for (method, path, need) in cases {
            assert_eq!(required_role(method, path), need, "{method} {path}");
        }
        assert!(Role::Admin.allows(Need::Ingest));
        assert!(!Role::Ingest.allows(Need::Viewer));
        assert!(!Role::Viewer.allows(Need::Editor));
        assert!(Role::Editor.allows(Need::Viewer));
    }
}
