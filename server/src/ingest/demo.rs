//! Realistic synthetic VPC traffic for a first dashboard: a few accounts, VPCs, subnets and
//! ENIs; web tiers talking to app and database tiers; DNS and NTP; egress to the internet
//! through a NAT gateway; scanners probing 22, 23, 445, 3389 and 1433 and being rejected, in
//! bursts; a day/night rhythm; some NODATA and SKIPDATA; 1-minute and 10-minute aggregation
//! windows. Deterministic for a given seed.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::format::RecordFormat;

/// What to generate.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Records in total.
    pub flows: u64,
    /// The time span, ending at `end_ms`.
    pub hours: u32,
    /// The end of the span, epoch ms.
    pub end_ms: i64,
    /// The random seed: the same seed gives the same traffic.
    pub seed: u64,
}

/// The record format the demo writes: version 5 fields, so direction, VPC, subnet and AZ
/// breakdowns have data.
pub const DEMO_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} ${subnet-id} ${instance-id} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${region} ${az-id} ${flow-direction} ${traffic-path}";

/// [`DEMO_FORMAT`], parsed.
pub fn demo_format() -> RecordFormat {
    RecordFormat::parse_format_string(DEMO_FORMAT).expect("the demo format is valid")
}

/// A small, fast, deterministic generator (SplitMix64): the same seed gives the same traffic
/// on every machine and every version of the dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    /// Heavy-tailed sizes: most flows are small, a few are big.
    fn heavy(&mut self, low: f64, high: f64) -> u64 {
        let u = self.unit().max(1e-9);
        (low * (high / low).powf(u * u * u)) as u64
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    LoadBalancer,
    Web,
    App,
    Database,
    Nat,
    Bastion,
}

struct Eni {
    account: &'static str,
    id: String,
    instance: String,
    vpc: &'static str,
    subnet: String,
    az: &'static str,
    region: &'static str,
    address: Ipv4Addr,
    role: Role,
    /// Aggregation interval in seconds (60 or 600).
    window: i64,
}

struct Topology {
    enis: Vec<Eni>,
}

const SCANNERS: [Ipv4Addr; 6] = [
    Ipv4Addr::new(185, 220, 101, 47),
    Ipv4Addr::new(45, 155, 205, 233),
    Ipv4Addr::new(89, 248, 165, 52),
    Ipv4Addr::new(193, 163, 125, 14),
    Ipv4Addr::new(162, 142, 125, 10),
    Ipv4Addr::new(71, 6, 232, 26),
];
const PROBED_PORTS: [u16; 9] = [22, 23, 445, 3389, 1433, 3306, 5900, 8080, 6379];
const EGRESS_DESTINATIONS: [Ipv4Addr; 6] = [
    Ipv4Addr::new(52, 94, 228, 167),
    Ipv4Addr::new(54, 231, 160, 80),
    Ipv4Addr::new(3, 5, 140, 2),
    Ipv4Addr::new(151, 101, 1, 69),
    Ipv4Addr::new(140, 82, 112, 4),
    Ipv4Addr::new(104, 16, 132, 229),
];
const OFFICE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 25);

/// The demo's networks by name (its three VPCs, the office, the internet), as a user would
/// name them in Management → Networks; `serve --demo-follow` names them when no networks are.
/// (`scripts/bench` serves its stores with this file as `--networks`.)
pub const DEMO_NETWORKS: &str = include_str!("demo_networks.txt");

impl Topology {
    fn build(rng: &mut Rng) -> Topology {
        let vpcs: [(&str, &str, &str, u8, &[&str]); 3] = [
            (
                "111122223333",
                "vpc-0a1b2c3d4e5f60718",
                "us-east-1",
                10,
                &["use1-az1", "use1-az2"],
            ),
            (
                "111122223333",
                "vpc-0f9e8d7c6b5a40312",
                "us-east-1",
                11,
                &["use1-az1", "use1-az4"],
            ),
            (
                "012345678901",
                "vpc-04d3c2b1a0f9e8d76",
                "ap-northeast-2",
                20,
                &["apne2-az1", "apne2-az3"],
            ),
        ];
        let roles = [
            (Role::LoadBalancer, 2, 0u8),
            (Role::Web, 4, 0),
            (Role::App, 6, 1),
            (Role::Database, 2, 2),
            (Role::Nat, 1, 0),
            (Role::Bastion, 1, 0),
        ];
        let mut enis = Vec::new();
        for (account, vpc, region, second_octet, azs) in vpcs {
            for (role, count, tier) in roles {
                for n in 0..count {
                    let az_index = n % azs.len();
                    let subnet_octet = tier * 10 + az_index as u8;
                    let host = 10 + enis.len() as u8;
                    enis.push(Eni {
                        account,
                        id: format!("eni-{:017x}", rng.next() >> 4),
                        instance: match role {
                            Role::LoadBalancer | Role::Nat => "-".to_owned(),
                            _ => format!("i-{:017x}", rng.next() >> 4),
                        },
                        vpc,
                        subnet: format!(
                            "subnet-{:017x}",
                            (u64::from(second_octet) << 40) ^ u64::from(subnet_octet) ^ 0x0bad_cafe
                        ),
                        az: azs[az_index],
                        region,
                        address: Ipv4Addr::new(10, second_octet, subnet_octet, host),
                        role,
                        window: if rng.chance(0.7) { 60 } else { 600 },
                    });
                }
            }
        }
        Topology { enis }
    }

    fn of_role(&self, role: Role, vpc: &str) -> Vec<&Eni> {
        self.enis
            .iter()
            .filter(|e| e.role == role && e.vpc == vpc)
            .collect()
    }
}

/// One generated record before formatting.
struct Flow<'a> {
    eni: &'a Eni,
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    packets: u64,
    bytes: u64,
    action: &'static str,
    tcp_flags: u8,
    ingress: bool,
    traffic_path: Option<u8>,
}

/// Generates the records, in time order, as lines of [`DEMO_FORMAT`], calling `emit` for each.
pub fn generate(config: &DemoConfig, mut emit: impl FnMut(&str)) {
    let mut rng = Rng(config.seed ^ 0x5eed_f10d);
    let topology = Topology::build(&mut rng);
    let minutes = (i64::from(config.hours.max(1)) * 60).max(1);
    let end_minute = config.end_ms.div_euclid(60_000);
    let start_minute = end_minute - minutes;
    let weight = day_weight;
    let total_weight: f64 = (start_minute..end_minute).map(weight).sum();
    // Scanner bursts: a few short windows with ten times the usual probing.
    let bursts: Vec<i64> = (0..(minutes / 180).max(1))
        .map(|_| start_minute + rng.below(minutes as u64) as i64)
        .collect();
    let mut line = String::with_capacity(256);
    let mut remainder = 0.0;
    let mut emitted = 0u64;
    for minute in start_minute..end_minute {
        let exact = config.flows as f64 * weight(minute) / total_weight + remainder;
        let mut count = exact.floor() as u64;
        remainder = exact - count as f64;
        if minute == end_minute - 1 {
            count = config.flows.saturating_sub(emitted);
        }
        let burst = bursts.iter().any(|b| (minute - b).abs() <= 3);
        for _ in 0..count {
            let second = minute * 60 + rng.below(60) as i64;
            line.clear();
            write_record(&mut rng, &topology, second, burst, &mut line);
            emit(&line);
        }
        emitted += count;
    }
}

/// Traffic follows the day: busiest mid-afternoon UTC, quietest before dawn (a weight
/// around 1 for the minute since the epoch).
fn day_weight(minute: i64) -> f64 {
    let hour = (minute.rem_euclid(1440)) as f64 / 60.0;
    1.0 + 0.6 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).sin()
}

/// Traffic as it happens, for `flowdash serve --demo-follow`: the network [`generate`] makes
/// for the same seed, about `per_minute` records a minute (following the day's rhythm), with
/// a scanner burst for 7 minutes every 3 hours. Each call covers the seconds since the last.
pub struct LiveDemo {
    rng: Rng,
    topology: Topology,
    per_second: f64,
    /// The fraction of a record owed from earlier seconds, so slow rates still add up.
    owed: f64,
}

impl LiveDemo {
    /// A live demo of the network of `seed`, at about `per_minute` records a minute.
    pub fn new(seed: u64, per_minute: u32) -> Self {
        let mut rng = Rng(seed ^ 0x5eed_f10d);
        let topology = Topology::build(&mut rng);
        // A different stream from the history's, so the live records are not its replay.
        rng.0 ^= 0x00f0_11ee;
        LiveDemo {
            rng,
            topology,
            per_second: f64::from(per_minute) / 60.0,
            owed: 0.0,
        }
    }

    /// The records of the seconds `[from_s, to_s)`, in time order, as lines of [`DEMO_FORMAT`].
    pub fn generate(&mut self, from_s: i64, to_s: i64, mut emit: impl FnMut(&str)) {
        let mut line = String::with_capacity(256);
        for second in from_s..to_s {
            let minute = second.div_euclid(60);
            let exact = self.per_second * day_weight(minute) + self.owed;
            let count = exact.floor();
            self.owed = exact - count;
            let burst = minute.rem_euclid(180) < 7;
            for _ in 0..count as u64 {
                line.clear();
                write_record(&mut self.rng, &self.topology, second, burst, &mut line);
                emit(&line);
            }
        }
    }
}

fn write_record(rng: &mut Rng, topology: &Topology, second: i64, burst: bool, line: &mut String) {
    let eni = rng.pick(&topology.enis);
    // Status records: an idle interface (NODATA) or a capacity problem (SKIPDATA).
    let roll = rng.unit();
    if roll < 0.008 || (roll < 0.009 && eni.role == Role::Nat) {
        let status = if roll < 0.0072 { "NODATA" } else { "SKIPDATA" };
        let (start, end) = window(rng, eni, second);
        let _ = write!(
            line,
            "5 {} {} - - - - - - - {start} {end} - {status} {} {} {} - - - - {} {} - -",
            eni.account, eni.id, eni.vpc, eni.subnet, eni.instance, eni.region, eni.az
        );
        return;
    }
    let flow = pick_flow(rng, topology, eni, burst);
    let (start, end) = window(rng, flow.eni, second);
    let family = if flow.src.is_ipv6() { "IPv6" } else { "IPv4" };
    let _ = write!(
        line,
        "5 {} {} {} {} {} {} {} {} {} {start} {end} {} OK {} {} {} {} {family} {} {} {} {} {} {}",
        flow.eni.account,
        flow.eni.id,
        flow.src,
        flow.dst,
        flow.src_port,
        flow.dst_port,
        flow.protocol,
        flow.packets,
        flow.bytes,
        flow.action,
        flow.eni.vpc,
        flow.eni.subnet,
        flow.eni.instance,
        flow.tcp_flags,
        flow.src,
        flow.dst,
        flow.eni.region,
        flow.eni.az,
        if flow.ingress { "ingress" } else { "egress" },
        flow.traffic_path.map_or("-".to_owned(), |p| p.to_string()),
    );
}

/// The aggregation window a record at `second` falls in, and its capture end.
fn window(rng: &mut Rng, eni: &Eni, second: i64) -> (i64, i64) {
    let start = second - rng.below(5) as i64;
    let end = start + eni.window - rng.below(eni.window as u64 / 4) as i64;
    (start, end)
}

fn ephemeral(rng: &mut Rng) -> u16 {
    rng.range(32768, 60999) as u16
}

fn internet_client(rng: &mut Rng) -> Ipv4Addr {
    let first = *rng.pick(&[24u8, 67, 73, 81, 98, 110, 121, 175, 211]);
    Ipv4Addr::new(
        first,
        rng.below(256) as u8,
        rng.below(256) as u8,
        rng.range(1, 254) as u8,
    )
}

fn pick_flow<'a>(rng: &mut Rng, topology: &'a Topology, eni: &'a Eni, burst: bool) -> Flow<'a> {
    let scan_share = if burst { 0.55 } else { 0.09 };
    let tcp = |packets: u64, bytes: u64| (packets.max(1), bytes.max(40));
    match eni.role {
        // The internet reaches the public tier; scanners are rejected by security groups.
        Role::LoadBalancer | Role::Web | Role::Bastion if rng.chance(scan_share) => {
            let port = if rng.chance(0.85) {
                *rng.pick(&PROBED_PORTS)
            } else {
                rng.range(1, 65535) as u16
            };
            let scanner = if rng.chance(0.7) {
                *rng.pick(&SCANNERS)
            } else {
                internet_client(rng)
            };
            Flow {
                eni,
                src: scanner.into(),
                dst: eni.address.into(),
                src_port: ephemeral(rng),
                dst_port: port,
                protocol: 6,
                packets: rng.range(1, 3),
                bytes: 40 * rng.range(1, 3),
                action: "REJECT",
                tcp_flags: 2,
                ingress: true,
                traffic_path: None,
            }
        }
        Role::Bastion => {
            let (packets, bytes) = tcp(rng.heavy(10.0, 4000.0), 0);
            Flow {
                eni,
                src: OFFICE.into(),
                dst: eni.address.into(),
                src_port: ephemeral(rng),
                dst_port: 22,
                protocol: 6,
                packets,
                bytes: bytes.max(packets * rng.range(60, 300)),
                action: "ACCEPT",
                tcp_flags: 19,
                ingress: true,
                traffic_path: None,
            }
        }
        Role::LoadBalancer | Role::Web => {
            let v6 = rng.chance(0.05);
            let client: IpAddr = if v6 {
                IpAddr::V6(Ipv6Addr::new(
                    0x2001,
                    0xdb8,
                    rng.below(0xffff) as u16,
                    0xa100,
                    0,
                    0,
                    0,
                    rng.range(1, 0xfff) as u16,
                ))
            } else {
                internet_client(rng).into()
            };
            let server: IpAddr = if v6 {
                IpAddr::V6(Ipv6Addr::new(
                    0x2600,
                    0x1f18,
                    0x4a3,
                    0x6a00,
                    0,
                    0,
                    0,
                    u16::from(eni.address.octets()[3]),
                ))
            } else {
                eni.address.into()
            };
            let packets = rng.heavy(4.0, 3000.0);
            let bytes = packets * rng.range(80, 1400);
            let inbound = rng.chance(0.55);
            let port = if rng.chance(0.9) { 443 } else { 80 };
            let port_client = ephemeral(rng);
            let (src, dst, src_port, dst_port) = if inbound {
                (client, server, port_client, port)
            } else {
                (server, client, port, port_client)
            };
            Flow {
                eni,
                src,
                dst,
                src_port,
                dst_port,
                protocol: 6,
                packets,
                bytes,
                action: "ACCEPT",
                tcp_flags: if inbound { 27 } else { 19 },
                ingress: inbound,
                traffic_path: if inbound { None } else { Some(8) },
            }
        }
        Role::App | Role::Database | Role::Nat => internal_flow(rng, topology, eni),
    }
}

/// East-west traffic, DNS, NTP, ICMP and egress through the NAT gateway.
fn internal_flow<'a>(rng: &mut Rng, topology: &'a Topology, eni: &'a Eni) -> Flow<'a> {
    let resolver = {
        let o = eni.address.octets();
        Ipv4Addr::new(o[0], o[1], 0, 2)
    };
    let roll = rng.unit();
    let (src, dst, src_port, dst_port, protocol, action, ingress, path) = match eni.role {
        Role::App if roll < 0.35 => {
            let web = topology.of_role(Role::Web, eni.vpc);
            let from = rng.pick(&web).address;
            (
                from,
                eni.address,
                ephemeral(rng),
                8080u16,
                6u8,
                "ACCEPT",
                true,
                None,
            )
        }
        Role::App if roll < 0.55 => {
            let db = topology.of_role(Role::Database, eni.vpc);
            let to = rng.pick(&db).address;
            let port = if rng.chance(0.7) { 5432 } else { 3306 };
            (
                eni.address,
                to,
                ephemeral(rng),
                port,
                6,
                "ACCEPT",
                false,
                Some(1),
            )
        }
        Role::App if roll < 0.75 => (
            eni.address,
            resolver,
            ephemeral(rng),
            53,
            17,
            "ACCEPT",
            false,
            Some(1),
        ),
        Role::App if roll < 0.80 => (
            eni.address,
            Ipv4Addr::new(169, 254, 169, 123),
            123,
            123,
            17,
            "ACCEPT",
            false,
            Some(1),
        ),
        Role::App if roll < 0.97 => {
            let to = *rng.pick(&EGRESS_DESTINATIONS);
            (
                eni.address,
                to,
                ephemeral(rng),
                443,
                6,
                "ACCEPT",
                false,
                Some(8),
            )
        }
        Role::App => {
            // A misconfigured job trying a port the database does not allow.
            let db = topology.of_role(Role::Database, eni.vpc);
            let to = rng.pick(&db).address;
            (
                eni.address,
                to,
                ephemeral(rng),
                27017,
                6,
                "REJECT",
                false,
                Some(1),
            )
        }
        Role::Database if roll < 0.8 => {
            let apps = topology.of_role(Role::App, eni.vpc);
            let from = rng.pick(&apps).address;
            let port = if rng.chance(0.7) { 5432 } else { 3306 };
            (
                from,
                eni.address,
                ephemeral(rng),
                port,
                6,
                "ACCEPT",
                true,
                None,
            )
        }
        Role::Database if roll < 0.9 => (
            eni.address,
            resolver,
            ephemeral(rng),
            53,
            17,
            "ACCEPT",
            false,
            Some(1),
        ),
        Role::Database => {
            let apps = topology.of_role(Role::App, eni.vpc);
            let from = rng.pick(&apps).address;
            (from, eni.address, 0, 0, 1, "ACCEPT", true, None)
        }
        _ => {
            // NAT gateway: private hosts out to the internet.
            let apps = topology.of_role(Role::App, eni.vpc);
            let from = rng.pick(&apps).address;
            let to = *rng.pick(&EGRESS_DESTINATIONS);
            (from, to, ephemeral(rng), 443, 6, "ACCEPT", true, Some(8))
        }
    };
    let packets = if protocol == 17 {
        rng.range(1, 4)
    } else {
        rng.heavy(2.0, 5000.0)
    };
    let bytes = packets
        * if protocol == 17 {
            rng.range(60, 120)
        } else {
            rng.range(60, 1400)
        };
    Flow {
        eni,
        src: src.into(),
        dst: dst.into(),
        src_port,
        dst_port,
        protocol,
        packets,
        bytes,
        action,
        tcp_flags: if protocol == 6 {
            if action == "REJECT" {
                2
            } else {
                19
            }
        } else {
            0
        },
        ingress,
        traffic_path: path,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::ingest::parse::{parse_record, Value};

    fn lines(flows: u64, seed: u64) -> Vec<String> {
        let mut out = Vec::new();
        generate(
            &DemoConfig {
                flows,
                hours: 6,
                end_ms: 1_583_500_000_000,
                seed,
            },
            |line| out.push(line.to_owned()),
        );
        out
    }

    #[test]
    fn generates_exactly_the_requested_count_in_time_order_and_every_line_parses() {
        let lines = lines(20_000, 7);
        assert_eq!(lines.len(), 20_000);
        let format = demo_format();
        let mut values = Vec::new();
        let mut actions: HashMap<String, u64> = HashMap::new();
        let mut statuses: HashMap<String, u64> = HashMap::new();
        let mut ports: HashMap<i64, u64> = HashMap::new();
        let mut previous_minute = 0;
        for line in &lines {
            parse_record(&format, line, &mut values).unwrap_or_else(|e| panic!("{e}: {line}"));
            let text = |i: usize| match values[i] {
                Value::Str(s) => s.to_owned(),
                _ => "-".into(),
            };
            *actions.entry(text(12)).or_default() += 1;
            *statuses.entry(text(13)).or_default() += 1;
            if let Value::Int(port) = values[6] {
                *ports.entry(port).or_default() += 1;
            }
            let Value::Int(start) = values[10] else {
                panic!("no start")
            };
            assert!(start / 60 >= previous_minute - 1, "time order");
            previous_minute = previous_minute.max(start / 60);
        }
        assert!(
            actions["REJECT"] > 500 && actions["ACCEPT"] > 10_000,
            "{actions:?}"
        );
        assert!(
            statuses["NODATA"] > 50 && statuses.contains_key("SKIPDATA"),
            "{statuses:?}"
        );
        for port in [22, 23, 445, 3389, 1433, 443, 53, 5432] {
            assert!(
                ports.get(&port).copied().unwrap_or(0) > 10,
                "port {port}: {ports:?}"
            );
        }
    }

    #[test]
    fn live_traffic_is_the_seeds_network_at_the_rate_asked_in_time_order() {
        let format = demo_format();
        let mut values = Vec::new();
        let history: Vec<String> = lines(2_000, 3);
        let enis = |lines: &[String]| -> std::collections::BTreeSet<String> {
            lines
                .iter()
                .map(|l| l.split(' ').nth(2).unwrap().to_owned())
                .collect()
        };
        let mut live = LiveDemo::new(3, 600);
        let mut made = Vec::new();
        // Three rounds of 20 seconds each, as the server calls it.
        for round in 0..3 {
            let from = 1_583_500_000 + round * 20;
            live.generate(from, from + 20, |line| made.push(line.to_owned()));
        }
        // 600 a minute for one minute, weighed by the hour (0.4–1.6).
        assert!((240..=960).contains(&made.len()), "{}", made.len());
        assert!(
            enis(&made).is_subset(&enis(&history)),
            "the same interfaces"
        );
        let mut previous = 0;
        for line in &made {
            parse_record(&format, line, &mut values).unwrap();
            let Value::Int(start) = values[10] else {
                // NODATA and SKIPDATA records have a start too.
                panic!("no start in {line}")
            };
            assert!(
                (1_583_500_000 - 4..1_583_500_060).contains(&start),
                "{line}"
            );
            assert!(start + 4 >= previous, "time order");
            previous = previous.max(start);
        }
    }

    #[test]
    fn the_seed_decides_everything() {
        assert_eq!(lines(500, 1), lines(500, 1));
        assert_ne!(lines(500, 1), lines(500, 2));
    }
}
