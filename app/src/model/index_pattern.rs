//! Index patterns: which indices a visualization searches, their time field, and their
//! fields (name, type, whether they aggregate), as the backend reports them.

use serde::{Deserialize, Serialize};

use super::field_format::FieldFormats;
use super::visualization::ModelError;

/// The index pattern flowdash creates out of the box, with this id.
pub const DEFAULT_INDEX_PATTERN_ID: &str = "cwl";

/// A field of the indices a pattern matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Its name (`dstport`).
    pub name: String,
    /// The Elasticsearch type (`keyword`, `long`, `ip`, `date`, `text`).
    #[serde(rename = "type")]
    pub field_type: String,
    /// Whether it can be bucketed and measured.
    pub aggregatable: bool,
    /// Whether queries can match on it.
    #[serde(default = "yes")]
    pub searchable: bool,
}

fn yes() -> bool {
    true
}

impl FieldSpec {
    /// A field that can be searched and aggregated, as most flow fields can.
    pub fn new(name: &str, field_type: &str) -> FieldSpec {
        FieldSpec {
            name: name.into(),
            field_type: field_type.into(),
            aggregatable: true,
            searchable: true,
        }
    }

    /// An aggregatable number, dates left out: what a range of values is typed for.
    pub fn is_number(&self) -> bool {
        self.aggregatable
            && matches!(
                self.field_type.as_str(),
                "long"
                    | "unsigned_long"
                    | "integer"
                    | "short"
                    | "byte"
                    | "double"
                    | "float"
                    | "half_float"
                    | "scaled_float"
            )
    }
}

/// An index pattern: which indices to search, their time field and their fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPattern {
    /// The pattern itself: `cwl-*`.
    pub title: String,
    /// The date field the time picker filters and date histograms bucket by.
    #[serde(default = "default_time_field")]
    pub time_field: String,
    /// The fields, as last read from the indices.
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    /// How fields are shown, where the user chose (see [`FieldFormats::of`]).
    #[serde(default, skip_serializing_if = "FieldFormats::is_empty")]
    pub field_formats: FieldFormats,
}

/// The time field of the documents flowdash stores, and of index patterns that name none.
pub const DEFAULT_TIME_FIELD: &str = "@timestamp";

fn default_time_field() -> String {
    DEFAULT_TIME_FIELD.into()
}

/// The field formats of the index pattern titled `title` among `patterns`; the defaults for
/// a pattern with no saved object.
pub fn formats_of(patterns: &[IndexPattern], title: &str) -> FieldFormats {
    patterns
        .iter()
        .find(|p| p.title == title)
        .map(|p| p.field_formats.clone())
        .unwrap_or_default()
}

/// The saved fields of the index pattern titled `title`; `None` when none were saved (the
/// backend is then asked for them).
pub fn saved_fields_of<'a>(patterns: &'a [IndexPattern], title: &str) -> Option<&'a [FieldSpec]> {
    patterns
        .iter()
        .find(|p| p.title == title)
        .map(|p| p.fields.as_slice())
        .filter(|fields| !fields.is_empty())
}

/// The fields among `fields` that queries cannot match, shown only: a cluster's GeoIP
/// fields, which flowdash adds to hits as they are answered. A filter on one would find
/// nothing, so none is offered.
pub fn display_only_fields(fields: &[FieldSpec]) -> std::collections::BTreeSet<String> {
    fields
        .iter()
        .filter(|f| !f.searchable)
        .map(|f| f.name.clone())
        .collect()
}

/// The time field of the index pattern titled `title` among `patterns`: a visualization
/// names its pattern by title. A pattern with no saved object gets the default.
pub fn time_field_of<'a>(patterns: &'a [IndexPattern], title: &str) -> &'a str {
    patterns
        .iter()
        .find(|p| p.title == title)
        .map_or(DEFAULT_TIME_FIELD, |p| p.time_field.as_str())
}

impl IndexPattern {
    /// Reads index pattern JSON; a bad value, or a format that cannot be used, is reported
    /// with its path (`field_formats.srcaddr.template`).
    pub fn from_value(value: serde_json::Value) -> Result<IndexPattern, ModelError> {
        let pattern: IndexPattern = super::from_value_with_path(value)?;
        pattern.field_formats.validate("field_formats")?;
        Ok(pattern)
    }

    /// Reads a stored index pattern for use: a field format that does not read (edited by
    /// hand, or saved by a newer flowdash) is left out, its field shown as a number, rather
    /// than the pattern lost with its time field.
    pub fn from_stored(mut value: serde_json::Value) -> Option<IndexPattern> {
        if let Some(formats) = value
            .get_mut("field_formats")
            .and_then(serde_json::Value::as_object_mut)
        {
            formats.retain(|field, format| {
                serde_json::from_value::<super::field_format::FieldFormat>(format.clone())
                    .is_ok_and(|format| format.validate(field).is_ok())
            });
        }
        serde_json::from_value(value).ok()
    }

    /// Fields a terms bucket can split on, sorted.
    pub fn aggregatable(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| f.aggregatable)
    }

    /// Numeric and date fields (for sums, averages, histograms).
    pub fn numeric(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| {
            f.aggregatable
                && matches!(
                    f.field_type.as_str(),
                    "long"
                        | "integer"
                        | "short"
                        | "byte"
                        | "double"
                        | "float"
                        | "scaled_float"
                        | "date"
                )
        })
    }

    /// Date fields (for the x axis).
    pub fn dates(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().filter(|f| f.field_type == "date")
    }
}
