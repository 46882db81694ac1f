//! URL drilldowns: links that a click on a chart offers besides filtering (Kibana's URL
//! drilldowns), say from an address to a whois page or from an interface to the AWS console.
//!
//! A template names what was clicked with `{{value}}` and `{{field}}`, and the view with
//! `{{from}}`, `{{to}}` (ISO 8601, UTC) and `{{query}}`. Every value is percent-encoded where
//! it lands, and a template must start with `https://`, `http://` or a path of this server, so
//! an expanded link can neither change scheme nor run script.

use serde::{Deserialize, Serialize};

use super::filter::{Filter, FilterKind};
use super::visualization::ModelError;

/// Most drilldowns a visualization has.
pub const MAX_DRILLDOWNS: usize = 10;

/// Longest template, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 2_000;

/// The names a template may use.
pub const VARIABLES: [&str; 5] = ["value", "field", "from", "to", "query"];

/// A named link template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrlDrilldown {
    /// What the click menu calls it ("Whois").
    pub name: String,
    /// The address, with `{{variables}}`.
    pub url: String,
}

/// What a template's variables stand for at a click.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DrilldownContext {
    /// The clicked term's field.
    pub field: String,
    /// The clicked term.
    pub value: String,
    /// The view's start, ISO 8601 in UTC.
    pub from: String,
    /// The view's end.
    pub to: String,
    /// The query bar's text.
    pub query: String,
}

impl DrilldownContext {
    /// The context of a click that selects `filter`: its field and value (a range as
    /// `from to to`), in the view from `from_ms` to `to_ms` with `query`.
    pub fn of(filter: &Filter, from_ms: i64, to_ms: i64, query: &str) -> DrilldownContext {
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let value = match &filter.kind {
            FilterKind::Phrase { value } => text(value),
            FilterKind::Phrases { values } => values.iter().map(text).collect::<Vec<_>>().join(","),
            FilterKind::Range { from, to, .. } => format!(
                "{} to {}",
                from.as_ref().map(text).unwrap_or_default(),
                to.as_ref().map(text).unwrap_or_default()
            ),
            FilterKind::Exists => String::new(),
        };
        let iso = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default()
        };
        DrilldownContext {
            field: filter.field.clone(),
            value,
            from: iso(from_ms),
            to: iso(to_ms),
            query: query.to_owned(),
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        Some(match name {
            "value" => &self.value,
            "field" => &self.field,
            "from" => &self.from,
            "to" => &self.to,
            "query" => &self.query,
            _ => return None,
        })
    }
}

impl UrlDrilldown {
    /// Checks the name and the template; errors name `path`'s field at fault.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        if self.name.trim().is_empty() {
            return Err(ModelError::new(format!("{path}.name"), "must not be empty"));
        }
        let url_path = format!("{path}.url");
        if self.url.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(ModelError::new(
                url_path,
                format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
            ));
        }
        // The template's own text must make a web address; values come percent-encoded.
        let skeleton: String = pieces(&self.url)
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text,
                _ => "x",
            })
            .collect();
        if !crate::markdown::is_web_address(&skeleton) {
            return Err(ModelError::new(
                url_path,
                "must start with https://, http:// or / (a path of this server), without spaces or backslashes",
            ));
        }
        for piece in pieces(&self.url) {
            match piece {
                Piece::Variable(name) if !VARIABLES.contains(&name) => {
                    return Err(ModelError::new(
                        url_path,
                        format!(
                            "{{{{{name}}}}} is not a variable; use {}",
                            VARIABLES.map(|v| format!("{{{{{v}}}}}")).join(", ")
                        ),
                    ))
                }
                Piece::Unclosed => {
                    return Err(ModelError::new(url_path, "a {{ is not closed by }}"))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The link for a click, each value percent-encoded; `None` when the template is not
    /// valid.
    pub fn expand(&self, context: &DrilldownContext) -> Option<String> {
        self.validate("drilldown").ok()?;
        let mut url = String::new();
        for piece in pieces(&self.url) {
            match piece {
                Piece::Text(text) => url.push_str(text),
                Piece::Variable(name) => url.push_str(&crate::api::encode(context.get(name)?)),
                Piece::Unclosed => return None,
            }
        }
        Some(url)
    }
}

/// A piece of a `{{variable}}` template.
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
    Unclosed,
}

/// A template's text and `{{variables}}` in order.
pub(crate) fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            pieces.push(Piece::Unclosed);
            return pieces;
        };
        pieces.push(Piece::Variable(after[..close].trim()));
        rest = &after[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    pieces
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn whois() -> UrlDrilldown {
        UrlDrilldown {
            name: "Whois".into(),
            url: "https://whois.example/?q={{value}}&f={{ field }}&from={{from}}".into(),
        }
    }

    #[test]
    fn a_click_expands_the_template_with_encoded_values() {
        let filter = Filter::phrase("srcaddr", json!("198.51.100.7"));
        let context = DrilldownContext::of(&filter, 0, 3_600_000, "action:REJECT");
        assert_eq!(context.to, "1970-01-01T01:00:00.000Z");
        assert_eq!(
            whois().expand(&context).unwrap(),
            "https://whois.example/?q=198.51.100.7&f=srcaddr&from=1970-01-01T00%3A00%3A00.000Z"
        );
        // A value cannot break out of its place in the address.
        let sneaky = Filter::phrase("srcaddr", json!("x&admin=1#/../"));
        let context = DrilldownContext::of(&sneaky, 0, 0, "");
        let url = whois().expand(&context).unwrap();
        assert!(
            url.starts_with("https://whois.example/?q=x%26admin%3D1%23%2F..%2F&"),
            "{url}"
        );
        let port = DrilldownContext::of(&Filter::phrase("dstport", json!(443)), 0, 0, "");
        assert_eq!(port.value, "443");
    }

    #[test]
    fn templates_are_checked_and_name_what_is_wrong() {
        let error = |url: &str| {
            UrlDrilldown {
                name: "x".into(),
                url: url.into(),
            }
            .validate("options.drilldowns[0]")
            .unwrap_err()
        };
        for bad in [
            "javascript:alert(1)",
            "//evil.example/{{value}}",
            "data:text/html,{{value}}",
            "/\\evil.example/{{value}}",
            "https://x.example/a b/{{value}}",
        ] {
            assert!(error(bad).reason.contains("must start with"), "{bad}");
        }
        let unknown = error("https://x/{{ip}}");
        assert_eq!(unknown.path, "options.drilldowns[0].url");
        assert!(
            unknown.reason.contains("{{ip}} is not a variable"),
            "{unknown}"
        );
        assert!(error("https://x/{{value").reason.contains("not closed"));
        assert_eq!(
            UrlDrilldown::default().validate("d").unwrap_err().path,
            "d.name"
        );
        assert!(whois().validate("d").is_ok());
        assert!(UrlDrilldown {
            name: "Flows".into(),
            url: "/discover?q=srcaddr:{{value}}".into()
        }
        .validate("d")
        .is_ok());
    }
}
