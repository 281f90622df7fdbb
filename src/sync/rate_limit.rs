//! A token bucket per PSP. Pure: the caller passes the clock, so tests drive
//! it with made-up instants.

use std::time::{Duration, Instant};

/// Tokens are counted in billionths, so that refilling at any whole rate per
/// second is exact integer arithmetic on nanoseconds.
const TOKEN_NANOS: u128 = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_second: u32,
    capacity_nanos: u128,
    tokens_nanos: u128,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `rate_per_second` (both at
    /// least 1: a bucket that never lets anything through is a configuration
    /// mistake, not a limit).
    pub fn new(rate_per_second: u32, burst: u32, now: Instant) -> TokenBucket {
        let capacity_nanos = u128::from(burst.max(1)) * TOKEN_NANOS;
        TokenBucket {
            rate_per_second: rate_per_second.max(1),
            capacity_nanos,
            tokens_nanos: capacity_nanos,
            refilled_at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        // An instant before the last refill (clocks passed out of order) adds nothing.
        let elapsed = now.saturating_duration_since(self.refilled_at);
        let added = elapsed.as_nanos().saturating_mul(u128::from(self.rate_per_second));
        self.tokens_nanos = self.tokens_nanos.saturating_add(added).min(self.capacity_nanos);
        self.refilled_at = self.refilled_at.max(now);
    }

    /// Takes a token at `now`, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens_nanos >= TOKEN_NANOS {
            self.tokens_nanos -= TOKEN_NANOS;
            return Ok(());
        }
        let missing = TOKEN_NANOS - self.tokens_nanos;
        let wait_nanos = missing.div_ceil(u128::from(self.rate_per_second));
        Err(Duration::from_nanos(wait_nanos.min(u128::from(u64::MAX)) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_burst_of_one_spaces_requests_evenly() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(5, 1, t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        assert_eq!(bucket.try_take(t0), Err(ms(200)));
        assert_eq!(bucket.try_take(t0 + ms(150)), Err(ms(50)));
        assert_eq!(bucket.try_take(t0 + ms(200)), Ok(()));
        // Late by 30 ms: the next slot counts from the late take, never earlier.
        assert_eq!(bucket.try_take(t0 + ms(430)), Ok(()));
        assert_eq!(bucket.try_take(t0 + ms(600)), Err(ms(30)));
        assert_eq!(bucket.try_take(t0 + ms(630)), Ok(()));
    }

    #[test]
    fn an_idle_bucket_fills_up_to_its_burst_only() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, t0);
        let later = t0 + Duration::from_secs(3_600);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(later), Ok(()));
        }
        assert_eq!(bucket.try_take(later), Err(ms(100)));
    }

    #[test]
    fn never_more_than_the_rate_in_any_second() {
        // Callers hammering every millisecond for 5 s.
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(7, 1, t0);
        let taken: Vec<u64> = (0..5_000).filter(|i| bucket.try_take(t0 + ms(*i)).is_ok()).collect();
        // Asked every millisecond, a token is taken on the first whole millisecond after it is there.
        assert_eq!(taken.len(), 35, "one at 0 then one every 143 ms: {taken:?}");
        for (i, start) in taken.iter().enumerate() {
            let in_window = taken[i..].iter().take_while(|t| **t < start + 1_000).count();
            assert!(in_window <= 7, "{in_window} takes in the second from {start} ms");
        }
    }

    #[test]
    fn a_zero_rate_is_treated_as_one() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0, 0, t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        assert_eq!(bucket.try_take(t0), Err(Duration::from_secs(1)));
        assert_eq!(bucket.try_take(t0 - ms(5)), Err(Duration::from_secs(1)), "an earlier instant adds nothing");
    }
}
