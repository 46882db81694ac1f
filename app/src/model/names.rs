//! Service and protocol names for the numbers in a flow: `443 (https)`, `6 (tcp)` wherever a
//! port or protocol is shown, and back again where one is typed (`dstport:ssh`,
//! `protocol:udp`).
//!
//! The tables are built from IANA's registries by `scripts/iana_names` and compiled in, so
//! nothing depends on the host's `/etc/services`. Of the registered ports (1024–49151) only
//! those of services common in a VPC are named: the rest overlap the source ports that NAT
//! gateways and Linux pick, and naming them would dress ephemeral ports up as services.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// Port, then its IANA service names (TCP's first), one port per line.
const IANA_PORTS: &str = include_str!("names/ports.txt");
/// Protocol number, then its IANA keywords in lower case.
const IANA_PROTOCOLS: &str = include_str!("names/protocols.txt");

/// The names people use where IANA's registered one says little (`rdp`, not
/// `ms-wbt-server`): shown instead of it, and accepted as well as it.
const COMMON_PORT_NAMES: &[(u16, &str)] = &[
    (53, "dns"),
    (67, "dhcp"),
    (445, "smb"),
    (514, "syslog"),
    (1433, "mssql"),
    (1521, "oracle"),
    (1701, "l2tp"),
    (2049, "nfs"),
    (2181, "zookeeper"),
    (3260, "iscsi"),
    (3389, "rdp"),
    (5439, "redshift"),
    (5900, "vnc"),
    (5985, "winrm"),
    (5986, "winrm-https"),
    (6443, "kubernetes-api"),
    (8443, "https-alt"),
    (9092, "kafka"),
    (9200, "elasticsearch"),
    (10250, "kubelet"),
    (11211, "memcached"),
];

/// Protocol names people use besides IANA's keywords.
const COMMON_PROTOCOL_NAMES: &[(u16, &str)] = &[(58, "icmpv6")];

/// What kind of number a field holds, when it is one that has names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedField {
    /// A transport port: `srcport`, `dstport` (and `source.port`-style names).
    Port,
    /// An IP protocol number: `protocol`.
    Protocol,
}

impl NamedField {
    /// The kind of `field`, from its name.
    pub fn of(field: &str) -> Option<NamedField> {
        // A cluster's dynamic mapping may hold the number as text with a `.keyword` twin.
        let field = field.strip_suffix(".keyword").unwrap_or(field);
        let field = field.to_ascii_lowercase();
        let last = field.rsplit(['.', '_', '-']).next().unwrap_or(&field);
        match last {
            "srcport" | "dstport" | "port" => Some(NamedField::Port),
            "protocol" => Some(NamedField::Protocol),
            _ if field == "network.iana_number" => Some(NamedField::Protocol),
            _ => None,
        }
    }

    fn table(self) -> &'static NameTable {
        static PORTS: OnceLock<NameTable> = OnceLock::new();
        static PROTOCOLS: OnceLock<NameTable> = OnceLock::new();
        match self {
            NamedField::Port => PORTS.get_or_init(|| NameTable::new(IANA_PORTS, COMMON_PORT_NAMES)),
            NamedField::Protocol => {
                PROTOCOLS.get_or_init(|| NameTable::new(IANA_PROTOCOLS, COMMON_PROTOCOL_NAMES))
            }
        }
    }

    /// What the numbers are called in messages.
    fn noun(self) -> &'static str {
        match self {
            NamedField::Port => "service",
            NamedField::Protocol => "protocol",
        }
    }
}

/// One registry: the name shown for each number, and the numbers each name stands for.
struct NameTable {
    shown: HashMap<u16, &'static str>,
    numbers: HashMap<String, Vec<u16>>,
}

impl NameTable {
    fn new(iana: &'static str, common: &[(u16, &'static str)]) -> NameTable {
        let mut table = NameTable {
            shown: HashMap::new(),
            numbers: HashMap::new(),
        };
        let entries = iana
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                let number = words.next()?.parse::<u16>().ok()?;
                Some(words.map(move |name| (number, name)))
            })
            .flatten();
        // Common names first, so that they are the ones shown.
        for (number, name) in common.iter().copied().chain(entries) {
            table.shown.entry(number).or_insert(name);
            let numbers = table.numbers.entry(name.to_ascii_lowercase()).or_default();
            if !numbers.contains(&number) {
                numbers.push(number);
            }
        }
        table
            .numbers
            .values_mut()
            .for_each(|numbers| numbers.sort_unstable());
        table
    }
}

/// The name of a port or protocol number held by `field`, if it has one.
pub fn name_of(field: &str, value: &Value) -> Option<&'static str> {
    let kind = NamedField::of(field)?;
    let number = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }?;
    kind.table()
        .shown
        .get(&u16::try_from(number).ok()?)
        .copied()
}

/// A value of `field` as shown: `443 (https)` for a named port or protocol, else the value
/// itself (strings bare).
pub fn display(field: &str, value: &Value) -> String {
    let bare = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match name_of(field, value) {
        Some(name) => format!("{bare} ({name})"),
        None => bare,
    }
}

/// A shown label without what is said beside its value: `443` for `443 (https)`,
/// `89.160.20.200` for `89.160.20.200 (SE · AS29518 Bredband2 AB)`; other labels as they are.
pub fn without_name(label: &str) -> &str {
    match label.split_once(" (") {
        Some((value, rest))
            if rest.ends_with(')')
                && (value.parse::<u64>().is_ok() || value.parse::<std::net::IpAddr>().is_ok()) =>
        {
            value
        }
        _ => label,
    }
}

/// A name typed for `field` that does not stand for any number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {noun} name `{name}` for {field}")]
pub struct UnknownName {
    noun: &'static str,
    name: String,
    field: String,
}

/// The numbers that `text`, typed as a value of `field`, stands for: `None` when the field
/// has no names or `text` is a number; all the ports of a name registered on several
/// (`http-alt` is 591 and 8080).
pub fn numbers_for(field: &str, text: &str) -> Option<Result<Vec<u16>, UnknownName>> {
    let kind = NamedField::of(field)?;
    let text = text.trim();
    if text.is_empty() || text.parse::<f64>().is_ok() {
        return None;
    }
    Some(
        kind.table()
            .numbers
            .get(&text.to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| UnknownName {
                noun: kind.noun(),
                name: text.to_owned(),
                field: field.to_owned(),
            }),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ports_and_protocols_are_shown_with_their_names() {
        assert_eq!(display("dstport", &json!(443)), "443 (https)");
        assert_eq!(display("srcport", &json!(22)), "22 (ssh)");
        // The name people use, not IANA's `ms-wbt-server` or `shilp`.
        assert_eq!(display("dstport", &json!(3389)), "3389 (rdp)");
        assert_eq!(display("dstport", &json!(2049)), "2049 (nfs)");
        assert_eq!(display("protocol", &json!(6)), "6 (tcp)");
        assert_eq!(display("protocol", &json!(17)), "17 (udp)");
        assert_eq!(display("protocol", &json!("1")), "1 (icmp)");
        assert_eq!(display("destination.port", &json!(53)), "53 (dns)");
        assert_eq!(display("dstport.keyword", &json!("22")), "22 (ssh)");
        // Unnamed numbers, ephemeral ports and other fields stay as they are.
        assert_eq!(display("dstport", &json!(49152)), "49152");
        assert_eq!(display("srcport", &json!(40312)), "40312");
        assert_eq!(display("dstport", &json!(70000)), "70000");
        assert_eq!(display("bytes", &json!(443)), "443");
        assert_eq!(display("action", &json!("ACCEPT")), "ACCEPT");
        assert_eq!(display("transport", &json!(6)), "6");
        assert_eq!(without_name("443 (https)"), "443");
        assert_eq!(
            without_name("89.160.20.200 (SE · AS29518 Bredband2 AB)"),
            "89.160.20.200"
        );
        assert_eq!(without_name("a (b)"), "a (b)");
        assert_eq!(without_name("REJECT"), "REJECT");
    }

    #[test]
    fn names_are_read_back_as_numbers() {
        let numbers = |field: &str, text: &str| numbers_for(field, text).map(|r| r.unwrap());
        assert_eq!(numbers("dstport", "ssh"), Some(vec![22]));
        assert_eq!(numbers("dstport", "SSH"), Some(vec![22]));
        // Both the common name and IANA's.
        assert_eq!(numbers("dstport", "rdp"), Some(vec![3389]));
        assert_eq!(numbers("dstport", "ms-wbt-server"), Some(vec![3389]));
        assert_eq!(numbers("dstport", "www"), Some(vec![80]));
        assert_eq!(numbers("dstport", "http-alt"), Some(vec![591, 8080]));
        assert_eq!(numbers("protocol", "udp"), Some(vec![17]));
        assert_eq!(numbers("protocol", "icmpv6"), Some(vec![58]));
        assert_eq!(numbers("protocol", "ipv6-icmp"), Some(vec![58]));
        // Numbers, and fields without names, are not names.
        assert_eq!(numbers("dstport", "22"), None);
        assert_eq!(numbers("action", "ssh"), None);
        let unknown = numbers_for("dstport", "sshh").unwrap().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown service name `sshh` for dstport"
        );
        let unknown = numbers_for("protocol", "tcpp").unwrap().unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown protocol name `tcpp` for protocol"
        );
    }

    #[test]
    fn the_tables_hold_every_line_of_the_registries() {
        let numbered = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
        let ports = NamedField::Port.table();
        assert!(ports.shown.len() >= numbered(IANA_PORTS));
        assert!(NamedField::Protocol.table().shown.len() >= numbered(IANA_PROTOCOLS));
        // Every name of every line reads back to its port.
        for line in IANA_PORTS.lines().filter(|l| !l.starts_with('#')) {
            let mut words = line.split_whitespace();
            let port: u16 = words.next().unwrap().parse().unwrap();
            for name in words {
                assert!(
                    ports.numbers[&name.to_ascii_lowercase()].contains(&port),
                    "{line}"
                );
            }
        }
    }
}
