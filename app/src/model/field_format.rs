//! Field formatters: how an index pattern's fields are shown wherever their values are, in
//! charts, tooltips, tables, Discover and server renders. Bytes read as `36.8 GB`, numbers
//! are grouped, and an address can be a link (`https://whois.example/{{value}}`), as Kibana's
//! field formats do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::drilldown::{pieces, Piece};
use super::measure::{Measure, RateUnit};
use super::visualization::{Metric, ModelError};

/// The longest URL or label template.
pub const MAX_TEMPLATE_CHARS: usize = 2_000;

/// How one field's values are shown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "id", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldFormat {
    /// As the flows hold it; numbers grouped (`1,234,567`, `1.2M` on an axis).
    #[default]
    Number,
    /// A size in bytes, in decimal units as link speeds and bills count them (1 kB = 1,000 B):
    /// `36.8 GB`.
    Bytes,
    /// A link made of the value, shown as the label template's text (the value when empty).
    /// `{{value}}` is the value, percent-encoded in the link.
    Url {
        /// The link: `https://whois.example/?q={{value}}`.
        template: String,
        /// What the link reads: `{{value}} (whois)`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        label: String,
    },
}

/// What a value that is no number (a metric of no flows) reads, as Kibana shows it.
const NOT_A_NUMBER: &str = "-";

/// The variables a URL format's link takes; `rawValue` is Kibana's name for the same.
const VARIABLES: [&str; 2] = ["value", "rawValue"];

/// The variables its label takes: the value, and the link itself (`{{url}}`).
const LABEL_VARIABLES: [&str; 3] = ["value", "rawValue", "url"];

impl FieldFormat {
    /// Every kind, by the name the index pattern page and the JSON use.
    pub const KINDS: [(&'static str, &'static str); 3] = [
        ("number", "Number"),
        ("bytes", "Bytes"),
        ("url", "Link (URL)"),
    ];

    /// The kind's name: `number`, `bytes`, `url`.
    pub fn kind(&self) -> &'static str {
        match self {
            FieldFormat::Number => "number",
            FieldFormat::Bytes => "bytes",
            FieldFormat::Url { .. } => "url",
        }
    }

    /// Checks the templates; errors name `path`'s field at fault.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        let FieldFormat::Url { template, label } = self else {
            return Ok(());
        };
        for (name, text, variables) in [
            ("template", template, &VARIABLES[..]),
            ("label", label, &LABEL_VARIABLES[..]),
        ] {
            let at = format!("{path}.{name}");
            if text.chars().count() > MAX_TEMPLATE_CHARS {
                return Err(ModelError::new(
                    at,
                    format!("must be at most {MAX_TEMPLATE_CHARS} characters"),
                ));
            }
            for piece in pieces(text) {
                match piece {
                    Piece::Variable(name) if !variables.contains(&name) => {
                        return Err(ModelError::new(
                            at,
                            format!("{{{{{name}}}}} is not a variable; use {{{{value}}}}"),
                        ))
                    }
                    Piece::Unclosed => return Err(ModelError::new(at, "a {{ is not closed by }}")),
                    _ => {}
                }
            }
        }
        let example = fill(template, &|_| "x".to_owned());
        let bare_scheme = ["https://", "http://"].contains(&example.as_str());
        if bare_scheme || !crate::markdown::is_web_address(&example) {
            return Err(ModelError::new(
                format!("{path}.template"),
                "must start with https://, http:// or / (a path of this server), without spaces or backslashes",
            ));
        }
        Ok(())
    }

    /// A value as a table, tooltip or Discover shows it: `36.81 GB`, `1,234,567`; text as it is.
    pub fn text(&self, value: &serde_json::Value) -> String {
        let raw = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        // Text that reads as a number is one ("1500" kept as text), but not "nan" or "inf".
        let number = value
            .as_f64()
            .or_else(|| raw.parse::<f64>().ok().filter(|n| n.is_finite()));
        match (self, number) {
            (FieldFormat::Bytes, Some(number)) => bytes(number, 2),
            (FieldFormat::Number, Some(number)) if value.is_number() => {
                crate::charts::format_exact(number)
            }
            (FieldFormat::Url { label, .. }, _) if !label.is_empty() => {
                let link = self.link(value).unwrap_or_default();
                fill(label, &|name| match name {
                    "url" => link.clone(),
                    _ => raw.clone(),
                })
            }
            _ => raw,
        }
    }

    /// The link a value makes, for a URL format whose template is valid.
    pub fn link(&self, value: &serde_json::Value) -> Option<String> {
        let FieldFormat::Url { template, .. } = self else {
            return None;
        };
        self.validate("format").ok()?;
        // One value links; none, an empty one or a list of them does not.
        let raw = match value {
            serde_json::Value::String(text) if !text.is_empty() => text.clone(),
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::Bool(flag) => flag.to_string(),
            _ => return None,
        };
        Some(fill(template, &|_| crate::api::encode(&raw)))
    }
}

/// `template` with each variable replaced by what `value_of` gives for its name.
fn fill(template: &str, value_of: &dyn Fn(&str) -> String) -> String {
    let mut text = String::new();
    for piece in pieces(template) {
        match piece {
            Piece::Text(part) => text.push_str(part),
            Piece::Variable(name) => text.push_str(&value_of(name)),
            Piece::Unclosed => {}
        }
    }
    text
}

/// `36812345678` → `36.8 GB` with one decimal: decimal units up to yottabytes. The unit is
/// the one the rounded value needs (999,999 B is `1 MB`, not `1000 kB`).
fn bytes(value: f64, decimals: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    if !value.is_finite() {
        return NOT_A_NUMBER.to_owned();
    }
    let rounded = |scaled: f64, unit: usize| {
        let decimals = if unit == 0 { decimals.min(2) } else { decimals };
        let scale = 10f64.powi(decimals as i32);
        (scaled * scale).round() / scale
    };
    let mut scaled = value;
    let mut unit = 0;
    while rounded(scaled, unit).abs() >= 1000.0 && unit < UNITS.len() - 1 {
        scaled /= 1000.0;
        unit += 1;
    }
    let decimals = if unit == 0 { decimals.min(2) } else { decimals };
    let text = format!("{scaled:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    let text = if text == "-0" { "0" } else { text };
    format!("{text} {}", UNITS[unit])
}

/// An index pattern's field formats: the ones its user chose, by field name. A field without
/// one is shown as a number, except `bytes`, the flow field of that name, which reads as
/// bytes unless chosen otherwise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldFormats(pub BTreeMap<String, FieldFormat>);

impl FieldFormats {
    /// Whether no field has a format of its own.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The format `field` is shown in.
    pub fn of(&self, field: &str) -> FieldFormat {
        match self.0.get(field) {
            Some(format) => format.clone(),
            None if field == "bytes" => FieldFormat::Bytes,
            None => FieldFormat::Number,
        }
    }

    /// Checks every format; errors name the field.
    pub fn validate(&self, path: &str) -> Result<(), ModelError> {
        for (field, format) in &self.0 {
            format.validate(&format!("{path}.{field}"))?;
        }
        Ok(())
    }

    /// How a chart shows `measure`'s values: in its field's format (a count, distinct count
    /// or percentile rank is a number whatever it counts), per its rate's unit.
    pub fn of_measure(&self, measure: &Measure) -> ValueFormat {
        fn field_of(metric: &Metric) -> Option<&str> {
            match metric {
                Metric::Count | Metric::UniqueCount { .. } | Metric::PercentileRank { .. } => None,
                Metric::OverBuckets { of, .. } => field_of(of),
                other => other.field(),
            }
        }
        let bytes =
            field_of(&measure.metric).is_some_and(|field| self.of(field) == FieldFormat::Bytes);
        ValueFormat {
            bytes,
            per: measure.rate,
        }
    }
}

/// How a chart's values read: as bytes or numbers, per a unit of time for a rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueFormat {
    /// In bytes (`36.8 GB`) rather than as a number.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bytes: bool,
    /// A rate per this unit (`/s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<RateUnit>,
}

impl ValueFormat {
    /// Short, for axes and labels on the chart: `36.8 GB/s`, `1.2k`.
    pub fn compact(&self, value: f64) -> String {
        self.text(value, false)
    }

    /// Whole, for tooltips and tables: `36.81 GB/s`, `1,234,567`.
    pub fn exact(&self, value: f64) -> String {
        self.text(value, true)
    }

    fn text(&self, value: f64, exact: bool) -> String {
        if !value.is_finite() {
            return NOT_A_NUMBER.to_owned();
        }
        let number = match (self.bytes, exact) {
            (true, _) => bytes(value, if exact { 2 } else { 1 }),
            (false, true) => crate::charts::format_exact(value),
            (false, false) => crate::charts::format_compact(value),
        };
        let per = match self.per {
            None => "",
            Some(RateUnit::Second) => "/s",
            Some(RateUnit::Minute) => "/min",
            Some(RateUnit::Hour) => "/h",
        };
        format!("{number}{per}")
    }

    /// The format shared by `formats`, or a plain number where they differ (one axis for
    /// bytes and flows says neither).
    pub fn shared(formats: impl IntoIterator<Item = ValueFormat>) -> ValueFormat {
        let mut formats = formats.into_iter();
        let Some(first) = formats.next() else {
            return ValueFormat::default();
        };
        if formats.all(|f| f == first) {
            first
        } else {
            ValueFormat::default()
        }
    }
}

/// `field` linking to a whois page, for tests of links.
#[cfg(test)]
pub(crate) fn whois_link(field: &str) -> FieldFormats {
    let mut formats = FieldFormats::default();
    formats.0.insert(
        field.into(),
        FieldFormat::Url {
            template: "https://whois.example/{{value}}".into(),
            label: String::new(),
        },
    );
    formats
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bytes_read_in_decimal_units() {
        let format = ValueFormat {
            bytes: true,
            per: None,
        };
        assert_eq!(format.compact(36_812_345_678.0), "36.8 GB");
        assert_eq!(format.exact(36_812_345_678.0), "36.81 GB");
        assert_eq!(format.compact(999.0), "999 B");
        assert_eq!(format.compact(1000.0), "1 kB");
        assert_eq!(format.compact(0.0), "0 B");
        assert_eq!(format.compact(1.5e18), "1.5 EB");
        // The unit is the rounded value's: not "1000 kB".
        assert_eq!(format.compact(999_960.0), "1 MB");
        assert_eq!(format.exact(999_996.0), "1 MB");
        assert_eq!(format.exact(999.996), "1 kB");
        assert_eq!(format.compact(f64::NAN), "-");
        // Text is a number only when it reads as a finite one.
        assert_eq!(FieldFormat::Bytes.text(&json!("nan")), "nan");
        assert_eq!(FieldFormat::Bytes.text(&json!("1500")), "1.5 kB");
        let per_second = ValueFormat {
            bytes: true,
            per: Some(RateUnit::Second),
        };
        assert_eq!(per_second.compact(12_500_000.0), "12.5 MB/s");
        assert_eq!(per_second.compact(f64::NAN), "-");
        let flows = ValueFormat {
            bytes: false,
            per: Some(RateUnit::Minute),
        };
        assert_eq!(flows.exact(1234.0), "1,234/min");
    }

    #[test]
    fn fields_take_their_format_and_bytes_is_bytes_by_default() {
        let mut formats = FieldFormats::default();
        assert_eq!(formats.of("bytes"), FieldFormat::Bytes);
        assert_eq!(formats.of("packets"), FieldFormat::Number);
        formats.0.insert("bytes".into(), FieldFormat::Number);
        assert_eq!(formats.of("bytes"), FieldFormat::Number);

        let formats = FieldFormats::default();
        let sum = Measure::from(Metric::Sum {
            field: "bytes".into(),
        });
        assert!(formats.of_measure(&sum).bytes);
        let distinct = Measure::from(Metric::UniqueCount {
            field: "bytes".into(),
        });
        assert!(!formats.of_measure(&distinct).bytes);
        assert_eq!(
            FieldFormat::Bytes.text(&json!(1_500_000)),
            "1.5 MB".to_owned()
        );
        assert_eq!(FieldFormat::Number.text(&json!(1_500_000)), "1,500,000");
        assert_eq!(
            FieldFormat::Number.text(&json!("443 (https)")),
            "443 (https)"
        );
    }

    #[test]
    fn addresses_link_through_their_template_encoded() {
        let whois = FieldFormat::Url {
            template: "https://whois.example/?q={{value}}".into(),
            label: "{{value}} (whois)".into(),
        };
        whois.validate("fields.srcaddr").unwrap();
        assert_eq!(
            whois.link(&json!("10.0.0.1&x=1")).as_deref(),
            Some("https://whois.example/?q=10.0.0.1%26x%3D1")
        );
        assert_eq!(whois.text(&json!("10.0.0.1")), "10.0.0.1 (whois)");
        // A label may show the link, as Kibana's `{{url}}`; a link may not name itself.
        let shown = FieldFormat::Url {
            template: "https://whois.example/{{value}}".into(),
            label: "{{value}} at {{url}}".into(),
        };
        shown.validate("f").unwrap();
        assert_eq!(
            shown.text(&json!("10.0.0.1")),
            "10.0.0.1 at https://whois.example/10.0.0.1"
        );
        let circular = FieldFormat::Url {
            template: "https://whois.example/{{url}}".into(),
            label: String::new(),
        };
        assert!(circular.validate("f").is_err());
        // No value, an empty one or a list is no one thing to look up.
        for nothing in [json!(null), json!(""), json!(["10.0.0.1", "10.0.0.2"])] {
            assert_eq!(whois.link(&nothing), None, "{nothing}");
        }
        let bare = FieldFormat::Url {
            template: "https://".into(),
            label: String::new(),
        };
        assert!(bare.validate("f").is_err());
        // A template that makes no web address, or names another variable, is refused.
        let script = FieldFormat::Url {
            template: "javascript:alert({{value}})".into(),
            label: String::new(),
        };
        let error = script.validate("fields.srcaddr").unwrap_err();
        assert_eq!(error.path, "fields.srcaddr.template");
        assert_eq!(script.link(&json!("1")), None);
        let other = FieldFormat::Url {
            template: "https://x.example/{{field}}".into(),
            label: String::new(),
        };
        assert!(other
            .validate("f")
            .unwrap_err()
            .reason
            .contains("{{field}}"));
    }
}
