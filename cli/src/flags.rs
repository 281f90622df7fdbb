//! Flag values the library does not parse itself: market dates, markets, PSP secrets for a base URL.

use crate::failure::Failure;

/// A `--from`/`--to` market date flag.
pub(crate) fn date_flag(flag: &str, text: &str) -> Result<chrono::NaiveDate, Failure> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Failure::refusal(format!("--{flag} {text:?}: expected a date as YYYY-MM-DD")))
}

/// A `--market` flag: CO or PE.
pub(crate) fn market_flag(text: Option<&str>) -> Result<Option<voucherdesk::market::Country>, Failure> {
    text.map(|m| {
        voucherdesk::market::Country::parse(m)
            .map_err(|_| Failure::refusal(format!("--market {m:?}: expected CO or PE")))
    })
    .transpose()
}

/// A PSP credential for a base URL given on the command line: from its
/// environment variable, else the sandbox's own value, but only when the URL
/// is this machine (where the sandbox runs). A real PSP never gets the
/// sandbox's keys because a variable was forgotten.
pub(crate) fn url_secret(var: &str, sandbox_value: &str, url: &str) -> Result<String, Failure> {
    if let Ok(value) = std::env::var(var) {
        return Ok(value);
    }
    if is_loopback_url(url) {
        return Ok(sandbox_value.to_string());
    }
    Err(Failure::refusal(format!(
        "{url} is not a sandbox on this machine: set {var} (the sandbox's keys are used only on loopback)"
    )))
}

/// `http(s)://127.x.x.x`, `localhost` or `[::1]`, with any port and path.
pub(crate) fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim().split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod url_secret_tests {
    use super::is_loopback_url;

    #[test]
    fn only_this_machine_is_a_sandbox() {
        for url in [
            "http://127.0.0.1:8717",
            "http://localhost:9/x",
            "http://[::1]:80/",
            "https://127.9.9.9",
            "http://u:p@127.0.0.1:1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.dlocal.com",
            "https://127.0.0.1.attacker.example",
            "http://localhost.example:80",
            "http://10.0.0.1",
            "https://[2001:db8::1]/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
