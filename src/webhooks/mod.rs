//! Webhooks: inbound PSP notifications (not to be confused with the buyer
//! notifications we send): dLocal's signed payment notifications and
//! PagoEfectivo's signed callbacks. Each received request is checked
//! (signature in constant time, freshness, shape), filed with its verdict in
//! `psp_notifications`, and — when genuine — applied through
//! [`crate::observations`]. A forged or unsigned one that names an order the
//! ledger has raises a `forged_notification` exception: forged "paid"
//! callbacks are how orders get marked paid without money.
//!
//! Decisions:
//! - Signature first, freshness second: a forged old request is forged (and
//!   raises the exception); a genuine old one is a replay (`stale`).
//! - PagoEfectivo signs the body only and sends no date, so its callbacks
//!   have no freshness check; replays are harmless because applying is
//!   idempotent and a status never moves back.
//! - A genuine notification for a payment we cannot create (too terse) and
//!   do not know is filed `unmatched` and answered 200: retrying would not
//!   help, and the stored body can be replayed once the payment is imported.
//! - The same request (same PSP, kept headers and body) filed twice is a
//!   repeat: nothing changes and the first verdict stands.

pub mod log;
pub mod server;

pub use crate::model::observation::NotificationClaims;
use crate::observations::{self, ObservationError, ObservationOutcome, Observed};
pub use crate::psp::{DlocalSecret, NotificationSecrets, Psp, Secret, SignatureCheck};
use crate::psp::{Headers, webhook_reader};
use crate::store::{ForgedFinding, NotificationEffect, NotificationRecord, Store, StoreError, StoredNotification};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Largest notification body accepted (a payment object is a few KiB).
pub const NOTIFICATION_BODY_MAX_BYTES: usize = 64 * 1024;
/// A dLocal notification whose X-Date is older than this is refused as stale.
pub const STALE_AFTER_S_DEFAULT: i64 = 300;
pub const STALE_AFTER_S_MAX: i64 = 86_400;

/// What became of a notification (`psp_notifications.verdict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Applied,
    Duplicate,
    Forged,
    Unsigned,
    Stale,
    Malformed,
    Unmatched,
}

impl Verdict {
    pub const ALL: [Verdict; 7] = [
        Verdict::Applied,
        Verdict::Duplicate,
        Verdict::Forged,
        Verdict::Unsigned,
        Verdict::Stale,
        Verdict::Malformed,
        Verdict::Unmatched,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applied => "applied",
            Verdict::Duplicate => "duplicate",
            Verdict::Forged => "forged",
            Verdict::Unsigned => "unsigned",
            Verdict::Stale => "stale",
            Verdict::Malformed => "malformed",
            Verdict::Unmatched => "unmatched",
        }
    }

    pub fn parse(text: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.as_str() == text)
    }

    /// The answer the PSP gets. 2xx only once the observation is committed,
    /// so a PSP whose request we lost (crash, error) sends it again.
    pub fn http_status(self) -> u16 {
        match self {
            Verdict::Applied | Verdict::Duplicate | Verdict::Unmatched => 200,
            Verdict::Forged | Verdict::Unsigned | Verdict::Stale => 401,
            Verdict::Malformed => 400,
        }
    }

    fn of_outcome(outcome: ObservationOutcome) -> &'static str {
        match outcome {
            ObservationOutcome::New | ObservationOutcome::Advanced | ObservationOutcome::HistoryOnly => {
                Verdict::Applied.as_str()
            }
            ObservationOutcome::Duplicate => Verdict::Duplicate.as_str(),
            ObservationOutcome::UnknownPayment => Verdict::Unmatched.as_str(),
        }
    }
}

/// Constructors for the listener's keys: from the environment for scripted
/// runs, from the keyring for a configured account.
impl NotificationSecrets {
    /// Adds `psp`'s secret, read from the environment variable `var` (its
    /// name, never its value, appears in errors).
    pub fn with_env(mut self, psp: Psp, var: &str, login: Option<&str>) -> Result<Self, WebhookError> {
        let value = std::env::var(var).map_err(|_| WebhookError::SecretMissing {
            psp,
            reason: format!("environment variable {var} is not set"),
        })?;
        if value.trim().is_empty() {
            return Err(WebhookError::SecretMissing { psp, reason: format!("environment variable {var} is empty") });
        }
        self.set(psp, Secret::new(value), login);
        Ok(self)
    }

    /// Adds the notification secret of a configured PSP account (read from
    /// the OS keyring by `credentials::account_in_use`): dLocal's secret key
    /// and its login, PagoEfectivo's secret key. Refuses a second secret for
    /// the same PSP.
    pub fn with_account(mut self, in_use: &crate::credentials::AccountInUse) -> Result<Self, WebhookError> {
        use crate::credentials::AccountSecrets;
        let psp = match in_use.secrets {
            AccountSecrets::Dlocal(_) => Psp::Dlocal,
            AccountSecrets::PagoEfectivo(_) => Psp::PagoEfectivo,
        };
        if self.has(psp) {
            return Err(WebhookError::BadSetting(format!(
                "two {} secrets given (account {:?} is the second): one account per PSP",
                psp.label(),
                in_use.account.name
            )));
        }
        match &in_use.secrets {
            AccountSecrets::Dlocal(s) => self.set(psp, Secret::new(s.secret.clone()), Some(&s.login)),
            AccountSecrets::PagoEfectivo(s) => self.set(psp, Secret::new(s.secret.clone()), None),
        }
        Ok(self)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("no {psp} notification secret: {reason}")]
    SecretMissing { psp: Psp, reason: String },
    #[error("{0}")]
    BadLog(String),
    #[error("{file}: cannot read: {reason}")]
    Read { file: String, reason: String },
    #[error("{0}")]
    BadSetting(String),
    #[error(transparent)]
    Observation(#[from] ObservationError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::SecretMissing { .. } => "notifications.secret_missing",
            WebhookError::BadLog(_) => "notifications.bad_log",
            WebhookError::Read { .. } => "notifications.read",
            WebhookError::BadSetting(_) => "errors.validation",
            WebhookError::Observation(e) => e.code(),
            WebhookError::Store(e) => e.code(),
        }
    }

    /// Errors caused by the input or the command line, as opposed to the machine.
    pub fn is_refusal(&self) -> bool {
        match self {
            WebhookError::SecretMissing { .. }
            | WebhookError::BadLog(_)
            | WebhookError::BadSetting(_)
            | WebhookError::Observation(ObservationError::MissingKey | ObservationError::RawTooLarge(_)) => true,
            WebhookError::Read { .. }
            | WebhookError::Observation(ObservationError::Store(_))
            | WebhookError::Store(_) => false,
        }
    }
}

/// The former name, kept for the faces (the CLI) until they name [`WebhookError`].
pub use WebhookError as NotificationError;

/// One notification as received: header names in any case.
#[derive(Debug, Clone)]
pub struct InboundNotification {
    pub psp: Psp,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub received_at: DateTime<Utc>,
}

impl InboundNotification {
    /// The header's value, whatever the case of its name; empty counts as absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        Headers(&self.headers).get(name)
    }

    /// The kept headers as a JSON object with lower-case names.
    pub fn kept_headers_json(&self) -> String {
        let kept: serde_json::Map<String, serde_json::Value> = self
            .psp
            .kept_headers()
            .iter()
            .filter_map(|name| self.header(name).map(|v| (name.to_string(), serde_json::Value::from(v))))
            .collect();
        serde_json::Value::Object(kept).to_string()
    }

    /// Identifies the request: the same PSP, kept headers and body.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.psp.as_str().as_bytes(), self.kept_headers_json().as_bytes(), &self.body] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        hex::encode(h.finalize())
    }
}

/// Checks a notification's signature in constant time with the PSP's secret.
pub fn check_signature(n: &InboundNotification, secrets: &NotificationSecrets) -> Result<SignatureCheck, WebhookError> {
    webhook_reader(n.psp)
        .check_signature(Headers(&n.headers), &n.body, secrets)
        .ok_or_else(|| WebhookError::SecretMissing { psp: n.psp, reason: "none was configured".into() })
}

/// Refuses a notification whose signed date is stale (older than
/// `stale_after_s`) or too far in the future; a PSP that sends no signed date
/// is always fresh.
pub fn check_fresh(n: &InboundNotification, now: DateTime<Utc>, stale_after_s: i64) -> Result<(), String> {
    webhook_reader(n.psp).check_fresh(Headers(&n.headers), now, stale_after_s)
}

/// Reads a body into an observation; the error is a message naming what is wrong.
pub fn parse_body(psp: Psp, body: &[u8]) -> Result<(Observed, NotificationClaims), (&'static str, String)> {
    webhook_reader(psp).parse(body)
}

/// What a body claims, read leniently (empty when it cannot be read at all).
pub fn claims(psp: Psp, body: &[u8]) -> NotificationClaims {
    webhook_reader(psp).claims(body).unwrap_or_default()
}

/// The exception finding for a forged (or unsigned) notification, if it names an order.
pub fn forged_finding(psp: Psp, claims: &NotificationClaims, reason: &str) -> Option<ForgedFinding> {
    if claims.order_id.is_empty() {
        return None;
    }
    let status = if claims.status.is_empty() { "?" } else { claims.status.as_str() };
    Some(ForgedFinding {
        order_id: claims.order_id.clone(),
        psp: psp.as_str().to_string(),
        payment_id: claims.payment_id.clone(),
        claimed_status: claims.status.clone(),
        amount_minor: claims.amount_minor,
        currency: claims.currency.map(|c| c.code().to_string()).unwrap_or_default(),
        country: claims.country.map(|c| c.code().to_string()).unwrap_or_default(),
        detail: format!(
            "a {} notification claims {status} for order {} (payment {:?}), but {reason}: do not act on it",
            psp.label(),
            claims.order_id,
            claims.payment_id
        ),
    })
}

/// Where a filed notification came from.
#[derive(Debug, Clone, Copy)]
pub enum Channel<'a> {
    Listen,
    Log { file: &'a str, line: u64 },
}

/// The decision on one notification, as filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub verdict: Verdict,
    pub detail: String,
    pub claims: NotificationClaims,
    /// The observation's outcome, when one was applied.
    pub outcome: Option<ObservationOutcome>,
    /// The forged-notification exception opened or added to.
    pub exception: Option<String>,
    /// The same request was filed before; nothing changed.
    pub repeat: bool,
}

impl Receipt {
    pub fn http_status(&self) -> u16 {
        self.verdict.http_status()
    }
}

/// The row filed for a notification.
fn record<'a>(
    n: &'a InboundNotification,
    keys: &'a RequestKeys,
    channel: Channel<'a>,
    verdict: Verdict,
    detail: &'a str,
    claims: &'a NotificationClaims,
) -> NotificationRecord<'a> {
    let (channel, source_file, source_line) = match channel {
        Channel::Listen => ("listen", None, None),
        Channel::Log { file, line } => ("log", Some(file), Some(line)),
    };
    NotificationRecord {
        psp: n.psp.as_str(),
        channel,
        fingerprint: &keys.fingerprint,
        received_at: n.received_at,
        headers_json: &keys.headers_json,
        body: &n.body,
        verdict: verdict.as_str(),
        detail,
        payment_id: &claims.payment_id,
        order_id: &claims.order_id,
        claimed_status: &claims.status,
        source_file,
        source_line,
    }
}

/// The kept headers and the request's fingerprint, computed once.
struct RequestKeys {
    headers_json: String,
    fingerprint: String,
}

fn receipt(stored: StoredNotification, detail: String, claims: NotificationClaims) -> Receipt {
    match stored {
        StoredNotification::Repeat { verdict, .. } => Receipt {
            verdict: Verdict::parse(&verdict).unwrap_or(Verdict::Duplicate),
            detail: "the same request was received before; nothing changed".into(),
            claims,
            outcome: None,
            exception: None,
            repeat: true,
        },
        StoredNotification::Filed { verdict, applied, exception, .. } => Receipt {
            verdict: Verdict::parse(&verdict).unwrap_or(Verdict::Malformed),
            detail,
            claims,
            outcome: applied.map(|a| a.outcome),
            exception,
            repeat: false,
        },
    }
}

/// Checks, files and (when genuine) applies one notification received by
/// `listen`. Everything about it commits in one transaction.
pub fn receive(
    store: &mut Store,
    n: &InboundNotification,
    secrets: &NotificationSecrets,
    stale_after_s: i64,
) -> Result<Receipt, WebhookError> {
    // The transport refuses bigger bodies before they get here (413).
    if n.body.len() > NOTIFICATION_BODY_MAX_BYTES {
        return Err(WebhookError::Observation(ObservationError::RawTooLarge(n.body.len())));
    }
    let keys = RequestKeys { headers_json: n.kept_headers_json(), fingerprint: n.fingerprint() };
    if let Some(why) = check_signature(n, secrets)?.refusal() {
        return file_refused(store, n, &keys, Channel::Listen, why, claims(n.psp, &n.body));
    }
    if let Err(why) = check_fresh(n, Utc::now(), stale_after_s) {
        return file_refused(store, n, &keys, Channel::Listen, (Verdict::Stale, why), claims(n.psp, &n.body));
    }
    let (observed, claims) = match parse_body(n.psp, &n.body) {
        Ok(parsed) => parsed,
        Err((code, why)) => {
            let refusal = (Verdict::Malformed, format!("{code}: {why}"));
            return file_refused(store, n, &keys, Channel::Listen, refusal, claims(n.psp, &n.body));
        }
    };
    // serde_json only reads UTF-8, so a parsed body is text.
    let raw = String::from_utf8_lossy(&n.body);
    observations::check(&observed, &raw)?;
    let detail = format!("{} {} for payment {}", n.psp.label(), claims.status, claims.payment_id);
    let rec = record(n, &keys, Channel::Listen, Verdict::Applied, &detail, &claims);
    let effect = NotificationEffect::Apply {
        observed: &observed,
        raw: &raw,
        actor: n.psp.actor(),
        verdict_of: Verdict::of_outcome,
    };
    let stored = store.file_notification(&rec, effect)?;
    if let StoredNotification::Filed { applied: Some(a), .. } = &stored {
        // The buyer hears about the payment as the PSP reports it; best effort, after the commit.
        let queued = crate::notifications::queue_payment_received(
            store,
            &a.order_id,
            &a.payment_id,
            a.before,
            a.after,
            n.psp.actor(),
        );
        if let Some(Err(e)) = queued {
            eprintln!("payment {} is paid; the buyer was not notified: {e} [{}]", a.payment_id, e.code());
        }
    }
    Ok(receipt(stored, detail, claims))
}

impl SignatureCheck {
    /// The verdict and reason when the signature refuses the notification.
    pub fn refusal(self) -> Option<(Verdict, String)> {
        match self {
            SignatureCheck::Verified => None,
            SignatureCheck::Unsigned(why) => Some((Verdict::Unsigned, why)),
            SignatureCheck::Forged(why) => Some((Verdict::Forged, why)),
        }
    }
}

/// Whether a forged or unsigned notification about `claims` opens an
/// exception: only for an order the ledger has. Anyone can post made-up
/// order ids; those are filed (and counted), never queued for a person.
pub fn forged_names_a_known_order(store: &Store, claims: &NotificationClaims) -> Result<bool, StoreError> {
    Ok(!claims.order_id.is_empty() && store.order(&claims.order_id)?.is_some())
}

/// Files a notification refused before any observation (forged, unsigned,
/// stale, malformed), raising the order's exception for a forged or
/// unsigned one that names an order the ledger has.
fn file_refused(
    store: &mut Store,
    n: &InboundNotification,
    keys: &RequestKeys,
    channel: Channel<'_>,
    (verdict, detail): (Verdict, String),
    claims: NotificationClaims,
) -> Result<Receipt, WebhookError> {
    let finding = match verdict {
        Verdict::Forged | Verdict::Unsigned if forged_names_a_known_order(store, &claims)? => {
            forged_finding(n.psp, &claims, &detail)
        }
        Verdict::Forged
        | Verdict::Unsigned
        | Verdict::Applied
        | Verdict::Duplicate
        | Verdict::Stale
        | Verdict::Malformed
        | Verdict::Unmatched => None,
    };
    let effect = match &finding {
        Some(finding) => NotificationEffect::RaiseForged { finding, actor: n.psp.actor() },
        None => NotificationEffect::None,
    };
    let stored = store.file_notification(&record(n, keys, channel, verdict, &detail, &claims), effect)?;
    Ok(receipt(stored, detail, claims))
}

// ---- Refund and payout callbacks ----

pub use crate::refunds::submission::RefundCallback;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefundCallbackReceipt {
    pub verdict: Verdict,
    pub detail: String,
    pub outcome: Option<crate::refunds::submission::CallbackOutcome>,
}

/// Checks (signature, freshness) and applies a dLocal refund or payout
/// callback to our refund. A status never moves back: a late PENDING after
/// SUCCESS is a duplicate. Forged and stale callbacks change nothing.
pub fn receive_refund_callback(
    store: &mut Store,
    n: &InboundNotification,
    secrets: &NotificationSecrets,
    stale_after_s: i64,
    kind: RefundCallback,
) -> Result<RefundCallbackReceipt, WebhookError> {
    let refused = |verdict, detail| Ok(RefundCallbackReceipt { verdict, detail, outcome: None });
    if n.body.len() > NOTIFICATION_BODY_MAX_BYTES {
        return Err(WebhookError::Observation(ObservationError::RawTooLarge(n.body.len())));
    }
    if let Some((verdict, why)) = check_signature(n, secrets)?.refusal() {
        return refused(verdict, why);
    }
    if let Err(why) = check_fresh(n, Utc::now(), stale_after_s) {
        return refused(Verdict::Stale, why);
    }
    let reading = match crate::refunds::submission::callback_reading(kind, &n.body) {
        Ok(reading) => reading,
        Err(why) => return refused(Verdict::Malformed, why),
    };
    use crate::refunds::submission::{CallbackOutcome, apply_callback};
    let outcome = apply_callback(store, n.psp.as_str(), n.psp.actor(), &reading, Utc::now()).map_err(|e| match e {
        crate::refunds::RefundError::Store(s) => WebhookError::Store(s),
        other => WebhookError::Store(StoreError::Corrupt(other.to_string())),
    })?;
    let (verdict, detail) = match &outcome {
        CallbackOutcome::Applied { refund, status } => {
            (Verdict::Applied, format!("refund {refund} is {} ({})", status.as_str(), reading.answer.id))
        }
        CallbackOutcome::Duplicate { refund } => (Verdict::Duplicate, format!("refund {refund} already knew this")),
        CallbackOutcome::Unmatched => (Verdict::Unmatched, format!("no refund of ours is {}", reading.answer.id)),
    };
    Ok(RefundCallbackReceipt { verdict, detail, outcome: Some(outcome) })
}
