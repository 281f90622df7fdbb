//! The one HTTP client set-up every PSP connector (and the sandbox's notifier) uses.

use std::time::Duration;

/// A connect that takes longer than this is a dead PSP, not a slow one.
pub const CONNECT_TIMEOUT_MS: u64 = 5_000;
/// Whole-request limit unless a caller asks for less.
pub const REQUEST_TIMEOUT_MS: u64 = 20_000;
/// PSP answers are small JSON documents; anything bigger is refused.
pub const RESPONSE_BODY_MAX_BYTES: usize = 1024 * 1024;

/// A reqwest client with our time-outs, TLS from rustls on `ring` (one crypto
/// provider, chosen once per process), and no proxy surprises in tests.
pub fn client(request_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    // Installing twice is an error we do not care about: someone already chose `ring`.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(CONNECT_TIMEOUT_MS))
        .timeout(request_timeout)
        .user_agent(concat!("VoucherDesk/", env!("CARGO_PKG_VERSION")))
        .build()
}
