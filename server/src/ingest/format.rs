//! Record formats: which fields a flow-log line holds, in which order. Known from the default
//! (version 2), from a header line (S3 text files), or from a `${field} ${field}` format string.

use app::model::flow::{record_field, FieldType, RecordField, DEFAULT_FORMAT};

/// One column of a record format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// A field AWS documents.
    Known(&'static RecordField),
    /// A field this version of flowdash does not know (AWS adds fields over time): kept as a
    /// keyword under its underscore name.
    Unknown(String),
}

impl Column {
    /// The document field name (`log_status`).
    pub fn name(&self) -> &str {
        match self {
            Column::Known(field) => field.name,
            Column::Unknown(name) => name,
        }
    }

    /// How the column's values are stored.
    pub fn field_type(&self) -> FieldType {
        match self {
            Column::Known(field) => field.field_type,
            Column::Unknown(_) => FieldType::Keyword,
        }
    }
}

/// The ordered columns of a flow-log record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFormat {
    columns: Vec<Column>,
    /// Positions of the columns ingestion needs directly, resolved once.
    pub(crate) positions: KeyPositions,
    /// The header line, built once: record ids hash it with every line.
    header: String,
}

/// Where the fields that decide a document's time, index and identity sit in a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyPositions {
    pub start: Option<usize>,
    pub end: Option<usize>,
    pub protocol: Option<usize>,
    pub log_status: Option<usize>,
}

/// A format string or header that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// No fields at all.
    #[error("the format is empty")]
    Empty,
    /// The same field twice.
    #[error("field `{0}` appears twice in the format")]
    Duplicate(String),
    /// A word that is not `${field-name}`.
    #[error("`{0}` is not a field name (expected `${{field-name}}`)")]
    BadToken(String),
}

impl RecordFormat {
    /// The default format: the 14 fields of version 2.
    pub fn default_v2() -> RecordFormat {
        let columns = DEFAULT_FORMAT
            .iter()
            .map(|name| Column::Known(record_field(name).expect("default fields are known")))
            .collect();
        RecordFormat::from_columns(columns)
    }

    fn from_columns(columns: Vec<Column>) -> RecordFormat {
        let find = |name: &str| columns.iter().position(|c| c.name() == name);
        let positions = KeyPositions {
            start: find("start"),
            end: find("end"),
            protocol: find("protocol"),
            log_status: find("log_status"),
        };
        let header = columns
            .iter()
            .map(|c| match c {
                Column::Known(f) => f.aws_name.to_owned(),
                Column::Unknown(n) => n.replace('_', "-"),
            })
            .collect::<Vec<_>>()
            .join(" ");
        RecordFormat {
            columns,
            positions,
            header,
        }
    }

    /// Reads a format from field names (hyphenated or underscored), rejecting duplicates.
    pub fn from_names<'a>(
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<RecordFormat, FormatError> {
        let mut columns: Vec<Column> = Vec::new();
        for name in names {
            if !is_field_name(name) {
                return Err(FormatError::BadToken(name.to_owned()));
            }
            let column = match record_field(name) {
                Some(field) => Column::Known(field),
                None => Column::Unknown(name.replace('-', "_")),
            };
            if columns.iter().any(|c| c.name() == column.name()) {
                return Err(FormatError::Duplicate(name.to_owned()));
            }
            columns.push(column);
        }
        if columns.is_empty() {
            return Err(FormatError::Empty);
        }
        Ok(RecordFormat::from_columns(columns))
    }

    /// Parses the flow log's `LogFormat` string: `${version} ${srcaddr} ${dstaddr} ...`.
    pub fn parse_format_string(format: &str) -> Result<RecordFormat, FormatError> {
        let names: Result<Vec<&str>, FormatError> = format
            .split_ascii_whitespace()
            .map(|token| {
                token
                    .strip_prefix("${")
                    .and_then(|t| t.strip_suffix('}'))
                    .ok_or_else(|| FormatError::BadToken(token.to_owned()))
            })
            .collect();
        RecordFormat::from_names(names?)
    }

    /// Recognises a header line (`version account-id interface-id ...`): every token is a field
    /// name and at least one is a field AWS documents. A data line never qualifies, since its
    /// values are numbers, addresses, ids or `-`.
    pub fn from_header(line: &str) -> Option<RecordFormat> {
        let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
        if tokens.is_empty() || !tokens.iter().any(|t| record_field(t).is_some()) {
            return None;
        }
        if !tokens.iter().all(|t| is_field_name(t)) {
            return None;
        }
        // Values like `ACCEPT` or `OK` are not lower-case, so they never look like field names;
        // words such as `eni-abc` are not documented field names, but we need at least one.
        RecordFormat::from_names(tokens).ok()
    }

    /// The columns, in the order of the line's values.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the format has no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The header line that describes this format, as S3 files carry it.
    pub fn header(&self) -> &str {
        &self.header
    }
}

/// `[a-z][a-z0-9_-]*`: the shape of AWS field names in both spellings.
fn is_field_name(token: &str) -> bool {
    let mut chars = token.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_format_has_fourteen_fields() {
        let format = RecordFormat::default_v2();
        assert_eq!(format.len(), 14);
        assert_eq!(format.columns()[13].name(), "log_status");
        assert_eq!(format.positions.start, Some(10));
        assert_eq!(format.header().split(' ').nth(1), Some("account-id"));
    }

    #[test]
    fn format_strings() {
        let format =
            RecordFormat::parse_format_string("${version} ${vpc-id} ${subnet-id} ${tcp-flags}")
                .unwrap();
        let names: Vec<_> = format.columns().iter().map(Column::name).collect();
        assert_eq!(names, ["version", "vpc_id", "subnet_id", "tcp_flags"]);
        assert_eq!(
            RecordFormat::parse_format_string("${version} srcaddr"),
            Err(FormatError::BadToken("srcaddr".into()))
        );
        assert_eq!(
            RecordFormat::parse_format_string("${srcaddr} ${srcaddr}"),
            Err(FormatError::Duplicate("srcaddr".into()))
        );
        assert_eq!(
            RecordFormat::parse_format_string("  "),
            Err(FormatError::Empty)
        );
    }

    #[test]
    fn headers_are_recognised_and_data_lines_are_not() {
        let header = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
        assert_eq!(
            RecordFormat::from_header(header),
            Some(RecordFormat::default_v2())
        );
        assert!(RecordFormat::from_header("srcaddr dstaddr some-future-field").is_some());
        let data = "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK";
        assert_eq!(RecordFormat::from_header(data), None);
        assert_eq!(RecordFormat::from_header("eni-abc eni-def"), None);
    }
}
