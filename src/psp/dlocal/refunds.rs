//! dLocal as a refund rail: a `psp_refund` goes through its refund API (a
//! ticket payment is paid back by bank transfer), a `cash_withdrawal` through
//! its cash-pickup payouts. The one mapping of dLocal's refund and payout
//! statuses into our refund life cycle.

use super::client::{CashRefundRequest, DlocalClient, DlocalError, RefundBeneficiary};
use super::payouts::{CashPayoutRequest, DlocalPayoutStatus, PayoutBeneficiary};
use super::transformers::wire_amount;
use super::wire::DlocalRefundStatus;
use crate::model::money::Currency;
use crate::model::refund::{RefundMethod, RefundStatus};
use crate::psp::refund_rail::{PaidBy, RailAnswer, RailError, RailFuture, RailPayee, RefundOrder, RefundRail};

/// What dLocal pays back through its APIs.
pub const METHODS: &[RefundMethod] = &[RefundMethod::PspRefund, RefundMethod::CashWithdrawal];

/// Whether dLocal can be sent this amount (COP in whole pesos).
pub fn quotable(amount_minor: i64, currency: Currency) -> bool {
    wire_amount(amount_minor, currency).is_ok()
}

pub fn from_refund(status: DlocalRefundStatus) -> RefundStatus {
    match status {
        DlocalRefundStatus::Pending => RefundStatus::Submitted,
        DlocalRefundStatus::Success => RefundStatus::Succeeded,
        DlocalRefundStatus::Rejected => RefundStatus::RejectedByPsp,
        DlocalRefundStatus::Cancelled => RefundStatus::Failed,
    }
}

pub fn from_payout(status: DlocalPayoutStatus) -> RefundStatus {
    match status {
        DlocalPayoutStatus::Pending => RefundStatus::Submitted,
        DlocalPayoutStatus::Paid => RefundStatus::Succeeded,
        DlocalPayoutStatus::Rejected => RefundStatus::RejectedByPsp,
        DlocalPayoutStatus::Cancelled => RefundStatus::Failed,
    }
}

fn rail_error(e: DlocalError) -> RailError {
    match e {
        DlocalError::Refused { .. } => RailError::Refused { code: e.code(), message: e.to_string() },
        DlocalError::BaseUrl { .. }
        | DlocalError::Timeout { .. }
        | DlocalError::Transport { .. }
        | DlocalError::RateLimited { .. }
        | DlocalError::Server { .. }
        | DlocalError::Unauthorized { .. }
        | DlocalError::BodyTooLarge { .. }
        | DlocalError::Decode { .. }
        | DlocalError::Unknown { .. }
        | DlocalError::Amount { .. } => RailError::Unanswered { code: e.code(), message: e.to_string() },
    }
}

fn callback_url(order: &RefundOrder, kind: &str) -> Option<String> {
    order.notification_url.as_ref().map(|base| format!("{}/{kind}", base.trim_end_matches('/')))
}

fn mismatch(order: &RefundOrder) -> RailError {
    RailError::Refused {
        code: "dlocal.payee",
        message: format!("refund {}: a {} needs its own payee details", order.refund_id, order.method.as_str()),
    }
}

impl DlocalClient {
    async fn send_refund(&self, order: &RefundOrder) -> Result<RailAnswer, RailError> {
        match (order.method, &order.payee) {
            (RefundMethod::PspRefund, RailPayee::Bank { name, bank, account, account_type, document }) => {
                let request = CashRefundRequest {
                    payment_id: order.payment_id.clone(),
                    amount_minor: Some(order.amount_minor),
                    currency: order.currency,
                    notification_url: callback_url(order, "refunds"),
                    description: Some(order.description.clone()),
                    beneficiary: RefundBeneficiary {
                        name: Some(name.clone()),
                        bank: Some(bank.clone()),
                        account: Some(account.clone()),
                        account_type: Some(account_type.clone()),
                        branch: None,
                        document: Some(document.clone()),
                    },
                };
                let reading =
                    self.create_refund_keyed(&request, Some(&order.idempotency_key)).await.map_err(rail_error)?;
                Ok(RailAnswer {
                    id: reading.refund_id,
                    status: from_refund(reading.status),
                    rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                    withdrawal_code: None,
                })
            }
            (RefundMethod::CashWithdrawal, RailPayee::Cash { name, document_type, document, phone }) => {
                let country = order.country.ok_or_else(|| RailError::Refused {
                    code: "dlocal.payout_market",
                    message: format!("no cash-pickup market for {}", order.currency),
                })?;
                let request = CashPayoutRequest {
                    order_id: order.order_id.clone(),
                    external_id: format!("refund-{}", order.refund_id),
                    amount_minor: order.amount_minor,
                    currency: order.currency,
                    country,
                    beneficiary: PayoutBeneficiary {
                        name: name.clone(),
                        document_type: document_type.clone(),
                        document: document.clone(),
                        phone: phone.clone(),
                    },
                    notification_url: callback_url(order, "payouts"),
                };
                let reading = self.create_cash_payout(&request, &order.idempotency_key).await.map_err(rail_error)?;
                Ok(RailAnswer {
                    id: reading.payout_id,
                    status: from_payout(reading.status),
                    rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                    withdrawal_code: reading.withdrawal_code,
                })
            }
            (
                RefundMethod::PspRefund | RefundMethod::CashWithdrawal,
                RailPayee::Bank { .. } | RailPayee::Cash { .. },
            )
            | (RefundMethod::BankTransfer, _) => Err(mismatch(order)),
        }
    }

    async fn read_refund(&self, method: RefundMethod, rail_id: &str) -> Result<RailAnswer, RailError> {
        match method {
            RefundMethod::PspRefund => {
                let reading = self.refund_status(rail_id).await.map_err(rail_error)?;
                Ok(RailAnswer {
                    id: reading.refund_id,
                    status: from_refund(reading.status),
                    rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                    withdrawal_code: None,
                })
            }
            RefundMethod::CashWithdrawal => {
                let reading = self.payout_status(rail_id).await.map_err(rail_error)?;
                Ok(RailAnswer {
                    id: reading.payout_id,
                    status: from_payout(reading.status),
                    rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
                    withdrawal_code: reading.withdrawal_code,
                })
            }
            RefundMethod::BankTransfer => Err(RailError::Refused {
                code: "dlocal.method",
                message: format!("dLocal does not pay a {}", method.as_str()),
            }),
        }
    }
}

impl RefundRail for DlocalClient {
    fn name(&self) -> &'static str {
        super::PSP_NAME
    }

    fn pays(&self, method: RefundMethod) -> bool {
        METHODS.contains(&method)
    }

    fn paid_by(&self) -> PaidBy {
        PaidBy::Api
    }

    fn send<'a>(&'a self, order: &'a RefundOrder) -> RailFuture<'a> {
        Box::pin(self.send_refund(order))
    }

    fn status<'a>(&'a self, method: RefundMethod, rail_id: &'a str) -> RailFuture<'a> {
        Box::pin(self.read_refund(method, rail_id))
    }

    fn redact(&self, text: &str) -> String {
        DlocalClient::redact(self, text)
    }
}

/// A refund callback's body (`POST …/refunds`): its answer.
pub fn refund_callback(body: &[u8]) -> Result<RailAnswer, String> {
    let refund: super::api::Refund = serde_json::from_slice(body).map_err(|e| format!("not a dLocal refund: {e}"))?;
    let reading = super::transformers::refund_reading(&refund).map_err(|e| e.to_string())?;
    Ok(RailAnswer {
        id: reading.refund_id,
        status: from_refund(reading.status),
        rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
        withdrawal_code: None,
    })
}

/// A payout callback's body (`POST …/payouts`): its answer, and our refund
/// id from its external id (`refund-ID`).
pub fn payout_callback(body: &[u8]) -> Result<(RailAnswer, Option<i64>), String> {
    let payout: super::payouts::Payout =
        serde_json::from_slice(body).map_err(|e| format!("not a dLocal payout: {e}"))?;
    let reading = super::payouts::payout_reading(&payout).map_err(|e| e.to_string())?;
    let ours = payout.external_id.as_deref().and_then(|x| x.strip_prefix("refund-")).and_then(|id| id.parse().ok());
    let answer = RailAnswer {
        id: reading.payout_id,
        status: from_payout(reading.status),
        rail_status: format!("{} ({})", reading.status.as_str(), reading.status_code),
        withdrawal_code: reading.withdrawal_code,
    };
    Ok((answer, ours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dlocal_refund_and_payout_status_has_its_place_in_our_life_cycle() {
        let refunds: Vec<_> = [
            DlocalRefundStatus::Pending,
            DlocalRefundStatus::Success,
            DlocalRefundStatus::Rejected,
            DlocalRefundStatus::Cancelled,
        ]
        .into_iter()
        .map(from_refund)
        .collect();
        assert_eq!(
            refunds,
            vec![RefundStatus::Submitted, RefundStatus::Succeeded, RefundStatus::RejectedByPsp, RefundStatus::Failed]
        );
        let payouts: Vec<_> = [
            DlocalPayoutStatus::Pending,
            DlocalPayoutStatus::Paid,
            DlocalPayoutStatus::Rejected,
            DlocalPayoutStatus::Cancelled,
        ]
        .into_iter()
        .map(from_payout)
        .collect();
        assert_eq!(
            payouts,
            vec![RefundStatus::Submitted, RefundStatus::Succeeded, RefundStatus::RejectedByPsp, RefundStatus::Failed]
        );
        assert!(quotable(15_000_000, Currency::Cop));
        assert!(!quotable(15_000_050, Currency::Cop));
        assert_eq!(METHODS, &[RefundMethod::PspRefund, RefundMethod::CashWithdrawal]);
    }
}
