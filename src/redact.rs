//! The one redaction every error text from a PSP, the SMTP server or the SMS
//! provider goes through before it is kept (`last_error`, the sync state, a
//! connection test) or written to the append-only audit log, where it could
//! never be scrubbed. A provider that echoes our request back (headers,
//! query, body) must not hand our credentials to whoever reads those.
//!
//! Two passes:
//! - every configured secret value of at least [`SECRET_REDACT_CHARS_MIN`]
//!   characters, as given and percent-encoded, becomes `[redacted]` (shorter
//!   values, such as a four-digit service id, would blank unrelated digits
//!   such as amounts, and are not secrets on their own);
//! - credential-shaped text whatever its value: `Bearer …`/`Basic …`; the
//!   headers `Authorization:`, `X-Login:`, `X-Trans-Key:`, `Cookie:`…; and
//!   `token=`, `api_key=`, `password=`, `secret=` (any name ending so) in a
//!   query or form and as JSON fields (`"token": "…"`). A name followed by a
//!   colon in prose ("token: refused") is not a header and stays.

use std::sync::LazyLock;

pub const REDACTED: &str = "[redacted]";
/// Secret values shorter than this are not searched for (see the module documentation).
pub const SECRET_REDACT_CHARS_MIN: usize = 6;

/// `Bearer abc…`, `Basic abc…`: the scheme stays, the credential goes.
static SCHEME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+").expect("a valid pattern"));

/// A credential header with its value (`Authorization: Bearer …`, `X-Login: …`).
static HEADER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?i)(\b(?:proxy-authorization|authorization|x-login|x-trans-key|x-api-key|api-key|x-auth-token|auth-token|set-cookie|cookie)\s*:\s*)(?:(?:bearer|basic)\s+)?[^\s"'&,;}<>]+"#,
    )
    .expect("a valid pattern")
});

/// The names a secret goes by in a query, a form or JSON.
const SECRET_NAMES: &str =
    r"[a-z0-9_-]*(?:token|password|passwd|secret|api[_-]?key|apikey|trans[_-]?key|authorization|x-login)";

/// `name=value` (query, form) with a secret's name. Prose such as
/// "token: refused" is left alone; only `=` counts here.
static ASSIGNED: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(&format!(r#"(?i)(\b{SECRET_NAMES}\s*=\s*)[^\s"'&,;}}<>]+"#)).expect("a valid pattern")
});

/// `"name": "value"` (JSON) with a secret's name.
static JSON_FIELD: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(&format!(r#"(?i)(["']{SECRET_NAMES}["']\s*:\s*["']?)(?:(?:bearer|basic)\s+)?[^"'&,;}}<>\s]+"#))
        .expect("a valid pattern")
});

/// What a URL query carries for `value` (RFC 3986 unreserved characters kept).
fn percent_encoded(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// `text` with the `secrets` values and every credential-shaped field replaced by `[redacted]`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    let mut values: Vec<String> = Vec::new();
    for secret in secrets.iter().map(|s| s.trim()).filter(|s| s.chars().count() >= SECRET_REDACT_CHARS_MIN) {
        values.push(secret.to_string());
        let encoded = percent_encoded(secret);
        if encoded != secret {
            values.push(encoded);
        }
    }
    // Longest first: a secret that contains another is replaced whole.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for value in &values {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), REDACTED);
        }
    }
    let out = SCHEME.replace_all(&out, format!("${{1}} {REDACTED}"));
    let field = format!("${{1}}{REDACTED}");
    let out = HEADER.replace_all(&out, field.as_str());
    let out = ASSIGNED.replace_all(&out, field.as_str());
    JSON_FIELD.replace_all(&out, field.as_str()).into_owned()
}

/// An email address.
static EMAIL: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").expect("a valid pattern")
});

/// A phone or document number: at least [`CONTACT_DIGITS_MIN`] digits in a row, an optional `+` before.
static LONG_NUMBER: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(&format!(r"\+?\b\d{{{CONTACT_DIGITS_MIN},}}\b")).expect("a valid pattern"));

/// Digits in a row from which a number is taken for a phone or an identity
/// document (a Peruvian mobile has 9, a Colombian one 10; a DNI 8, so
/// shorter runs such as line numbers and most amounts stay).
pub const CONTACT_DIGITS_MIN: usize = 9;

/// `text` with email addresses and phone-shaped numbers replaced by
/// `[redacted]`: for free text that may quote a buyer (a crash report's
/// panic message), on top of [`redact`].
pub fn redact_contacts(text: &str) -> String {
    let out = EMAIL.replace_all(text, REDACTED);
    LONG_NUMBER.replace_all(&out, REDACTED).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_replaced_and_short_numbers_stay() {
        assert_eq!(
            redact_contacts(
                "notify jose.nunez+1@mail.example.co at +573001234567 or 987654321 for SHOP-1001, line 42, 150000 COP"
            ),
            "notify [redacted] at [redacted] or [redacted] for SHOP-1001, line 42, 150000 COP"
        );
    }

    #[test]
    fn configured_values_are_replaced_as_given_and_percent_encoded() {
        assert_eq!(redact("key tok/99+abc in tok%2F99%2Babc", &["tok/99+abc"]), "key [redacted] in [redacted]");
        // Too short to search for: amounts and ids stay readable.
        assert_eq!(redact("order 12345 paid", &["1234", ""]), "order 12345 paid");
        assert_eq!(redact("abcdef-long and abcdef", &["abcdef", "abcdef-long"]), "[redacted] and [redacted]");
    }

    #[test]
    fn credential_shaped_fields_are_replaced_whatever_their_value() {
        for (given, kept) in [
            ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: [redacted]"),
            ("authorization: Basic dXNlcjpwYXNz", "authorization: [redacted]"),
            ("sent Bearer abc123 twice", "sent Bearer [redacted] twice"),
            ("POST /sms?token=s3cr3t&to=%2B57", "POST /sms?token=[redacted]&to=%2B57"),
            ("api_key=k1&x=1", "api_key=[redacted]&x=1"),
            ("password=hunter2 user=ana", "password=[redacted] user=ana"),
            (r#"{"access_token": "tk-1", "to": "+57"}"#, r#"{"access_token": "[redacted]", "to": "+57"}"#),
            (
                "X-Login: lg-1\r\nX-Trans-Key: tk-2\r\nX-Date: d",
                "X-Login: [redacted]\r\nX-Trans-Key: [redacted]\r\nX-Date: d",
            ),
            ("client_secret=abc", "client_secret=[redacted]"),
        ] {
            assert_eq!(redact(given, &[]), kept, "{given:?}");
        }
    }

    #[test]
    fn ordinary_errors_are_left_alone() {
        for text in [
            "SMS provider answered 503 Service Unavailable: {\"error\":\"try later\"}",
            "no SMS token is stored: `notifications set-secret sms-token`",
            "dLocal create refund: refused (HTTP 400, dLocal code 5000): Invalid request",
            "SMTP: connection refused",
            "PagoEfectivo token: refused (HTTP 401), code 112: Credenciales inválidas",
            "the secret: a key that is not there",
        ] {
            assert_eq!(redact(text, &["tok-123456"]), text);
        }
    }
}
