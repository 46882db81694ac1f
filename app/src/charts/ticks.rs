//! Axis ticks at round values: times on minute, hour and day boundaries of the viewer's zone,
//! numbers on 1, 2 and 5 steps.

/// Tick steps for time axes, in milliseconds.
const TIME_STEPS: &[i64] = &[
    1_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    10_800_000,
    21_600_000,
    43_200_000,
    86_400_000,
    172_800_000,
    604_800_000,
    2_592_000_000,
];

/// Ticks on `[from, to]` at a round step giving at most `max_ticks`, aligned to the zone.
pub fn time_ticks(from: i64, to: i64, max_ticks: usize, utc_offset_secs: i32) -> (Vec<i64>, i64) {
    let span = (to - from).max(1);
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|step| span / step <= max_ticks.max(1) as i64)
        .unwrap_or(31_536_000_000);
    let offset = i64::from(utc_offset_secs) * 1000;
    let first = (from + offset).div_euclid(step) * step - offset;
    let first = if first < from { first + step } else { first };
    let ticks = (0..)
        .map(|i| first + i * step)
        .take_while(|t| *t <= to)
        .collect();
    (ticks, step)
}

/// A round number at or above `value`, so the top tick is labelled.
pub fn nice_ceiling(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    let normalized = value / magnitude;
    let step = [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .find(|s| *s >= normalized - 1e-9)
        .unwrap_or(10.0);
    step * magnitude
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ticks_are_round() {
        // One hour from 04:07:30: ticks every 10 minutes at :10, :20, ...
        let from = 1_583_467_650_000;
        let (ticks, step) = time_ticks(from, from + 3_600_000, 8, 0);
        assert_eq!(step, 600_000);
        assert_eq!(ticks[0] % 600_000, 0);
        assert!(ticks[0] >= from && ticks.len() <= 8);
        // In +05:30, day ticks fall on local midnight.
        let (ticks, step) = time_ticks(0, 7 * 86_400_000, 8, 5 * 3600 + 1800);
        assert_eq!(step, 86_400_000);
        assert_eq!((ticks[0] + 19_800_000) % 86_400_000, 0);
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 8.0);
        assert_eq!(nice_ceiling(101.0), 120.0);
        assert_eq!(nice_ceiling(1000.0), 1000.0);
    }
}
