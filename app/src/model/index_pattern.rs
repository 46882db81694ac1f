//! Index patterns: which indices a visualization searches, their time field, and their
//! fields (name, type, whether they aggregate), as the backend reports them.

use serde::{Deserialize, Serialize};

/// The index pattern flowdash creates out of the box, with this id.
pub const DEFAULT_INDEX_PATTERN_ID: &str = "cwl";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    pub name: String,
    /// The Elasticsearch type (`keyword`, `long`, `ip`, `date`, `text`).
    #[serde(rename = "type")]
    pub field_type: String,
    pub aggregatable: bool,
    #[serde(default = "yes")]
    pub searchable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexPattern {
    /// The pattern itself: `cwl-*`.
    pub title: String,
    #[serde(default = "default_time_field")]
    pub time_field: String,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

fn default_time_field() -> String {
    "@timestamp".into()
}

impl IndexPattern {
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
