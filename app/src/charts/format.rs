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

/// A time-axis label whose precision suits the span shown: `14:05` within a day,
/// `03-14 14:00` within a few weeks, `2026-03-14` beyond.
pub fn format_time_label(epoch_ms: i64, span_ms: i64, utc_offset_secs: i32) -> String {
    let offset = FixedOffset::east_opt(utc_offset_secs)
        .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
    let Some(time) = DateTime::<Utc>::from_timestamp_millis(epoch_ms) else {
        return String::new();
    };
    let local = time.with_timezone(&offset);
    const HOUR: i64 = 3_600_000;
    let pattern = if span_ms <= 2 * 60_000 {
        "%H:%M:%S"
    } else if span_ms <= 36 * HOUR {
        "%H:%M"
    } else if span_ms <= 45 * 24 * HOUR {
        "%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    local.format(pattern).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn time_labels_follow_the_span() {
        // 2020-03-06T05:07:00Z
        let t = 1_583_471_220_000;
        assert_eq!(format_time_label(t, 3_600_000, 0), "05:07");
        assert_eq!(format_time_label(t, 3_600_000, 9 * 3600), "14:07");
        assert_eq!(format_time_label(t, 7 * 24 * 3_600_000, 0), "03-06 05:07");
        assert_eq!(format_time_label(t, 90 * 24 * 3_600_000, 0), "2020-03-06");
    }
}
