//! Time ranges as users pick them (`now-15m` to `now`, `now/d`, absolute dates), resolved to
//! milliseconds in the browser, and Kibana's automatic interval.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A time range in date math (`now-15m`) or absolute ISO dates; `to` defaults to `now`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// The start, as date math or an ISO date.
    pub from: String,
    /// The end, as date math or an ISO date.
    pub to: String,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange::last("24h")
    }
}

/// The quick ranges of the time picker, with their labels: Kibana's "Commonly used" list, then
/// the calendar's yesterday, month and year.
pub const QUICK_RANGES: &[(&str, &str, &str)] = &[
    ("Today", "now/d", "now/d"),
    ("This week", "now/w", "now/w"),
    ("Last 15 minutes", "now-15m", "now"),
    ("Last 30 minutes", "now-30m", "now"),
    ("Last 1 hour", "now-1h", "now"),
    ("Last 24 hours", "now-24h", "now"),
    ("Last 7 days", "now-7d", "now"),
    ("Last 30 days", "now-30d", "now"),
    ("Last 90 days", "now-90d", "now"),
    ("Last 1 year", "now-1y", "now"),
    ("Yesterday", "now-1d/d", "now-1d/d"),
    ("This month", "now/M", "now/M"),
    ("This year", "now/y", "now/y"),
];

/// The named time zones a user can choose instead of the browser's, for every page: labels,
/// bucket boundaries (`time_zone` of date histograms) and typed dates follow it.
pub const TIME_ZONES: &[&str] = &[
    "UTC",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Stockholm",
    "Europe/Helsinki",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Hong_Kong",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// A chosen time zone, if it is one of [`TIME_ZONES`]; anything else is the browser's.
pub fn known_time_zone(name: &str) -> Option<&'static str> {
    TIME_ZONES.iter().copied().find(|zone| *zone == name)
}

/// How many recently used ranges the time picker remembers.
pub const RECENT_RANGES: usize = 5;

/// The recently used ranges after `used`: it first, then the others it is not, at most
/// [`RECENT_RANGES`].
pub fn remember_range(recent: &[TimeRange], used: &TimeRange) -> Vec<TimeRange> {
    std::iter::once(used.clone())
        .chain(recent.iter().filter(|r| *r != used).cloned())
        .take(RECENT_RANGES)
        .collect()
}

/// A resolved range, `[from_ms, to_ms]` inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The start, epoch milliseconds.
    pub from_ms: i64,
    /// The end, epoch milliseconds.
    pub to_ms: i64,
}

impl Resolved {
    /// The length, at least 1 ms.
    pub fn span_ms(&self) -> i64 {
        (self.to_ms - self.from_ms).max(1)
    }

    /// The same range `ms` earlier.
    pub fn shifted_back(&self, ms: i64) -> Resolved {
        Resolved {
            from_ms: self.from_ms.saturating_sub(ms),
            to_ms: self.to_ms.saturating_sub(ms),
        }
    }
}

/// A range that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// A bound that is neither a date nor date math.
    #[error("`{0}` is not a date or date math such as now-15m")]
    Bad(String),
    /// The end comes before the start.
    #[error("the range ends before it starts")]
    Reversed,
}

impl TimeRange {
    /// `now-<span>` to `now`.
    pub fn last(span: &str) -> TimeRange {
        TimeRange {
            from: format!("now-{span}"),
            to: "now".into(),
        }
    }

    /// A range between two instants, as ISO dates in UTC.
    pub fn absolute(from_ms: i64, to_ms: i64) -> TimeRange {
        let iso = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        TimeRange {
            from: iso(from_ms),
            to: iso(to_ms),
        }
    }

    /// Resolves date math at `now_ms`; `/unit` rounding uses `utc_offset_secs` (the viewer's
    /// zone). `from` rounds down, `to` rounds up, as Kibana does.
    pub fn resolve(&self, now_ms: i64, utc_offset_secs: i32) -> Result<Resolved, TimeError> {
        let from = eval(&self.from, now_ms, utc_offset_secs, false)?;
        let to = eval(&self.to, now_ms, utc_offset_secs, true)?;
        if to < from {
            return Err(TimeError::Reversed);
        }
        Ok(Resolved {
            from_ms: from,
            to_ms: to,
        })
    }

    /// The quick range's label, or `from → to`: absolute bounds in the viewer's time, to the
    /// second, as Kibana shows them (`Mar 6, 2020 @ 06:07:00`), the day once when both share
    /// it; date math as written.
    pub fn label(&self, utc_offset_secs: i32) -> String {
        if let Some((label, _, _)) = QUICK_RANGES
            .iter()
            .find(|(_, from, to)| *from == self.from && *to == self.to)
        {
            return (*label).to_owned();
        }
        let absolute = |bound: &str| {
            let bound = bound.trim();
            if bound.starts_with("now") {
                return None;
            }
            local(parse_absolute(bound, utc_offset_secs)?, utc_offset_secs)
        };
        const DAY_AND_TIME: &str = "%b %-d, %Y @ %H:%M:%S";
        match (absolute(&self.from), absolute(&self.to)) {
            (Some(from), Some(to)) if from.date() == to.date() => {
                format!("{} → {}", from.format(DAY_AND_TIME), to.format("%H:%M:%S"))
            }
            (from, to) => {
                let shown = |local: Option<NaiveDateTime>, written: &str| {
                    local.map_or_else(
                        || written.to_owned(),
                        |t| t.format(DAY_AND_TIME).to_string(),
                    )
                };
                format!("{} → {}", shown(from, &self.from), shown(to, &self.to))
            }
        }
    }
}

/// How finely a dashboard takes `now`: to the second, as its time picker shows it. Every
/// viewer who refreshes within the same second sends the same searches, which the server
/// runs once (and keeps); flows reach flowdash minutes after they happen, so a range ending
/// under a second back shows the same flows.
pub const SHARED_NOW_MS: i64 = 1_000;

/// `now_ms` rounded down to [`SHARED_NOW_MS`].
pub fn shared_now(now_ms: i64) -> i64 {
    now_ms.div_euclid(SHARED_NOW_MS) * SHARED_NOW_MS
}

/// `30s`, `5m`, `1h`, `1d`, `1w`, `1M` (30 days), `1y` (365 days): a length in milliseconds.
/// A bare unit (`m`) is one of it.
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let (digits, unit) = split_time_value(text);
    let amount: i64 = if digits.is_empty() {
        1
    } else {
        digits.parse().ok()?
    };
    let scale = fixed_unit_ms(unit).or(match unit {
        "w" => Some(7 * 86_400_000),
        "M" => Some(30 * 86_400_000),
        "y" => Some(365 * 86_400_000),
        _ => None,
    })?;
    amount.checked_mul(scale).filter(|ms| *ms > 0)
}

/// A time value's leading digits and its unit: `"30s"` → `("30", "s")`.
pub fn split_time_value(text: &str) -> (&str, &str) {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    text.split_at(digits)
}

/// The units of fixed length, as Elasticsearch's `fixed_interval` reads them (`ms` to `d`).
pub fn fixed_unit_ms(unit: &str) -> Option<i64> {
    Some(match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    })
}

/// Kibana's auto interval candidates.
const AUTO_INTERVALS: &[&str] = &[
    "1s", "5s", "10s", "30s", "1m", "5m", "10m", "30m", "1h", "3h", "12h", "1d", "1w", "1M", "1y",
];

/// The interval for about 50 buckets over `span_ms`: the candidate nearest span/50 (on a log
/// scale), never giving more than 100 buckets. 15 min → 30s, 1 h → 1m, 24 h → 30m,
/// 7 d → 3h, 30 d → 12h.
pub fn auto_interval(span_ms: i64) -> (&'static str, i64) {
    let target = span_ms as f64 / 50.0;
    let mut best = AUTO_INTERVALS[0];
    let mut best_distance = f64::INFINITY;
    for candidate in AUTO_INTERVALS {
        let ms = parse_duration_ms(candidate).expect("valid candidates") as f64;
        let distance = (ms / target).ln().abs();
        if distance < best_distance {
            best = candidate;
            best_distance = distance;
        }
    }
    let mut index = AUTO_INTERVALS.iter().position(|c| *c == best).unwrap_or(0);
    while index + 1 < AUTO_INTERVALS.len()
        && span_ms / parse_duration_ms(AUTO_INTERVALS[index]).unwrap_or(1) > 100
    {
        index += 1;
    }
    let chosen = AUTO_INTERVALS[index];
    (chosen, parse_duration_ms(chosen).unwrap_or(60_000))
}

/// Whether a date histogram should use a calendar interval (days and longer follow the
/// calendar and the time zone).
pub fn is_calendar_interval(interval: &str) -> bool {
    matches!(interval, "1d" | "1w" | "1M" | "1q" | "1y")
}

fn eval(
    expression: &str,
    now_ms: i64,
    utc_offset_secs: i32,
    round_up: bool,
) -> Result<i64, TimeError> {
    let bad = || TimeError::Bad(expression.to_owned());
    let expression = expression.trim();
    let (ms, math) = if let Some(rest) = expression.strip_prefix("now") {
        (now_ms, rest)
    } else if let Some((anchor, rest)) = expression.split_once("||") {
        (
            parse_absolute(anchor, utc_offset_secs).ok_or_else(bad)?,
            rest,
        )
    } else {
        return parse_absolute(expression, utc_offset_secs).ok_or_else(bad);
    };
    apply_date_math(ms, math, round_up, &FixedOffset(utc_offset_secs)).ok_or_else(bad)
}

/// The cookie in which the browser tells the server its viewer's offset from UTC (`+09:00`,
/// the chosen zone's or the browser's, written at every page load): images the server draws
/// for a page (panels before and without JavaScript) label times as the page does.
pub const UTC_OFFSET_COOKIE: &str = "flowdash-utc-offset";

/// An offset from UTC as Elasticsearch takes a time zone: `+09:00`, `-05:30`.
pub fn format_utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.unsigned_abs();
    format!("{sign}{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// Reads an offset written as [`format_utc_offset`] writes it (`Z` is UTC), in seconds; `None`
/// for anything else, including offsets beyond ±18 hours.
pub fn parse_utc_offset(text: &str) -> Option<i32> {
    if text == "Z" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let all_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(hours) || !all_digits(minutes) {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    if hours > 18 || minutes > 59 || (hours == 18 && minutes > 0) {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Calendar arithmetic for date math, in some time zone.
pub trait DateMathCalendar {
    /// `ms` moved by `amount` of `unit` (`s m h H d w M q y`).
    fn add(&self, ms: i64, amount: i64, unit: char) -> Option<i64>;
    /// The start of the `unit` containing `ms`.
    fn floor(&self, ms: i64, unit: char) -> Option<i64>;
}

/// Applies the math after an anchor (`-1d/d`, `+15m`): `+N<unit>`, `-N<unit>` and `/<unit>` in
/// order; rounding up (`round_up`) ends at the last millisecond of the unit, as Elasticsearch
/// does for the upper bound of a range. `None` for malformed math. The browser's time picker and
/// the embedded engine both evaluate date math here, each with its own calendar.
pub fn apply_date_math(
    mut ms: i64,
    math: &str,
    round_up: bool,
    calendar: &impl DateMathCalendar,
) -> Option<i64> {
    let mut chars = math.chars().peekable();
    while let Some(op) = chars.next() {
        match op {
            '+' | '-' => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                let amount: i64 = if digits.is_empty() {
                    1
                } else {
                    digits.parse().ok()?
                };
                let unit = chars.next()?;
                ms = calendar.add(ms, if op == '-' { -amount } else { amount }, unit)?;
            }
            '/' => {
                let unit = chars.next()?;
                let start = calendar.floor(ms, unit)?;
                ms = if round_up {
                    calendar.add(start, 1, unit)? - 1
                } else {
                    start
                };
            }
            _ => return None,
        }
    }
    Some(ms)
}

/// The viewer's calendar: a fixed offset from UTC.
struct FixedOffset(i32);

impl DateMathCalendar for FixedOffset {
    fn add(&self, ms: i64, amount: i64, unit: char) -> Option<i64> {
        add(ms, amount, unit, self.0)
    }

    fn floor(&self, ms: i64, unit: char) -> Option<i64> {
        floor(ms, unit, self.0)
    }
}

fn local(ms: i64, offset: i32) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_millis(ms + i64::from(offset) * 1000).map(|t| t.naive_utc())
}

fn from_local(local: NaiveDateTime, offset: i32) -> i64 {
    local.and_utc().timestamp_millis() - i64::from(offset) * 1000
}

fn add(ms: i64, amount: i64, unit: char, offset: i32) -> Option<i64> {
    let fixed = |step: i64| ms.checked_add(step.checked_mul(amount)?);
    match unit {
        's' => fixed(1000),
        'm' => fixed(60_000),
        'h' | 'H' => fixed(3_600_000),
        'd' => fixed(86_400_000),
        'w' => fixed(7 * 86_400_000),
        'M' | 'y' => {
            let months = if unit == 'y' { amount * 12 } else { amount };
            let date = local(ms, offset)?;
            let shifted = if months >= 0 {
                date.checked_add_months(chrono::Months::new(months as u32))?
            } else {
                date.checked_sub_months(chrono::Months::new((-months) as u32))?
            };
            Some(from_local(shifted, offset))
        }
        _ => None,
    }
}

fn floor(ms: i64, unit: char, offset: i32) -> Option<i64> {
    let date = local(ms, offset)?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    let floored = match unit {
        's' => date.with_nanosecond_zero(),
        'm' => date.date().and_hms_opt(
            chrono::Timelike::hour(&date),
            chrono::Timelike::minute(&date),
            0,
        )?,
        'h' | 'H' => date
            .date()
            .and_hms_opt(chrono::Timelike::hour(&date), 0, 0)?,
        'd' => midnight(date.date())?,
        'w' => midnight(
            date.date() - Duration::days(i64::from(date.weekday().num_days_from_monday())),
        )?,
        'M' => midnight(NaiveDate::from_ymd_opt(date.year(), date.month(), 1)?)?,
        'y' => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1)?)?,
        _ => return None,
    };
    Some(from_local(floored, offset))
}

trait NanosZero {
    fn with_nanosecond_zero(self) -> NaiveDateTime;
}

impl NanosZero for NaiveDateTime {
    fn with_nanosecond_zero(self) -> NaiveDateTime {
        chrono::Timelike::with_nanosecond(&self, 0).unwrap_or(self)
    }
}

/// ISO dates with optional time and offset; a date without an offset is in the viewer's zone.
fn parse_absolute(text: &str, offset: i32) -> Option<i64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for pattern in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, pattern) {
            return Some(from_local(local, offset));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|local| from_local(local, offset))
}

/// Milliseconds as an ISO date in UTC.
pub fn iso_utc(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_583_471_220_123; // 2020-03-06T05:07:00.123Z, a Friday

    #[test]
    fn viewers_within_the_same_seconds_share_now() {
        let now = 1_764_840_123_456;
        assert_eq!(shared_now(now), 1_764_840_123_000);
        assert_eq!(shared_now(now + 500), shared_now(now));
        assert_eq!(shared_now(1_764_840_125_000), 1_764_840_125_000);
        assert_eq!(
            shared_now(-1),
            -SHARED_NOW_MS,
            "before 1970 rounds down too"
        );
    }

    #[test]
    fn utc_offsets_round_trip() {
        for secs in [0, 9 * 3600, -(5 * 3600 + 30 * 60), 18 * 3600] {
            assert_eq!(parse_utc_offset(&format_utc_offset(secs)), Some(secs));
        }
        assert_eq!(format_utc_offset(-(3 * 3600 + 30 * 60)), "-03:30");
        for bad in [
            "",
            "+9:00",
            "09:00",
            "+19:00",
            "+01:60",
            "Asia/Tokyo",
            "+0١:00",
        ] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn every_quick_range_resolves_and_the_calendar_ones_are_whole_days_months_years() {
        for (label, from, to) in QUICK_RANGES {
            let range = TimeRange {
                from: (*from).into(),
                to: (*to).into(),
            };
            let r = range
                .resolve(NOW, 0)
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            assert!(r.from_ms < r.to_ms, "{label}");
            assert_eq!(range.label(0), *label);
        }
        let resolve = |from: &str, to: &str| {
            let r = TimeRange {
                from: from.into(),
                to: to.into(),
            }
            .resolve(NOW, 0)
            .unwrap();
            (iso_utc(r.from_ms), iso_utc(r.to_ms))
        };
        assert_eq!(
            resolve("now-1d/d", "now-1d/d"),
            (
                "2020-03-05T00:00:00.000Z".into(),
                "2020-03-05T23:59:59.999Z".into()
            )
        );
        assert_eq!(
            resolve("now/M", "now/M"),
            (
                "2020-03-01T00:00:00.000Z".into(),
                "2020-03-31T23:59:59.999Z".into()
            )
        );
        assert_eq!(
            resolve("now/y", "now/y"),
            (
                "2020-01-01T00:00:00.000Z".into(),
                "2020-12-31T23:59:59.999Z".into()
            )
        );
    }

    #[test]
    fn recently_used_ranges_are_newest_first_without_repeats_and_few() {
        let range = |span: &str| TimeRange::last(span);
        let mut recent = Vec::new();
        for span in ["15m", "1h", "15m", "7d", "30d", "90d", "1y"] {
            recent = remember_range(&recent, &range(span));
        }
        assert_eq!(
            recent,
            ["1y", "90d", "30d", "7d", "15m"].map(range).to_vec(),
            "1h fell off; 15m is once"
        );
    }

    #[test]
    fn quick_ranges_resolve() {
        let r = TimeRange::last("15m").resolve(NOW, 0).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (NOW - 900_000, NOW));
        let today = TimeRange {
            from: "now/d".into(),
            to: "now/d".into(),
        }
        .resolve(NOW, 0)
        .unwrap();
        assert_eq!(iso_utc(today.from_ms), "2020-03-06T00:00:00.000Z");
        assert_eq!(iso_utc(today.to_ms), "2020-03-06T23:59:59.999Z");
        let seoul_today = TimeRange {
            from: "now/d".into(),
            to: "now/d".into(),
        }
        .resolve(NOW, 9 * 3600)
        .unwrap();
        assert_eq!(iso_utc(seoul_today.from_ms), "2020-03-05T15:00:00.000Z");
        let week = TimeRange {
            from: "now/w".into(),
            to: "now".into(),
        }
        .resolve(NOW, 0)
        .unwrap();
        assert_eq!(iso_utc(week.from_ms), "2020-03-02T00:00:00.000Z");
        let absolute = TimeRange {
            from: "2020-03-06T00:00:00Z".into(),
            to: "2020-03-06 12:00".into(),
        }
        .resolve(NOW, 0)
        .unwrap();
        assert_eq!(absolute.span_ms(), 12 * 3_600_000);
        assert_eq!(TimeRange::last("1h").label(0), "Last 1 hour");
        // A brushed range: the viewer's time, to the second, the day once.
        let brushed = TimeRange::absolute(NOW, NOW + 30 * 60_000 + 456);
        assert_eq!(brushed.label(3600), "Mar 6, 2020 @ 06:07:00 → 06:37:00");
        let across_days = TimeRange::absolute(NOW, NOW + 86_400_000);
        assert_eq!(
            across_days.label(0),
            "Mar 6, 2020 @ 05:07:00 → Mar 7, 2020 @ 05:07:00"
        );
        let mixed = TimeRange {
            from: "2020-03-06T05:07:00.123Z".into(),
            to: "now-5m".into(),
        };
        assert_eq!(mixed.label(0), "Mar 6, 2020 @ 05:07:00 → now-5m");
        assert!(TimeRange {
            from: "yesterday".into(),
            to: "now".into()
        }
        .resolve(NOW, 0)
        .is_err());
        assert_eq!(
            TimeRange {
                from: "now".into(),
                to: "now-1h".into()
            }
            .resolve(NOW, 0),
            Err(TimeError::Reversed)
        );
    }

    #[test]
    fn auto_intervals_match_kibana() {
        let minute = 60_000;
        assert_eq!(auto_interval(15 * minute).0, "30s");
        assert_eq!(auto_interval(60 * minute).0, "1m");
        assert_eq!(auto_interval(24 * 60 * minute).0, "30m");
        assert_eq!(auto_interval(7 * 24 * 60 * minute).0, "3h");
        assert_eq!(auto_interval(30 * 24 * 60 * minute).0, "12h");
        for span in [1_000, 90_000, 5 * 3_600_000, 400 * 86_400_000i64] {
            let (_, ms) = auto_interval(span);
            assert!(span / ms <= 100, "{span}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30s"), Some(30_000));
        assert_eq!(parse_duration_ms("1d"), Some(86_400_000));
        assert_eq!(parse_duration_ms("m"), Some(60_000));
        assert_eq!(parse_duration_ms("5 minutes"), None);
        assert_eq!(parse_duration_ms("0s"), None);
    }
}
