//! Sharing one token across the replicas of a service through a store they all reach (Redis,
//! Valkey, anything with expiring keys and a compare-and-delete).
//!
//! # The protocol
//!
//! With [`ConfigBuilder::share`](crate::ConfigBuilder::share) the machine asks a store before it
//! asks the token endpoint. Each store operation is an output ([`Output::Store`]) and its result an
//! input ([`TokenClient::handle_store`]), exactly like token requests:
//!
//! 1. A replica that needs a token **reads** the shared one with its remaining time to live, in one
//!    round trip ([`StoreCommand::Read`]). A stored token newer than its own is **adopted**: no token
//!    request.
//! 2. Otherwise it **locks** ([`StoreCommand::Lock`], set-if-absent expiring after the request
//!    deadline). The winner fetches, **writes** the token expiring with it
//!    ([`StoreCommand::Write`]) and **unlocks** only if it still owns the lock
//!    ([`StoreCommand::Unlock`]). The others **wait**, reading again every
//!    [`Share::poll_interval`], and adopt what the winner wrote; if the winner dies its lock expires
//!    and another replica takes over.
//! 3. A token the API rejected is **forgotten** only if the store still holds that very token
//!    ([`StoreCommand::Forget`], compare-and-delete), so a burst of 401s across the fleet leads to
//!    one new token.
//!
//! # Clocks
//!
//! Hosts' clocks differ, so nothing wall-clock travels between them. A token's remaining lifetime
//! travels as the store's own expiry: the writer sets it from its monotonic clock, a reader gets it
//! back as a duration (Redis `PTTL`) and counts it from the moment it sent the read, which is never
//! later than the store measured it. An adopted token follows the same serving and refresh rules as
//! one fetched directly, with its refresh moment drawn from the replica's own seed: the fleet's one
//! refresh comes from whichever replica reaches its moment first, and the others adopt it.
//!
//! # The store is never in the way
//!
//! Every store operation has a deadline ([`Share::store_timeout`], 250 ms). When the store errors or
//! times out, the replica fetches on its own exactly as it does without sharing and leaves the store
//! alone for a back-off (1 s doubling to 1 min); the token it then fetched is refreshed through the
//! store again, so a store that comes back is used again within one token lifetime. A replica with
//! no token never waits for another's fetch longer than [`Share::peer_wait`]. Serving a token never
//! touches the store.
//!
//! # Keys
//!
//! `{prefix}v2:{HASH}:token` and `{prefix}v2:{HASH}:lock`, where `HASH` is 32 hex digits derived from
//! the token URL, client id, scopes, client authentication method and every extra form parameter
//! (sorted), never from the secret. The braces make both keys land in one Redis Cluster slot. `v2`
//! changes with what the key is derived from and with the value format: another version uses
//! other keys, so no version misreads another's values.
//!
//! [`Output::Store`]: crate::Output::Store
//! [`TokenClient::handle_store`]: crate::TokenClient::handle_store
//! [`StoreCommand::Read`]: crate::StoreCommand::Read
//! [`StoreCommand::Lock`]: crate::StoreCommand::Lock
//! [`StoreCommand::Write`]: crate::StoreCommand::Write
//! [`StoreCommand::Unlock`]: crate::StoreCommand::Unlock
//! [`StoreCommand::Forget`]: crate::StoreCommand::Forget

use core::time::Duration;

use crate::error::ConfigError;

/// How a replica shares its token with the others: key prefix, timeouts, and the refresh window of
/// a shared token. Enable it with [`ConfigBuilder::share`](crate::ConfigBuilder::share).
///
/// | setting | default | why |
/// |---|---|---|
/// | key prefix | `seekpass-oauth:` | one namespace, easy to grant in a Redis ACL (`~seekpass-oauth:*`) |
/// | store timeout | 250 ms | a store round trip is about a millisecond; a slow store must never delay a token |
/// | poll interval | 250 ms | a waiting replica sees the winner's token within a quarter second |
/// | peer wait | 5 s | a replica with no token fetches on its own if no one has stored one by then |
/// | refresh margin | 10 min 30 s (at most a quarter of the lifetime) | outlasts a 10-minute outage of the token endpoint: the fleet's retries interleave, and the first success serves every replica |
/// | refresh spread | 20 s | spreads the replicas' refresh moments, so the first refreshes and the others adopt: one request per refresh for the fleet, 1.09 per two-hour lifetime |
/// | read while backing off | 5 s | a replica whose own requests back off still adopts a peer's token within seconds |
///
/// Without sharing, refreshes are spread over half of every lifetime so that a fleet's separate
/// tokens do not fall due together; a shared token is refreshed once for the fleet, so its window
/// sits late in the lifetime instead: about 1.09 token requests per lifetime for the whole fleet.
/// The price is a shorter margin against an outage of the token endpoint at refresh time
/// (5 to 10 min, against 15 min without sharing); raise [`Share::refresh_margin`] to buy it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    prefix: String,
    store_timeout: Duration,
    poll_interval: Duration,
    peer_wait: Duration,
    refresh_margin: Duration,
    refresh_spread: Duration,
    store_backoff_base: Duration,
    store_backoff_cap: Duration,
    read_while_backing_off: Duration,
}

impl Default for Share {
    fn default() -> Share {
        Share {
            prefix: "seekpass-oauth:".to_owned(),
            store_timeout: Duration::from_millis(250),
            poll_interval: Duration::from_millis(250),
            peer_wait: Duration::from_secs(5),
            refresh_margin: Duration::from_secs(10 * 60 + 30),
            refresh_spread: Duration::from_secs(20),
            store_backoff_base: Duration::from_secs(1),
            store_backoff_cap: Duration::from_secs(60),
            read_while_backing_off: Duration::from_secs(5),
        }
    }
}

impl Share {
    /// The defaults (see the table above).
    #[must_use]
    pub fn new() -> Share {
        Share::default()
    }

    /// The prefix of every key (default `seekpass-oauth:`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Share {
        self.prefix = prefix.into();
        self
    }

    /// How long a store operation may take before the store counts as unavailable.
    #[must_use]
    pub fn store_timeout(mut self, timeout: Duration) -> Share {
        self.store_timeout = timeout;
        self
    }

    /// How often a replica waiting for another's fetch reads the store again.
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Share {
        self.poll_interval = interval;
        self
    }

    /// The longest a replica with no usable token waits for another replica's fetch before it
    /// fetches on its own. A replica that still has a usable token waits for the other's lock
    /// instead, however long it lasts.
    #[must_use]
    pub fn peer_wait(mut self, wait: Duration) -> Share {
        self.peer_wait = wait;
        self
    }

    /// A shared token's refresh is due at the latest this long before its expiry (at most half
    /// its lifetime).
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> Share {
        self.refresh_margin = margin;
        self
    }

    /// Each replica's refresh moment for a shared token is moved earlier by a seeded draw in
    /// `[0, spread]`, never before half the lifetime.
    #[must_use]
    pub fn refresh_spread(mut self, spread: Duration) -> Share {
        self.refresh_spread = spread;
        self
    }

    /// After a store failure the store is left alone for `base`, doubling with each further
    /// failure up to `cap`.
    #[must_use]
    pub fn store_backoff(mut self, base: Duration, cap: Duration) -> Share {
        self.store_backoff_base = base;
        self.store_backoff_cap = cap;
        self
    }

    /// While this replica's own token requests back off after a failure (an outage of the token
    /// endpoint), it still reads the store this often for a token another replica got: the
    /// fleet's retries interleave, and the first success serves everyone.
    #[must_use]
    pub fn read_while_backing_off(mut self, interval: Duration) -> Share {
        self.read_while_backing_off = interval;
        self
    }

    /// The key prefix.
    #[must_use]
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// The deadline of each store operation.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.store_timeout
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let reason = if self.store_timeout.is_zero() {
            "the store timeout is zero"
        } else if self.poll_interval < Duration::from_millis(10) {
            "the poll interval is under 10 ms, which would busy-poll the store"
        } else if self.read_while_backing_off < Duration::from_millis(10) {
            "the read interval while backing off is under 10 ms, which would busy-poll the store"
        } else if self.store_backoff_base.is_zero() {
            "the store back-off is zero, which would retry a failed store at once"
        } else {
            return Ok(());
        };
        Err(ConfigError::InvalidShare { reason })
    }

    pub(crate) fn backoff_read_interval(&self) -> Duration {
        self.read_while_backing_off
    }

    /// The first interval between reads while another replica holds the lock (it doubles with
    /// each read that finds the lock still held, up to the read interval while backing off).
    #[must_use]
    pub fn read_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The longest a replica with no usable token waits for another replica's fetch before
    /// fetching on its own.
    #[must_use]
    pub fn wait_for_peer(&self) -> Duration {
        self.peer_wait
    }

    /// The refresh margin and spread, `(margin, spread)`, of a shared token of `lifetime`: its
    /// refresh falls due between `margin + spread` and `margin` before its expiry (never before
    /// half its lifetime). The margin is at most a
    /// quarter of the lifetime (the schedule keeps the refresh after half of it), so even a
    /// short-lived token's replicas have a window to spread over: the first refreshes, the
    /// others adopt.
    #[must_use]
    pub fn refresh_window(&self, lifetime: Duration) -> (Duration, Duration) {
        let quarter = lifetime.checked_div(4).unwrap_or_default();
        (self.refresh_margin.min(quarter), self.refresh_spread)
    }

    /// The back-off after `failures` store failures in a row (at least one): `base` doubled, at
    /// most `cap`.
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.store_backoff_base
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.store_backoff_cap)
            .min(self.store_backoff_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Credentials, Endpoint};

    #[test]
    fn settings_that_would_busy_poll_or_never_wait_are_refused() {
        let build = |share: Share| {
            Config::builder(Endpoint::staging(), Credentials::new("a", "s"))
                .share(share)
                .build()
        };
        assert!(build(Share::new()).is_ok());
        for share in [
            Share::new().store_timeout(Duration::ZERO),
            Share::new().poll_interval(Duration::from_millis(1)),
            Share::new().read_while_backing_off(Duration::ZERO),
            Share::new().store_backoff(Duration::ZERO, Duration::from_secs(1)),
        ] {
            let error = build(share).unwrap_err();
            assert!(
                matches!(error, ConfigError::InvalidShare { .. }),
                "{error:?}"
            );
            assert!(error
                .to_string()
                .starts_with("invalid token sharing setting: "));
        }
    }

    #[test]
    fn every_setting_takes_effect() {
        let secs = Duration::from_secs;
        let share = Share::new()
            .prefix("app7/")
            .store_timeout(secs(1))
            .poll_interval(secs(2))
            .peer_wait(secs(3))
            .refresh_margin(secs(4))
            .refresh_spread(secs(5))
            .store_backoff(secs(6), secs(60))
            .read_while_backing_off(secs(7));
        assert_eq!(share.key_prefix(), "app7/");
        assert_eq!(share.timeout(), secs(1));
        assert_eq!(share.read_interval(), secs(2));
        assert_eq!(share.wait_for_peer(), secs(3));
        assert_eq!(share.refresh_window(secs(3600)), (secs(4), secs(5)));
        assert_eq!(share.backoff(1), secs(6));
        assert_eq!(share.backoff_read_interval(), secs(7));
        // The margin is at most a quarter of a short lifetime.
        assert_eq!(share.refresh_window(secs(8)), (secs(2), secs(5)));
    }

    #[test]
    fn ten_milliseconds_is_the_shortest_interval_allowed() {
        let build = |share: Share| {
            Config::builder(Endpoint::staging(), Credentials::new("a", "s"))
                .share(share)
                .build()
        };
        let ten = Duration::from_millis(10);
        assert!(build(Share::new().poll_interval(ten).read_while_backing_off(ten)).is_ok());
    }

    #[test]
    fn store_backoff_doubles_to_its_cap_without_overflow() {
        let share = Share::default();
        let secs = |n| share.backoff(n).as_secs();
        assert_eq!([secs(0), secs(1), secs(2), secs(3)], [1, 1, 2, 4]);
        assert_eq!(secs(7), 60);
        assert_eq!(secs(u32::MAX), 60);
    }
}
