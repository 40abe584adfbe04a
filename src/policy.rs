//! When to refresh, when to stop serving a token, and how long to wait after a failure.
//!
//! # Defaults and why
//!
//! | setting | default | scaled for a lifetime `L` | anchors |
//! |---|---|---|---|
//! | refresh margin: a refresh is due at the latest this long before expiry | 15 min | at most `L/2` | the longest back-off (5 min) plus a 10-minute outage of the token endpoint; MSAL 5 min, google-auth 3 min 45 s |
//! | refresh jitter: the refresh moment is moved earlier by a draw in `[0, jitter]` | as far as `L/2` | never before `L/2` | spreads a fleet's refreshes over half of every lifetime (MSAL refreshes at `L/2`) |
//! | expiry margin: the token stops being served this long before expiry | 30 s | at most `L/10` | Go 10 s, Spring 60 s |
//! | minimum request interval | 1 s | — | bounds load whatever the server answers |
//! | missing `expires_in` | assume 15 min | — | never "valid forever", never "fetch on every call" |
//! | longest lifetime believed | 24 h | — | a huge `expires_in` cannot pin a token for years |
//!
//! With SEEK Pass's two-hour tokens a refresh is due at a seeded moment between 60 and 105 minutes
//! after the request, spread evenly, and the token is served until 30 s before expiry. Two
//! reasons for so wide a window. A fleet restarted at once (a deploy) fetches all its tokens in
//! the same second; drawn from half the lifetime, its refreshes spread over the whole cycle within
//! a lifetime or two instead of staying bunched for the rest of the day. And every token has at
//! least 15 minutes left when its refresh falls due (half an hour on average), so a 10-minute
//! outage of the token endpoint leaves no replica without a token, even one that retries only
//! after the longest back-off. The price is about a third more token requests than refreshing at
//! the last moment. `examples/fleet` measures all three.
//!
//! The margins shrink with the lifetime, so a 30-second token is refreshed after 15 s and served
//! for 27 s, never re-fetched on every call; a margin configured larger than the lifetime is cut
//! down the same way and breaks nothing.
//!
//! Failures back off exponentially with "equal jitter" (half the delay fixed, half drawn):
//! transient ones from 1 s doubling to 5 min, permanent ones from 5 min doubling to 1 h. A
//! `Retry-After` is honoured up to 10 min: the wait is the longer of it and the back-off.

use core::time::Duration;

use crate::error::{FailureClass, ResponseProblem};
use crate::rng::Rng;
use crate::token::{ExpiresIn, LifetimeSource};

/// What to do when a token response has no `expires_in` (RFC 6749 §5.1 makes it optional).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissingExpiresIn {
    /// Treat the token as living this long (default: 15 minutes). If it dies sooner, the API's
    /// 401 and [`TokenClient::invalidate`](crate::TokenClient::invalidate) recover.
    Assume(Duration),
    /// Reject the response as a permanent failure.
    Reject,
}

impl Default for MissingExpiresIn {
    fn default() -> MissingExpiresIn {
        MissingExpiresIn::Assume(Duration::from_secs(15 * 60))
    }
}

/// Whether the machine fetches on its own or only when someone asks for a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshMode {
    /// The default. The first token is fetched on first demand; a refresh runs ahead of expiry
    /// only if the current token was asked for since it was requested; failed attempts are
    /// retried only while someone keeps asking. An idle service stops costing the token
    /// endpoint anything within one token lifetime; a busy one always refreshes ahead of time.
    #[default]
    WhileUsed,
    /// Fetch at once and keep a fresh token at all times, asked for or not.
    Always,
}

/// When tokens are refreshed and when they stop being served. See the module docs for the
/// defaults and the reasons for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimingPolicy {
    refresh_margin: Duration,
    refresh_jitter: Duration,
    expiry_margin: Duration,
    min_request_interval: Duration,
    missing_expires_in: MissingExpiresIn,
    max_lifetime: Duration,
}

impl Default for TimingPolicy {
    fn default() -> TimingPolicy {
        TimingPolicy {
            refresh_margin: Duration::from_secs(15 * 60),
            // As much as the lifetime allows: the draw is bounded by half the lifetime.
            refresh_jitter: Duration::from_secs(24 * 60 * 60),
            expiry_margin: Duration::from_secs(30),
            min_request_interval: Duration::from_secs(1),
            missing_expires_in: MissingExpiresIn::default(),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl TimingPolicy {
    /// A refresh becomes due this long before expiry (at most half the lifetime).
    #[must_use]
    pub fn refresh_margin(mut self, margin: Duration) -> TimingPolicy {
        self.refresh_margin = margin;
        self
    }

    /// The refresh moment is moved earlier by a seeded draw in `[0, jitter]`, never to before
    /// half the lifetime. The default allows the whole of that window; zero turns jitter off.
    #[must_use]
    pub fn refresh_jitter(mut self, jitter: Duration) -> TimingPolicy {
        self.refresh_jitter = jitter;
        self
    }

    /// A token stops being served this long before its expiry (at most a tenth of the
    /// lifetime), so a request sent with it does not arrive after it died.
    #[must_use]
    pub fn expiry_margin(mut self, margin: Duration) -> TimingPolicy {
        self.expiry_margin = margin;
        self
    }

    /// Two token requests are never emitted closer together than this, whatever the server
    /// answers (tiny lifetimes, re-issued tokens, a burst of invalidations).
    #[must_use]
    pub fn min_request_interval(mut self, interval: Duration) -> TimingPolicy {
        self.min_request_interval = interval;
        self
    }

    /// What a response without `expires_in` means.
    #[must_use]
    pub fn missing_expires_in(mut self, policy: MissingExpiresIn) -> TimingPolicy {
        self.missing_expires_in = policy;
        self
    }

    /// The longest lifetime believed; a larger `expires_in` is cut to it.
    #[must_use]
    pub fn max_lifetime(mut self, max: Duration) -> TimingPolicy {
        self.max_lifetime = max;
        self
    }

    /// The minimum time between two token requests in force.
    #[must_use]
    pub fn min_interval(&self) -> Duration {
        self.min_request_interval
    }

    pub(crate) fn max_lifetime_believed(&self) -> Duration {
        self.max_lifetime
    }

    /// The lifetime to believe for a response's `expires_in`.
    pub(crate) fn lifetime(
        &self,
        expires_in: ExpiresIn,
    ) -> Result<(Duration, LifetimeSource), ResponseProblem> {
        let (lifetime, source) = match expires_in {
            ExpiresIn::Seconds(d) => (d, LifetimeSource::ExpiresIn),
            ExpiresIn::Missing => match self.missing_expires_in {
                MissingExpiresIn::Assume(d) => (d, LifetimeSource::Assumed),
                MissingExpiresIn::Reject => return Err(ResponseProblem::MissingExpiresIn),
            },
        };
        if lifetime > self.max_lifetime {
            Ok((self.max_lifetime, LifetimeSource::Capped))
        } else {
            Ok((lifetime, source))
        }
    }

    /// When, counted from the request's emission, a token of `lifetime` is due for refresh and
    /// until when it is served.
    pub(crate) fn schedule(&self, lifetime: Duration, rng: &mut Rng) -> Schedule {
        self.schedule_within(lifetime, self.refresh_margin, self.refresh_jitter, rng)
    }

    /// [`TimingPolicy::schedule`] with another refresh margin and jitter (a shared token's).
    pub(crate) fn schedule_within(
        &self,
        lifetime: Duration,
        refresh_margin: Duration,
        refresh_jitter: Duration,
        rng: &mut Rng,
    ) -> Schedule {
        let fraction = |n: u32| lifetime.checked_div(n).unwrap_or_default();
        let expiry_margin = self.expiry_margin.min(fraction(10));
        let refresh_margin = refresh_margin.min(fraction(2)).max(expiry_margin);
        let latest = lifetime.saturating_sub(refresh_margin);
        let room = latest.saturating_sub(fraction(2));
        let jitter = rng.duration_up_to(refresh_jitter.min(room));
        Schedule {
            refresh_after: latest.saturating_sub(jitter),
            serve_for: lifetime.saturating_sub(expiry_margin),
        }
    }
}

/// Offsets from a token request's emission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Schedule {
    pub(crate) refresh_after: Duration,
    pub(crate) serve_for: Duration,
}

/// How long to wait after failed attempts. See the module docs for the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    transient_base: Duration,
    transient_cap: Duration,
    permanent_base: Duration,
    permanent_cap: Duration,
    max_retry_after: Duration,
    refused_base: Duration,
    refused_cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            transient_base: Duration::from_secs(1),
            transient_cap: Duration::from_secs(5 * 60),
            permanent_base: Duration::from_secs(5 * 60),
            permanent_cap: Duration::from_secs(60 * 60),
            max_retry_after: Duration::from_secs(10 * 60),
            refused_base: Duration::from_secs(1),
            refused_cap: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryPolicy {
    /// First and largest back-off after transient failures.
    #[must_use]
    pub fn transient(mut self, base: Duration, cap: Duration) -> RetryPolicy {
        self.transient_base = base;
        self.transient_cap = cap;
        self
    }

    /// First and largest back-off after permanent failures.
    #[must_use]
    pub fn permanent(mut self, base: Duration, cap: Duration) -> RetryPolicy {
        self.permanent_base = base;
        self.permanent_cap = cap;
        self
    }

    /// First and largest hold on the API's refusals of tokens that keep being refused soon after
    /// issue (see [`TokenClient::invalidate`](crate::TokenClient::invalidate)): the hold after
    /// the `n`-th such token in a row is `base · 2ⁿ⁻¹`, at most `cap`. Defaults: 1 s and 5 min.
    #[must_use]
    pub fn refused_tokens(mut self, base: Duration, cap: Duration) -> RetryPolicy {
        self.refused_base = base;
        self.refused_cap = cap;
        self
    }

    /// The hold after the `streak`-th token in a row refused soon after issue (1 for the first).
    pub(crate) fn refusal_hold(&self, streak: u32) -> Duration {
        doubled(self.refused_base, self.refused_cap, streak)
    }

    /// The longest `Retry-After` honoured.
    #[must_use]
    pub fn max_retry_after(mut self, max: Duration) -> RetryPolicy {
        self.max_retry_after = max;
        self
    }

    /// The wait after the `failures`-th consecutive failure (1 for the first).
    pub(crate) fn delay(
        &self,
        class: FailureClass,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut Rng,
    ) -> Duration {
        let (base, cap) = match class {
            FailureClass::Transient => (self.transient_base, self.transient_cap),
            FailureClass::Permanent => (self.permanent_base, self.permanent_cap),
        };
        let full = doubled(base, cap, failures);
        let half = full.checked_div(2).unwrap_or_default();
        let backoff = half.saturating_add(rng.duration_up_to(full.saturating_sub(half)));
        match retry_after {
            Some(wait) => backoff.max(wait.min(self.max_retry_after)),
            None => backoff,
        }
    }
}

/// `base · 2ⁿ⁻¹` for the `n`-th event in a row (`base` for the first, and for 0), at most `cap`;
/// saturating.
fn doubled(base: Duration, cap: Duration, n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(31);
    base.checked_mul(1u32 << doublings)
        .unwrap_or(Duration::MAX)
        .min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn schedule(policy: &TimingPolicy, lifetime: Duration, seed: u64) -> Schedule {
        policy.schedule(lifetime, &mut Rng::new(seed))
    }

    #[test]
    fn two_hour_token_refreshes_between_half_its_life_and_fifteen_minutes_before_expiry() {
        let p = TimingPolicy::default();
        let l = Duration::from_secs(7200);
        let draws: Vec<Duration> = (0..400)
            .map(|seed| schedule(&p, l, seed).refresh_after)
            .collect();
        for (seed, d) in draws.iter().enumerate() {
            assert!(*d >= 60 * MIN, "seed {seed}: {d:?}");
            assert!(*d <= l - 15 * MIN, "seed {seed}: {d:?}");
            assert_eq!(
                schedule(&p, l, seed as u64).serve_for,
                l - Duration::from_secs(30)
            );
        }
        // Spread over the whole window: every fifth of it is drawn, none much more than others.
        let mut fifths = [0u32; 5];
        for d in &draws {
            let i = ((d.as_secs_f64() - 3600.0) / 2700.0 * 5.0) as usize;
            fifths[i.min(4)] += 1;
        }
        assert!(
            fifths.iter().all(|&n| (50..=110).contains(&n)),
            "{fifths:?}"
        );
    }

    #[test]
    fn thirty_second_token_is_not_refetched_on_every_call() {
        let p = TimingPolicy::default();
        let l = Duration::from_secs(30);
        for seed in 0..200 {
            let s = schedule(&p, l, seed);
            // Half the lifetime is both the margin and the earliest moment: no room to jitter.
            assert_eq!(s.refresh_after, Duration::from_secs(15), "{s:?}");
            assert_eq!(s.serve_for, Duration::from_secs(27));
        }
    }

    #[test]
    fn margins_larger_than_the_lifetime_are_scaled_down() {
        let p = TimingPolicy::default()
            .refresh_margin(Duration::from_secs(86_400))
            .expiry_margin(Duration::from_secs(86_400))
            .refresh_jitter(Duration::from_secs(86_400));
        let l = Duration::from_secs(100);
        for seed in 0..50 {
            let s = schedule(&p, l, seed);
            assert_eq!(s.serve_for, Duration::from_secs(90));
            assert_eq!(s.refresh_after, Duration::from_secs(50), "{s:?}");
        }
    }

    #[test]
    fn refresh_is_never_due_after_serving_stops() {
        let p = TimingPolicy::default()
            .refresh_margin(Duration::ZERO)
            .refresh_jitter(Duration::ZERO);
        let s = schedule(&p, Duration::from_secs(7200), 1);
        assert_eq!(s.refresh_after, s.serve_for);
    }

    #[test]
    fn jitter_is_deterministic_per_seed_and_spreads_across_seeds() {
        let p = TimingPolicy::default();
        let l = Duration::from_secs(7200);
        assert_eq!(schedule(&p, l, 9), schedule(&p, l, 9));
        let distinct: std::collections::BTreeSet<_> = (0..100)
            .map(|seed| schedule(&p, l, seed).refresh_after)
            .collect();
        assert!(distinct.len() > 90, "{}", distinct.len());
        let narrow = p.clone().refresh_jitter(5 * MIN);
        for seed in 0..100 {
            let d = schedule(&narrow, l, seed).refresh_after;
            assert!(d >= l - 20 * MIN && d <= l - 15 * MIN, "{d:?}");
        }
        let off = p.clone().refresh_jitter(Duration::ZERO);
        assert_eq!(
            schedule(&off, l, 1).refresh_after,
            schedule(&off, l, 2).refresh_after
        );
    }

    #[test]
    fn lifetime_resolution() {
        let p = TimingPolicy::default();
        let secs = Duration::from_secs;
        assert_eq!(
            p.lifetime(ExpiresIn::Seconds(secs(7200))),
            Ok((secs(7200), LifetimeSource::ExpiresIn))
        );
        assert_eq!(
            p.lifetime(ExpiresIn::Missing),
            Ok((secs(900), LifetimeSource::Assumed))
        );
        assert_eq!(
            p.lifetime(ExpiresIn::Seconds(Duration::MAX)),
            Ok((secs(86_400), LifetimeSource::Capped))
        );
        let strict = p.clone().missing_expires_in(MissingExpiresIn::Reject);
        assert_eq!(
            strict.lifetime(ExpiresIn::Missing),
            Err(ResponseProblem::MissingExpiresIn)
        );
        let short_cap = p.max_lifetime(secs(60));
        assert_eq!(
            short_cap.lifetime(ExpiresIn::Missing),
            Ok((secs(60), LifetimeSource::Capped))
        );
    }

    #[test]
    fn transient_backoff_doubles_with_equal_jitter_up_to_the_cap() {
        let r = RetryPolicy::default();
        let mut rng = Rng::new(3);
        for (n, full) in [(1u32, 1u64), (2, 2), (3, 4), (9, 256), (10, 300), (50, 300)] {
            for _ in 0..20 {
                let d = r.delay(FailureClass::Transient, n, None, &mut rng);
                let full = Duration::from_secs(full);
                assert!(d >= full / 2 && d <= full, "n={n}: {d:?}");
            }
        }
        let huge = r.delay(FailureClass::Transient, u32::MAX, None, &mut rng);
        assert!(huge <= Duration::from_secs(300));
    }

    #[test]
    fn every_setter_changes_what_it_names() {
        let l = Duration::from_secs(7200);
        let t = TimingPolicy::default().expiry_margin(Duration::from_secs(90));
        assert_eq!(schedule(&t, l, 1).serve_for, l - Duration::from_secs(90));
        let t = TimingPolicy::default().min_request_interval(Duration::from_secs(7));
        assert_eq!(t.min_interval(), Duration::from_secs(7));
        assert_eq!(
            TimingPolicy::default().min_interval(),
            Duration::from_secs(1)
        );

        let mut rng = Rng::new(5);
        let r = RetryPolicy::default()
            .transient(Duration::from_secs(40), Duration::from_secs(40))
            .permanent(Duration::from_secs(4000), Duration::from_secs(4000))
            .max_retry_after(Duration::from_secs(1000));
        let d = r.delay(FailureClass::Transient, 1, None, &mut rng);
        assert!(
            d >= Duration::from_secs(20) && d <= Duration::from_secs(40),
            "{d:?}"
        );
        let d = r.delay(FailureClass::Permanent, 1, None, &mut rng);
        assert!(
            d >= Duration::from_secs(2000) && d <= Duration::from_secs(4000),
            "{d:?}"
        );
        let wait = Some(Duration::from_secs(900));
        let d = r.delay(FailureClass::Transient, 1, wait, &mut rng);
        assert_eq!(
            d,
            Duration::from_secs(900),
            "honoured: under the raised cap"
        );
        let d = RetryPolicy::default().delay(FailureClass::Transient, 1, wait, &mut rng);
        assert_eq!(d, Duration::from_secs(600), "the default cap is 10 min");
    }

    #[test]
    fn a_lifetime_exactly_at_the_maximum_is_believed() {
        let p = TimingPolicy::default();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            p.lifetime(ExpiresIn::Seconds(day)),
            Ok((day, LifetimeSource::ExpiresIn))
        );
        assert_eq!(
            p.lifetime(ExpiresIn::Seconds(day + Duration::from_millis(1))),
            Ok((day, LifetimeSource::Capped))
        );
    }

    #[test]
    fn permanent_backoff_is_long() {
        let r = RetryPolicy::default();
        let mut rng = Rng::new(3);
        let first = r.delay(FailureClass::Permanent, 1, None, &mut rng);
        assert!(first >= Duration::from_secs(150) && first <= 5 * MIN);
        let late = r.delay(FailureClass::Permanent, 40, None, &mut rng);
        assert!(late >= 30 * MIN && late <= 60 * MIN);
    }

    #[test]
    fn retry_after_is_honoured_up_to_its_cap() {
        let r = RetryPolicy::default();
        let mut rng = Rng::new(3);
        let d = r.delay(
            FailureClass::Transient,
            1,
            Some(Duration::from_secs(120)),
            &mut rng,
        );
        assert_eq!(d, Duration::from_secs(120));
        let d = r.delay(
            FailureClass::Transient,
            1,
            Some(Duration::from_secs(86_400)),
            &mut rng,
        );
        assert_eq!(d, 10 * MIN);
        // A Retry-After shorter than the back-off does not shorten it.
        let d = r.delay(FailureClass::Permanent, 1, Some(Duration::ZERO), &mut rng);
        assert!(d >= Duration::from_secs(150));
    }
}
