//! Cash-pickup payouts: a refund the buyer collects in cash at an
//! Efecty or PagoEfectivo point. `POST /payouts` creates a withdrawal order
//! (amount, payee name, document, phone) and answers a withdrawal code the
//! buyer quotes at the counter; `GET /payouts/{id}` reads its status; the
//! outcome is also notified, signed as payment notifications are.
//!
//! The sandbox implements these routes (docs/SANDBOX.md). The wire shape is
//! modelled on dLocal's payout objects; check it against the merchant's
//! dLocal payouts contract before going live.

use serde::{Deserialize, Serialize};

use super::api::{DlocalAmount, StatusCode};
use super::client::{DlocalClient, DlocalError};
use super::transformers::{self, TransformError};
use crate::market::Country;
use crate::money::Currency;
use crate::psp::PspError;

pub const PAYOUT_TYPE_CASH_PICKUP: &str = "CASH_PICKUP";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBeneficiary {
    pub name: String,
    /// `CC`, `CE`, `DNI`, `PP`.
    pub document_type: String,
    pub document: String,
    /// `+573001234567`: the withdrawal code is sent there.
    pub phone: String,
}

/// `POST /payouts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutRequest {
    pub amount: DlocalAmount,
    pub currency: String,
    pub country: String,
    pub payout_type: String,
    /// Our order, for the merchant's reports.
    pub order_id: String,
    /// Our refund's id.
    pub external_id: String,
    pub beneficiary: PayoutBeneficiary,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
}

/// The payout object: the answer to `POST /payouts` and `GET /payouts/{id}`,
/// and the body of a payout notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    pub id: String,
    pub amount: DlocalAmount,
    pub currency: String,
    pub country: String,
    pub status: String,
    pub status_code: StatusCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_detail: Option<String>,
    /// The code the buyer quotes at the cash point (once the payout is created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_url: Option<String>,
}

/// A payout's status: waiting for the buyer, collected, refused, or withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlocalPayoutStatus {
    Pending,
    Paid,
    Rejected,
    Cancelled,
}

impl DlocalPayoutStatus {
    pub const EXPECTED: &'static str = "PENDING, PAID, REJECTED, CANCELLED";

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_uppercase().as_str() {
            "PENDING" => Self::Pending,
            "PAID" => Self::Paid,
            "REJECTED" => Self::Rejected,
            "CANCELLED" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Paid => "PAID",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn code(self) -> u16 {
        match self {
            Self::Pending => super::api::CODE_PENDING,
            Self::Paid => super::api::CODE_PAID,
            Self::Rejected => super::api::CODE_REJECTED,
            Self::Cancelled => super::api::CODE_CANCELLED,
        }
    }
}

/// A payout, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutReading {
    pub payout_id: String,
    pub status: DlocalPayoutStatus,
    pub status_code: u16,
    pub withdrawal_code: Option<String>,
    pub amount_minor: i64,
    pub currency: Currency,
}

pub fn payout_reading(payout: &Payout) -> Result<PayoutReading, TransformError> {
    let currency = Currency::parse(&payout.currency)
        .map_err(|e| TransformError::Field { field: "currency", message: e.to_string() })?;
    let status = DlocalPayoutStatus::parse(&payout.status).ok_or_else(|| {
        TransformError::Psp(PspError::UnknownStatus {
            psp: "dLocal payout",
            status: payout.status.clone(),
            expected: DlocalPayoutStatus::EXPECTED,
        })
    })?;
    let amount_minor = transformers::minor_amount(payout.amount, currency)
        .map_err(|e| TransformError::Field { field: "amount", message: e.to_string() })?;
    Ok(PayoutReading {
        payout_id: payout.id.clone(),
        status,
        status_code: payout.status_code.0,
        withdrawal_code: payout.withdrawal_code.clone(),
        amount_minor,
        currency,
    })
}

/// A cash pickup to create, in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashPayoutRequest {
    pub order_id: String,
    pub external_id: String,
    pub amount_minor: i64,
    pub currency: Currency,
    pub country: Country,
    pub beneficiary: PayoutBeneficiary,
    pub notification_url: Option<String>,
}

impl DlocalClient {
    /// Creates the withdrawal order; the same `idempotency_key` always answers the same payout.
    pub async fn create_cash_payout(
        &self,
        request: &CashPayoutRequest,
        idempotency_key: &str,
    ) -> Result<PayoutReading, DlocalError> {
        const OPERATION: &str = "create payout";
        let amount = transformers::wire_amount(request.amount_minor, request.currency)
            .map_err(|source| DlocalError::Amount { operation: OPERATION, source })?;
        let body = PayoutRequest {
            amount,
            currency: request.currency.code().to_string(),
            country: request.country.code().to_string(),
            payout_type: PAYOUT_TYPE_CASH_PICKUP.to_string(),
            order_id: request.order_id.clone(),
            external_id: request.external_id.clone(),
            beneficiary: request.beneficiary.clone(),
            notification_url: request.notification_url.clone(),
        };
        let payout: Payout = self.post_keyed(OPERATION, &["payouts"], &body, Some(idempotency_key)).await?;
        payout_reading(&payout).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }

    pub async fn payout_status(&self, payout_id: &str) -> Result<PayoutReading, DlocalError> {
        const OPERATION: &str = "payout status";
        let payout: Payout = self.get(OPERATION, &["payouts", payout_id]).await?;
        payout_reading(&payout).map_err(|e| DlocalError::from_transform(OPERATION, e))
    }
}
