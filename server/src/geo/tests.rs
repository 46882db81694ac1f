//! Against MaxMind's published test databases (`scripts/setup` puts them in
//! `tools/maxmind-test-data`), whose source JSON says what each address holds.

use std::net::IpAddr;
use std::path::PathBuf;

use super::*;
use crate::ingest::document::FlowDoc;

/// A test database by name; its absence is a setup fault, said as such.
pub(crate) fn test_db(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/maxmind-test-data")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup, which fetches MaxMind's test databases",
        path.display()
    );
    path
}

fn open(geoip: Option<&str>, asn: Option<&str>) -> Result<Option<Arc<GeoDatabases>>, GeoError> {
    GeoFiles {
        geoip: geoip.map(test_db),
        asn: asn.map(test_db),
    }
    .open()
}

fn both() -> Arc<GeoDatabases> {
    open(
        Some("GeoLite2-City-Test.mmdb"),
        Some("GeoLite2-ASN-Test.mmdb"),
    )
    .unwrap()
    .unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn known_test_addresses_get_their_country_and_autonomous_system() {
    let databases = both();
    // GeoLite2-City-Test: 81.2.69.160/27 is GB, 89.160.20.128/25 SE, 2001:218::/32 JP.
    // GeoLite2-ASN-Test: 1.128.0.0/11 is AS1221 Telstra, 12.81.92.0/22 AS7018 AT&T,
    // 2001:1700::/27 AS6730 Sunrise.
    let country = |text| databases.lookup(ip(text)).country.map(String::from);
    assert_eq!(country("81.2.69.160").as_deref(), Some("GB"));
    assert_eq!(country("89.160.20.200").as_deref(), Some("SE"));
    assert_eq!(country("2001:218::1").as_deref(), Some("JP"));
    let telstra = databases.lookup(ip("1.128.0.1"));
    assert_eq!(telstra.asn, Some(1221));
    assert_eq!(telstra.as_org.as_deref(), Some("Telstra Pty Ltd"));
    assert_eq!(databases.lookup(ip("12.81.92.7")).asn, Some(7018));
    let sunrise = databases.lookup(ip("2001:1700::9"));
    assert_eq!(
        (sunrise.asn, sunrise.as_org.as_deref()),
        (Some(6730), Some("Sunrise Communications AG"))
    );
    // Addresses the databases lack get nothing: private ranges, and blocks not in the tests.
    for unknown in ["10.0.0.5", "192.168.1.1", "8.8.8.8", "fd00::1"] {
        assert!(databases.lookup(ip(unknown)).is_empty(), "{unknown}");
    }
}

fn flow(src: &str, dst: &str) -> FlowDoc {
    let format = crate::ingest::format::RecordFormat::default_v2();
    let line = format!(
        "2 123456789012 eni-1 {src} {dst} 443 49152 6 10 840 1700000000 1700000060 ACCEPT OK"
    );
    let mut values = Vec::new();
    crate::ingest::parse::parse_record(&format, &line, &mut values).unwrap();
    FlowDoc::from_record(&format, &values, &line, &Default::default()).unwrap()
}

fn field<'d>(doc: &'d FlowDoc, name: &str) -> Option<&'d DocValue> {
    doc.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
}

#[test]
fn ingest_adds_the_fields_the_databases_know_and_no_others() {
    let mut enricher = Enricher::new(both());
    let mut doc = flow("81.2.69.160", "1.128.0.1");
    enricher.enrich(&mut doc);
    assert_eq!(
        field(&doc, "src_country"),
        Some(&DocValue::Str("GB".into()))
    );
    // The City test database has no AS, the ASN one no country for these.
    assert_eq!(field(&doc, "src_asn"), None);
    assert_eq!(field(&doc, "dst_asn"), Some(&DocValue::Int(1221)));
    assert_eq!(
        field(&doc, "dst_as_org"),
        Some(&DocValue::Str("Telstra Pty Ltd".into()))
    );
    assert_eq!(field(&doc, "dst_country"), None);

    // A private pair: nothing added, from the database or from the cache the second time.
    for _ in 0..2 {
        let mut private = flow("10.0.0.5", "10.0.1.9");
        let before = private.fields.len();
        enricher.enrich(&mut private);
        assert_eq!(private.fields.len(), before);
    }
}

#[test]
fn a_clients_own_source_gets_the_fields_and_keeps_its_own_values() {
    let mut enricher = Enricher::new(both());
    // As `_bulk` sends it: the sender named the destination's organisation, and left the
    // source's AS empty and its organisation null, which store no value.
    let source = serde_json::json!({
        "@timestamp": "2023-11-14T22:14:00Z",
        "srcaddr": "89.160.20.200",
        "dstaddr": "12.81.92.7",
        "dst_as_org": "ours",
        "src_asn": "",
        "src_as_org": null,
    });
    let serde_json::Value::Object(source) = source else {
        unreachable!()
    };
    let mut doc = FlowDoc::from_source("cwl-2023.11.14", Some("b1"), source).unwrap();
    enricher.enrich(&mut doc);
    let source = doc.original_source.as_ref().unwrap();
    assert_eq!(source["src_country"], "SE");
    assert_eq!(source["dst_asn"], 7018);
    assert_eq!(source["dst_as_org"], "ours");
    assert_eq!(source["src_asn"], "");
    assert_eq!(source["src_as_org"], serde_json::Value::Null);
    // The columns say what `_source` says.
    assert_eq!(
        field(&doc, "src_country"),
        Some(&DocValue::Str("SE".into()))
    );
    assert_eq!(field(&doc, "dst_asn"), Some(&DocValue::Int(7018)));
    assert_eq!(
        field(&doc, "dst_as_org"),
        Some(&DocValue::Str("ours".into()))
    );
    assert_eq!(field(&doc, "src_asn"), None);
    assert_eq!(field(&doc, "src_as_org"), None);
}

#[test]
fn the_cache_keeps_recent_addresses_across_its_turn_and_skips_local_ones() {
    let mut enricher = Enricher::new(both());
    // Local addresses are never looked up or kept.
    for local in [
        "10.1.2.3",
        "172.16.0.9",
        "192.168.7.7",
        "100.64.0.1",
        "fd00::1",
        "fe80::1",
    ] {
        assert!(enricher.facts(ip(local)).is_empty(), "{local}");
    }
    assert!(enricher.newer.is_empty());
    // Past a generation's worth of addresses, the ones in use are still answered, and the
    // cache holds at most two generations.
    for n in 0..(CACHED_ADDRESSES as u32 * 3) {
        let address = IpAddr::from(std::net::Ipv4Addr::from(0x0b00_0000 + n));
        enricher.facts(address);
        if n % 1000 == 0 {
            assert_eq!(enricher.facts(ip("1.128.0.1")).asn, Some(1221));
        }
    }
    assert!(enricher.newer.len() + enricher.older.len() <= 2 * CACHED_ADDRESSES);
    assert_eq!(
        enricher.facts(ip("81.2.69.160")).country.as_deref(),
        Some("GB")
    );
}

#[test]
fn a_missing_corrupt_or_wrong_database_is_an_error_that_names_it() {
    let message = |result: Result<_, GeoError>| result.err().expect("an error").to_string();

    let missing = message(
        GeoFiles {
            geoip: Some("/nonexistent/GeoLite2-City.mmdb".into()),
            asn: None,
        }
        .open(),
    );
    assert!(
        missing.starts_with("--geoip-db /nonexistent/GeoLite2-City.mmdb: cannot read it"),
        "{missing}"
    );

    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(test_db("GeoLite2-ASN-Test.mmdb")).unwrap();
    let truncated = dir.path().join("truncated.mmdb");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let not_a_database = dir.path().join("notes.mmdb");
    std::fs::write(&not_a_database, "10.0.0.0/8 = prod\n").unwrap();
    for path in [truncated, not_a_database] {
        let error = message(
            GeoFiles {
                geoip: None,
                asn: Some(path.clone()),
            }
            .open(),
        );
        assert!(
            error.starts_with(&format!(
                "--asn-db {}: not a valid MaxMind DB file",
                path.display()
            )),
            "{error}"
        );
    }
    // Metadata that reads, a search tree that does not: caught by the check at start.
    let broken = message(open(Some("GeoIP2-City-Test-Invalid-Node-Count.mmdb"), None));
    assert!(broken.contains("not a valid MaxMind DB file"), "{broken}");

    let swapped = message(open(Some("GeoLite2-ASN-Test.mmdb"), None));
    assert!(
        swapped.contains("this is a GeoLite2-ASN database; --geoip-db takes a City or Country"),
        "{swapped}"
    );
    let swapped = message(open(None, Some("GeoLite2-Country-Test.mmdb")));
    assert!(
        swapped.contains("--asn-db takes an ASN database"),
        "{swapped}"
    );

    assert!(open(None, None).unwrap().is_none());
    assert!(open(Some("GeoIP2-Country-Test.mmdb"), None)
        .unwrap()
        .is_some());
}
