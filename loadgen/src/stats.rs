//! Latencies (every one kept, in microseconds) and their percentiles.

use std::collections::BTreeMap;
use std::time::Duration;

/// The latencies of one kind of request, and the failures by kind.
#[derive(Debug, Default, Clone)]
pub(crate) struct Series {
    micros: Vec<u64>,
    pub(crate) failures: BTreeMap<String, u64>,
}

impl Series {
    pub(crate) fn ok(&mut self, took: Duration) {
        self.micros
            .push(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
    }

    pub(crate) fn failed(&mut self, what: impl Into<String>) {
        *self.failures.entry(what.into()).or_insert(0) += 1;
    }

    pub(crate) fn merge(&mut self, other: Self) {
        self.micros.extend(other.micros);
        for (what, n) in other.failures {
            *self.failures.entry(what).or_insert(0) += n;
        }
    }

    pub(crate) fn count(&self) -> usize {
        self.micros.len()
    }

    pub(crate) fn failure_count(&self) -> u64 {
        self.failures.values().sum()
    }

    /// p50, p90, p99 and max, in milliseconds (nearest rank); zeros when empty.
    pub(crate) fn summary(&self) -> Summary {
        let mut sorted = self.micros.clone();
        sorted.sort_unstable();
        let at = |q: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least q of the values at or below it.
            let n = sorted.len() as f64;
            let rank = (q * n).ceil().max(1.0) as usize;
            sorted
                .get(rank.min(sorted.len()) - 1)
                .map_or(0.0, |&us| us as f64 / 1000.0)
        };
        Summary {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: sorted.last().map_or(0.0, |&us| us as f64 / 1000.0),
        }
    }
}

/// Percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Series::default();
        for ms in 1..=100 {
            s.ok(Duration::from_millis(ms));
        }
        let sum = s.summary();
        assert_eq!(
            (sum.p50, sum.p90, sum.p99, sum.max),
            (50.0, 90.0, 99.0, 100.0)
        );
        let mut one = Series::default();
        one.ok(Duration::from_micros(1500));
        assert_eq!(one.summary().p50, 1.5);
        assert_eq!(Series::default().summary().max, 0.0);
    }
}
