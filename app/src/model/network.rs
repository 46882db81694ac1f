//! Named address ranges (`10.0.0.0/16 = prod-vpc`): what network engineers call the addresses
//! flows come from and go to. A split by source or destination network names each flow's
//! address by the most specific range holding it; a split by direction tells inbound,
//! outbound, internal and external traffic apart, from the private ranges and the named ones.
//!
//! They are one saved object (type `networks`, id [`NETWORKS_ID`]), written one range a line:
//!
//! ```text
//! # comments and blank lines are skipped
//! 10.0.0.0/16 = prod-vpc
//! 10.1.0.0/16 = staging
//! 2600:1f18::/32 = prod-v6
//! 0.0.0.0/0 = internet
//! 198.51.100.0/24 = partner (external)
//! ```
//!
//! A `/0` range, or one marked `(external)`, is not the user's own: traffic to it is outbound.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::filter::{Filter, FilterKind};

/// The id of the one networks object.
pub const NETWORKS_ID: &str = "networks";

/// The most ranges one may name: each is a bucket of a network split and a term of its queries.
pub const MAX_NETWORKS: usize = 500;

/// The longest name of a range.
pub const MAX_NAME_CHARS: usize = 100;

/// The ranges no one routes on the internet: RFC 1918, shared address space (RFC 6598), link
/// local, and IPv6 unique and link local addresses. Traffic between them is internal.
pub const PRIVATE_RANGES: [&str; 7] = [
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "fc00::/7",
    "fe80::/10",
];

/// The bucket of addresses no named range holds.
pub const UNNAMED: &str = "Unnamed";

/// An address block: the first address (host bits cleared) and the prefix length, IPv4
/// addresses as IPv4-mapped IPv6 ones so both kinds compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    /// The block's first address, as IPv6.
    start: u128,
    /// Prefix length over 128 bits (an IPv4 /8 is 104).
    bits: u8,
    /// Written as IPv4.
    v4: bool,
}

impl Cidr {
    /// Reads `10.0.0.0/8`, `2600:1f18::/32` or a single address.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let (start, bits, v4) = match address.parse::<IpAddr>().ok()? {
            IpAddr::V4(v4) => {
                let prefix = prefix.unwrap_or(32);
                if prefix > 32 {
                    return None;
                }
                (u128::from(v4.to_ipv6_mapped()), prefix + 96, true)
            }
            IpAddr::V6(v6) => {
                let prefix = prefix.unwrap_or(128);
                if prefix > 128 {
                    return None;
                }
                // `::ffff:10.0.0.0/104` is `10.0.0.0/8`, and is written so.
                let mapped = prefix >= 96 && v6.to_ipv4_mapped().is_some();
                (u128::from(v6), prefix, mapped)
            }
        };
        Some(Cidr {
            start: start & mask(bits),
            bits,
            v4,
        })
    }

    /// Whether `other` lies wholly inside this block.
    pub fn contains(&self, other: &Cidr) -> bool {
        other.bits >= self.bits && other.start & mask(self.bits) == self.start
    }

    /// Whether the address `ip` is in the block.
    pub fn holds(&self, ip: IpAddr) -> bool {
        let address = match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        address & mask(self.bits) == self.start
    }

    /// The prefix length as written (`8` of `10.0.0.0/8`).
    pub fn prefix(&self) -> u8 {
        if self.v4 {
            self.bits - 96
        } else {
            self.bits
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address = Ipv6Addr::from(self.start);
        match (self.v4, address.to_ipv4_mapped()) {
            (true, Some(v4)) => write!(f, "{v4}/{}", self.prefix()),
            _ => write!(f, "{address}/{}", self.prefix()),
        }
    }
}

/// The mask of a prefix of `bits` bits over 128.
fn mask(bits: u8) -> u128 {
    match bits {
        0 => 0,
        bits => u128::MAX << (128 - u32::from(bits.min(128))),
    }
}

/// One named range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Network {
    /// The block, as written (`10.0.0.0/16`).
    pub block: Cidr,
    /// Its name (`prod-vpc`).
    pub name: String,
    /// Not the user's own: marked `(external)`, or a `/0`.
    pub external: bool,
}

/// A line of the networks text that does not read, with its number (from 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct NetworksError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

/// The named ranges, in the order written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks(pub Vec<Network>);

/// As their text, which is what users write.
impl Serialize for Networks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_text())
    }
}

impl<'de> Deserialize<'de> for Networks {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Networks::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Networks {
    /// Reads the text form, one `CIDR = name` a line; every line that does not read is an
    /// error naming its line.
    pub fn parse(text: &str) -> Result<Networks, NetworksError> {
        let mut networks = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let error = |message: String| NetworksError {
                line: index + 1,
                message,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((block, name)) = line.split_once('=') else {
                return Err(error(format!(
                    "`{line}` is not `CIDR = name`, such as `10.0.0.0/16 = prod-vpc`"
                )));
            };
            let block_text = block.trim();
            let block = Cidr::parse(block_text).ok_or_else(|| {
                error(format!(
                    "`{block_text}` is not a CIDR block such as 10.0.0.0/16 or 2600:1f18::/32"
                ))
            })?;
            let name = name.trim();
            let (name, marked) = match name.strip_suffix("(external)") {
                Some(name) => (name.trim(), true),
                None => (name, false),
            };
            if name.is_empty() {
                return Err(error(format!("`{block_text}` needs a name after `=`")));
            }
            if name.chars().count() > MAX_NAME_CHARS {
                return Err(error(format!(
                    "the name is longer than {MAX_NAME_CHARS} characters"
                )));
            }
            if name == UNNAMED {
                return Err(error(format!(
                    "`{UNNAMED}` is kept for addresses no range holds"
                )));
            }
            if let Some(same) = networks.iter().find(|n: &&Network| n.block == block) {
                return Err(error(format!("{block} is named `{}` already", same.name)));
            }
            if networks.len() == MAX_NETWORKS {
                return Err(error(format!("more than {MAX_NETWORKS} ranges")));
            }
            networks.push(Network {
                block,
                name: name.to_owned(),
                external: marked || block.prefix() == 0,
            });
        }
        Ok(Networks(networks))
    }

    /// The text form, as [`Networks::parse`] reads it.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|n| {
                let mark = if n.external && n.block.prefix() != 0 {
                    " (external)"
                } else {
                    ""
                };
                format!("{} = {}{mark}\n", n.block, n.name)
            })
            .collect()
    }

    /// Whether no range is named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The name of the most specific range holding `ip`.
    pub fn name_of(&self, ip: IpAddr) -> Option<&str> {
        self.0
            .iter()
            .filter(|n| n.block.holds(ip))
            .max_by_key(|n| n.block.bits)
            .map(|n| n.name.as_str())
    }

    /// Whether `ip` is the user's own: its most specific range, named or private, is not
    /// external.
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.ownership()
            .into_iter()
            .filter(|(block, _)| block.holds(ip))
            .max_by_key(|(block, _)| block.bits)
            .is_some_and(|(_, own)| own)
    }

    /// Every range that decides whether an address is the user's own, with whether it is:
    /// the named ones, then the private ones no named range restates (a name wins).
    fn ownership(&self) -> Vec<(Cidr, bool)> {
        let named = self.0.iter().map(|n| (n.block, !n.external));
        let private = PRIVATE_RANGES
            .iter()
            .filter_map(|r| Cidr::parse(r))
            .filter(|block| self.0.iter().all(|n| n.block != *block))
            .map(|block| (block, true));
        named.chain(private).collect()
    }

    /// The names in the order first written.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for network in &self.0 {
            if !names.contains(&network.name.as_str()) {
                names.push(&network.name);
            }
        }
        names
    }

    /// The queries of a split by network on `field`, a name at a time in the order written:
    /// the addresses of its ranges but those of the more specific ranges inside them. With
    /// no range named, every address is [`UNNAMED`].
    pub fn split_queries(&self, field: &str) -> Vec<(String, Value)> {
        if self.0.is_empty() {
            return vec![(UNNAMED.to_owned(), json!({ "match_all": {} }))];
        }
        let blocks: Vec<Cidr> = self.0.iter().map(|n| n.block).collect();
        let tree = RangeTree::new(&blocks);
        self.names()
            .into_iter()
            .map(|name| {
                let ranges: Vec<Value> = (0..blocks.len())
                    .filter(|&i| self.0[i].name == name)
                    .map(|i| tree.own_addresses(field, i))
                    .collect();
                let query = match <[Value; 1]>::try_from(ranges) {
                    Ok([one]) => one,
                    Err(ranges) => {
                        json!({ "bool": { "should": ranges, "minimum_should_match": 1 } })
                    }
                };
                (name.to_owned(), query)
            })
            .collect()
    }

    /// The filter pills selecting each bucket of a split by network on `field`, as
    /// [`Networks::split_queries`] splits: a name's ranges and not the other names' ranges
    /// just inside them; [`UNNAMED`], none of the outermost ranges. A name with a range
    /// inside another name's range inside one of its own gets `None`: pills cannot say it.
    pub fn split_filters(&self, field: &str) -> Vec<(String, Option<Vec<Filter>>)> {
        let blocks: Vec<Cidr> = self.0.iter().map(|n| n.block).collect();
        let tree = RangeTree::new(&blocks);
        let pill = |indices: &mut dyn Iterator<Item = usize>, negate: bool| Filter {
            negate,
            ..Filter::phrases(
                field,
                indices.map(|i| json!(blocks[i].to_string())).collect(),
            )
        };
        let mut out: Vec<(String, Option<Vec<Filter>>)> = self
            .names()
            .into_iter()
            .map(|name| {
                let own = |i: usize| self.0[i].name == name;
                let foreign_above_own = (0..blocks.len()).filter(|&i| own(i)).any(|i| {
                    let mut foreign = false;
                    tree.ancestors(i).any(|a| {
                        foreign |= !own(a);
                        foreign && own(a)
                    })
                });
                if foreign_above_own {
                    return (name.to_owned(), None);
                }
                let foreign_children: Vec<usize> = (0..blocks.len())
                    .filter(|&i| !own(i) && tree.parent[i].is_some_and(own))
                    .collect();
                let mut filters = vec![pill(&mut (0..blocks.len()).filter(|&i| own(i)), false)];
                if !foreign_children.is_empty() {
                    filters.push(pill(&mut foreign_children.into_iter(), true));
                }
                (name.to_owned(), Some(filters))
            })
            .collect();
        let outermost = (0..blocks.len()).filter(|&i| tree.parent[i].is_none());
        let unnamed = match self.0.is_empty() {
            true => Vec::new(),
            false => vec![pill(&mut outermost.into_iter(), true)],
        };
        out.push((UNNAMED.to_owned(), Some(unnamed)));
        out
    }

    /// The query matching flows whose `field` is the user's own address (see
    /// [`Networks::is_internal`]): the addresses of an own range but those of the more
    /// specific ranges inside it, each own range a clause.
    pub fn internal_query(&self, field: &str) -> Value {
        let ranges = self.ownership();
        let blocks: Vec<Cidr> = ranges.iter().map(|(block, _)| *block).collect();
        let tree = RangeTree::new(&blocks);
        let clauses: Vec<Value> = (0..blocks.len())
            .filter(|&i| ranges[i].1)
            .map(|i| tree.own_addresses(field, i))
            .collect();
        json!({ "bool": { "should": clauses, "minimum_should_match": 1 } })
    }
}

/// Address blocks as the tree they make (two blocks are nested or apart): each block's
/// parent is the most specific block strictly holding it. Queries exclude only a block's
/// children, so a chain of nested ranges costs a term each rather than each pair.
struct RangeTree<'a> {
    blocks: &'a [Cidr],
    parent: Vec<Option<usize>>,
}

impl<'a> RangeTree<'a> {
    fn new(blocks: &'a [Cidr]) -> RangeTree<'a> {
        let parent = blocks
            .iter()
            .map(|block| {
                (0..blocks.len())
                    .filter(|&j| blocks[j].bits < block.bits && blocks[j].contains(block))
                    .max_by_key(|&j| blocks[j].bits)
            })
            .collect();
        RangeTree { blocks, parent }
    }

    /// The blocks holding block `i`, innermost first.
    fn ancestors(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(self.parent[i], |&j| self.parent[j])
    }

    /// The query matching the addresses whose most specific block is block `i`.
    fn own_addresses(&self, field: &str, i: usize) -> Value {
        let term = |block: &Cidr| json!({ "term": { field: block.to_string() } });
        let children: Vec<Value> = (0..self.blocks.len())
            .filter(|&j| self.parent[j] == Some(i))
            .map(|j| term(&self.blocks[j]))
            .collect();
        json!({ "bool": { "filter": [term(&self.blocks[i])], "must_not": children } })
    }
}

/// The four directions of traffic, in the order a split shows them.
pub const DIRECTIONS: [&str; 4] = ["inbound", "outbound", "internal", "external"];

/// The queries of a split by direction: inbound (from elsewhere to the user's own addresses),
/// outbound, internal (own to own) and external (neither own). Flows without both
/// addresses (NODATA records) are in none.
pub fn direction_queries(networks: &Networks) -> Vec<(String, Value)> {
    let own = |field: &str| networks.internal_query(field);
    let both = [
        json!({ "exists": { "field": "srcaddr" } }),
        json!({ "exists": { "field": "dstaddr" } }),
    ];
    let query = |src_own: bool, dst_own: bool| {
        let mut filter = both.to_vec();
        let mut must_not = Vec::new();
        for (field, is_own) in [("srcaddr", src_own), ("dstaddr", dst_own)] {
            if is_own {
                filter.push(own(field));
            } else {
                must_not.push(own(field));
            }
        }
        json!({ "bool": { "filter": filter, "must_not": must_not } })
    };
    vec![
        ("inbound".into(), query(false, true)),
        ("outbound".into(), query(true, false)),
        ("internal".into(), query(true, true)),
        ("external".into(), query(false, false)),
    ]
}

/// The filter pills selecting each direction, when pills can say it: when no external range
/// lies inside one of the user's own, "own" is "in one of the own ranges".
pub fn direction_filters(networks: &Networks) -> Option<Vec<(String, Vec<Filter>)>> {
    let ranges = networks.ownership();
    let carved = ranges.iter().any(|(outer, own)| {
        *own && ranges.iter().any(|(inner, inner_own)| {
            !inner_own && inner.bits > outer.bits && outer.contains(inner)
        })
    });
    if carved {
        return None;
    }
    let own: Vec<Value> = ranges
        .iter()
        .filter(|(_, own)| *own)
        .map(|(block, _)| json!(block.to_string()))
        .collect();
    let pills = |src_own: bool, dst_own: bool| {
        let mut filters = Vec::new();
        for (field, is_own) in [("srcaddr", src_own), ("dstaddr", dst_own)] {
            filters.push(Filter {
                kind: FilterKind::Exists,
                ..Filter::phrase(field, Value::Null)
            });
            filters.push(Filter {
                negate: !is_own,
                ..Filter::phrases(field, own.clone())
            });
        }
        filters
    };
    Some(vec![
        ("inbound".into(), pills(false, true)),
        ("outbound".into(), pills(true, false)),
        ("internal".into(), pills(true, true)),
        ("external".into(), pills(false, false)),
    ])
}

/// The direction of a flow between two addresses, as [`direction_queries`] splits them.
pub fn direction_of(networks: &Networks, src: IpAddr, dst: IpAddr) -> &'static str {
    match (networks.is_internal(src), networks.is_internal(dst)) {
        (false, true) => "inbound",
        (true, false) => "outbound",
        (true, true) => "internal",
        (false, false) => "external",
    }
}

/// No named ranges: what a search has when none are given.
pub static NO_NETWORKS: Networks = Networks(Vec::new());

/// The saved object's attributes: the text, which is what users write and read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworksObject {
    /// Its title in lists of objects.
    #[serde(default = "networks_title")]
    pub title: String,
    /// The ranges, one `CIDR = name` a line.
    pub text: String,
}

fn networks_title() -> String {
    "Networks".into()
}

impl NetworksObject {
    /// The object holding `text`.
    pub fn new(text: String) -> NetworksObject {
        NetworksObject {
            title: networks_title(),
            text,
        }
    }

    /// Reads the attributes of a saved networks object, its ranges checked.
    pub fn from_value(value: Value) -> Result<(NetworksObject, Networks), String> {
        let object: NetworksObject = serde_json::from_value(value).map_err(|e| e.to_string())?;
        let networks = Networks::parse(&object.text).map_err(|e| e.to_string())?;
        Ok((object, networks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const EXAMPLE: &str = "# ours\n10.0.0.0/16 = prod-vpc\n10.0.5.0/24 = prod-db\n\n10.1.0.0/16 = staging\n2600:1f18::/32 = prod-v6\n0.0.0.0/0 = internet\n198.51.100.0/24 = partner (external)\n";

    #[test]
    fn the_most_specific_range_names_an_address() {
        let networks = Networks::parse(EXAMPLE).unwrap();
        assert_eq!(networks.0.len(), 6);
        assert_eq!(networks.name_of(ip("10.0.5.9")), Some("prod-db"));
        assert_eq!(networks.name_of(ip("10.0.6.9")), Some("prod-vpc"));
        assert_eq!(networks.name_of(ip("10.1.0.1")), Some("staging"));
        assert_eq!(networks.name_of(ip("8.8.8.8")), Some("internet"));
        assert_eq!(networks.name_of(ip("2600:1f18::1")), Some("prod-v6"));
        // An IPv4 /0 holds no IPv6 address.
        assert_eq!(networks.name_of(ip("2001:db8::1")), None);
        assert_eq!(Networks::parse(&networks.to_text()).unwrap(), networks);
    }

    #[test]
    fn direction_follows_private_and_named_ranges() {
        let networks = Networks::parse(EXAMPLE).unwrap();
        let of = |a: &str, b: &str| direction_of(&networks, ip(a), ip(b));
        assert_eq!(of("8.8.8.8", "10.0.0.1"), "inbound");
        assert_eq!(of("10.0.0.1", "198.51.100.7"), "outbound");
        assert_eq!(of("192.168.1.1", "10.1.0.1"), "internal");
        assert_eq!(of("2600:1f18::1", "fd00::1"), "internal");
        assert_eq!(of("8.8.8.8", "1.1.1.1"), "external");
        // An external range inside a private one carves it out.
        let carved =
            Networks::parse("10.99.0.0/16 = vendor (external)\n10.99.1.0/24 = ours-again").unwrap();
        assert!(!carved.is_internal(ip("10.99.0.1")));
        assert!(carved.is_internal(ip("10.99.1.1")));
        assert!(carved.is_internal(ip("10.98.0.1")));
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, line, words) in [
            ("10.0.0.0/16 = a\n10.0.0.0/33 = b", 2, "not a CIDR block"),
            ("\n\nprod", 3, "is not `CIDR = name`"),
            ("10.0.0.0/16 =", 1, "needs a name"),
            ("10.0.0.0/16 = a\n10.0.0.0/16 = b", 2, "named `a` already"),
            ("10.0.0.0/8 = Unnamed", 1, "kept for addresses"),
        ] {
            let error = Networks::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text}");
            assert!(error.message.contains(words), "{error}");
        }
        // Host bits are cleared, as the block means.
        let networks = Networks::parse("10.0.0.7/16 = a").unwrap();
        assert_eq!(networks.0[0].block.to_string(), "10.0.0.0/16");
    }

    /// A range's query leaves out the more specific ranges inside it, and nothing else.
    #[test]
    fn a_split_by_network_leaves_inner_ranges_to_themselves() {
        let networks = Networks::parse(EXAMPLE).unwrap();
        let queries = networks.split_queries("srcaddr");
        let (name, vpc) = &queries[0];
        assert_eq!(name, "prod-vpc");
        assert_eq!(
            vpc["bool"]["must_not"],
            json!([{ "term": { "srcaddr": "10.0.5.0/24" } }])
        );
        // Only the ranges just inside: the database subnet is inside the VPC already.
        let (_, internet) = &queries[4];
        assert_eq!(internet["bool"]["must_not"].as_array().unwrap().len(), 3);
        // Two ranges of one name are one bucket.
        let twice = Networks::parse("10.0.0.0/16 = prod\n10.5.0.0/16 = prod").unwrap();
        let [(name, query)] = twice.split_queries("dstaddr").try_into().unwrap();
        assert_eq!(name, "prod");
        assert_eq!(query["bool"]["should"].as_array().unwrap().len(), 2);
        // None named: every address is unnamed, and a click on it filters nothing.
        assert_eq!(NO_NETWORKS.split_queries("srcaddr")[0].0, UNNAMED);
        assert_eq!(
            NO_NETWORKS.split_filters("srcaddr"),
            vec![(UNNAMED.to_owned(), Some(Vec::new()))]
        );
    }

    /// A hostile chain of nested ranges costs a term a range, not a term a pair.
    #[test]
    fn nested_ranges_exclude_only_their_children() {
        let text: String = (0..=128).map(|i| format!("::/{i} = n{i}\n")).collect();
        let networks = Networks::parse(&text).unwrap();
        let terms = serde_json::to_string(&networks.split_queries("srcaddr"))
            .unwrap()
            .matches("\"term\"")
            .count();
        assert_eq!(terms, 2 * 129 - 1);
        let terms = serde_json::to_string(&networks.split_filters("srcaddr"))
            .unwrap()
            .matches("::/")
            .count();
        assert_eq!(terms, 2 * 129 - 1 + 1);
    }

    /// A range named like a private one decides for it; `::ffff:10.0.0.0/104` is 10.0.0.0/8.
    #[test]
    fn a_named_range_restating_a_private_one_wins() {
        let cgnat = Networks::parse("100.64.0.0/10 = carrier (external)").unwrap();
        assert!(!cgnat.is_internal(ip("100.64.0.1")));
        let query = cgnat.internal_query("srcaddr").to_string();
        assert!(!query.contains("100.64.0.0/10"), "{query}");
        let pills = direction_filters(&cgnat).unwrap();
        assert!(!serde_json::to_string(&pills).unwrap().contains("100.64"));

        let mapped = Networks::parse("::ffff:10.0.0.0/104 = ten").unwrap();
        assert_eq!(mapped.to_text(), "10.0.0.0/8 = ten\n");
        let refused = Networks::parse("10.0.0.0/8 = a\n::ffff:10.0.0.0/104 = b").unwrap_err();
        assert_eq!(refused.line, 2);
    }

    /// A name with a range inside another name's range inside its own gets no pills: "one
    /// of its ranges, none of the others'" would leave out its innermost range.
    #[test]
    fn a_name_nested_in_a_foreign_range_gets_no_pills() {
        let networks = Networks::parse("10.0.0.0/8 = a\n10.1.0.0/16 = b\n10.1.2.0/24 = a").unwrap();
        let pills: std::collections::BTreeMap<String, Option<Vec<Filter>>> =
            networks.split_filters("srcaddr").into_iter().collect();
        assert_eq!(pills["a"], None);
        assert_eq!(pills["b"].as_ref().unwrap().len(), 2);
        assert_eq!(pills[UNNAMED].as_ref().unwrap().len(), 1);
    }

    /// A bucket's pills say what its query says: the VPC but not the database subnet inside
    /// it; unnamed, none of the ranges. Direction pills exist only where no external range
    /// carves one of ours.
    #[test]
    fn pills_select_what_the_buckets_hold() {
        let networks = Networks::parse(EXAMPLE).unwrap();
        let pills = networks.split_filters("srcaddr");
        let (name, vpc) = &pills[0];
        assert_eq!(name, "prod-vpc");
        assert_eq!(
            vpc,
            &Some(vec![
                Filter::phrase("srcaddr", json!("10.0.0.0/16")),
                Filter {
                    negate: true,
                    ..Filter::phrase("srcaddr", json!("10.0.5.0/24"))
                }
            ])
        );
        let (name, unnamed) = pills.last().unwrap();
        assert_eq!(name, UNNAMED);
        let unnamed = unnamed.as_ref().unwrap();
        assert!(unnamed[0].negate);
        assert_eq!(unnamed.len(), 1);
        let directions = direction_filters(&networks).unwrap();
        assert_eq!(directions.len(), 4);
        let carved = Networks::parse("10.99.0.0/16 = vendor (external)").unwrap();
        assert!(direction_filters(&carved).is_none());
    }
}
