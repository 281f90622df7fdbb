//! Payment service providers. One folder per PSP: its wire types and the one
//! exhaustive mapping of its statuses into ours (`transformers`).

pub mod dlocal;
pub mod http;
pub mod pagoefectivo;
pub mod refund_rail;

pub use refund_rail::{
    PaidBy, RailAnswer, RailError, RailFuture, RailPayee, RefundOrder, RefundRail, TransferEvidence,
};

use crate::model::money::Currency;
use crate::model::observation::{NotificationClaims, Observed};
use crate::model::refund::RefundMethod;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PspError {
    #[error("unknown {psp} status {status:?} (expected one of {expected})")]
    UnknownStatus { psp: &'static str, status: String, expected: &'static str },
    #[error("unknown {psp} payment method {method:?} (expected one of {expected})")]
    UnknownMethod { psp: &'static str, method: String, expected: &'static str },
}

/// Why a signed message (request or notification) was refused. Never carries
/// the secret or the expected signature: errors end up in logs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    #[error("signature does not match")]
    Mismatch,
}

// ---- Inbound notifications: what the listener needs of each PSP ----

/// The PSPs that notify us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Psp {
    Dlocal,
    PagoEfectivo,
}

impl Psp {
    pub const ALL: [Psp; 2] = [Psp::Dlocal, Psp::PagoEfectivo];

    /// The ledger's name for the PSP (`payments.psp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Psp::Dlocal => dlocal::PSP_NAME,
            Psp::PagoEfectivo => pagoefectivo::PSP_NAME,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Psp::Dlocal => "dLocal",
            Psp::PagoEfectivo => "PagoEfectivo",
        }
    }

    pub fn parse(text: &str) -> Option<Psp> {
        Psp::ALL.into_iter().find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The headers kept with a filed notification (lower-case): what the
    /// signature covers or carries. The signature is not a secret.
    pub fn kept_headers(self) -> &'static [&'static str] {
        webhook_reader(self).kept_headers()
    }

    /// The refund methods this PSP's own rail pays (`RefundRail`); a payment
    /// of a PSP with none goes back by a `bank_transfer` finance records.
    pub fn refund_methods(self) -> &'static [RefundMethod] {
        match self {
            Psp::Dlocal => dlocal::refunds::METHODS,
            // Its CIP API has no refund or payout: cash goes back outside it.
            Psp::PagoEfectivo => &[],
        }
    }

    /// Whether this PSP's rail can be sent `amount_minor` (dLocal quotes COP in whole pesos).
    pub fn refund_amount_quotable(self, amount_minor: i64, currency: Currency) -> bool {
        match self {
            Psp::Dlocal => dlocal::refunds::quotable(amount_minor, currency),
            Psp::PagoEfectivo => true,
        }
    }

    /// Who reported an observation, in the audit log.
    pub fn actor(self) -> &'static str {
        match self {
            Psp::Dlocal => "notification:dlocal",
            Psp::PagoEfectivo => "notification:pagoefectivo",
        }
    }
}

impl fmt::Display for Psp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secret key that never shows in `Debug` output or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlocalSecret {
    pub secret: Secret,
    /// The merchant's X-Login: when known, a notification for another login is refused.
    pub login: Option<String>,
}

/// The keys notifications are verified with, per PSP. The listener builds it
/// from the environment or the keyring (`crate::webhooks` adds those
/// constructors); each PSP's reader picks its own key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationSecrets {
    pub dlocal: Option<DlocalSecret>,
    pub pagoefectivo: Option<Secret>,
}

impl NotificationSecrets {
    pub fn set(&mut self, psp: Psp, secret: Secret, login: Option<&str>) {
        match psp {
            Psp::Dlocal => {
                let login = login.map(str::trim).filter(|l| !l.is_empty()).map(str::to_string);
                self.dlocal = Some(DlocalSecret { secret, login });
            }
            Psp::PagoEfectivo => self.pagoefectivo = Some(secret),
        }
    }

    pub fn has(&self, psp: Psp) -> bool {
        match psp {
            Psp::Dlocal => self.dlocal.is_some(),
            Psp::PagoEfectivo => self.pagoefectivo.is_some(),
        }
    }
}

/// A request's headers, looked up whatever the case of their names.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a>(pub &'a [(String, String)]);

impl<'a> Headers<'a> {
    /// The header's value, whatever the case of its name; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// The signature check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Verified,
    /// No signature (or no date/login to check it with).
    Unsigned(String),
    /// A signature that does not verify, or a login that is not ours.
    Forged(String),
}

impl SignatureError {
    /// The reason a notification whose signature fails is refused with.
    pub fn refusal_text(&self) -> String {
        match self {
            SignatureError::Mismatch => "signature does not match".to_string(),
            SignatureError::Malformed(why) => format!("malformed signature: {why}"),
        }
    }
}

/// How one PSP's inbound notifications are checked and read: the only thing
/// the listener (`crate::webhooks`) knows of a PSP.
pub trait WebhookReader: Sync {
    /// The headers kept with a filed notification (lower-case).
    fn kept_headers(&self) -> &'static [&'static str];

    /// Checks the request's signature in constant time with this PSP's key
    /// from `secrets`; `None` when no key for this PSP was configured.
    fn check_signature(
        &self,
        headers: Headers<'_>,
        body: &[u8],
        secrets: &NotificationSecrets,
    ) -> Option<SignatureCheck>;

    /// Refuses a request whose signed date is too old (more than
    /// `stale_after_s`) or too far ahead of `now`; the error names why.
    fn check_fresh(&self, headers: Headers<'_>, now: DateTime<Utc>, stale_after_s: i64) -> Result<(), String>;

    /// Reads a body into an observation; the error is a code and a message naming what is wrong.
    fn parse(&self, body: &[u8]) -> Result<(Observed, NotificationClaims), (&'static str, String)>;

    /// What a body claims, read leniently (`None` when it cannot be read at all).
    fn claims(&self, body: &[u8]) -> Option<NotificationClaims>;
}

/// The reader of `psp`'s notifications.
pub fn webhook_reader(psp: Psp) -> &'static dyn WebhookReader {
    match psp {
        Psp::Dlocal => &dlocal::webhook::DlocalWebhook,
        Psp::PagoEfectivo => &pagoefectivo::webhook::PagoEfectivoWebhook,
    }
}
