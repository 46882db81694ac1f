//! Who an address belongs to: its country, from a GeoLite2 / GeoIP2 City or Country database
//! (`--geoip-db`), and its autonomous system, from a GeoLite2 ASN database (`--asn-db`). Both
//! are MaxMind DB files, read whole into memory and checked when the server starts.
//!
//! The embedded engine's ingest adds what they know to every flow (see [`Enricher`]):
//! `src_country`, `src_asn`, `src_as_org` and the same for `dst_*`. An address a database does
//! not know gets no field, as Elasticsearch's `geoip` processor leaves it.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;
use maxminddb::{geoip2, path, MaxMindDbError, Reader};
use rustc_hash::FxHashMap;

use crate::ingest::document::{DocValue, FlowDoc};
use crate::ingest::{DocSink, SinkError, SinkOutcome};

/// Why a database given cannot be used: which flag named which file, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{flag} {}: {problem}", path.display())]
pub struct GeoError {
    /// The flag that named the file.
    pub flag: &'static str,
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

/// The two kinds of database flowdash reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Country of an address: GeoLite2/GeoIP2 City or Country (and DB-IP's equivalents).
    Location,
    /// Autonomous system of an address: GeoLite2 ASN, GeoIP2 ISP.
    Asn,
}

impl Kind {
    fn flag(self) -> &'static str {
        match self {
            Kind::Location => "--geoip-db",
            Kind::Asn => "--asn-db",
        }
    }

    fn wanted(self) -> &'static str {
        match self {
            Kind::Location => "a City or Country database (GeoLite2-City, GeoLite2-Country)",
            Kind::Asn => "an ASN database (GeoLite2-ASN)",
        }
    }

    /// Whether a database of this `database_type` (its metadata) answers this kind.
    fn accepts(self, database_type: &str) -> bool {
        let has = |word: &str| database_type.contains(word);
        match self {
            Kind::Location => (has("City") || has("Country")) && !has("ASN"),
            Kind::Asn => has("ASN") || has("ISP"),
        }
    }
}

/// One opened database.
struct Database {
    reader: Reader<Vec<u8>>,
    kind: Kind,
}

impl Database {
    fn open(path: &Path, kind: Kind) -> Result<Database, GeoError> {
        let error = |problem: String| GeoError {
            flag: kind.flag(),
            path: path.to_owned(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(|e| error(format!("cannot read it: {e}")))?;
        let corrupt = |e: MaxMindDbError| error(format!("not a valid MaxMind DB file: {e}"));
        let reader = Reader::from_source(bytes).map_err(corrupt)?;
        let found = &reader.metadata().database_type;
        if !kind.accepts(found) {
            return Err(error(format!(
                "this is a {found} database; {} takes {}",
                kind.flag(),
                kind.wanted()
            )));
        }
        // Every node and record, once: a broken file is an error now, not a wrong or missing
        // field in flows later.
        let started = std::time::Instant::now();
        reader.verify().map_err(corrupt)?;
        tracing::debug!(path = %path.display(), took = ?started.elapsed(), "checked the database");
        Ok(Database { reader, kind })
    }
}

/// What the databases know of one address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddressFacts {
    /// ISO 3166-1 alpha-2 code of the country the address is in (else of the one it is
    /// registered in).
    pub country: Option<CompactString>,
    /// The autonomous system number.
    pub asn: Option<u32>,
    /// The organisation the autonomous system is registered to.
    pub as_org: Option<CompactString>,
}

impl AddressFacts {
    /// Whether the databases know nothing of the address.
    pub fn is_empty(&self) -> bool {
        self.country.is_none() && self.asn.is_none() && self.as_org.is_none()
    }

    /// The facts in a few words, as labels show them beside the address: `SE · AS29518
    /// Bredband2 AB`; `None` when nothing is known.
    pub fn summary(&self) -> Option<String> {
        let system = match (self.asn, &self.as_org) {
            (Some(asn), Some(org)) => Some(format!("AS{asn} {org}")),
            (Some(asn), None) => Some(format!("AS{asn}")),
            (None, Some(org)) => Some(org.to_string()),
            (None, None) => None,
        };
        let parts: Vec<String> = self
            .country
            .as_ref()
            .map(|c| c.to_string())
            .into_iter()
            .chain(system)
            .collect();
        (!parts.is_empty()).then(|| parts.join(" · "))
    }

    /// The facts as the values of an address's fields (`[country, asn, as_org]` names, one
    /// triple of [`ADDRESS_FIELDS`]), those known only.
    pub fn values<'n>(
        &self,
        [country, asn, as_org]: [&'n str; 3],
    ) -> impl Iterator<Item = (&'n str, DocValue)> + use<'n> {
        [
            (country, self.country.clone().map(DocValue::Str)),
            (asn, self.asn.map(|n| DocValue::Int(n.into()))),
            (as_org, self.as_org.clone().map(DocValue::Str)),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }
}

/// Each address field of a flow and the fields its facts go to.
pub const ADDRESS_FIELDS: [(&str, [&str; 3]); 2] = [
    ("srcaddr", ["src_country", "src_asn", "src_as_org"]),
    ("dstaddr", ["dst_country", "dst_asn", "dst_as_org"]),
];

/// The database files given (`--geoip-db`, `--asn-db`).
#[derive(Clone, Debug, Default)]
pub struct GeoFiles {
    /// A City or Country database.
    pub geoip: Option<PathBuf>,
    /// An ASN database.
    pub asn: Option<PathBuf>,
}

impl GeoFiles {
    /// Opens and checks the databases given; `None` when neither is.
    pub fn open(&self) -> Result<Option<Arc<GeoDatabases>>, GeoError> {
        if self.geoip.is_none() && self.asn.is_none() {
            return Ok(None);
        }
        let location = self
            .geoip
            .as_deref()
            .map(|path| Database::open(path, Kind::Location))
            .transpose()?;
        let asn = self
            .asn
            .as_deref()
            .map(|path| Database::open(path, Kind::Asn))
            .transpose()?;
        let databases = GeoDatabases { location, asn };
        tracing::info!(databases = %databases.describe(), "opened the GeoIP and ASN databases");
        Ok(Some(Arc::new(databases)))
    }
}

/// The GeoIP and ASN databases the server was given.
pub struct GeoDatabases {
    location: Option<Database>,
    asn: Option<Database>,
}

impl GeoDatabases {
    /// A one-line description for the log: which databases, of which build.
    pub fn describe(&self) -> String {
        [&self.location, &self.asn]
            .into_iter()
            .flatten()
            .map(|db| {
                let meta = db.reader.metadata();
                let built = chrono::DateTime::from_timestamp(meta.build_epoch as i64, 0)
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default();
                format!("{} ({}, built {built})", meta.database_type, db.kind.flag())
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether ingest adds `src_country` and `dst_country`.
    pub fn has_countries(&self) -> bool {
        self.location.is_some()
    }

    /// Whether ingest adds the AS fields.
    pub fn has_autonomous_systems(&self) -> bool {
        self.asn.is_some()
    }

    /// What the databases know of `address`. A record the database cannot decode counts
    /// as unknown: the file was verified whole when it was opened.
    pub fn lookup(&self, address: IpAddr) -> AddressFacts {
        let mut facts = AddressFacts::default();
        if let Some(db) = &self.location {
            facts.country = country_of(&db.reader, address).ok().flatten();
        }
        if let Some(db) = &self.asn {
            if let Ok(Some(found)) = db
                .reader
                .lookup(address)
                .and_then(|r| r.decode::<geoip2::Asn>())
            {
                facts.asn = found.autonomous_system_number;
                facts.as_org = found
                    .autonomous_system_organization
                    .map(CompactString::from);
            }
        }
        facts
    }
}

/// The country an address is in, else the one its block is registered in (MaxMind leaves
/// `country` out for some anycast and satellite blocks).
fn country_of(
    reader: &Reader<Vec<u8>>,
    address: IpAddr,
) -> Result<Option<CompactString>, MaxMindDbError> {
    let found = reader.lookup(address)?;
    if !found.has_data() {
        return Ok(None);
    }
    for place in ["country", "registered_country"] {
        if let Some(code) = found.decode_path::<&str>(&path![place, "iso_code"])? {
            return Ok(Some(CompactString::from(code)));
        }
    }
    Ok(None)
}

/// Addresses an ingest keeps what it looked up of, in each of two generations: flows repeat
/// their addresses, and a lookup decodes a record. When the newer generation is full it
/// becomes the older and the older is dropped, so addresses still in use survive the turn.
/// About 1.3 MB a generation.
const CACHED_ADDRESSES: usize = 1 << 14;

/// Addresses no public database holds: the private, shared, loopback and link-local ranges
/// most of a VPC's flows are between. Looked up, they would only fill the cache.
fn is_local(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || (v4.octets()[0] == 100 && v4.octets()[1] & 0xc0 == 64) // 100.64.0.0/10
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || first & 0xfe00 == 0xfc00 // fc00::/7, unique local
                || first & 0xffc0 == 0xfe80 // fe80::/10, link local
        }
    }
}

/// Adds the databases' facts to documents as they are ingested: one per ingest (sink), with
/// its own cache of addresses.
pub struct Enricher {
    databases: Arc<GeoDatabases>,
    newer: FxHashMap<IpAddr, AddressFacts>,
    older: FxHashMap<IpAddr, AddressFacts>,
    nothing: AddressFacts,
}

impl Enricher {
    /// An enricher reading `databases`.
    pub fn new(databases: Arc<GeoDatabases>) -> Enricher {
        Enricher {
            databases,
            newer: FxHashMap::default(),
            older: FxHashMap::default(),
            nothing: AddressFacts::default(),
        }
    }

    /// What is known of `address`, from the cache when it was seen lately.
    fn facts(&mut self, address: IpAddr) -> &AddressFacts {
        if is_local(address) {
            return &self.nothing;
        }
        if !self.newer.contains_key(&address) {
            let facts = match self.older.remove(&address) {
                Some(facts) => facts,
                None => self.databases.lookup(address),
            };
            if self.newer.len() >= CACHED_ADDRESSES {
                self.older = std::mem::take(&mut self.newer);
            }
            self.newer.insert(address, facts);
        }
        &self.newer[&address]
    }

    /// Adds `src_country`, `src_asn`, `src_as_org` and the `dst_*` ones for what the
    /// databases know of the document's addresses; to a client's own `_source` too, as an
    /// Elasticsearch ingest pipeline would. A field the sender gave (in `_source`, even one
    /// that held no value) is theirs.
    pub fn enrich(&mut self, doc: &mut FlowDoc) {
        for (address_field, names) in ADDRESS_FIELDS {
            // Ingest types addresses as it parses them.
            let Some(address) = doc.fields.iter().find_map(|(name, value)| match value {
                DocValue::Ip(ip) if name == address_field => Some(*ip),
                _ => None,
            }) else {
                continue;
            };
            for (name, value) in self.facts(address).values(names) {
                let given = doc.fields.iter().any(|(have, _)| have == name)
                    || doc
                        .original_source
                        .as_ref()
                        .is_some_and(|source| source.contains_key(name));
                if given {
                    continue;
                }
                if let Some(source) = &mut doc.original_source {
                    source.insert(name.to_owned(), value.to_json());
                }
                doc.fields.push((name.into(), value));
            }
        }
    }
}

/// A sink that adds the databases' fields to each document before passing it on: flows
/// flowdash writes to a cluster (`/api/ingest` of a server in front of one, `flowdash ingest
/// --es-url`). The embedded engine's own sink enriches as it batches.
pub struct EnrichingSink<S> {
    inner: S,
    enricher: Enricher,
}

impl<S: DocSink> EnrichingSink<S> {
    /// `inner`, with `databases`' fields added.
    pub fn new(inner: S, databases: Arc<GeoDatabases>) -> EnrichingSink<S> {
        EnrichingSink {
            inner,
            enricher: Enricher::new(databases),
        }
    }
}

impl<S: DocSink> DocSink for EnrichingSink<S> {
    fn write(&mut self, mut doc: FlowDoc) -> Result<(), SinkError> {
        self.enricher.enrich(&mut doc);
        self.inner.write(doc)
    }

    fn flush(&mut self) -> Result<SinkOutcome, SinkError> {
        self.inner.flush()
    }
}

#[cfg(test)]
pub(crate) mod tests;
