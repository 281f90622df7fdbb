//! Refund rails: the ways a refund's money reaches its buyer. A PSP's
//! refund and payout APIs are one rail (dLocal: `dlocal/refunds.rs`); a
//! bank transfer a person makes and records is another (`refunds::transfer`).
//! `refunds` sends, follows and records every refund through this trait and
//! names no PSP.
//!
//! One trait for refunds and payouts rather than one per API: both are sent
//! once with the stored idempotency key, both answer an id and a status that
//! maps into the refund's life cycle, and the submitter treats them the same;
//! the refund's method says which of its APIs a rail uses.

use crate::model::market::Country;
use crate::model::money::Currency;
use crate::model::refund::{RefundMethod, RefundStatus};
use chrono::NaiveDate;
use std::future::Future;
use std::pin::Pin;

/// Who gets the money, as the rail needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RailPayee {
    /// Paid into a bank account.
    Bank { name: String, bank: String, account: String, account_type: String, document: String },
    /// Collects cash at an outlet with a withdrawal code.
    Cash { name: String, document_type: String, document: String, phone: String },
}

/// What a person recorded about a transfer they made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvidence {
    /// The bank's reference of the transfer.
    pub reference: String,
    /// The day the bank made it.
    pub date: NaiveDate,
    /// SHA-256 of the proof file (hex).
    pub proof_sha256: String,
    pub recorded_by: String,
}

/// One approved refund to pay, as stored (the same body on every attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    pub refund_id: i64,
    pub method: RefundMethod,
    /// The PSP's id of the payment being refunded.
    pub payment_id: String,
    pub order_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    /// The payment's market (a payout is made there).
    pub country: Option<Country>,
    pub idempotency_key: String,
    pub description: String,
    pub payee: RailPayee,
    /// `voucherdesk listen`'s URL for this PSP: each rail appends its own path.
    pub notification_url: Option<String>,
    /// What a person recorded (a manual rail's whole answer).
    pub evidence: Option<TransferEvidence>,
}

/// A rail's verdict on a refund, in our life cycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RailAnswer {
    /// The rail's reference of the refund (PSP refund or payout id, bank reference).
    pub id: String,
    pub status: RefundStatus,
    /// The rail's own words, for people (`SUCCESS (200)`).
    pub rail_status: String,
    /// A cash payout's code for the buyer.
    pub withdrawal_code: Option<String>,
}

/// Why a rail gave no answer. Never carries a secret: it is stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RailError {
    /// The rail said no to the request itself: nothing was created there.
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    /// No answer, or one we could not read: the rail may have acted, so the
    /// refund is sent again with the same key.
    #[error("{message}")]
    Unanswered { code: &'static str, message: String },
}

impl RailError {
    pub fn code(&self) -> &'static str {
        match self {
            RailError::Refused { code, .. } | RailError::Unanswered { code, .. } => code,
        }
    }
}

/// Who pays an approved refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaidBy {
    /// The rail's API, called by the refund submitter.
    Api,
    /// A person, who then records the transfer: the submitter leaves it alone.
    Person,
}

/// The future a [`RefundRail`] returns.
pub type RailFuture<'a> = Pin<Box<dyn Future<Output = Result<RailAnswer, RailError>> + Send + 'a>>;

/// A way a refund's money reaches the buyer.
pub trait RefundRail: Send + Sync {
    /// The rail's name in messages (`dlocal`, `manual`).
    fn name(&self) -> &'static str;

    /// Whether it pays `method`.
    fn pays(&self, method: RefundMethod) -> bool;

    fn paid_by(&self) -> PaidBy;

    /// Pays an approved refund: calls the API with the order's key (the same
    /// key always answers the same refund), or takes a person's record.
    fn send<'a>(&'a self, order: &'a RefundOrder) -> RailFuture<'a>;

    /// Reads where a refund the rail knows as `rail_id` stands now.
    fn status<'a>(&'a self, method: RefundMethod, rail_id: &'a str) -> RailFuture<'a>;

    /// Takes the rail's secrets out of a text before it is kept or shown.
    fn redact(&self, text: &str) -> String;
}

/// A boxed rail (as built from the configured account) is a rail.
impl<R: RefundRail + ?Sized> RefundRail for Box<R> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn pays(&self, method: RefundMethod) -> bool {
        (**self).pays(method)
    }

    fn paid_by(&self) -> PaidBy {
        (**self).paid_by()
    }

    fn send<'a>(&'a self, order: &'a RefundOrder) -> RailFuture<'a> {
        (**self).send(order)
    }

    fn status<'a>(&'a self, method: RefundMethod, rail_id: &'a str) -> RailFuture<'a> {
        (**self).status(method, rail_id)
    }

    fn redact(&self, text: &str) -> String {
        (**self).redact(text)
    }
}
