//! Queries and filters, as users type and click them, and what they become in the request:
//! KQL (`action:REJECT and not dstport:443`) or Lucene, and filter pills (`dstport: 22`,
//! negated, disabled, pinned).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ModelError;

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
    /// `from <= field < to`, or `<= to` when `to_inclusive`.
    Range {
        /// The lower bound, inclusive; `None` for none.
        #[serde(default)]
        from: Option<Value>,
        /// The upper bound; `None` for none.
        #[serde(default)]
        to: Option<Value>,
        /// `to` itself matches (`lte`): a range control's ends, Kibana's `lte` filters. The
        /// filter editor's "is between" leaves it out, as Kibana's does.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        to_inclusive: bool,
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

    /// `field` is one of `values` (a phrase filter for just one).
    pub fn phrases(field: &str, mut values: Vec<Value>) -> Filter {
        let kind = match values.len() {
            1 => FilterKind::Phrase {
                value: values.remove(0),
            },
            _ => FilterKind::Phrases { values },
        };
        Filter {
            kind,
            ..Filter::phrase(field, Value::Null)
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
            FilterKind::Range {
                from,
                to,
                to_inclusive,
            } => {
                let mut range = serde_json::Map::new();
                if let Some(from) = from {
                    range.insert("gte".into(), from.clone());
                }
                if let Some(to) = to {
                    let bound = if *to_inclusive { "lte" } else { "lt" };
                    range.insert(bound.into(), to.clone());
                }
                json!({ "range": { &self.field: range } })
            }
            FilterKind::Exists => json!({ "exists": { "field": self.field } }),
        }
    }

    /// `dstport: 22 (ssh)`, `NOT action: REJECT`, `bytes: 1000 to 5000`.
    pub fn label(&self) -> String {
        let value_text = |v: &Value| super::names::display(&self.field, v);
        let body = match &self.kind {
            FilterKind::Phrase { value } => format!("{}: {}", self.field, value_text(value)),
            FilterKind::Phrases { values } => format!(
                "{}: {}",
                self.field,
                values.iter().map(value_text).collect::<Vec<_>>().join(", ")
            ),
            FilterKind::Range {
                from,
                to,
                to_inclusive,
            } => format!(
                "{}: {} {} {}",
                self.field,
                from.as_ref().map_or("-∞".to_owned(), value_text),
                if *to_inclusive { "through" } else { "to" },
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

/// `loaded` filters in place of `shown`, except the pinned ones among `shown`, which follow
/// the user everywhere (a saved query loaded keeps them).
pub fn with_pinned(shown: &[Filter], loaded: Vec<Filter>) -> Vec<Filter> {
    let mut filters: Vec<Filter> = shown.iter().filter(|f| f.pinned).cloned().collect();
    for filter in loaded {
        if !filters.contains(&filter) {
            filters.push(filter);
        }
    }
    filters
}

/// How "Add filter" tests a field, as Kibana's filter editor offers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOperator {
    /// The field is the value (a phrase filter).
    Is,
    /// The field is not the value.
    IsNot,
    /// The field is any of the values (a phrases filter).
    IsOneOf,
    /// The field is none of the values.
    IsNotOneOf,
    /// From (inclusive) to (exclusive), either open (a range filter).
    IsBetween,
    /// Outside that range.
    IsNotBetween,
    /// The field has a value.
    Exists,
    /// The field has none.
    DoesNotExist,
}

impl FilterOperator {
    /// Every operator, in the editor's order.
    pub const ALL: [FilterOperator; 8] = [
        FilterOperator::Is,
        FilterOperator::IsNot,
        FilterOperator::IsOneOf,
        FilterOperator::IsNotOneOf,
        FilterOperator::IsBetween,
        FilterOperator::IsNotBetween,
        FilterOperator::Exists,
        FilterOperator::DoesNotExist,
    ];

    /// As the editor names it.
    pub fn label(self) -> &'static str {
        match self {
            FilterOperator::Is => "is",
            FilterOperator::IsNot => "is not",
            FilterOperator::IsOneOf => "is one of",
            FilterOperator::IsNotOneOf => "is not one of",
            FilterOperator::IsBetween => "is between",
            FilterOperator::IsNotBetween => "is not between",
            FilterOperator::Exists => "exists",
            FilterOperator::DoesNotExist => "does not exist",
        }
    }

    /// The operator the editor's `label` names.
    pub fn from_label(label: &str) -> Option<FilterOperator> {
        FilterOperator::ALL.into_iter().find(|o| o.label() == label)
    }

    /// How the editor shows `filter` again: its operator and the text of its value fields
    /// (the inverse of [`FilterOperator::filter`]).
    pub fn of(filter: &Filter) -> (FilterOperator, [String; 2]) {
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let (plain, negated, values) = match &filter.kind {
            FilterKind::Phrase { value } => (
                FilterOperator::Is,
                FilterOperator::IsNot,
                [text(value), String::new()],
            ),
            FilterKind::Phrases { values } => (
                FilterOperator::IsOneOf,
                FilterOperator::IsNotOneOf,
                [
                    values.iter().map(text).collect::<Vec<_>>().join(", "),
                    String::new(),
                ],
            ),
            FilterKind::Range { from, to, .. } => (
                FilterOperator::IsBetween,
                FilterOperator::IsNotBetween,
                [
                    from.as_ref().map(text).unwrap_or_default(),
                    to.as_ref().map(text).unwrap_or_default(),
                ],
            ),
            FilterKind::Exists => (
                FilterOperator::Exists,
                FilterOperator::DoesNotExist,
                Default::default(),
            ),
        };
        (if filter.negate { negated } else { plain }, values)
    }

    /// How many value fields it asks for: none, one (a list, comma-separated, for "one of"),
    /// or two (the bounds of "between").
    pub fn value_count(self) -> usize {
        match self {
            FilterOperator::Exists | FilterOperator::DoesNotExist => 0,
            FilterOperator::IsBetween | FilterOperator::IsNotBetween => 2,
            _ => 1,
        }
    }

    /// The filter it makes of `field` (of Elasticsearch type `field_type`, empty when not
    /// known) and the values typed. Numbers are read as numbers for numeric fields; errors
    /// name the value at fault (`value`, `values`, `from`, `to`) and say why.
    pub fn filter(
        self,
        field: &str,
        field_type: &str,
        values: &[&str],
    ) -> Result<Filter, ModelError> {
        let field = field.trim();
        if field.is_empty() {
            return Err(ModelError::new("field", "choose a field"));
        }
        let typed = |path: &str, text: &str| typed_value(field, field_type, path, text);
        let text_at = |index: usize| values.get(index).map_or("", |v| v.trim());
        let kind = match self {
            FilterOperator::Is | FilterOperator::IsNot => FilterKind::Phrase {
                value: typed("value", text_at(0))?
                    .ok_or_else(|| ModelError::new("value", "type a value"))?,
            },
            FilterOperator::IsOneOf | FilterOperator::IsNotOneOf => {
                let values = text_at(0)
                    .split(',')
                    .filter_map(|text| typed("values", text).transpose())
                    .collect::<Result<Vec<Value>, ModelError>>()?;
                if values.is_empty() {
                    return Err(ModelError::new(
                        "values",
                        "type one or more values, separated by commas",
                    ));
                }
                FilterKind::Phrases { values }
            }
            FilterOperator::IsBetween | FilterOperator::IsNotBetween => {
                let (from, to) = (typed("from", text_at(0))?, typed("to", text_at(1))?);
                if from.is_none() && to.is_none() {
                    return Err(ModelError::new("from", "type a start, an end or both"));
                }
                FilterKind::Range {
                    from,
                    to,
                    to_inclusive: false,
                }
            }
            FilterOperator::Exists | FilterOperator::DoesNotExist => FilterKind::Exists,
        };
        Ok(Filter {
            field: field.to_owned(),
            kind,
            negate: matches!(
                self,
                FilterOperator::IsNot
                    | FilterOperator::IsNotOneOf
                    | FilterOperator::IsNotBetween
                    | FilterOperator::DoesNotExist
            ),
            disabled: false,
            pinned: false,
        })
    }
}

/// A typed value as the field holds it: a number for numeric fields, text otherwise; `None`
/// for nothing typed.
fn typed_value(
    field: &str,
    field_type: &str,
    path: &str,
    text: &str,
) -> Result<Option<Value>, ModelError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let numeric = matches!(
        field_type,
        "long" | "integer" | "short" | "byte" | "double" | "float" | "half_float" | "number"
    );
    if !numeric {
        return Ok(Some(Value::from(text)));
    }
    // A port or protocol by name: `ssh`, `udp`.
    match super::names::numbers_for(field, text) {
        Some(Ok(numbers)) if numbers.len() == 1 => return Ok(Some(Value::from(numbers[0]))),
        Some(Ok(numbers)) => {
            let listed = numbers.iter().map(u16::to_string).collect::<Vec<_>>();
            return Err(ModelError::new(
                path,
                format!(
                    "{text} names several ports ({}): give the number",
                    listed.join(", ")
                ),
            ));
        }
        Some(Err(unknown)) => return Err(ModelError::new(path, unknown.to_string())),
        None => {}
    }
    text.parse::<i64>()
        .map(Value::from)
        .ok()
        .or_else(|| {
            // `1e6` is the whole number it writes; only fractions stay floating.
            let number = text.parse::<f64>().ok().filter(|n| n.is_finite())?;
            Some(if number.fract() == 0.0 && number.abs() < 9.0e15 {
                Value::from(number as i64)
            } else {
                Value::from(number)
            })
        })
        .ok_or(())
        .map(Some)
        .map_err(|_| ModelError::new(path, format!("{field} takes a number, not {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_filter_operators_make_typed_filters_and_name_bad_values() {
        let make = |op: FilterOperator, field: &str, kind: &str, values: &[&str]| {
            op.filter(field, kind, values)
        };
        let is_not = make(FilterOperator::IsNot, "action", "keyword", &[" REJECT "]).unwrap();
        assert_eq!(is_not.label(), "NOT action: REJECT");
        let ports = make(
            FilterOperator::IsOneOf,
            "dstport",
            "long",
            &["22, rdp,,443"],
        )
        .unwrap();
        assert_eq!(
            ports.kind,
            FilterKind::Phrases {
                values: vec![json!(22), json!(3389), json!(443)]
            }
        );
        assert_eq!(ports.label(), "dstport: 22 (ssh), 3389 (rdp), 443 (https)");
        let low = make(FilterOperator::IsBetween, "dstport", "long", &["0", "1024"]).unwrap();
        assert_eq!(
            low.to_dsl(),
            json!({ "range": { "dstport": { "gte": 0, "lt": 1024 } } })
        );
        let open_ended = make(FilterOperator::IsNotBetween, "bytes", "long", &["", "1e6"]).unwrap();
        assert!(open_ended.negate);
        assert_eq!(open_ended.label(), "NOT bytes: -∞ to 1000000");
        let missing = make(
            FilterOperator::DoesNotExist,
            "flow_direction",
            "keyword",
            &[],
        )
        .unwrap();
        assert_eq!(missing.label(), "NOT flow_direction: exists");
        // Addresses and unknown fields keep their text.
        let address = make(FilterOperator::Is, "srcaddr", "ip", &["10.0.0.0/8"]).unwrap();
        assert_eq!(
            address.kind,
            FilterKind::Phrase {
                value: json!("10.0.0.0/8")
            }
        );

        let error = make(FilterOperator::IsOneOf, "dstport", "long", &["22, sshh"]).unwrap_err();
        assert_eq!(error.path, "values");
        assert_eq!(error.reason, "unknown service name `sshh` for dstport");
        let error = make(FilterOperator::Is, "bytes", "long", &["ssh"]).unwrap_err();
        assert!(
            error.reason.contains("bytes takes a number, not \"ssh\""),
            "{error}"
        );
        let error = make(FilterOperator::Is, "dstport", "long", &["http-alt"]).unwrap_err();
        assert!(error.reason.contains("591, 8080"), "{error}");
        assert_eq!(
            make(FilterOperator::Is, "dstport", "long", &["NaN"])
                .unwrap_err()
                .path,
            "value"
        );
        assert_eq!(
            make(FilterOperator::Is, "action", "keyword", &[" "])
                .unwrap_err()
                .path,
            "value"
        );
        assert_eq!(
            make(FilterOperator::IsBetween, "bytes", "long", &["", ""])
                .unwrap_err()
                .path,
            "from"
        );
        assert_eq!(
            make(FilterOperator::Exists, " ", "", &[]).unwrap_err().path,
            "field"
        );
        for op in FilterOperator::ALL {
            assert_eq!(FilterOperator::from_label(op.label()), Some(op));
        }
        // Each filter shows again in the editor as it was made.
        for made in [is_not, ports, low, open_ended, missing, address] {
            let (op, values) = FilterOperator::of(&made);
            let numeric = ["dstport", "bytes"].contains(&made.field.as_str());
            let field_type = if numeric { "long" } else { "keyword" };
            let again = op
                .filter(&made.field, field_type, &[&values[0], &values[1]])
                .unwrap();
            assert_eq!(again, made);
        }
    }

    #[test]
    fn filters_become_dsl_and_labels() {
        let mut filter = Filter::phrase("dstport", json!(22));
        assert_eq!(
            filter.to_dsl(),
            json!({ "match_phrase": { "dstport": 22 } })
        );
        filter.negate = true;
        assert_eq!(filter.label(), "NOT dstport: 22 (ssh)");
        let range = Filter {
            field: "bytes".into(),
            kind: FilterKind::Range {
                from: Some(json!(1000)),
                to: None,
                to_inclusive: false,
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
