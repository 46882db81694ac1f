//! Dates as Elasticsearch reads and writes them: date math (`now-15m`, `now/d`,
//! `2020-03-06||+1M/M`), the `strict_date_optional_time` and epoch formats, Java-style
//! patterns, and time zones (fixed offsets and IANA names).

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, Months, NaiveDate, NaiveDateTime,
    NaiveTime, Offset, TimeZone as _, Timelike, Utc,
};

/// Why a date or a time zone cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("failed to parse date field [{0}]")]
    BadDate(String),
    #[error("invalid date math [{0}]")]
    BadMath(String),
    #[error("unknown time zone [{0}]")]
    BadZone(String),
    #[error("date format [{0}] is not supported by the embedded engine")]
    UnsupportedFormat(String),
}

/// A time zone: a fixed offset or an IANA zone with its daylight-saving rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Zone {
    Fixed(FixedOffset),
    Named(chrono_tz::Tz),
}

impl Default for Zone {
    fn default() -> Self {
        Zone::utc()
    }
}

impl Zone {
    pub fn utc() -> Zone {
        Zone::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }

    /// `Z`, `UTC`, `+09:00`, `-0500`, `+9`, or an IANA name such as `Asia/Seoul`.
    pub fn parse(text: &str) -> Result<Zone, DateError> {
        let bad = || DateError::BadZone(text.to_owned());
        let t = text.trim();
        if t.eq_ignore_ascii_case("z")
            || t.eq_ignore_ascii_case("utc")
            || t.eq_ignore_ascii_case("gmt")
        {
            return Ok(Zone::utc());
        }
        if let Some(rest) = t
            .strip_prefix('+')
            .map(|r| (1, r))
            .or_else(|| t.strip_prefix('-').map(|r| (-1, r)))
        {
            let (sign, digits) = rest;
            let digits: String = digits.chars().filter(|c| *c != ':').collect();
            let (hours, minutes) = match digits.len() {
                1 | 2 => (digits.parse::<i32>().map_err(|_| bad())?, 0),
                4 => (
                    digits[..2].parse::<i32>().map_err(|_| bad())?,
                    digits[2..].parse::<i32>().map_err(|_| bad())?,
                ),
                _ => return Err(bad()),
            };
            if hours > 18 || minutes > 59 {
                return Err(bad());
            }
            return FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
                .map(Zone::Fixed)
                .ok_or_else(bad);
        }
        t.parse::<chrono_tz::Tz>()
            .map(Zone::Named)
            .map_err(|_| bad())
    }

    /// The wall-clock time at an instant.
    pub fn local(&self, ms: i64) -> NaiveDateTime {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Fixed(offset) => utc.with_timezone(offset).naive_local(),
            Zone::Named(tz) => utc.with_timezone(tz).naive_local(),
        }
    }

    /// The offset from UTC at an instant, in seconds.
    pub fn offset_secs(&self, ms: i64) -> i32 {
        let utc = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        match self {
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Named(tz) => tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
        }
    }

    /// The instant of a wall-clock time. In a daylight-saving gap the time does not exist: the
    /// first instant after the gap is used; in an overlap, the earlier of the two.
    pub fn instant(&self, local: NaiveDateTime) -> i64 {
        let resolve = |result: LocalResult<i64>| match result {
            LocalResult::Single(ms) | LocalResult::Ambiguous(ms, _) => Some(ms),
            LocalResult::None => None,
        };
        let at = |local: NaiveDateTime| match self {
            Zone::Fixed(offset) => resolve(
                offset
                    .from_local_datetime(&local)
                    .map(|t| t.timestamp_millis()),
            ),
            Zone::Named(tz) => {
                resolve(tz.from_local_datetime(&local).map(|t| t.timestamp_millis()))
            }
        };
        if let Some(ms) = at(local) {
            return ms;
        }
        // In a gap: step forward to the first wall-clock minute that exists.
        let mut probe = local;
        for _ in 0..(24 * 60) {
            probe += Duration::minutes(1);
            if let Some(ms) = at(probe) {
                return ms;
            }
        }
        local.and_utc().timestamp_millis()
    }

    /// The zone as Elasticsearch prints it in `key_as_string` offsets.
    fn format_offset(&self, ms: i64) -> String {
        let secs = self.offset_secs(ms);
        if secs == 0 {
            return "Z".to_owned();
        }
        let sign = if secs < 0 { '-' } else { '+' };
        let secs = secs.abs();
        format!("{sign}{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
    }
}

/// A calendar or fixed unit of date math and calendar intervals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    pub fn from_char(c: char) -> Option<Unit> {
        Some(match c {
            'y' => Unit::Year,
            'q' => Unit::Quarter,
            'M' => Unit::Month,
            'w' => Unit::Week,
            'd' => Unit::Day,
            'h' | 'H' => Unit::Hour,
            'm' => Unit::Minute,
            's' => Unit::Second,
            _ => return None,
        })
    }

    /// The start of the unit containing `ms`, in `zone`.
    pub fn floor(self, ms: i64, zone: &Zone) -> i64 {
        let local = zone.local(ms);
        let date = local.date();
        let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
        let floored = match self {
            Unit::Year => midnight(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date)),
            Unit::Quarter => {
                let month = (date.month0() / 3) * 3 + 1;
                midnight(NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date))
            }
            Unit::Month => {
                midnight(NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date))
            }
            Unit::Week => {
                midnight(date - Duration::days(i64::from(date.weekday().num_days_from_monday())))
            }
            Unit::Day => midnight(date),
            Unit::Hour => local
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local),
            Unit::Minute => local
                .with_second(0)
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(local),
            Unit::Second => local.with_nanosecond(0).unwrap_or(local),
        };
        match self {
            // Sub-day units are the same in every zone with whole-minute offsets: floor in UTC
            // too when the local floor would land in a DST gap.
            Unit::Hour | Unit::Minute | Unit::Second => {
                let offset = i64::from(zone.offset_secs(ms)) * 1000;
                let step = self.fixed_ms().unwrap_or(1000);
                (ms + offset).div_euclid(step) * step - offset
            }
            _ => zone.instant(floored),
        }
    }

    /// Adds `n` units to `ms`, calendar units in `zone`'s wall-clock time.
    pub fn add(self, ms: i64, n: i64, zone: &Zone) -> Option<i64> {
        if let Some(step) = self.fixed_ms() {
            return ms.checked_add(step.checked_mul(n)?);
        }
        let local = zone.local(ms);
        let moved = match self {
            Unit::Year => shift_months(local, n.checked_mul(12)?)?,
            Unit::Quarter => shift_months(local, n.checked_mul(3)?)?,
            Unit::Month => shift_months(local, n)?,
            Unit::Week => local.checked_add_signed(Duration::try_weeks(n)?)?,
            Unit::Day => local.checked_add_signed(Duration::try_days(n)?)?,
            _ => unreachable!("fixed units handled above"),
        };
        Some(zone.instant(moved))
    }

    /// Milliseconds of fixed-length units (hours and smaller).
    pub fn fixed_ms(self) -> Option<i64> {
        match self {
            Unit::Hour => Some(3_600_000),
            Unit::Minute => Some(60_000),
            Unit::Second => Some(1000),
            _ => None,
        }
    }
}

fn shift_months(local: NaiveDateTime, months: i64) -> Option<NaiveDateTime> {
    let magnitude = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
    if months >= 0 {
        local.checked_add_months(magnitude)
    } else {
        local.checked_sub_months(magnitude)
    }
}

/// How a bound of a range is rounded when date math has a `/unit`: Elasticsearch rounds `gt`
/// and `lte` up (to the unit's last millisecond), `gte` and `lt` down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
}

/// Date formats, as the `format` parameter lists them (`a||b`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DateFormats(Vec<DateFormat>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum DateFormat {
    EpochMillis,
    EpochSecond,
    /// ISO 8601 with optional parts: what `strict_date_optional_time` and its relatives read.
    Iso,
    /// A Java pattern translated to chrono's.
    Pattern {
        chrono: String,
        has_date: bool,
        has_time: bool,
    },
}

impl Default for DateFormats {
    /// A `date` field's default: `strict_date_optional_time||epoch_millis`.
    fn default() -> Self {
        DateFormats(vec![DateFormat::Iso, DateFormat::EpochMillis])
    }
}

impl DateFormats {
    pub fn parse(spec: &str) -> Result<DateFormats, DateError> {
        let formats = spec
            .split("||")
            .map(|f| {
                let name = f.trim();
                Ok(match name {
                    "epoch_millis" => DateFormat::EpochMillis,
                    "epoch_second" => DateFormat::EpochSecond,
                    "strict_date_optional_time"
                    | "date_optional_time"
                    | "strict_date_optional_time_nanos"
                    | "strict_date_time"
                    | "date_time"
                    | "strict_date_time_no_millis"
                    | "date_time_no_millis"
                    | "strict_date"
                    | "date"
                    | "strict_date_hour_minute_second"
                    | "date_hour_minute_second"
                    | "strict_date_hour_minute"
                    | "date_hour_minute"
                    | "iso8601" => DateFormat::Iso,
                    pattern => java_pattern(pattern)?,
                })
            })
            .collect::<Result<Vec<_>, DateError>>()?;
        Ok(DateFormats(formats))
    }

    /// Reads a date (no math) in the first format that fits. A date without an offset is in
    /// `zone`.
    pub fn parse_date(&self, text: &str, zone: &Zone) -> Result<i64, DateError> {
        for format in &self.0 {
            let parsed = match format {
                DateFormat::EpochMillis => parse_epoch(text, 1),
                DateFormat::EpochSecond => parse_epoch(text, 1000),
                DateFormat::Iso => parse_iso(text, zone),
                DateFormat::Pattern {
                    chrono,
                    has_date,
                    has_time,
                } => parse_pattern(text, chrono, *has_date, *has_time, zone),
            };
            if let Some(ms) = parsed {
                return Ok(ms);
            }
        }
        Err(DateError::BadDate(text.to_owned()))
    }

    /// Prints an instant in the first format, in `zone`.
    pub fn format(&self, ms: i64, zone: &Zone) -> String {
        match self.0.first() {
            Some(DateFormat::EpochMillis) => ms.to_string(),
            Some(DateFormat::EpochSecond) => (ms.div_euclid(1000)).to_string(),
            Some(DateFormat::Pattern { chrono, .. }) => {
                let local = zone.local(ms);
                let offset = FixedOffset::east_opt(zone.offset_secs(ms))
                    .unwrap_or(FixedOffset::east_opt(0).expect("zero"));
                match offset.from_local_datetime(&local) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        t.format(chrono).to_string()
                    }
                    LocalResult::None => local.format(chrono).to_string(),
                }
            }
            Some(DateFormat::Iso) | None => format_iso(ms, zone),
        }
    }
}

/// `2020-03-06T05:07:00.000Z`, or with the zone's offset.
pub fn format_iso(ms: i64, zone: &Zone) -> String {
    format!(
        "{}{}",
        zone.local(ms).format("%Y-%m-%dT%H:%M:%S%.3f"),
        zone.format_offset(ms)
    )
}

fn parse_epoch(text: &str, scale: i64) -> Option<i64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return n.checked_mul(scale);
    }
    // Elasticsearch accepts fractional epoch values.
    let f: f64 = text.parse().ok()?;
    f.is_finite().then(|| (f * scale as f64).floor() as i64)
}

/// ISO 8601 with any trailing parts left out: `2020`, `2020-03`, `2020-03-06`,
/// `2020-03-06T05`, `2020-03-06T05:07:00.123+09:00`. A space is accepted for `T`.
fn parse_iso(text: &str, zone: &Zone) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 4 || !bytes[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Split off the offset.
    let (body, offset) =
        if let Some(stripped) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
            (stripped, Some(0))
        } else {
            let time_start = text.find(['T', 't', ' ']).unwrap_or(text.len());
            match text[time_start..].rfind(['+', '-']).map(|i| i + time_start) {
                Some(at) if at > time_start => {
                    let zone = Zone::parse(&text[at..]).ok()?;
                    (&text[..at], Some(zone.offset_secs(0)))
                }
                _ => (text, None),
            }
        };
    let (date_part, time_part) = match body.find(['T', 't', ' ']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let mut date_fields = date_part.split('-');
    let year: i32 = date_fields.next()?.parse().ok()?;
    let month: u32 = date_fields.next().map_or(Some(1), |m| m.parse().ok())?;
    let day: u32 = date_fields.next().map_or(Some(1), |d| d.parse().ok())?;
    if date_fields.next().is_some() {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = match time_part {
        None | Some("") => NaiveTime::MIN,
        Some(time) => {
            let (clock, fraction) = match time.split_once(['.', ',']) {
                Some((clock, fraction)) => (clock, Some(fraction)),
                None => (time, None),
            };
            let mut parts = clock.split(':');
            let hour: u32 = parts.next()?.parse().ok()?;
            let minute: u32 = parts.next().map_or(Some(0), |m| m.parse().ok())?;
            let second: u32 = parts.next().map_or(Some(0), |s| s.parse().ok())?;
            if parts.next().is_some() {
                return None;
            }
            let nanos = match fraction {
                Some(f)
                    if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    f.parse::<u32>().ok()? * 10u32.pow(9 - f.len() as u32)
                }
                Some(_) => return None,
                None => 0,
            };
            NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?
        }
    };
    let local = date.and_time(time);
    Some(match offset {
        Some(secs) => local.and_utc().timestamp_millis() - i64::from(secs) * 1000,
        None => zone.instant(local),
    })
}

fn parse_pattern(
    text: &str,
    pattern: &str,
    has_date: bool,
    has_time: bool,
    zone: &Zone,
) -> Option<i64> {
    let text = text.trim();
    if pattern.contains("%z") || pattern.contains("%:z") {
        return DateTime::parse_from_str(text, pattern)
            .ok()
            .map(|t| t.timestamp_millis());
    }
    let local = match (has_date, has_time) {
        (true, true) => NaiveDateTime::parse_from_str(text, pattern).ok()?,
        (true, false) => NaiveDate::parse_from_str(text, pattern)
            .ok()?
            .and_time(NaiveTime::MIN),
        _ => return None,
    };
    Some(zone.instant(local))
}

/// Translates the Java date pattern letters flowdash users and Kibana send into chrono's.
fn java_pattern(pattern: &str) -> Result<DateFormat, DateError> {
    let unsupported = || DateError::UnsupportedFormat(pattern.to_owned());
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let (mut has_date, mut has_time) = (false, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|&q| q == '\'')
                .ok_or_else(unsupported)?
                + i
                + 1;
            for literal in &chars[i + 1..end] {
                if *literal == '%' {
                    out.push_str("%%");
                } else {
                    out.push(*literal);
                }
            }
            i = end + 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        let spec = match (c, run) {
            ('y' | 'u', 2) => "%y",
            ('y' | 'u', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('D', _) => "%j",
            ('E', 1..=3) => "%a",
            ('E', _) => "%A",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('k', _) => "%H",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', 3) => "%3f",
            ('S', 6) => "%6f",
            ('S', 9) => "%9f",
            ('a', _) => "%p",
            ('Z', 1) | ('x', 1..=2) | ('X', 1..=2) => "%z",
            ('Z', _) | ('x', _) | ('X', _) => "%:z",
            (c, _) if c.is_ascii_alphabetic() => return Err(unsupported()),
            _ => {
                for _ in 0..run {
                    if c == '%' {
                        out.push_str("%%");
                    } else {
                        out.push(c);
                    }
                }
                i += run;
                continue;
            }
        };
        match c {
            'y' | 'u' | 'M' | 'd' | 'D' | 'E' => has_date = true,
            'H' | 'h' | 'k' | 'm' | 's' | 'S' => has_time = true,
            _ => {}
        }
        out.push_str(spec);
        i += run;
    }
    if !has_date {
        return Err(unsupported());
    }
    Ok(DateFormat::Pattern {
        chrono: out,
        has_date,
        has_time,
    })
}

/// The moment date math calls `now`, which remembers whether any expression read it: an
/// answer that did depends on when it ran and must not be cached. Reading it is what counts,
/// not the text of the request, which can spell `now` in ways a text search misses
/// (`n\\ow` in a query string).
#[derive(Debug)]
pub struct Now {
    ms: i64,
    read: std::sync::atomic::AtomicBool,
}

impl Now {
    /// `now` at `ms` milliseconds since the Unix epoch (UTC).
    pub fn at(ms: i64) -> Now {
        Now {
            ms,
            read: Default::default(),
        }
    }

    /// The moment, noting that something depends on it.
    pub fn read(&self) -> i64 {
        self.read.store(true, std::sync::atomic::Ordering::Relaxed);
        self.ms
    }

    /// Whether any date math read the moment.
    pub fn was_read(&self) -> bool {
        self.read.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Evaluates date math: an anchor (`now`, or a date followed by `||`), then `+N<unit>`,
/// `-N<unit>` and `/<unit>` in order.
pub fn eval_date_math(
    expression: &str,
    now: &Now,
    formats: &DateFormats,
    zone: &Zone,
    rounding: Rounding,
) -> Result<i64, DateError> {
    let expression = expression.trim();
    let (ms, math) = if let Some(rest) = expression.strip_prefix("now") {
        (now.read(), rest)
    } else if let Some((anchor, rest)) = expression.split_once("||") {
        (formats.parse_date(anchor, zone)?, rest)
    } else {
        return formats.parse_date(expression, zone);
    };
    app::model::time::apply_date_math(ms, math, rounding == Rounding::Up, &ZoneCalendar(zone))
        .ok_or_else(|| DateError::BadMath(expression.to_owned()))
}

/// Date math in a search's time zone (daylight saving included).
struct ZoneCalendar<'a>(&'a Zone);

impl app::model::time::DateMathCalendar for ZoneCalendar<'_> {
    fn add(&self, ms: i64, amount: i64, unit: char) -> Option<i64> {
        Unit::from_char(unit)?.add(ms, amount, self.0)
    }

    fn floor(&self, ms: i64, unit: char) -> Option<i64> {
        Some(Unit::from_char(unit)?.floor(ms, self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_583_471_220_123; // 2020-03-06T05:07:00.123Z, a Friday

    fn math(expr: &str, rounding: Rounding) -> i64 {
        eval_date_math(
            expr,
            &Now::at(NOW),
            &DateFormats::default(),
            &Zone::utc(),
            rounding,
        )
        .unwrap()
    }

    fn iso(ms: i64) -> String {
        format_iso(ms, &Zone::utc())
    }

    #[test]
    fn date_math_relative_to_now() {
        assert_eq!(math("now", Rounding::Down), NOW);
        assert_eq!(
            iso(math("now-15m", Rounding::Down)),
            "2020-03-06T04:52:00.123Z"
        );
        assert_eq!(
            iso(math("now/d", Rounding::Down)),
            "2020-03-06T00:00:00.000Z"
        );
        assert_eq!(iso(math("now/d", Rounding::Up)), "2020-03-06T23:59:59.999Z");
        assert_eq!(
            iso(math("now-1d/d", Rounding::Down)),
            "2020-03-05T00:00:00.000Z"
        );
        assert_eq!(
            iso(math("now/w", Rounding::Down)),
            "2020-03-02T00:00:00.000Z"
        );
        assert_eq!(
            iso(math("now-1M/M", Rounding::Down)),
            "2020-02-01T00:00:00.000Z"
        );
        assert_eq!(
            iso(math("now+1y/y", Rounding::Up)),
            "2021-12-31T23:59:59.999Z"
        );
        assert_eq!(
            iso(math("2020-01-31||+1M", Rounding::Down)),
            "2020-02-29T00:00:00.000Z"
        );
        assert!(eval_date_math(
            "now-15x",
            &Now::at(NOW),
            &DateFormats::default(),
            &Zone::utc(),
            Rounding::Down
        )
        .is_err());
    }

    #[test]
    fn rounding_in_a_time_zone() {
        let seoul = Zone::parse("Asia/Seoul").unwrap();
        let start = eval_date_math(
            "now/d",
            &Now::at(NOW),
            &DateFormats::default(),
            &seoul,
            Rounding::Down,
        )
        .unwrap();
        assert_eq!(format_iso(start, &seoul), "2020-03-06T00:00:00.000+09:00");
        assert_eq!(iso(start), "2020-03-05T15:00:00.000Z");
    }

    #[test]
    fn dst_days_have_23_and_25_hours() {
        let ny = Zone::parse("America/New_York").unwrap();
        let spring = parse_iso("2020-03-08", &ny).unwrap();
        let next = Unit::Day.add(spring, 1, &ny).unwrap();
        assert_eq!(next - spring, 23 * 3_600_000);
        let fall = parse_iso("2020-11-01", &ny).unwrap();
        assert_eq!(Unit::Day.add(fall, 1, &ny).unwrap() - fall, 25 * 3_600_000);
    }

    #[test]
    fn iso_dates_with_optional_parts() {
        let utc = Zone::utc();
        assert_eq!(
            iso(parse_iso("2020", &utc).unwrap()),
            "2020-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso(parse_iso("2020-03-06T05:07", &utc).unwrap()),
            "2020-03-06T05:07:00.000Z"
        );
        assert_eq!(
            iso(parse_iso("2020-03-06T14:07:00.5+09:00", &utc).unwrap()),
            "2020-03-06T05:07:00.500Z"
        );
        assert_eq!(
            iso(parse_iso("2020-03-06 05:07:00Z", &utc).unwrap()),
            "2020-03-06T05:07:00.000Z"
        );
        assert_eq!(parse_iso("2020-13-01", &utc), None);
        assert_eq!(parse_iso("yesterday", &utc), None);
    }

    #[test]
    fn formats_parse_and_print() {
        let formats = DateFormats::parse("epoch_millis").unwrap();
        assert_eq!(
            formats.parse_date("1583471220000", &Zone::utc()).unwrap(),
            1_583_471_220_000
        );
        assert_eq!(
            formats.format(1_583_471_220_000, &Zone::utc()),
            "1583471220000"
        );
        let pattern = DateFormats::parse("yyyy-MM-dd HH:mm:ss").unwrap();
        let seoul = Zone::parse("+09:00").unwrap();
        let ms = pattern.parse_date("2020-03-06 14:07:00", &seoul).unwrap();
        assert_eq!(ms, 1_583_471_220_000);
        assert_eq!(pattern.format(ms, &seoul), "2020-03-06 14:07:00");
        assert!(matches!(
            DateFormats::parse("w"),
            Err(DateError::UnsupportedFormat(_))
        ));
        let default = DateFormats::default();
        assert_eq!(
            default.parse_date("1583471220000", &Zone::utc()).unwrap(),
            1_583_471_220_000
        );
        assert_eq!(
            default.format(1_583_471_220_000, &Zone::parse("+09:00").unwrap()),
            "2020-03-06T14:07:00.000+09:00"
        );
    }

    #[test]
    fn zones() {
        assert_eq!(Zone::parse("+09:00").unwrap().offset_secs(0), 9 * 3600);
        assert_eq!(
            Zone::parse("-0530").unwrap().offset_secs(0),
            -(5 * 3600 + 30 * 60)
        );
        assert_eq!(Zone::parse("Z").unwrap(), Zone::utc());
        assert!(Zone::parse("Mars/Olympus").is_err());
    }
}
