//! Property: a random record, written in a random custom format (with its header line), is
//! ingested back to exactly the values it was made of.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use app::model::flow::{FieldType, RECORD_FIELDS};
use proptest::prelude::*;

use super::document::DocValue;
use super::format::RecordFormat;
use super::parse::{parse_record, Value};
use super::tests::ingest;
use super::IngestOptions;

/// A value for a field of `field_type`, or `None` for `-`.
fn value_strategy(field_type: FieldType) -> BoxedStrategy<Option<String>> {
    let present: BoxedStrategy<String> = match field_type {
        FieldType::Long | FieldType::Date => prop_oneof![0i64..65_536, 0i64..i64::MAX]
            .prop_map(|v| v.to_string())
            .boxed(),
        FieldType::Ip => prop_oneof![
            any::<u32>().prop_map(|v| Ipv4Addr::from(v).to_string()),
            any::<u128>().prop_map(|v| Ipv6Addr::from(v).to_string()),
        ]
        .boxed(),
        FieldType::Keyword | FieldType::Text => "[A-Za-z0-9][A-Za-z0-9._:/-]{0,24}".boxed(),
    };
    prop_oneof![4 => present.prop_map(Some), 1 => Just(None)].boxed()
}

/// A random format: any documented fields, in any order, always with `start` (a record needs a
/// time to become a document), and one value per field.
fn record_strategy() -> impl Strategy<Value = (Vec<&'static str>, Vec<Option<String>>)> {
    let names: Vec<&'static str> = RECORD_FIELDS
        .iter()
        .map(|f| f.aws_name)
        .filter(|n| *n != "start")
        .collect();
    (
        proptest::sample::subsequence(names, 0..12),
        any::<prop::sample::Index>(),
    )
        .prop_flat_map(|(mut fields, position)| {
            fields.insert(position.index(fields.len() + 1), "start");
            fields = shuffle_stable(fields);
            let values: Vec<BoxedStrategy<Option<String>>> = fields
                .iter()
                .map(|name| {
                    if *name == "start" {
                        (1_000_000_000i64..2_000_000_000)
                            .prop_map(|v| Some(v.to_string()))
                            .boxed()
                    } else {
                        value_strategy(app::model::flow::record_field(name).unwrap().field_type)
                    }
                })
                .collect();
            (Just(fields), values)
        })
}

/// A deterministic but order-changing permutation (formats need not follow AWS's order).
fn shuffle_stable(mut fields: Vec<&'static str>) -> Vec<&'static str> {
    let n = fields.len();
    for i in 0..n {
        let j = (i * 7 + 3) % n;
        fields.swap(i, j);
    }
    fields
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_records_in_random_formats_parse_back((fields, values) in record_strategy()) {
        let header = fields.join(" ");
        let line: Vec<&str> = values.iter().map(|v| v.as_deref().unwrap_or("-")).collect();
        let line = line.join(" ");
        // Parser level.
        let format = RecordFormat::from_header(&header).expect("a header of field names");
        let mut parsed = Vec::new();
        parse_record(&format, &line, &mut parsed).unwrap();
        for ((name, expected), value) in fields.iter().zip(&values).zip(&parsed) {
            match (expected, value) {
                (None, Value::Absent) => {}
                (Some(text), Value::Str(s)) => prop_assert_eq!(text, s, "{}", name),
                (Some(text), Value::Int(v)) => prop_assert_eq!(text.parse::<i64>().unwrap(), *v, "{}", name),
                (Some(text), Value::Ip(ip)) => prop_assert_eq!(text.parse::<IpAddr>().unwrap(), *ip, "{}", name),
                (expected, value) => prop_assert!(false, "{name}: {expected:?} became {value:?}"),
            }
        }
        // Whole pipeline: header line, then the record.
        let (report, sink) = ingest(format!("{header}\n{line}\n").as_bytes(), &IngestOptions::default());
        prop_assert_eq!(report.accepted, 1, "{:?}", report.errors);
        let doc = &sink.docs[0];
        for (name, expected) in fields.iter().zip(&values) {
            let document_name = name.replace('-', "_");
            let stored = doc.get(&document_name);
            match (expected, stored) {
                (None, None) => {}
                (Some(text), Some(DocValue::Str(s))) => prop_assert_eq!(text, s),
                (Some(text), Some(DocValue::Int(v))) => prop_assert_eq!(text.parse::<i64>().unwrap(), *v),
                (Some(text), Some(DocValue::Ip(ip))) => prop_assert_eq!(text.parse::<IpAddr>().unwrap(), *ip),
                (expected, stored) => prop_assert!(false, "{name}: {expected:?} stored as {stored:?}"),
            }
        }
    }
}
