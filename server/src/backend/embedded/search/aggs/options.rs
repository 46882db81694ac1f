//! What every kind's request parsing shares: its options checked against the ones it knows,
//! the field it reads resolved in the schema, and typed option values.

use app::model::flow::FieldType;
use serde_json::{Map, Value as Json};

use super::super::query::QueryContext;
use super::super::SearchError;
use crate::backend::embedded::schema::SchemaField;

/// A field an aggregation reads, resolved in the schema.
#[derive(Clone, Debug)]
pub struct AggField {
    /// The schema name (`action`, also for `action.keyword`).
    pub name: String,
    pub field: SchemaField,
    /// No flow document has the field: it answers as Elasticsearch answers an unmapped one.
    pub unmapped: bool,
}

impl AggField {
    pub fn field_type(&self) -> FieldType {
        self.field.field_type
    }

    /// Refuses a field whose type the aggregation `agg_type` cannot read, as Elasticsearch
    /// words it.
    pub fn require(&self, agg_type: &str, types: &[FieldType]) -> Result<(), SearchError> {
        if self.unmapped || types.contains(&self.field_type()) {
            return Ok(());
        }
        Err(self.unsupported_by(agg_type))
    }

    /// This field's type cannot be read by the aggregation `agg_type`.
    pub fn unsupported_by(&self, agg_type: &str) -> SearchError {
        SearchError::illegal(format!(
            "Field [{}] of type [{}] is not supported for aggregation [{agg_type}]",
            self.name,
            self.field_type().es_type()
        ))
    }
}

/// A malformed request.
pub fn bad(reason: impl Into<String>) -> SearchError {
    SearchError::parsing(reason)
}

/// The options object of aggregation `name` of type `agg_type`; an option outside `allowed`
/// is refused by name rather than ignored.
pub fn options<'a>(
    name: &str,
    agg_type: &str,
    value: &'a Json,
    allowed: &[&str],
) -> Result<&'a Map<String, Json>, SearchError> {
    let object = value
        .as_object()
        .ok_or_else(|| bad(format!("[{agg_type}] of [{name}] must be an object")))?;
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(SearchError::unsupported(format!(
                "[{agg_type}] option [{key}] (in aggregation [{name}]) is not supported by the embedded engine"
            )));
        }
    }
    Ok(object)
}

/// The `field` an aggregation reads: a field of the schema with per-document values.
pub fn field_of(
    name: &str,
    agg_type: &str,
    object: &Map<String, Json>,
    context: &QueryContext<'_>,
) -> Result<AggField, SearchError> {
    if object.contains_key("script") {
        return Err(SearchError::unsupported(format!(
            "scripts (in aggregation [{name}]) are not supported by the embedded engine"
        )));
    }
    let field = object.get("field").and_then(Json::as_str).ok_or_else(|| {
        bad(format!(
            "[{agg_type}] aggregation [{name}] must name a [field]"
        ))
    })?;
    let Some(schema_field) = context.schema.field(field) else {
        // Elasticsearch aggregates a field its indices do not map as one no document has.
        return Ok(AggField {
            name: field.to_owned(),
            field: SchemaField::unmapped(FieldType::Keyword),
            unmapped: true,
        });
    };
    if schema_field.field_type == FieldType::Text {
        return Err(SearchError::illegal(format!(
            "Text fields are not optimised for operations that require per-document field data like aggregations and sorting: [{field}] is a text field"
        )));
    }
    Ok(AggField {
        name: field.strip_suffix(".keyword").unwrap_or(field).to_owned(),
        field: schema_field,
        unmapped: false,
    })
}

/// A non-negative integer option (a number or a numeric string), `default` when absent.
pub fn usize_option(
    object: &Map<String, Json>,
    key: &str,
    default: usize,
) -> Result<usize, SearchError> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(default),
        Some(value) => value
            .as_u64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .map(|v| v as usize)
            .ok_or_else(|| bad(format!("[{key}] must be a non-negative integer"))),
    }
}

/// A boolean option, false when absent.
pub fn bool_option(object: &Map<String, Json>, key: &str) -> bool {
    object.get(key).and_then(Json::as_bool).unwrap_or(false)
}

/// A `time_zone` option, UTC when absent.
pub fn zone_option(
    object: &Map<String, Json>,
) -> Result<super::super::datemath::Zone, SearchError> {
    use super::super::datemath::Zone;
    match object.get("time_zone").and_then(Json::as_str) {
        Some(z) => Zone::parse(z).map_err(|e| bad(e.to_string())),
        None => Ok(Zone::utc()),
    }
}

/// A date `format` option, Elasticsearch's default when absent.
pub fn format_option(
    object: &Map<String, Json>,
) -> Result<super::super::datemath::DateFormats, SearchError> {
    use super::super::datemath::DateFormats;
    match object.get("format").and_then(Json::as_str) {
        Some(f) => DateFormats::parse(f).map_err(|e| SearchError::unsupported(e.to_string())),
        None => Ok(DateFormats::default()),
    }
}
