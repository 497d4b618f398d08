//! Medians, percentiles and milliseconds of the samples.

use super::lifecycle::Sample;
use std::time::Duration;

/// Summary of one runtime's samples.
pub(super) struct Summary {
    pub(super) median: Duration,
    pub(super) p90: Duration,
    pub(super) min: Duration,
    pub(super) rss_kib: u64,
}

pub(super) fn summarize(samples: &[Sample]) -> Summary {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort_unstable();
    let mut rss: Vec<u64> = samples.iter().map(|s| s.max_rss_kib).collect();
    rss.sort_unstable();
    Summary {
        median: percentile(&walls, 50),
        p90: percentile(&walls, 90),
        min: walls.first().copied().unwrap_or_default(),
        rss_kib: percentile(&rss, 50),
    }
}

/// Nearest-rank percentile of sorted values.
pub(super) fn percentile<T: Copy + Default>(sorted: &[T], p: usize) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

pub(super) fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&v, 100), 10);
        assert_eq!(percentile(&[7u64], 90), 7);
    }
}
