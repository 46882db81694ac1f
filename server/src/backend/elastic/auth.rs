//! How flowdash authenticates to a cluster: HTTP basic, API key, bearer token, or AWS
//! Signature Version 4 for Amazon OpenSearch Service (the seed's Amazon Elasticsearch domain).
//! Credentials live here, in the server; no response or page ever carries them.

use std::path::PathBuf;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// AWS credentials.
#[derive(Clone)]
pub struct AwsCredentials {
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret key (registered as a secret, never shown).
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// How requests to the cluster authenticate.
#[derive(Clone)]
pub enum Auth {
    /// No credentials (a tunnel, or a cluster without security).
    None,
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// The password (registered as a secret).
        password: String,
    },
    /// `Authorization: ApiKey …` with the base64 `id:api_key`.
    ApiKey(String),
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// AWS Signature Version 4 for Amazon OpenSearch Service / Elasticsearch Service.
    AwsSigV4 {
        /// The AWS region (`eu-west-1`).
        region: String,
        /// The AWS service (`es` or `aoss`).
        service: String,
        /// The credentials to sign with.
        credentials: AwsCredentials,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret.
        match self {
            Auth::None => write!(f, "none"),
            Auth::Basic { user, .. } => write!(f, "basic ({user})"),
            Auth::ApiKey(_) => write!(f, "api key"),
            Auth::Bearer(_) => write!(f, "bearer token"),
            Auth::AwsSigV4 {
                region, service, ..
            } => write!(f, "aws sigv4 ({service}, {region})"),
        }
    }
}

/// Why credentials cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No access key in the environment or the credentials file.
    #[error("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials (AWS_PROFILE)")]
    NoAwsCredentials,
    /// No region flag, variable or profile setting.
    #[error("no AWS region: pass --es-aws-region or set AWS_REGION")]
    NoAwsRegion,
}

/// AWS credentials from the environment, then from the shared credentials file's profile.
pub fn aws_credentials_from_environment() -> Result<AwsCredentials, AuthError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok(AwsCredentials {
            access_key_id: id,
            secret_access_key: secret,
            session_token: env("AWS_SESSION_TOKEN"),
        });
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".aws/credentials")))
        .ok_or(AuthError::NoAwsCredentials)?;
    let text = std::fs::read_to_string(path).map_err(|_| AuthError::NoAwsCredentials)?;
    let section = ini_section(&text, &profile);
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(id), Some(secret)) => Ok(AwsCredentials {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            session_token: section.get("aws_session_token").cloned(),
        }),
        _ => Err(AuthError::NoAwsCredentials),
    }
}

/// The region from the flag, the environment, or the shared config file's profile.
pub fn aws_region(flag: Option<&str>) -> Result<String, AuthError> {
    if let Some(region) = flag {
        return Ok(region.to_owned());
    }
    for name in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
        if let Ok(region) = std::env::var(name) {
            if !region.is_empty() {
                return Ok(region);
            }
        }
    }
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".to_owned());
    let path = std::env::var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|home| PathBuf::from(home).join(".aws/config")))
        .map_err(|_| AuthError::NoAwsRegion)?;
    let text = std::fs::read_to_string(path).map_err(|_| AuthError::NoAwsRegion)?;
    let section_name = if profile == "default" {
        profile
    } else {
        format!("profile {profile}")
    };
    ini_section(&text, &section_name)
        .get("region")
        .cloned()
        .ok_or(AuthError::NoAwsRegion)
}

fn ini_section(text: &str, name: &str) -> std::collections::HashMap<String, String> {
    let mut in_section = false;
    let mut values = std::collections::HashMap::new();
    for line in text.lines().map(str::trim) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = header.trim() == name;
        } else if in_section {
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.trim().to_owned(), value.trim().to_owned());
            }
        }
    }
    values
}

impl Auth {
    /// Adds the authentication headers to a request about to be sent. `body` is the exact
    /// payload (SigV4 signs its digest).
    pub fn apply(
        &self,
        request: &mut reqwest::Request,
        body: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let headers = request.headers_mut();
        let set = |headers: &mut reqwest::header::HeaderMap, name: &'static str, value: String| {
            if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        };
        match self {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                set(headers, "authorization", format!("Basic {token}"));
            }
            Auth::ApiKey(key) => set(headers, "authorization", format!("ApiKey {key}")),
            Auth::Bearer(token) => set(headers, "authorization", format!("Bearer {token}")),
            Auth::AwsSigV4 {
                region,
                service,
                credentials,
            } => {
                let payload_hash = hex::encode(Sha256::digest(body));
                let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
                let url = request.url().clone();
                let host = match url.port() {
                    Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_owned(),
                };
                let headers = request.headers_mut();
                set(headers, "x-amz-date", amz_date.clone());
                set(headers, "x-amz-content-sha256", payload_hash.clone());
                if let Some(token) = &credentials.session_token {
                    set(headers, "x-amz-security-token", token.clone());
                }
                let mut signed: Vec<(String, String)> = vec![
                    ("host".into(), host),
                    ("x-amz-content-sha256".into(), payload_hash.clone()),
                    ("x-amz-date".into(), amz_date.clone()),
                ];
                if let Some(token) = &credentials.session_token {
                    signed.push(("x-amz-security-token".into(), token.clone()));
                }
                let method = request.method().as_str().to_owned();
                let authorization = sigv4_authorization(&SigningInput {
                    method: &method,
                    path: url.path(),
                    query: url.query().unwrap_or_default(),
                    headers: &signed,
                    payload_hash: &payload_hash,
                    amz_date: &amz_date,
                    region,
                    service,
                    credentials,
                });
                set(request.headers_mut(), "authorization", authorization);
            }
        }
    }
}

/// Everything a SigV4 signature covers.
pub struct SigningInput<'a> {
    /// The HTTP method (`GET`, `POST`).
    pub method: &'a str,
    /// The path as sent on the wire.
    pub path: &'a str,
    /// The query string, as sent.
    pub query: &'a str,
    /// Lower-case names and their values.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body.
    pub payload_hash: &'a str,
    /// `20150830T123600Z`.
    pub amz_date: &'a str,
    /// The AWS region (`eu-west-1`).
    pub region: &'a str,
    /// The AWS service (`es` or `aoss`).
    pub service: &'a str,
    /// The credentials to sign with.
    pub credentials: &'a AwsCredentials,
}

/// The `Authorization` header of AWS Signature Version 4.
pub fn sigv4_authorization(input: &SigningInput<'_>) -> String {
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = [
        input.method.to_owned(),
        // Services other than S3 sign the wire path encoded once more.
        uri_encode(
            if input.path.is_empty() {
                "/"
            } else {
                input.path
            },
            false,
        ),
        canonical_query(input.query),
        canonical_headers,
        signed_headers.clone(),
        input.payload_hash.to_owned(),
    ]
    .join("\n");
    let date = &input.amz_date[..8];
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        input.amz_date,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, input.region, input.service, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", input.credentials.secret_access_key).into_bytes(),
            |key, part| hmac(&key, part.as_bytes()),
        );
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        input.credentials.access_key_id
    )
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 encoding, as SigV4 wants it: unreserved characters stay, `/` too in paths.
fn uri_encode(text: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            b'/' if !encode_slash => out.push('/'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    if query.is_empty() {
        return String::new();
    }
    let decode = |s: &str| -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    out.push(b'%');
                }
                b'+' => out.push(b' '),
                other => out.push(other),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (uri_encode(&decode(k), true), uri_encode(&decode(v), true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_credentials() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    #[test]
    fn aws_test_suite_get_vanilla() {
        // The "get-vanilla" case of AWS's Signature Version 4 test suite.
        let credentials = example_credentials();
        let headers = vec![
            ("Host".to_owned(), "example.amazonaws.com".to_owned()),
            ("X-Amz-Date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let empty = hex::encode(Sha256::digest(b""));
        let authorization = sigv4_authorization(&SigningInput {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            payload_hash: &empty,
            amz_date: "20150830T123600Z",
            region: "us-east-1",
            service: "service",
            credentials: &credentials,
        });
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn requests_get_every_header_signed() {
        let client = reqwest::Client::new();
        let mut request = client
            .post("https://vpc-octankes.us-east-1.es.amazonaws.com/cwl-*/_search?size=0")
            .build()
            .unwrap();
        let auth = Auth::AwsSigV4 {
            region: "us-east-1".into(),
            service: "es".into(),
            credentials: AwsCredentials {
                session_token: Some("token".into()),
                ..example_credentials()
            },
        };
        let now = chrono::DateTime::parse_from_rfc3339("2020-03-06T05:07:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        auth.apply(&mut request, b"{}", now);
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("x-amz-date"), "20200306T050700Z");
        assert_eq!(header("x-amz-security-token"), "token");
        let authorization = header("authorization");
        assert!(authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200306/us-east-1/es/aws4_request"
        ));
        assert!(authorization
            .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"));
        let basic = Auth::Basic {
            user: "elastic".into(),
            password: "changeme".into(),
        };
        let mut request = client.get("http://127.0.0.1:9200/").build().unwrap();
        basic.apply(&mut request, b"", now);
        assert_eq!(
            request.headers()["authorization"],
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
        assert_eq!(
            format!("{auth:?}"),
            "aws sigv4 (es, us-east-1)",
            "debug output hides secrets"
        );
    }

    #[test]
    fn queries_and_paths_are_canonical() {
        assert_eq!(canonical_query("b=2&a=1&c=x%20y"), "a=1&b=2&c=x%20y");
        assert_eq!(uri_encode("/cwl-*/_search", false), "/cwl-%2A/_search");
    }

    #[test]
    fn profiles_are_read_from_ini_files() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n[profile other]\nregion = ap-northeast-2\n";
        assert_eq!(ini_section(text, "default")["aws_access_key_id"], "A");
        assert_eq!(
            ini_section(text, "profile other")["region"],
            "ap-northeast-2"
        );
    }
}
