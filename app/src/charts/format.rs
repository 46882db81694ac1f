//! Number and time formatting for axes, labels and tooltips.

use chrono::{DateTime, FixedOffset, Utc};

/// `1234` → `1.2k`, `5_600_000` → `5.6M`; small numbers keep up to two decimals.
pub fn format_compact(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (value / 1e12, "T")
    } else if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if suffix.is_empty() && scaled.fract() != 0.0 {
        format!("{scaled:.2}")
    } else if suffix.is_empty() {
        format!("{scaled:.0}")
    } else {
        format!("{scaled:.1}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// `1234567` → `1,234,567`, `0.126` → `0.13`: full values for tooltips and tables, where the
/// reader wants the number itself rather than its size.
pub fn format_exact(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{:.2}", value.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::with_capacity(int.len() + int.len() / 3 + 4);
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let frac = frac.trim_end_matches('0');
    let sign = if value < 0.0 && text != "0.00" {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// A time-axis label as precise as the tick step needs: `14:05:30`, `14:05`,
/// `03-14 14:00` (ticks within a day over several days), `03-14`, `2026-03-14`.
pub fn format_time_label(
    epoch_ms: i64,
    step_ms: i64,
    span_ms: i64,
    utc_offset_secs: i32,
) -> String {
    let offset = FixedOffset::east_opt(utc_offset_secs)
        .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
    let Some(time) = DateTime::<Utc>::from_timestamp_millis(epoch_ms) else {
        return String::new();
    };
    let local = time.with_timezone(&offset);
    const DAY: i64 = 86_400_000;
    let pattern = if step_ms < 60_000 {
        "%H:%M:%S"
    } else if step_ms < DAY && span_ms <= DAY {
        "%H:%M"
    } else if step_ms < DAY {
        "%m-%d %H:%M"
    } else if span_ms <= 180 * DAY {
        "%m-%d"
    } else {
        "%Y-%m-%d"
    };
    local.format(pattern).to_string()
}

/// A time for tooltips: `2026-03-14 14:05:00`.
pub fn format_time_full(epoch_ms: i64, utc_offset_secs: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_secs)
        .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
    DateTime::<Utc>::from_timestamp_millis(epoch_ms)
        .map(|t| {
            t.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_numbers() {
        assert_eq!(format_exact(0.0), "0");
        assert_eq!(format_exact(999.0), "999");
        assert_eq!(format_exact(1000.0), "1,000");
        assert_eq!(format_exact(1_234_567.0), "1,234,567");
        assert_eq!(format_exact(-1234.5), "-1,234.5");
        assert_eq!(format_exact(0.126), "0.13");
        assert_eq!(format_exact(-0.001), "0");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(format_compact(0.0), "0");
        assert_eq!(format_compact(999.0), "999");
        assert_eq!(format_compact(1.5), "1.5");
        assert_eq!(format_compact(1234.0), "1.2k");
        assert_eq!(format_compact(1000.0), "1k");
        assert_eq!(format_compact(5_600_000.0), "5.6M");
        assert_eq!(format_compact(-2_000_000_000.0), "-2G");
    }

    #[test]
    fn time_labels_follow_the_step() {
        // 2020-03-06T05:07:00Z
        let t = 1_583_471_220_000;
        let hour = 3_600_000;
        assert_eq!(format_time_label(t, 600_000, hour, 0), "05:07");
        assert_eq!(format_time_label(t, 600_000, hour, 9 * 3600), "14:07");
        assert_eq!(
            format_time_label(t, 6 * hour, 7 * 24 * hour, 0),
            "03-06 05:07"
        );
        assert_eq!(format_time_label(t, 24 * hour, 7 * 24 * hour, 0), "03-06");
        assert_eq!(
            format_time_label(t, 30 * 24 * hour, 400 * 24 * hour, 0),
            "2020-03-06"
        );
        assert_eq!(format_time_full(t, 0), "2020-03-06 05:07:00");
    }
}
