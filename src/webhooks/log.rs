//! `verify-notifications`: audits a log of notifications that the shop's
//! backend captured, one JSON object per line:
//! `{"received_at": "...", "headers": {"X-Date": "...", ...}, "body": "<raw body>"}`
//! (header names in any case).
//!
//! Like the importers, the log is all or nothing: one line that is not such
//! an object refuses the whole file, naming FILE:LINE, before anything is
//! written. Then every notification's signature is checked; a forged or
//! unsigned one is filed (with its file and line) and raises the order's
//! `forged_notification` exception when the ledger has that order; a genuine one whose body cannot be read
//! is filed `malformed`; genuine ones are only counted (auditing applies
//! nothing). A second run over the same log finds every request already
//! filed and changes nothing.

use super::{
    Channel, InboundNotification, NOTIFICATION_BODY_MAX_BYTES, NotificationSecrets, Psp, RequestKeys, Verdict,
    WebhookError, check_signature, claims, file_refused, parse_body,
};
use crate::exceptions::ExceptionKind;
use crate::import::ROW_ERRORS_SHOWN_MAX;
use crate::market::{TimestampFormat, parse_timestamp};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::Path;

/// Largest log file read.
pub const LOG_FILE_BYTES_MAX: u64 = 256 * 1024 * 1024;
/// Notifications one log may hold.
pub const LOG_LINES_MAX: usize = 1_000_000;

/// A notification that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForgedItem {
    pub line: u64,
    /// `forged` or `unsigned`.
    pub verdict: Verdict,
    pub order_id: String,
    pub payment_id: String,
    pub claimed_status: String,
    pub x_date: String,
    pub reason: String,
    /// The order's forged-notification exception (none when the order is not in the ledger).
    pub exception: Option<String>,
}

/// A genuine notification whose body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedItem {
    pub line: u64,
    pub order_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogReport {
    pub file: String,
    pub psp: Psp,
    pub notifications: u64,
    pub verified: u64,
    /// Forged and unsigned.
    pub forged: u64,
    pub malformed: u64,
    /// Notifications filed by an earlier run (nothing changed for them).
    pub already_filed: u64,
    pub forged_items: Vec<ForgedItem>,
    pub malformed_items: Vec<MalformedItem>,
}

impl LogReport {
    pub fn all_verified(&self) -> bool {
        self.forged == 0
    }
}

/// One line of the log, validated.
struct LogEntry {
    line: u64,
    notification: InboundNotification,
}

fn entry(psp: Psp, line: u64, text: &str) -> Result<LogEntry, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let received_text =
        object.get("received_at").ok_or("no \"received_at\"")?.as_str().ok_or("\"received_at\" is not a string")?;
    let received_at: DateTime<Utc> = parse_timestamp(received_text, &TimestampFormat::Iso, chrono_tz::UTC)
        .map_err(|e| format!("\"received_at\": {e}"))?;
    let header_map =
        object.get("headers").ok_or("no \"headers\"")?.as_object().ok_or("\"headers\" is not an object")?;
    let mut headers: Vec<(String, String)> = Vec::with_capacity(header_map.len());
    for (name, value) in header_map {
        let value = value.as_str().ok_or_else(|| format!("header {name:?} is not a string"))?;
        if headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(format!("header {name:?} is given twice (names are case-insensitive)"));
        }
        headers.push((name.clone(), value.to_string()));
    }
    let body = object.get("body").ok_or("no \"body\"")?.as_str().ok_or("\"body\" is not a string")?;
    if body.len() > NOTIFICATION_BODY_MAX_BYTES {
        return Err(format!("body is {} bytes (at most {NOTIFICATION_BODY_MAX_BYTES})", body.len()));
    }
    Ok(LogEntry {
        line,
        notification: InboundNotification { psp, headers, body: body.as_bytes().to_vec(), received_at },
    })
}

/// Reads and validates every line; refuses the whole log on the first bad ones.
fn read_log(path: &Path, psp: Psp) -> Result<Vec<LogEntry>, WebhookError> {
    let file = path.display().to_string();
    let read_error = |reason: String| WebhookError::Read { file: file.clone(), reason };
    let size = std::fs::metadata(path).map_err(|e| read_error(e.to_string()))?.len();
    if size > LOG_FILE_BYTES_MAX {
        return Err(WebhookError::BadLog(format!("{file}: {size} bytes; at most {LOG_FILE_BYTES_MAX} are read")));
    }
    let bytes = std::fs::read(path).map_err(|e| read_error(e.to_string()))?;
    let mut entries = Vec::new();
    let mut issues: Vec<(u64, String)> = Vec::new();
    for (index, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = index as u64 + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let text = match std::str::from_utf8(raw_line) {
            Ok(text) => text.trim_start_matches('\u{feff}'),
            Err(_) => {
                issues.push((line, "not UTF-8".into()));
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if entries.len() >= LOG_LINES_MAX {
            return Err(WebhookError::BadLog(format!("{file}: more than {LOG_LINES_MAX} notifications; split it")));
        }
        match entry(psp, line, text) {
            Ok(e) => entries.push(e),
            Err(reason) => issues.push((line, reason)),
        }
    }
    if !issues.is_empty() {
        let plural = if issues.len() == 1 { "" } else { "s" };
        let mut message = format!("{file}: {} bad line{plural}; nothing was checked", issues.len());
        for (line, reason) in issues.iter().take(ROW_ERRORS_SHOWN_MAX) {
            message.push_str(&format!("\n{file}:{line}: {reason}"));
        }
        return Err(WebhookError::BadLog(message));
    }
    Ok(entries)
}

/// Audits the log at `path` (see the module documentation).
pub fn verify_log(
    store: &mut Store,
    path: &Path,
    psp: Psp,
    secrets: &NotificationSecrets,
) -> Result<LogReport, WebhookError> {
    if !secrets.has(psp) {
        return Err(WebhookError::SecretMissing { psp, reason: "none was configured".into() });
    }
    let entries = read_log(path, psp)?;
    let file = path.display().to_string();
    let mut report = LogReport {
        file: file.clone(),
        psp,
        notifications: entries.len() as u64,
        verified: 0,
        forged: 0,
        malformed: 0,
        already_filed: 0,
        forged_items: Vec::new(),
        malformed_items: Vec::new(),
    };
    for LogEntry { line, notification: n } in &entries {
        let keys = RequestKeys { headers_json: n.kept_headers_json(), fingerprint: n.fingerprint() };
        let channel = Channel::Log { file: &file, line: *line };
        if let Some((verdict, reason)) = check_signature(n, secrets)?.refusal() {
            let receipt = file_refused(store, n, &keys, channel, (verdict, reason.clone()), claims(n.psp, &n.body))?;
            report.forged += 1;
            report.already_filed += u64::from(receipt.repeat);
            let order_id = receipt.claims.order_id.clone();
            let known = super::forged_names_a_known_order(store, &receipt.claims)?;
            report.forged_items.push(ForgedItem {
                line: *line,
                verdict,
                exception: known.then(|| ExceptionKind::ForgedNotification.exception_id(&[&order_id])),
                order_id,
                payment_id: receipt.claims.payment_id,
                claimed_status: receipt.claims.status,
                x_date: n.header("x-date").unwrap_or_default().to_string(),
                reason,
            });
            continue;
        }
        match parse_body(n.psp, &n.body) {
            Ok(_) => report.verified += 1,
            Err((code, why)) => {
                let reason = format!("{code}: {why}");
                let receipt = file_refused(
                    store,
                    n,
                    &keys,
                    channel,
                    (Verdict::Malformed, reason.clone()),
                    claims(n.psp, &n.body),
                )?;
                report.malformed += 1;
                report.already_filed += u64::from(receipt.repeat);
                report.malformed_items.push(MalformedItem { line: *line, order_id: receipt.claims.order_id, reason });
            }
        }
    }
    Ok(report)
}
