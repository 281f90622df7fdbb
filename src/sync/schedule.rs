//! When to poll a voucher next: pure functions of what we know and the time.
//!
//! A voucher is polled more often as its expiry nears (that is when buyers
//! pay and when the shop needs the answer), watched closely for an hour past
//! expiry (PSPs report expiries late), and rarely once it is old. Failed
//! polls back off exponentially with jitter, so that a PSP outage does not
//! end in every voucher retrying at the same second.

use crate::payments::PaymentStatus;
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use std::time::Duration;

/// Expiry within this: poll every `EXPIRY_NEAR_INTERVAL_SECS`.
pub const EXPIRY_NEAR_SECS: i64 = 3_600;
pub const EXPIRY_NEAR_INTERVAL_SECS: i64 = 120;
/// Expiry within this: poll every `EXPIRY_SOON_INTERVAL_SECS`.
pub const EXPIRY_SOON_SECS: i64 = 24 * 3_600;
pub const EXPIRY_SOON_INTERVAL_SECS: i64 = 900;
/// Past expiry but not reported expired, for this long: poll every
/// `PAST_EXPIRY_INTERVAL_SECS`; after that the age rule applies.
pub const PAST_EXPIRY_WATCH_SECS: i64 = 3_600;
pub const PAST_EXPIRY_INTERVAL_SECS: i64 = 300;
/// Created within this: poll every `RECENT_INTERVAL_SECS`.
pub const RECENT_AGE_SECS: i64 = 7 * 24 * 3_600;
pub const RECENT_INTERVAL_SECS: i64 = 3_600;
/// Anything older: poll every `OLD_INTERVAL_SECS`.
pub const OLD_INTERVAL_SECS: i64 = 6 * 3_600;

/// The first retry after a failed poll; each further failure doubles it.
pub const BACKOFF_FIRST_MS: u64 = 30_000;
/// Retries never wait longer than this (before jitter).
pub const BACKOFF_CAP_MS: u64 = 3_600_000;
/// Jitter: each delay is moved by up to this many thousandths, either way.
pub const JITTER_PERMILLE_MAX: i32 = 200;
/// A PSP's Retry-After is honoured up to this long; a longer one is a PSP bug.
pub const RETRY_AFTER_MAX_MS: u64 = 3_600_000;

/// How long to wait before polling a voucher again; `None` once its status
/// is final (nothing more can happen to it that polling should chase).
pub fn poll_interval(
    status: PaymentStatus,
    created_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<TimeDelta> {
    if status.is_final() {
        return None;
    }
    let secs = match expires_at.map(|e| (e - now).num_seconds()) {
        Some(left) if left > 0 && left <= EXPIRY_NEAR_SECS => EXPIRY_NEAR_INTERVAL_SECS,
        Some(left) if left > 0 && left <= EXPIRY_SOON_SECS => EXPIRY_SOON_INTERVAL_SECS,
        Some(left) if left <= 0 && -left < PAST_EXPIRY_WATCH_SECS => PAST_EXPIRY_INTERVAL_SECS,
        Some(_) | None => match created_at.map(|c| (now - c).num_seconds()) {
            Some(age) if age < RECENT_AGE_SECS => RECENT_INTERVAL_SECS,
            Some(_) => OLD_INTERVAL_SECS,
            // No creation date: a voucher still alive counts as recent.
            None if expires_at.is_some_and(|e| e > now) => RECENT_INTERVAL_SECS,
            None => OLD_INTERVAL_SECS,
        },
    };
    Some(TimeDelta::seconds(secs))
}

/// The next poll of a voucher after a successful one at `now`: `now` plus
/// its interval, but never past a point where polling gets denser (24 h and
/// 1 h before expiry, the expiry itself), so no tighter window is missed.
pub fn next_poll_at(
    status: PaymentStatus,
    created_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut next = now + poll_interval(status, created_at, expires_at, now)?;
    if let Some(expiry) = expires_at {
        let denser_from =
            [expiry - TimeDelta::seconds(EXPIRY_SOON_SECS), expiry - TimeDelta::seconds(EXPIRY_NEAR_SECS), expiry];
        for boundary in denser_from {
            if boundary > now && boundary < next {
                next = boundary;
            }
        }
    }
    debug_assert!(next > now, "a poll is always scheduled in the future");
    Some(next)
}

/// The wait after the `attempts`-th failure in a row (1 = first failure):
/// `BACKOFF_FIRST_MS` doubling up to `BACKOFF_CAP_MS`, then moved by
/// `jitter_permille` thousandths. The cap applies before the jitter so that
/// many vouchers at the cap still spread out.
pub fn backoff_delay(attempts: u32, jitter_permille: i32) -> Duration {
    let jitter = jitter_permille.clamp(-JITTER_PERMILLE_MAX, JITTER_PERMILLE_MAX);
    let doublings = attempts.saturating_sub(1).min(32);
    let base_ms = BACKOFF_FIRST_MS.saturating_mul(1u64 << doublings).min(BACKOFF_CAP_MS);
    let ms = base_ms * (1_000 + jitter as i64) as u64 / 1_000;
    Duration::from_millis(ms)
}

/// The wait after a failure that will not go away by itself (a refused
/// request, an unknown status): straight to the cap, jittered.
pub fn permanent_failure_delay(jitter_permille: i32) -> Duration {
    backoff_delay(u32::MAX, jitter_permille)
}

/// One jitter draw, uniform in ±`JITTER_PERMILLE_MAX`.
pub fn jitter_permille(rng: &mut impl Rng) -> i32 {
    rng.gen_range(-JITTER_PERMILLE_MAX..=JITTER_PERMILLE_MAX)
}

/// Until when a PSP that sent `retry_after` is left alone.
pub fn hold_until(now: DateTime<Utc>, retry_after: Duration) -> DateTime<Utc> {
    let ms = (retry_after.as_millis() as u64).min(RETRY_AFTER_MAX_MS);
    // Rounded up to the second: the hold is stored in whole seconds and must not end early.
    now + TimeDelta::seconds(ms.div_ceil(1_000) as i64)
}

/// `now` plus a wait, rounded up to the whole second (the queue stores seconds).
pub fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + TimeDelta::seconds((wait.as_millis() as u64).div_ceil(1_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    const NOW: &str = "2026-03-20T12:00:00Z";

    fn next(created: Option<&str>, expires: Option<&str>) -> Option<DateTime<Utc>> {
        next_poll_at(PaymentStatus::Pending, created.map(at), expires.map(at), at(NOW))
    }

    #[test]
    fn final_statuses_are_not_polled() {
        for status in PaymentStatus::ALL {
            let interval = poll_interval(status, Some(at(NOW)), Some(at("2026-03-20T12:30:00Z")), at(NOW));
            assert_eq!(interval.is_none(), status.is_final(), "{status:?}");
        }
        assert_eq!(next_poll_at(PaymentStatus::Paid, None, None, at(NOW)), None);
    }

    #[test]
    fn polls_more_often_as_expiry_nears() {
        let created = Some("2026-03-19T12:00:00Z");
        // 30 min left: every 2 min.
        assert_eq!(next(created, Some("2026-03-20T12:30:00Z")), Some(at("2026-03-20T12:02:00Z")));
        // Exactly 1 h left still counts as near.
        assert_eq!(next(created, Some("2026-03-20T13:00:00Z")), Some(at("2026-03-20T12:02:00Z")));
        // 10 h left: every 15 min.
        assert_eq!(next(created, Some("2026-03-20T22:00:00Z")), Some(at("2026-03-20T12:15:00Z")));
        // 3 days left, created yesterday: hourly.
        assert_eq!(next(created, Some("2026-03-23T12:00:00Z")), Some(at("2026-03-20T13:00:00Z")));
    }

    #[test]
    fn never_sleeps_past_the_start_of_a_denser_window() {
        let created = Some("2026-03-19T12:00:00Z");
        // 1 h 05 min left: 15 min would overshoot the 1-hour mark by 10 min.
        assert_eq!(next(created, Some("2026-03-20T13:05:00Z")), Some(at("2026-03-20T12:05:00Z")));
        // 24 h 20 min left: hourly would overshoot the 24-hour mark.
        assert_eq!(next(created, Some("2026-03-21T12:20:00Z")), Some(at("2026-03-20T12:20:00Z")));
        // 1 min left: the next poll is at the expiry itself.
        assert_eq!(next(created, Some("2026-03-20T12:01:00Z")), Some(at("2026-03-20T12:01:00Z")));
    }

    #[test]
    fn past_expiry_is_watched_for_an_hour_then_backs_off() {
        let created = Some("2026-03-18T12:00:00Z");
        // Expired 10 min ago, still pending: every 5 min.
        assert_eq!(next(created, Some("2026-03-20T11:50:00Z")), Some(at("2026-03-20T12:05:00Z")));
        // Expired right now.
        assert_eq!(next(created, Some(NOW)), Some(at("2026-03-20T12:05:00Z")));
        // Expired 1 h ago: back to the age rule (created 2 days ago: hourly).
        assert_eq!(next(created, Some("2026-03-20T11:00:00Z")), Some(at("2026-03-20T13:00:00Z")));
        // Old and long expired: every 6 h.
        assert_eq!(next(Some("2026-03-01T12:00:00Z"), Some("2026-03-04T12:00:00Z")), Some(at("2026-03-20T18:00:00Z")));
    }

    #[test]
    fn age_rule_without_expiry() {
        assert_eq!(next(Some("2026-03-14T12:00:01Z"), None), Some(at("2026-03-20T13:00:00Z")));
        assert_eq!(next(Some("2026-03-13T12:00:00Z"), None), Some(at("2026-03-20T18:00:00Z")));
        assert_eq!(next(None, None), Some(at("2026-03-20T18:00:00Z")));
        assert_eq!(next(None, Some("2026-03-25T12:00:00Z")), Some(at("2026-03-20T13:00:00Z")));
    }

    #[test]
    fn backoff_doubles_from_30_s_to_the_1_h_cap() {
        let secs: Vec<u64> = (1..=9).map(|n| backoff_delay(n, 0).as_secs()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(backoff_delay(u32::MAX, 0), Duration::from_secs(3600));
        assert_eq!(permanent_failure_delay(0), Duration::from_secs(3600));
    }

    #[test]
    fn jitter_moves_the_delay_by_at_most_20_percent() {
        assert_eq!(backoff_delay(1, 200), Duration::from_secs(36));
        assert_eq!(backoff_delay(1, -200), Duration::from_secs(24));
        assert_eq!(backoff_delay(2, 123), Duration::from_millis(67_380));
        assert_eq!(backoff_delay(20, 200), Duration::from_secs(4320));
        // Out-of-range jitter is clamped, never amplified.
        assert_eq!(backoff_delay(1, 5_000), Duration::from_secs(36));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let draws: Vec<i32> = (0..1_000).map(|_| jitter_permille(&mut rng)).collect();
        assert!(draws.iter().all(|j| (-200..=200).contains(j)));
        assert!(draws.iter().any(|j| *j < -150) && draws.iter().any(|j| *j > 150), "spread over the range");
        // Seeded: the same sequence every time.
        let mut again = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        assert_eq!(draws[..5], (0..5).map(|_| jitter_permille(&mut again)).collect::<Vec<_>>()[..]);
    }

    #[test]
    fn retry_after_is_rounded_up_and_capped() {
        assert_eq!(hold_until(at(NOW), Duration::from_millis(1_500)), at("2026-03-20T12:00:02Z"));
        assert_eq!(hold_until(at(NOW), Duration::from_secs(90)), at("2026-03-20T12:01:30Z"));
        assert_eq!(hold_until(at(NOW), Duration::from_secs(86_400)), at("2026-03-20T13:00:00Z"));
        assert_eq!(after(at(NOW), Duration::from_millis(67_380)), at("2026-03-20T12:01:08Z"));
    }
}
