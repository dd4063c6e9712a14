// SPDX-License-Identifier: BUSL-1.1
//! `MEZ_RATE_LIMIT`: requests per second per principal, with a burst.
//!
//! Each actor (`bootstrap`, `key:<id>`, `jwt:<sub>`) has its own budget (the `governor`
//! crate's keyed GCRA limiter), so one busy key never slows another. A request over its
//! actor's budget is answered 429 with `Retry-After` (whole seconds, at least 1) and the zone's
//! JSON error shape, before anything else is done for it. Health probes and the public
//! documents are not behind authentication, so they are never limited.
//!
//! The budgets are kept in this process's memory: with several replicas behind a load
//! balancer, each replica allows the configured rate. That is a limit on load, not a record
//! of anything, so it need not be shared through the database.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::response::IntoResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// A configured limit: `per_second` requests each second, up to `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// Reads `N`, `N/s` or either followed by `,burst=B` (the burst defaults to `N`).
    pub fn parse(value: &str) -> Result<RateLimit, String> {
        let problem = || {
            "is not a rate (expected N or N/s, optionally followed by ,burst=B; N and B \
             positive whole numbers, for example 10/s,burst=20)"
                .to_string()
        };
        let number = |text: &str| text.trim().parse::<NonZeroU32>().map_err(|_| problem());
        let (rate, burst) = match value.split_once(',') {
            Some((rate, burst)) => {
                let burst = burst.trim().strip_prefix("burst=").ok_or_else(problem)?;
                (rate, Some(number(burst)?))
            }
            None => (value, None),
        };
        let rate = rate.trim();
        let per_second = number(rate.strip_suffix("/s").unwrap_or(rate))?;
        Ok(RateLimit {
            per_second,
            burst: burst.unwrap_or(per_second),
        })
    }
}

/// The limiter of one zone process.
pub struct Limiter {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

/// A request over its budget: how long until it would be allowed.
#[derive(Debug)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Limiter {
        let quota = Quota::per_second(limit.per_second).allow_burst(limit.burst);
        Limiter {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from `actor`'s budget, or says how long to wait.
    pub fn check(&self, actor: &str) -> Result<(), Refused> {
        match self.limiter.check_key(&actor.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => Err(Refused {
                retry_after: not_until.wait_time_from(self.clock.now()),
            }),
        }
    }

    /// Forgets the actors whose budgets are full again, so the limiter's memory follows the
    /// callers of the last moments rather than every caller ever seen.
    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
    }
}

impl Refused {
    /// `Retry-After` in whole seconds, rounded up, at least 1 (the header has no fractions).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0);
        secs.max(1)
    }

    pub fn into_response(self) -> axum::response::Response {
        ApiError::TooManyRequests {
            retry_after_secs: self.retry_after_secs(),
        }
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: NonZeroU32::new(per_second).expect("positive"),
            burst: NonZeroU32::new(burst).expect("positive"),
        }
    }

    #[test]
    fn the_rate_formats_are_read() {
        assert_eq!(RateLimit::parse("10"), Ok(limit(10, 10)));
        assert_eq!(RateLimit::parse("10/s"), Ok(limit(10, 10)));
        assert_eq!(RateLimit::parse("10/s,burst=20"), Ok(limit(10, 20)));
        assert_eq!(RateLimit::parse(" 5 , burst=1"), Ok(limit(5, 1)));
        for bad in [
            "",
            "0",
            "-1",
            "ten",
            "10/m",
            "10,20",
            "10,burst=0",
            "10/s,burst=",
            "1.5",
        ] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_actor_has_its_own_budget() {
        let limiter = Limiter::new(limit(1, 2));
        assert!(limiter.check("key:a").is_ok());
        assert!(limiter.check("key:a").is_ok());
        let refused = limiter.check("key:a").expect_err("over the burst");
        assert!(refused.retry_after <= Duration::from_secs(1));
        assert_eq!(refused.retry_after_secs(), 1);
        assert!(limiter.check("key:b").is_ok());
        limiter.forget_idle();
    }

    #[test]
    fn retry_after_rounds_up() {
        let refused = |ms| Refused {
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(refused(0).retry_after_secs(), 1);
        assert_eq!(refused(1).retry_after_secs(), 1);
        assert_eq!(refused(1000).retry_after_secs(), 1);
        assert_eq!(refused(1001).retry_after_secs(), 2);
    }
}
