//! Running the outbox: claim a due message (`queued → sending`, committed
//! before anything goes out), send it, record the outcome.
//!
//! Never twice because of a retry or a crash:
//! - A retry happens only after an error that says nothing was accepted
//!   (connection refused, 4xx from SMTP, a 5xx/429 from the SMS API).
//! - A message found in `sending` after a crash (claimed more than the lease
//!   ago and never finished) is reconciled by [`reconcile_interrupted`]:
//!   an **SMS** is queued again with the same client reference, which the
//!   provider uses as its idempotency key (`Idempotency-Key` header and
//!   `client_ref` field), so a second request returns the first message; an
//!   **email** is marked `unknown`, because SMTP has no idempotency: it may
//!   have been accepted just before the crash. A human checks with the buyer
//!   and re-sends by hand if needed; we never re-send blindly.

use super::config::{self, NotificationSettings, SecretKind, SmsSettings, SmtpSecurity, SmtpSettings};
use super::{Channel, NotificationError, Status};
use crate::audit::audit_entry;
use crate::credentials::SecretVault;
use crate::store::{BuyerNotificationRow, SendOutcome, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use lettre::Transport;
use lettre::message::{Attachment, Mailbox, MultiPart, header::ContentType};
use serde::Serialize;
use zeroize::Zeroizing;

/// Attempts one message gets before it is `failed`.
pub const SEND_ATTEMPTS_MAX: u32 = 5;
/// Delay before the first retry; doubled for each further attempt.
pub const RETRY_DELAY_SECONDS_BASE: i64 = 60;
pub const RETRY_DELAY_SECONDS_MAX: i64 = 3_600;
/// Each delay is moved by up to this share, at random, so that messages
/// that failed together do not all come back together.
pub const RETRY_JITTER_PERCENT: i64 = 20;
/// A message still `sending` this long after it was claimed belongs to a
/// deliverer that died (the SMTP and SMS time-outs are far shorter).
pub const SEND_LEASE_SECONDS: i64 = 300;
pub const SMTP_TIMEOUT_MS: u64 = 30_000;
pub const SMS_TIMEOUT_MS: u64 = 20_000;
/// Messages one `deliver` round sends at most.
pub const DELIVER_BATCH_MAX: u32 = 100;
/// Longest error or provider id kept.
pub const ERROR_CHARS_MAX: usize = 500;
/// Largest SMS provider answer read.
pub const SMS_RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// The operator name deliveries are audited under.
pub const DELIVERER: &str = "(deliverer)";

/// Why a send did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Nothing was accepted and trying later may work.
    Transient(String),
    /// Trying again will not help (address refused, bad credentials).
    Permanent(String),
}

/// A file an email carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// Makes the files of a message whose attachments are made when it is sent
/// (the daily report's, `crate::daily_report::schedule`); the outbox itself
/// knows no report.
pub trait AttachmentSource {
    /// The files for `message`; empty for a message that carries none.
    fn attachments(&self, store: &Store, message: &BuyerNotificationRow) -> Result<Vec<MailAttachment>, SendError>;
}

/// Something that delivers one channel's messages; returns the provider's
/// message id (or the SMTP server's answer).
pub trait Sender {
    fn send(&self, message: &BuyerNotificationRow, attachments: &[MailAttachment]) -> Result<String, SendError>;

    /// `text` (an error or answer of this sender) without its secrets or
    /// anything credential-shaped, before it is kept or audited.
    fn redact(&self, text: &str) -> String {
        crate::redact::redact(text, &[])
    }
}

/// The senders a delivery round may use; a channel without one is retried
/// later with "not configured" in its error.
#[derive(Default)]
pub struct Transports<'a> {
    pub email: Option<&'a dyn Sender>,
    pub sms: Option<&'a dyn Sender>,
    /// Where messages get files made at sending time (none: no message carries files).
    pub attachments: Option<&'a dyn AttachmentSource>,
}

/// A place to crash on purpose, for the tests that prove crash safety.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// After `sending` is committed, before the send.
    AfterClaim,
    /// After the provider accepted, before `sent` is recorded.
    AfterSend,
}

impl CrashPoint {
    pub fn parse(text: &str) -> Option<CrashPoint> {
        match text.trim() {
            "after_claim" => Some(CrashPoint::AfterClaim),
            "after_send" => Some(CrashPoint::AfterSend),
            _ => None,
        }
    }
}

fn crash_if(point: Option<CrashPoint>, here: CrashPoint) {
    if point == Some(here) {
        eprintln!("crash point {here:?} reached: aborting as asked");
        std::process::abort();
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    pub attempted: u32,
    pub sent: u32,
    pub retrying: u32,
    pub failed: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    /// SMS queued again with their client reference.
    pub requeued: Vec<i64>,
    /// Emails marked `unknown` for a human.
    pub unknown: Vec<i64>,
    /// Interrupted on their last attempt.
    pub failed: Vec<i64>,
}

/// The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped,
/// ± jitter. `jitter` is in [-1, 1] (random in production, fixed in tests).
pub fn retry_delay_seconds(attempts: u32, jitter: f64) -> i64 {
    let exponent = attempts.saturating_sub(1).min(20);
    let delay = RETRY_DELAY_SECONDS_BASE.saturating_mul(1_i64 << exponent).min(RETRY_DELAY_SECONDS_MAX);
    let spread = delay * RETRY_JITTER_PERCENT / 100;
    let jitter = jitter.clamp(-1.0, 1.0);
    (delay + (spread as f64 * jitter).round() as i64).max(1)
}

fn random_jitter() -> f64 {
    use rand::Rng;
    rand::thread_rng().gen_range(-1.0..=1.0)
}

/// What is kept of a sender's error or answer: redacted first (the text may
/// echo our request, with its newlines), then one line of at most
/// [`ERROR_CHARS_MAX`] characters.
fn kept(sender: Option<&dyn Sender>, text: &str) -> String {
    match sender {
        Some(sender) => short(&sender.redact(text)),
        None => short(&crate::redact::redact(text, &[])),
    }
}

fn short(text: &str) -> String {
    let one_line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    one_line.chars().take(ERROR_CHARS_MAX).collect()
}

fn outcome_entry(row: &BuyerNotificationRow, to: Status, detail: &str) -> crate::store::AuditEntry {
    audit_entry(DELIVERER, "notifications.status", &format!("notification {}", row.id), Status::Sending.as_str(), &{
        if detail.is_empty() { to.as_str().to_string() } else { format!("{}: {detail}", to.as_str()) }
    })
}

/// Sends every due message (at most [`DELIVER_BATCH_MAX`]) once, as of `now`.
pub fn deliver_due(
    store: &mut Store,
    transports: &Transports<'_>,
    now: DateTime<Utc>,
    crash_at: Option<CrashPoint>,
) -> Result<DeliveryReport, NotificationError> {
    deliver_due_at_most(store, transports, now, crash_at, DELIVER_BATCH_MAX)
}

/// [`deliver_due`] with a smaller batch (`batch_max`, capped at [`DELIVER_BATCH_MAX`]).
pub fn deliver_due_at_most(
    store: &mut Store,
    transports: &Transports<'_>,
    now: DateTime<Utc>,
    crash_at: Option<CrashPoint>,
    batch_max: u32,
) -> Result<DeliveryReport, NotificationError> {
    let batch_max = batch_max.clamp(1, DELIVER_BATCH_MAX);
    let mut report = DeliveryReport::default();
    while report.attempted < batch_max {
        let claim = |row: &BuyerNotificationRow| {
            audit_entry(
                DELIVERER,
                "notifications.status",
                &format!("notification {}", row.id),
                Status::Queued.as_str(),
                &format!("{} (attempt {})", Status::Sending.as_str(), row.attempts + 1),
            )
        };
        let Some(row) = store.claim_due_notification(now, claim)? else { break };
        report.attempted += 1;
        // Team mode: the claim is on the server before the buyer is contacted.
        store.barrier()?;
        crash_if(crash_at, CrashPoint::AfterClaim);
        let channel = Channel::parse(&row.channel)
            .map_err(|_| StoreError::Corrupt(format!("notification {} has channel {:?}", row.id, row.channel)))?;
        let sender = match channel {
            Channel::Email => transports.email,
            Channel::Sms => transports.sms,
        };
        let attachments = match transports.attachments {
            Some(source) => source.attachments(store, &row),
            None => Ok(Vec::new()),
        };
        let result = match (sender, attachments) {
            (Some(sender), Ok(attachments)) => sender.send(&row, &attachments),
            (Some(_), Err(e)) => Err(e),
            (None, _) => Err(SendError::Transient(format!("{channel} delivery is not configured"))),
        };
        let finished_at = Utc::now().max(now);
        match result {
            Ok(provider_id) => {
                crash_if(crash_at, CrashPoint::AfterSend);
                let provider_id = kept(sender, &provider_id);
                let entry = outcome_entry(&row, Status::Sent, &provider_id);
                store.finish_notification(
                    row.id,
                    &SendOutcome::Sent { provider_message_id: &provider_id },
                    finished_at,
                    &entry,
                )?;
                report.sent += 1;
            }
            Err(SendError::Transient(error)) if row.attempts < SEND_ATTEMPTS_MAX => {
                let error = kept(sender, &error);
                let next = now + Duration::seconds(retry_delay_seconds(row.attempts, random_jitter()));
                let entry = outcome_entry(&row, Status::Queued, &error);
                store.finish_notification(
                    row.id,
                    &SendOutcome::Retry { error: &error, next_attempt_at: next },
                    finished_at,
                    &entry,
                )?;
                report.retrying += 1;
            }
            Err(SendError::Transient(error) | SendError::Permanent(error)) => {
                let error = kept(sender, &format!("{error} (attempt {} of {SEND_ATTEMPTS_MAX})", row.attempts));
                let entry = outcome_entry(&row, Status::Failed, &error);
                store.finish_notification(row.id, &SendOutcome::Failed { error: &error }, finished_at, &entry)?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Settles the messages a dead deliverer left in `sending` (claimed more
/// than `lease_seconds` before `now`): SMS back to the queue with the same
/// client reference, emails to `unknown`. Run before every delivery round.
pub fn reconcile_interrupted(
    store: &mut Store,
    now: DateTime<Utc>,
    lease_seconds: i64,
) -> Result<ReconcileReport, NotificationError> {
    let mut report = ReconcileReport::default();
    for row in store.interrupted_notifications(now - Duration::seconds(lease_seconds.max(0)) + Duration::seconds(1))? {
        let channel = Channel::parse(&row.channel)
            .map_err(|_| StoreError::Corrupt(format!("notification {} has channel {:?}", row.id, row.channel)))?;
        match channel {
            Channel::Sms if row.attempts < SEND_ATTEMPTS_MAX => {
                let error = "interrupted while sending; sent again with the same client reference (the provider keeps one message per reference)";
                let entry = outcome_entry(&row, Status::Queued, error);
                store.finish_notification(row.id, &SendOutcome::Retry { error, next_attempt_at: now }, now, &entry)?;
                report.requeued.push(row.id);
            }
            Channel::Sms => {
                let error = "interrupted while sending on the last attempt";
                let entry = outcome_entry(&row, Status::Failed, error);
                store.finish_notification(row.id, &SendOutcome::Failed { error }, now, &entry)?;
                report.failed.push(row.id);
            }
            Channel::Email => {
                let error = "interrupted while sending: the email may or may not have been delivered (SMTP cannot tell); check with the buyer and re-send by hand if needed";
                let entry = outcome_entry(&row, Status::Unknown, error);
                store.finish_notification(row.id, &SendOutcome::Unknown { error }, now, &entry)?;
                report.unknown.push(row.id);
            }
        }
    }
    Ok(report)
}

// ------------------------------------------------------------------ SMTP

/// Email over SMTP with lettre: STARTTLS (required), TLS, or plain to a
/// loopback relay. Multipart/alternative: the plain text part, then HTML.
pub struct SmtpSender {
    transport: lettre::SmtpTransport,
    from: Mailbox,
    /// Kept only to redact it from the server's answers.
    password: Option<Zeroizing<String>>,
}

impl SmtpSender {
    pub fn new(settings: &SmtpSettings, password: Option<&str>) -> Result<SmtpSender, NotificationError> {
        let bad = |e: lettre::transport::smtp::Error| NotificationError::BadSettings(format!("SMTP: {e}"));
        let builder = match settings.security {
            SmtpSecurity::Starttls => lettre::SmtpTransport::starttls_relay(&settings.host).map_err(bad)?,
            SmtpSecurity::Tls => lettre::SmtpTransport::relay(&settings.host).map_err(bad)?,
            SmtpSecurity::None => lettre::SmtpTransport::builder_dangerous(&settings.host),
        };
        let mut builder = builder.port(settings.port).timeout(Some(std::time::Duration::from_millis(SMTP_TIMEOUT_MS)));
        let mut kept_password = None;
        if !settings.username.is_empty() {
            let password = password.ok_or_else(|| {
                NotificationError::BadSettings(
                    "an SMTP user is set but no password is stored: `notifications set-secret smtp-password`".into(),
                )
            })?;
            builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                settings.username.clone(),
                password.to_string(),
            ));
            kept_password = Some(Zeroizing::new(password.to_string()));
        }
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|_| NotificationError::BadSettings(format!("{:?} is not a From mailbox", settings.from)))?;
        Ok(SmtpSender { transport: builder.build(), from, password: kept_password })
    }
}

impl Sender for SmtpSender {
    fn send(&self, row: &BuyerNotificationRow, attachments: &[MailAttachment]) -> Result<String, SendError> {
        // A buyer's message has one recipient; a report's, a comma-separated list.
        let to = row
            .recipient
            .parse::<lettre::message::Mailboxes>()
            .map_err(|e| SendError::Permanent(format!("bad recipient {:?}: {e}", row.recipient)))?;
        let domain = self.from.email.domain().to_string();
        let message_id = format!("<{}@{}>", row.client_ref, domain);
        let body = MultiPart::alternative_plain_html(row.body_text.clone(), row.body_html.clone());
        // A voucher email carries its code as an inline image the HTML shows (cid:).
        let body = match row.barcode.as_deref() {
            None => body,
            Some(value) => {
                let png = super::barcode::code128_png(value).map_err(|e| SendError::Permanent(e.to_string()))?;
                let png_type = ContentType::parse("image/png").map_err(|e| SendError::Permanent(e.to_string()))?;
                let image = Attachment::new_inline(super::barcode::BARCODE_CONTENT_ID.to_string()).body(png, png_type);
                MultiPart::related().multipart(body).singlepart(image)
            }
        };
        let body = if attachments.is_empty() {
            body
        } else {
            let mut mixed = MultiPart::mixed().multipart(body);
            for file in attachments {
                let content_type =
                    ContentType::parse(file.content_type).map_err(|e| SendError::Permanent(e.to_string()))?;
                mixed =
                    mixed.singlepart(Attachment::new(file.file_name.clone()).body(file.bytes.clone(), content_type));
            }
            mixed
        };
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(to))
            .subject(row.subject.clone())
            .message_id(Some(message_id.clone()))
            .multipart(body)
            .map_err(|e| SendError::Permanent(format!("cannot build the email: {e}")))?;
        match self.transport.send(&message) {
            Ok(response) => {
                let answer = response.message().collect::<Vec<_>>().join(" ");
                Ok(format!("{message_id} {answer}").trim().to_string())
            }
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP refused: {e}"))),
            Err(e) => Err(SendError::Transient(format!("SMTP: {e}"))),
        }
    }

    fn redact(&self, text: &str) -> String {
        let secrets: Vec<&str> = self.password.iter().map(|p| p.as_str()).collect();
        crate::redact::redact(text, &secrets)
    }
}

// ------------------------------------------------------------------ SMS

/// SMS through an HTTP provider: `POST {url}` with a bearer token and JSON
/// `{"from", "to", "text", "client_ref"}`; the answer's `id` (or
/// `message_id`) is the provider's message id. The client reference also
/// goes as `Idempotency-Key`.
pub struct HttpSmsSender {
    url: String,
    sender: String,
    token: Zeroizing<String>,
}

impl HttpSmsSender {
    pub fn new(settings: &SmsSettings, token: Zeroizing<String>) -> HttpSmsSender {
        HttpSmsSender { url: settings.url.trim().to_string(), sender: settings.sender.clone(), token }
    }
}

#[derive(serde::Deserialize)]
struct SmsAnswer {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
}

impl Sender for HttpSmsSender {
    fn send(&self, row: &BuyerNotificationRow, _attachments: &[MailAttachment]) -> Result<String, SendError> {
        let body = serde_json::json!({
            "from": self.sender,
            "to": row.recipient,
            "text": row.body_text,
            "client_ref": row.client_ref,
        });
        let (url, token, reference) = (self.url.clone(), self.token.clone(), row.client_ref.clone());
        // Its own thread and runtime: callable from plain code and from inside
        // another runtime alike.
        let handle = std::thread::spawn(move || -> Result<String, SendError> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| SendError::Transient(format!("cannot start the HTTP client: {e}")))?;
            runtime.block_on(async move {
                let client = crate::psp::http::client(std::time::Duration::from_millis(SMS_TIMEOUT_MS))
                    .map_err(|e| SendError::Transient(format!("cannot start the HTTP client: {e}")))?;
                let response = client
                    .post(&url)
                    .bearer_auth(token.as_str())
                    .header("Idempotency-Key", &reference)
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| SendError::Transient(format!("SMS provider unreachable: {}", without_url(&e))))?;
                let status = response.status();
                let bytes = response
                    .bytes()
                    .await
                    .map_err(|e| SendError::Transient(format!("SMS provider answer cut: {}", without_url(&e))))?;
                let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SMS_RESPONSE_BYTES_MAX)]).to_string();
                if status.is_success() {
                    let answer: SmsAnswer = serde_json::from_str(&text)
                        .map_err(|_| SendError::Transient(format!("SMS provider answered {status} without JSON")))?;
                    return answer.id.or(answer.message_id).filter(|id| !id.is_empty()).ok_or_else(|| {
                        SendError::Transient(format!("SMS provider answered {status} without a message id"))
                    });
                }
                let detail = format!("SMS provider answered {status}: {}", text.trim());
                if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
                    Err(SendError::Transient(detail))
                } else {
                    Err(SendError::Permanent(detail))
                }
            })
        });
        handle.join().unwrap_or_else(|_| Err(SendError::Transient("the SMS call stopped unexpectedly".into())))
    }

    fn redact(&self, text: &str) -> String {
        crate::redact::redact(text, &[self.token.as_str()])
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), "the provider");
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

// ------------------------------------------------------------------ from settings

/// The senders the stored settings describe, secrets from `vault`.
pub struct ConfiguredTransports {
    pub email: Option<SmtpSender>,
    pub sms: Option<HttpSmsSender>,
}

impl ConfiguredTransports {
    pub fn from_settings(
        settings: &NotificationSettings,
        vault: &dyn SecretVault,
    ) -> Result<ConfiguredTransports, NotificationError> {
        let email = match &settings.smtp {
            Some(smtp) => {
                let password =
                    if smtp.username.is_empty() { None } else { config::read_secret(vault, SecretKind::SmtpPassword)? };
                Some(SmtpSender::new(smtp, password.as_deref().map(String::as_str))?)
            }
            None => None,
        };
        let sms = match &settings.sms {
            Some(sms) => {
                let token = config::read_secret(vault, SecretKind::SmsToken)?.ok_or_else(|| {
                    NotificationError::BadSettings(
                        "no SMS token is stored: `notifications set-secret sms-token`".into(),
                    )
                })?;
                Some(HttpSmsSender::new(sms, token))
            }
            None => None,
        };
        Ok(ConfiguredTransports { email, sms })
    }

    pub fn transports(&self) -> Transports<'_> {
        Transports {
            email: self.email.as_ref().map(|s| s as &dyn Sender),
            sms: self.sms.as_ref().map(|s| s as &dyn Sender),
            attachments: None,
        }
    }
}

// ------------------------------------------------------------------ one round (the app's deliverer)

/// What one round of [`deliver_round`] found and did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RoundOutcome {
    /// Neither SMTP nor SMS is configured: nothing was touched (queued
    /// messages keep their attempts until delivery is set up).
    NotConfigured,
    Delivered {
        reconciled: ReconcileReport,
        /// Expiry reminders queued this round (before the sending).
        reminders: super::ReminderReport,
        delivered: DeliveryReport,
    },
}

/// One round of the outbox as the app's background deliverer runs it: the
/// stored settings and the keyring's secrets read afresh (a change in
/// Settings is used from the next round), interrupted messages reconciled,
/// expiry reminders queued for open vouchers due within
/// [`super::EXPIRY_REMINDER_HOURS`] hours (once per voucher and channel),
/// then at most `batch_max` due messages sent, with the files `attachments`
/// makes. A channel that is not configured keeps its messages queued,
/// retried with backoff.
pub fn deliver_round(
    store: &mut Store,
    vault: &dyn SecretVault,
    now: DateTime<Utc>,
    batch_max: u32,
    attachments: Option<&dyn AttachmentSource>,
) -> Result<RoundOutcome, NotificationError> {
    let settings = config::get(store)?;
    if settings.smtp.is_none() && settings.sms.is_none() {
        return Ok(RoundOutcome::NotConfigured);
    }
    let configured = ConfiguredTransports::from_settings(&settings, vault)?;
    let reconciled = reconcile_interrupted(store, now, SEND_LEASE_SECONDS)?;
    let reminders = super::queue_expiry_reminders(store, now, super::EXPIRY_REMINDER_HOURS, DELIVERER)?;
    let transports = Transports { attachments, ..configured.transports() };
    let delivered = deliver_due_at_most(store, &transports, now, None, batch_max)?;
    Ok(RoundOutcome::Delivered { reconciled, reminders, delivered })
}

// ------------------------------------------------------------------ test message

/// The subject of Settings' "send test message".
pub const TEST_MESSAGE_SUBJECT: &str = "VoucherDesk: mensaje de prueba / test message";

/// A test message ready to go (prepared under the store's lock, sent
/// without it: an SMTP time-out must not hold the app's database).
pub struct TestMessage {
    transports: ConfiguredTransports,
    row: BuyerNotificationRow,
    channel: Channel,
}

impl TestMessage {
    /// Checks who asks (admins: ChangeSettings) and the address, reads the
    /// settings and secrets, and audits the request. Nothing is queued: the
    /// test goes straight to the server, never to a buyer.
    pub fn prepare(
        store: &mut Store,
        vault: &dyn SecretVault,
        operator: &crate::operators::Operator,
        channel: Channel,
        to: &str,
    ) -> Result<TestMessage, NotificationError> {
        operator.require(crate::operators::Permission::ChangeSettings)?;
        let settings = config::get(store)?;
        let recipient = match channel {
            Channel::Email => super::check_email(to)?,
            // In E.164 (with +): the test goes to a person, not to a market's buyer.
            Channel::Sms if !to.trim().starts_with('+') => return Err(NotificationError::BadPhone(to.to_string())),
            Channel::Sms => super::check_phone(to, crate::market::Country::Colombia)?,
        };
        let configured = match channel {
            Channel::Email if settings.smtp.is_none() => None,
            Channel::Sms if settings.sms.is_none() => None,
            Channel::Email | Channel::Sms => Some(ConfiguredTransports::from_settings(&settings, vault)?),
        };
        let transports = configured.ok_or_else(|| {
            NotificationError::BadSettings(format!("{channel} delivery is not configured: save its settings first"))
        })?;
        let now = Utc::now();
        let text = format!(
            "Mensaje de prueba de VoucherDesk enviado por {} — si lo recibes, la configuración funciona.\n\nVoucherDesk test message sent by {} — if you got it, the settings work.",
            operator.name, operator.name
        );
        let row = BuyerNotificationRow {
            barcode: None,
            id: 0,
            order_id: String::new(),
            kind: "test".into(),
            channel: channel.as_str().into(),
            locale: "es".into(),
            recipient: recipient.clone(),
            subject: TEST_MESSAGE_SUBJECT.into(),
            body_html: format!("<p>{}</p>", text.replace('\n', "<br>")),
            body_text: text,
            params: "{}".into(),
            status: Status::Sending.as_str().into(),
            attempts: 1,
            next_attempt_at: now,
            last_error: None,
            provider_message_id: None,
            client_ref: format!("vd-test-{}", now.timestamp_millis()),
            trigger: "manual".into(),
            triggered_by: operator.name.clone(),
            event_key: None,
            queued_at: now,
            claimed_at: Some(now),
            sent_at: None,
            updated_at: now,
        };
        let entry = audit_entry(&operator.name, "notifications.test_message", channel.as_str(), "", &recipient);
        store.append_audit(&entry)?;
        Ok(TestMessage { transports, row, channel })
    }

    /// Sends it: the provider's id or the server's answer, or why not.
    pub fn send(&self) -> Result<String, NotificationError> {
        let transports = self.transports.transports();
        let sender = match self.channel {
            Channel::Email => transports.email,
            Channel::Sms => transports.sms,
        };
        let sender =
            sender.ok_or_else(|| NotificationError::BadSettings(format!("{} is not configured", self.channel)))?;
        sender.send(&self.row, &[]).map(|answer| kept(Some(sender), &answer)).map_err(|e| match e {
            SendError::Transient(m) | SendError::Permanent(m) => NotificationError::TestFailed(kept(Some(sender), &m)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        assert_eq!(retry_delay_seconds(1, 0.0), 60);
        assert_eq!(retry_delay_seconds(2, 0.0), 120);
        assert_eq!(retry_delay_seconds(3, 0.0), 240);
        assert_eq!(retry_delay_seconds(3, 1.0), 288);
        assert_eq!(retry_delay_seconds(3, -1.0), 192);
        assert_eq!(retry_delay_seconds(30, 0.0), RETRY_DELAY_SECONDS_MAX);
        assert_eq!(retry_delay_seconds(30, 1.0), RETRY_DELAY_SECONDS_MAX * 120 / 100);
    }
}
