//! Queries and filters, as users type and click them, and what they become in the request:
//! KQL (`action:REJECT and not dstport:443`) or Lucene, and filter pills (`dstport: 22`,
//! negated, disabled, pinned).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The query bar's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryLanguage {
    /// Kibana Query Language (`action:REJECT and dstport:22`).
    #[default]
    Kql,
    /// Lucene query syntax, as Elasticsearch's `query_string` reads it.
    Lucene,
}

/// What the user typed in a query bar.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryText {
    /// The language `text` is written in.
    pub language: QueryLanguage,
    /// The query; empty matches everything.
    pub text: String,
}

impl QueryText {
    /// A KQL query.
    pub fn kql(text: &str) -> QueryText {
        QueryText {
            language: QueryLanguage::Kql,
            text: text.to_owned(),
        }
    }

    /// A query matching both, `None` when they are in different languages (KQL cannot hold
    /// Lucene nor the reverse). An empty one adds nothing.
    pub fn and(&self, other: &QueryText) -> Option<QueryText> {
        let (first, second) = (self.text.trim(), other.text.trim());
        if second.is_empty() {
            return Some(self.clone());
        }
        if first.is_empty() {
            return Some(other.clone());
        }
        let and = match (self.language, other.language) {
            (QueryLanguage::Kql, QueryLanguage::Kql) => "and",
            (QueryLanguage::Lucene, QueryLanguage::Lucene) => "AND",
            _ => return None,
        };
        Some(QueryText {
            language: self.language,
            text: format!("({first}) {and} ({second})"),
        })
    }

    /// The query as Elasticsearch DSL, `None` when empty.
    pub fn to_dsl(&self) -> Result<Option<Value>, super::kql::KqlError> {
        if self.text.trim().is_empty() {
            return Ok(None);
        }
        match self.language {
            QueryLanguage::Kql => super::kql::to_dsl(&self.text).map(Some),
            QueryLanguage::Lucene => Ok(Some(
                json!({ "query_string": { "query": self.text, "analyze_wildcard": true } }),
            )),
        }
    }
}

/// What a filter pill matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FilterKind {
    /// `field` is `value`.
    Phrase {
        /// The value to match.
        value: Value,
    },
    /// `field` is one of `values`.
    Phrases {
        /// The values, any of which matches.
        values: Vec<Value>,
    },
    /// `from <= field < to`.
    Range {
        /// The lower bound, inclusive; `None` for none.
        #[serde(default)]
        from: Option<Value>,
        /// The upper bound, exclusive; `None` for none.
        #[serde(default)]
        to: Option<Value>,
    },
    /// `field` exists.
    Exists,
}

/// A filter pill.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Filter {
    /// The document field it tests.
    pub field: String,
    /// How it tests it.
    #[serde(flatten)]
    pub kind: FilterKind,
    /// Matches what the filter would not ("NOT").
    #[serde(default)]
    pub negate: bool,
    /// Kept in the bar but not applied.
    #[serde(default)]
    pub disabled: bool,
    /// Pinned filters follow the user across dashboards.
    #[serde(default)]
    pub pinned: bool,
}

impl Filter {
    /// `field` is `value`.
    pub fn phrase(field: &str, value: Value) -> Filter {
        Filter {
            field: field.to_owned(),
            kind: FilterKind::Phrase { value },
            negate: false,
            disabled: false,
            pinned: false,
        }
    }

    /// The filter as Elasticsearch DSL, without its negation.
    pub fn to_dsl(&self) -> Value {
        match &self.kind {
            FilterKind::Phrase { value } => json!({ "match_phrase": { &self.field: value } }),
            FilterKind::Phrases { values } => json!({ "bool": {
                "should": values.iter().map(|v| json!({ "match_phrase": { &self.field: v } })).collect::<Vec<_>>(),
                "minimum_should_match": 1
            } }),
            FilterKind::Range { from, to } => {
                let mut range = serde_json::Map::new();
                if let Some(from) = from {
                    range.insert("gte".into(), from.clone());
                }
                if let Some(to) = to {
                    range.insert("lt".into(), to.clone());
                }
                json!({ "range": { &self.field: range } })
            }
            FilterKind::Exists => json!({ "exists": { "field": self.field } }),
        }
    }

    /// `dstport: 22`, `NOT action: REJECT`, `bytes: 1000 to 5000`.
    pub fn label(&self) -> String {
        let value_text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let body = match &self.kind {
            FilterKind::Phrase { value } => format!("{}: {}", self.field, value_text(value)),
            FilterKind::Phrases { values } => format!(
                "{}: {}",
                self.field,
                values.iter().map(value_text).collect::<Vec<_>>().join(", ")
            ),
            FilterKind::Range { from, to } => format!(
                "{}: {} to {}",
                self.field,
                from.as_ref().map_or("-∞".to_owned(), value_text),
                to.as_ref().map_or("+∞".to_owned(), value_text)
            ),
            FilterKind::Exists => format!("{}: exists", self.field),
        };
        if self.negate {
            format!("NOT {body}")
        } else {
            body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_dsl_and_labels() {
        let mut filter = Filter::phrase("dstport", json!(22));
        assert_eq!(
            filter.to_dsl(),
            json!({ "match_phrase": { "dstport": 22 } })
        );
        filter.negate = true;
        assert_eq!(filter.label(), "NOT dstport: 22");
        let range = Filter {
            field: "bytes".into(),
            kind: FilterKind::Range {
                from: Some(json!(1000)),
                to: None,
            },
            negate: false,
            disabled: false,
            pinned: false,
        };
        assert_eq!(
            range.to_dsl(),
            json!({ "range": { "bytes": { "gte": 1000 } } })
        );
        assert_eq!(range.label(), "bytes: 1000 to +∞");
        let json = serde_json::to_value(&range).unwrap();
        assert_eq!(json["type"], "range");
        assert_eq!(serde_json::from_value::<Filter>(json).unwrap(), range);
    }

    #[test]
    fn lucene_passes_through() {
        let query = QueryText {
            language: QueryLanguage::Lucene,
            text: "srcaddr:10.0.0.0/8".into(),
        };
        assert_eq!(
            query.to_dsl().unwrap().unwrap()["query_string"]["query"],
            "srcaddr:10.0.0.0/8"
        );
        assert_eq!(QueryText::default().to_dsl().unwrap(), None);
    }
}
