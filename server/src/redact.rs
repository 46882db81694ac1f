//! Secrets out of every message: error answers, `/api/health`, log lines and start-up errors
//! pass through [`redact`] on their way out.
//!
//! Two nets, because a message can carry a secret in forms no single rule catches:
//! - the secrets flowdash was given (cluster passwords, API keys, tokens) are registered at
//!   start-up and removed wherever they appear, also in the base64 forms HTTP sends them in;
//! - what looks like a credential is removed whoever wrote it: the user-info part of URLs
//!   (`http://alice:…@host`) and the value of `Authorization` headers and of the `Basic`,
//!   `Bearer`, `ApiKey` and AWS signature schemes, as a cluster or a proxy may echo them.

use std::sync::{OnceLock, RwLock};

use base64::Engine;

const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for: they would redact ordinary words.
const SHORTEST_SECRET: usize = 4;

fn registry() -> &'static RwLock<Vec<String>> {
    static SECRETS: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(RwLock::default)
}

/// Remembers a secret so that no message shows it, as given or base64-encoded.
pub fn register_secret(secret: &str) {
    if secret.len() < SHORTEST_SECRET {
        return;
    }
    let mut secrets = registry().write().unwrap_or_else(|e| e.into_inner());
    for form in [
        secret.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(secret),
    ] {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
}

/// Remembers a user and password, also as HTTP basic authentication sends them.
pub fn register_basic_credentials(user: &str, password: &str) {
    register_secret(password);
    register_secret(&format!("{user}:{password}"));
}

/// The text without the secrets it holds.
pub fn redact(text: &str) -> String {
    let mut text = redact_user_info(text);
    text = redact_auth_values(&text);
    let secrets = registry().read().unwrap_or_else(|e| e.into_inner());
    for secret in secrets.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// `scheme://user:password@host` → `scheme://[redacted]@host`.
fn redact_user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(user_info_end) => {
                out.push_str(REDACTED);
                out.push_str(&authority[user_info_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
}

/// The value after an `Authorization` header name or an authorization scheme.
fn redact_auth_values(text: &str) -> String {
    /// Header names (and AWS's signature scheme): whatever value follows goes, to the end of
    /// the value (a quote, comma, semicolon, brace or line end).
    const HEADERS: &[&str] = &["authorization", "x-amz-security-token", "aws4-hmac-sha256 "];
    /// Scheme words: the token after them goes when it looks like one (long enough that a
    /// sentence's next word is left alone).
    const SCHEMES: &[&str] = &["basic ", "bearer ", "apikey "];
    const SHORTEST_TOKEN: usize = 12;
    let lower = text.to_ascii_lowercase();
    let bytes = text.as_bytes();
    // Byte ranges to blank out, found on the lower-cased copy (ASCII lower-casing keeps
    // every byte offset).
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    let mut find = |marker: &str, is_header: bool| {
        let mut from = 0;
        while let Some(found) = lower[from..].find(marker) {
            let mut start = from + found + marker.len();
            from = start;
            if is_header {
                while start < bytes.len()
                    && matches!(bytes[start], b'"' | b'\'' | b':' | b'=' | b' ')
                {
                    start += 1;
                }
                let end = text[start..]
                    .find(|c: char| {
                        matches!(c, '"' | '\'' | ',' | ';' | '\n' | '\r' | '}' | ']' | '\\')
                    })
                    .map_or(text.len(), |end| start + end);
                if end > start {
                    cuts.push((start, end));
                }
            } else {
                let end = text[start..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || "+/=._~-:".contains(c)))
                    .map_or(text.len(), |end| start + end);
                if end - start >= SHORTEST_TOKEN {
                    cuts.push((start, end));
                }
            }
        }
    };
    for marker in HEADERS {
        find(marker, true);
    }
    for marker in SCHEMES {
        find(marker, false);
    }
    if cuts.is_empty() {
        return text.to_owned();
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in cuts {
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
        }
        at = at.max(end);
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_in_urls_is_removed() {
        assert_eq!(
            redact("cannot reach the cluster: http://alice:S3cret@10.0.0.1:9200/_search: refused"),
            "cannot reach the cluster: http://[redacted]@10.0.0.1:9200/_search: refused"
        );
        assert_eq!(redact("https://host:9200/x"), "https://host:9200/x");
        assert_eq!(redact("see http://a@b"), "see http://[redacted]@b");
    }

    #[test]
    fn authorization_values_are_removed() {
        for (text, secret) in [
            ("Authorization: Basic YWxpY2U6UzNjcmV0", "YWxpY2U6UzNjcmV0"),
            (
                r#"{"headers":{"authorization":"ApiKey c2VjcmV0LWtleQ=="}}"#,
                "c2VjcmV0LWtleQ",
            ),
            ("sent Bearer eyJhbGciOi.x.y to it", "eyJhbGciOi"),
            ("AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc", "AKIA"),
        ] {
            let redacted = redact(text);
            assert!(!redacted.contains(secret), "{redacted}");
            assert!(redacted.contains(REDACTED), "{redacted}");
        }
        assert_eq!(redact("a basic question"), "a basic question");
        assert_eq!(redact("auth: bearer token"), "auth: bearer token");
        assert_eq!(redact("no secrets here"), "no secrets here");
    }

    #[test]
    fn registered_secrets_are_removed_in_every_form() {
        register_basic_credentials("carol", "pa55-W0rd-unique");
        let basic = base64::engine::general_purpose::STANDARD.encode("carol:pa55-W0rd-unique");
        let text = format!("x pa55-W0rd-unique y {basic} z");
        let redacted = redact(&text);
        assert!(!redacted.contains("pa55-W0rd-unique"), "{redacted}");
        assert!(!redacted.contains(&basic), "{redacted}");
    }
}
