//! Faults a real PSP shows now and then: 5xx bursts, time-outs, slow answers,
//! rate limiting. Applied to every route of both PSPs (notifications are not
//! affected: they go the other way).
//!
//! Requests are numbered from 1 in arrival order. For each request, in order:
//! rate limit (429), 5xx burst (503), hold (time-out), delay (slow), then the
//! PSP's own answer.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Longest hold or delay a scenario may ask for (a hung PSP, not a dead sandbox).
pub const HOLD_MS_MAX: u64 = 10 * 60 * 1000;
/// A hold longer than any client time-out we use (REQUEST_TIMEOUT_MS is 20 s).
pub const HOLD_MS_DEFAULT: u64 = 30_000;
pub const RETRY_AFTER_S_DEFAULT: u64 = 1;

/// dLocal's codes, used for both PSPs' fault answers.
const TOO_MANY_REQUESTS_CODE: i64 = 6000;
const UNAVAILABLE_CODE: i64 = 7000;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// 5xx burst: the first N requests answer 503.
    #[serde(default)]
    pub fail_first: u64,
    /// Every k-th request answers 503 (0: never).
    #[serde(default)]
    pub fail_every: u64,
    /// Time-outs: the first N requests are held `hold_ms` before being answered.
    #[serde(default)]
    pub hold_first: u64,
    #[serde(default = "hold_default")]
    pub hold_ms: u64,
    /// Slow PSP: every answer waits this long.
    #[serde(default)]
    pub delay_ms: u64,
    /// Rate limit: past this many requests within one second, 429 (0: no limit).
    #[serde(default)]
    pub rate_limit_per_s: u32,
    /// The `Retry-After` of a 429, in seconds.
    #[serde(default = "retry_after_default")]
    pub retry_after_s: u64,
}

fn hold_default() -> u64 {
    HOLD_MS_DEFAULT
}

fn retry_after_default() -> u64 {
    RETRY_AFTER_S_DEFAULT
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            fail_first: 0,
            fail_every: 0,
            hold_first: 0,
            hold_ms: HOLD_MS_DEFAULT,
            delay_ms: 0,
            rate_limit_per_s: 0,
            retry_after_s: RETRY_AFTER_S_DEFAULT,
        }
    }
}

impl Faults {
    pub fn check(&self) -> Result<(), String> {
        if self.hold_ms > HOLD_MS_MAX || self.delay_ms > HOLD_MS_MAX {
            return Err(format!("faults: hold_ms and delay_ms are limited to {HOLD_MS_MAX} ms"));
        }
        Ok(())
    }
}

struct FaultState {
    faults: Faults,
    requests: AtomicU64,
    /// Start of the current one-second window and the requests seen in it.
    window: Mutex<(Instant, u32)>,
}

fn unavailable(status: StatusCode, code: i64, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "code": code, "message": message }))).into_response()
}

async fn inject(State(state): State<Arc<FaultState>>, request: Request, next: Next) -> Response {
    let faults = &state.faults;
    let number = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if faults.rate_limit_per_s > 0 {
        let limited = {
            let mut window = state.window.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if window.0.elapsed() >= Duration::from_secs(1) {
                *window = (Instant::now(), 0);
            }
            window.1 += 1;
            window.1 > faults.rate_limit_per_s
        };
        if limited {
            let mut response =
                unavailable(StatusCode::TOO_MANY_REQUESTS, TOO_MANY_REQUESTS_CODE, "Too many requests to the API.");
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, faults.retry_after_s.into());
            return response;
        }
    }
    if number <= faults.fail_first || (faults.fail_every > 0 && number % faults.fail_every == 0) {
        return unavailable(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE_CODE, "Failed to process the request.");
    }
    if number <= faults.hold_first {
        tokio::time::sleep(Duration::from_millis(faults.hold_ms)).await;
    }
    if faults.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.delay_ms)).await;
    }
    next.run(request).await
}

/// Wraps every route in the faults (none configured: the router as is).
pub fn apply(router: axum::Router, faults: Faults) -> axum::Router {
    if faults == Faults::default() {
        return router;
    }
    let state = Arc::new(FaultState { faults, requests: AtomicU64::new(0), window: Mutex::new((Instant::now(), 0)) });
    router.layer(axum::middleware::from_fn_with_state(state, inject))
}
