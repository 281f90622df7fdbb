//! Bulk approval from the finance inbox, for tier-2 refunds only.
//!
//! **One audited transaction per refund, not all-or-nothing.** The whole call
//! is refused up front (nothing written) when any id is unknown or not a
//! tier-2 refund: a tier-3 refund needs two people and must be looked at
//! alone. Past that check, each refund is approved by [`super::approve`] in
//! its own IMMEDIATE transaction with its approval row and audit entry, and
//! maker-checker applies to each: a refund the approver requested, or one
//! that moved meanwhile, is refused on its own and reported, while the
//! others are approved. Each approval is an independent decision about an
//! independent refund; letting one refund the approver may not touch block
//! twenty others would only push finance back to one-by-one approval.

use super::{Refund, RefundError, RefundStatus, Tier, parse_row};
use crate::operators::{Operator, Permission};
use crate::store::Store;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Refunds one bulk approval may take.
pub const BULK_APPROVE_IDS_MAX: usize = 200;

/// A refund of the batch the library refused (it is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BulkRefusal {
    pub id: i64,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BulkApproval {
    pub approved: Vec<Refund>,
    pub refused: Vec<BulkRefusal>,
}

/// Approves every refund of `ids` (all tier 2) as `operator`, one transaction each.
pub fn approve_tier2(
    store: &mut Store,
    operator: &Operator,
    ids: &[i64],
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<BulkApproval, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    let mut unique: Vec<i64> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(*id);
        }
    }
    if unique.is_empty() || unique.len() > BULK_APPROVE_IDS_MAX {
        return Err(RefundError::BulkSize { given: unique.len() });
    }
    let mut not_tier2 = Vec::new();
    for id in &unique {
        let (row, _) = store.refund(*id)?.ok_or(RefundError::UnknownRefund(*id))?;
        let (_, tier, _) = parse_row(&row)?;
        match tier {
            Tier::Two => {}
            Tier::One | Tier::Three => not_tier2.push(format!("refund {id} is tier {}", tier.number())),
        }
    }
    if !not_tier2.is_empty() {
        return Err(RefundError::BulkNotTier2(not_tier2.join(", ")));
    }
    let mut outcome = BulkApproval { approved: Vec::new(), refused: Vec::new() };
    for id in unique {
        match super::approve(store, operator, id, comment, now) {
            Ok(refund) => {
                debug_assert!(
                    refund.status == RefundStatus::Approved || refund.status == RefundStatus::PendingApproval
                );
                outcome.approved.push(refund);
            }
            Err(e) if e.is_refusal() => {
                outcome.refused.push(BulkRefusal { id, code: e.code().into(), message: e.to_string() })
            }
            Err(e) => return Err(e),
        }
    }
    Ok(outcome)
}
