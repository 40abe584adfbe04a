//! The bounds a [`TokenPool`](crate::TokenPool) keeps across all its keys.

use core::time::Duration;

/// The bounds a [`TokenPool`](crate::TokenPool) keeps across all of its keys: how many entries
/// it holds, how long an unused one stays, and how many token requests it lets out at once
/// and per second.
///
/// The defaults suit a platform serving up to ten thousand institutions from one process:
///
/// | limit | default | when it is reached |
/// |---|---|---|
/// | [`max_entries`](PoolLimits::max_entries) | 10,000 | the least recently used entry is evicted ([`Eviction::LeastRecentlyUsed`](crate::Eviction::LeastRecentlyUsed)) |
/// | [`idle_after`](PoolLimits::idle_after) | 2 h (about one SEEK Pass token lifetime) | an entry not asked for that long is evicted ([`Eviction::Idle`](crate::Eviction::Idle)) |
/// | [`max_in_flight`](PoolLimits::max_in_flight) | 16 | further requests wait for one to end |
/// | [`max_per_second`](PoolLimits::max_per_second) | 20 | further requests wait until fewer than this many started in the last second |
/// | [`remember_unknown`](PoolLimits::remember_unknown) | 1 min | a key the resolver did not know is asked about again |
/// | [`resolve_deadline`](PoolLimits::resolve_deadline) | 30 s | a key whose configuration is not given within this time is taken as unknown |
///
/// Requests waiting for a permit are let out in this order: first those a caller is waiting
/// for (no token to serve), oldest first; then proactive refreshes and retries, oldest first.
///
/// ```
/// use std::time::Duration;
/// use seekpass_oauth::PoolLimits;
///
/// let limits = PoolLimits::default()
///     .max_entries(2_000)
///     .max_in_flight(8)
///     .max_per_second(10)
///     .idle_after(Duration::from_secs(3 * 3600));
/// # let _ = limits;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolLimits {
    /// See [`PoolLimits::max_entries`](PoolLimits::max_entries()); a pool takes 0 as 1.
    pub max_entries: usize,
    /// See [`PoolLimits::idle_after`](PoolLimits::idle_after()).
    pub idle_after: Duration,
    /// See [`PoolLimits::max_in_flight`](PoolLimits::max_in_flight()); a pool takes 0 as 1.
    pub max_in_flight: usize,
    /// See [`PoolLimits::max_per_second`](PoolLimits::max_per_second()); a pool takes 0 as 1.
    pub max_per_second: usize,
    /// See [`PoolLimits::remember_unknown`](PoolLimits::remember_unknown()).
    pub remember_unknown: Duration,
    /// See [`PoolLimits::resolve_deadline`](PoolLimits::resolve_deadline()).
    pub resolve_deadline: Duration,
}

impl Default for PoolLimits {
    fn default() -> PoolLimits {
        PoolLimits {
            max_entries: 10_000,
            idle_after: Duration::from_secs(2 * 3600),
            max_in_flight: 16,
            max_per_second: 20,
            remember_unknown: Duration::from_secs(60),
            resolve_deadline: Duration::from_secs(30),
        }
    }
}

impl PoolLimits {
    /// At most `n` entries (keys with a machine, keys being resolved and keys remembered as
    /// unknown); at least 1. Beyond it the least recently asked-for entry is evicted.
    #[must_use]
    pub fn max_entries(mut self, n: usize) -> PoolLimits {
        self.max_entries = n.max(1);
        self
    }

    /// An entry not asked for in this long is evicted, its secret and token wiped. A request
    /// in flight keeps it until the request ends.
    #[must_use]
    pub fn idle_after(mut self, idle: Duration) -> PoolLimits {
        self.idle_after = idle;
        self
    }

    /// At most `n` token requests in flight across all keys; at least 1. A request counts
    /// from its permit until its answer, its failure or its deadline, even when its entry was
    /// evicted meanwhile.
    #[must_use]
    pub fn max_in_flight(mut self, n: usize) -> PoolLimits {
        self.max_in_flight = n.max(1);
        self
    }

    /// At most `n` token requests started in any one second across all keys; at least 1. A
    /// redirect continues its request and is not counted again.
    #[must_use]
    pub fn max_per_second(mut self, n: usize) -> PoolLimits {
        self.max_per_second = n.max(1);
        self
    }

    /// How long a key the resolver answered "unknown" for is remembered (callers asking for
    /// it are told at once) before the resolver is asked again.
    #[must_use]
    pub fn remember_unknown(mut self, d: Duration) -> PoolLimits {
        self.remember_unknown = d;
        self
    }

    /// How long the pool waits for a key's configuration
    /// ([`TokenPool::resolved`](crate::TokenPool::resolved)) before taking the key as unknown.
    #[must_use]
    pub fn resolve_deadline(mut self, d: Duration) -> PoolLimits {
        self.resolve_deadline = d;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_at_least_one() {
        let limits = PoolLimits::default()
            .max_entries(0)
            .max_in_flight(0)
            .max_per_second(0);
        assert_eq!(limits.max_entries, 1);
        assert_eq!(limits.max_in_flight, 1);
        assert_eq!(limits.max_per_second, 1);
    }
}
