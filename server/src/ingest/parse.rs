//! Splitting one flow-log line into typed values. Values borrow from the line: the hot path
//! allocates nothing per field.

use std::net::IpAddr;

use app::model::flow::FieldType;

use super::format::RecordFormat;

/// One field's value. `-` (not applicable / not computed) is [`Value::Absent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// `-`: the field has no value in this record.
    Absent,
    /// A number.
    Int(i64),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// Any other text (`ACCEPT`, `eni-…`).
    Str(&'a str),
}

/// Why a line is not a record of its format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The line has more or fewer values than the format has fields.
    #[error("expected {expected} fields, found {found}")]
    FieldCount {
        /// The format's field count.
        expected: usize,
        /// The line's value count.
        found: usize,
    },
    /// A number field holds something else.
    #[error("field `{field}`: `{value}` is not an integer")]
    NotAnInteger {
        /// The field's name.
        field: String,
        /// The value found.
        value: String,
    },
    /// An address field holds something else.
    #[error("field `{field}`: `{value}` is not an IP address")]
    NotAnAddress {
        /// The field's name.
        field: String,
        /// The value found.
        value: String,
    },
}

/// Parses `line` per `format` into `values` (cleared first; one entry per column).
pub fn parse_record<'a>(
    format: &RecordFormat,
    line: &'a str,
    values: &mut Vec<Value<'a>>,
) -> Result<(), ParseError> {
    values.clear();
    let columns = format.columns();
    let mut tokens = line.split_ascii_whitespace();
    for column in columns {
        let Some(token) = tokens.next() else {
            return Err(ParseError::FieldCount {
                expected: columns.len(),
                found: values.len(),
            });
        };
        match parse_value(column.field_type(), token) {
            Some(value) => values.push(value),
            None => {
                // A line with the wrong number of fields is misaligned: say that, not which
                // value happened to be of the wrong type.
                let found = line.split_ascii_whitespace().count();
                if found != columns.len() {
                    return Err(ParseError::FieldCount {
                        expected: columns.len(),
                        found,
                    });
                }
                let field = column.name().to_owned();
                let value = token.chars().take(64).collect();
                return Err(match column.field_type() {
                    FieldType::Ip => ParseError::NotAnAddress { field, value },
                    _ => ParseError::NotAnInteger { field, value },
                });
            }
        }
    }
    let extra = tokens.count();
    if extra > 0 {
        return Err(ParseError::FieldCount {
            expected: columns.len(),
            found: columns.len() + extra,
        });
    }
    Ok(())
}

/// Parses one token as a value of `field_type`; `None` when it is not one.
pub fn parse_value(field_type: FieldType, token: &str) -> Option<Value<'_>> {
    if token == "-" {
        return Some(Value::Absent);
    }
    match field_type {
        FieldType::Long | FieldType::Date => parse_int(token).map(Value::Int),
        FieldType::Ip => token.parse::<IpAddr>().ok().map(Value::Ip),
        FieldType::Keyword | FieldType::Text => Some(Value::Str(token)),
    }
}

/// A decimal integer, optionally negative. Faster than `str::parse` for the short unsigned
/// numbers flow logs are made of, and strict: no `+`, no spaces, no overflow.
fn parse_int(token: &str) -> Option<i64> {
    let (negative, digits) = match token.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        bytes => (false, bytes),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(digit))?;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    fn parse(line: &str) -> Result<Vec<Value<'_>>, ParseError> {
        let mut values = Vec::new();
        parse_record(&RecordFormat::default_v2(), line, &mut values).map(|()| values)
    }

    #[test]
    fn aws_documentation_examples() {
        // Accepted SSH traffic (AWS VPC user guide, flow log record examples).
        let values = parse("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK").unwrap();
        assert_eq!(values[0], Value::Int(2));
        assert_eq!(values[1], Value::Str("123456789010"));
        assert_eq!(
            values[3],
            Value::Ip(IpAddr::V4(Ipv4Addr::new(172, 31, 16, 139)))
        );
        assert_eq!(values[6], Value::Int(22));
        assert_eq!(values[9], Value::Int(4249));
        assert_eq!(values[12], Value::Str("ACCEPT"));
        // Rejected RDP traffic.
        let values = parse("2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK").unwrap();
        assert_eq!(values[12], Value::Str("REJECT"));
        // No data.
        let values = parse(
            "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
        )
        .unwrap();
        assert_eq!(values[3], Value::Absent);
        assert_eq!(values[10], Value::Int(1431280876));
        assert_eq!(values[13], Value::Str("NODATA"));
        // Skipped records.
        let values = parse(
            "2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
        )
        .unwrap();
        assert_eq!(values[13], Value::Str("SKIPDATA"));
        // IPv6.
        let values = parse("2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK").unwrap();
        assert_eq!(
            values[3],
            Value::Ip(
                "2001:db8:1234:a100:8d6e:3477:df66:f105"
                    .parse::<Ipv6Addr>()
                    .unwrap()
                    .into()
            )
        );
    }

    #[test]
    fn account_ids_keep_leading_zeros() {
        let values =
            parse("2 012345678901 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK").unwrap();
        assert_eq!(values[1], Value::Str("012345678901"));
    }

    #[test]
    fn malformed_lines_say_why() {
        assert_eq!(
            parse("2 123 eni-1 10.0.0.1"),
            Err(ParseError::FieldCount {
                expected: 14,
                found: 4
            })
        );
        assert_eq!(
            parse("2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK extra"),
            Err(ParseError::FieldCount {
                expected: 14,
                found: 15
            })
        );
        assert_eq!(
            parse("2 1 eni-1 10.0.0.1 10.0.0.2 http 2 6 1 1 1 2 ACCEPT OK"),
            Err(ParseError::NotAnInteger {
                field: "srcport".into(),
                value: "http".into()
            })
        );
        assert_eq!(
            parse("2 1 eni-1 10.0.0.300 10.0.0.2 1 2 6 1 1 1 2 ACCEPT OK"),
            Err(ParseError::NotAnAddress {
                field: "srcaddr".into(),
                value: "10.0.0.300".into()
            })
        );
    }

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("18446744073"), Some(18_446_744_073));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("+5"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("-"), None);
        assert_eq!(parse_int("1e3"), None);
    }
}
