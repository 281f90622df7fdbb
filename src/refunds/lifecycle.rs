//! Moving a refund through its life cycle: approve, reject, cancel, retry, escalate, amend.

use super::limits::PayoutDay;
use super::*;
use crate::store::RefundTotals;

pub(super) fn approver_role(role: Role) -> Option<ApproverRole> {
    match role {
        Role::Finance => Some(ApproverRole::Finance),
        Role::Manager => Some(ApproverRole::Manager),
        Role::Support | Role::Admin => None,
    }
}

pub(super) fn bad_state(id: i64, status: RefundStatus, action: &'static str) -> RefundError {
    RefundError::BadState { id, status: status.as_str(), action }
}

/// Why a decision comes too late: the refund was decided already (by whom,
/// when), or the operator's slot was filled by someone else; else the state.
pub(super) fn too_late(id: i64, status: RefundStatus, action: &'static str, approvals: &[ApprovalRow]) -> RefundError {
    let decided = match status {
        RefundStatus::Requested | RefundStatus::PendingApproval => false,
        RefundStatus::Approved
        | RefundStatus::Submitted
        | RefundStatus::Succeeded
        | RefundStatus::Failed
        | RefundStatus::RejectedByPsp
        | RefundStatus::Cancelled => true,
    };
    // A cancellation by its requester is a state, not someone's decision.
    let last = approvals.last().filter(|a| status != RefundStatus::Cancelled || a.decision == "reject");
    match last.filter(|_| decided) {
        Some(last) => RefundError::AlreadyDecided {
            id,
            what: if last.decision == "reject" { "rejected" } else { "approved" }.to_string(),
            by: last.operator.clone(),
            at: crate::store::team::format_instant(last.at),
        },
        None => bad_state(id, status, action),
    }
}

pub(crate) fn decision_audit(
    operator: &str,
    action: &str,
    row: &RefundRow,
    before: RefundStatus,
    extra: serde_json::Value,
) -> crate::store::AuditEntry {
    let after = serde_json::json!({
        "status": row.status, "tier": row.tier, "amount_minor": row.amount_minor, "currency": row.currency,
        "detail": extra,
    });
    audit_entry(operator, action, &format!("refund {}", row.id), before.as_str(), &after.to_string())
}

/// A decision on a pending refund: it must still be pending, and its requester never decides it.
fn ensure_open_to(
    operator: &Operator,
    id: i64,
    row: &RefundRow,
    status: RefundStatus,
    action: &'static str,
    approvals: &[ApprovalRow],
) -> Result<(), RefundError> {
    if status != RefundStatus::PendingApproval {
        return Err(too_late(id, status, action, approvals));
    }
    if row.requested_by.eq_ignore_ascii_case(&operator.name) {
        return Err(RefundError::SelfApproval { operator: operator.name.clone(), id });
    }
    Ok(())
}

fn decision_row(
    operator: &Operator,
    role: ApproverRole,
    decision: &str,
    comment: &str,
    row: &RefundRow,
    now: DateTime<Utc>,
) -> ApprovalRow {
    ApprovalRow {
        operator: operator.name.clone(),
        role: role.as_str().into(),
        decision: decision.into(),
        comment: comment.into(),
        at: now.timestamp(),
        tier: row.tier,
        amount_minor: row.amount_minor,
    }
}

/// Only its requester or an approver changes a refund that is not submitted yet.
fn ensure_own_or_approver(
    operator: &Operator,
    row: &RefundRow,
    what: &'static str,
    id: i64,
) -> Result<(), RefundError> {
    let own = row.requested_by.eq_ignore_ascii_case(&operator.name);
    if !own && !operator.role.allows(Permission::ApproveRefund) {
        return Err(RefundError::NotYours { operator: operator.name.clone(), what, id });
    }
    Ok(())
}

/// A note that must say something (a rejection's comment, an escalation's note).
fn required_note(field: &'static str, text: &str) -> Result<String, RefundError> {
    let text = check_text(field, text, NOTE_CHARS_MAX)?;
    if text.is_empty() {
        return Err(RefundError::CommentRequired);
    }
    Ok(text)
}

/// One refund changed in one transaction (`decide` sees it with its approvals
/// and what its payment holds), then the refund as it stands.
fn change(
    store: &mut Store,
    id: i64,
    decide: impl FnOnce(&mut RefundRow, &[ApprovalRow], &RefundTotals) -> Result<RefundUpdate, RefundError>,
) -> Result<Refund, RefundError> {
    store.update_refund(id, decide)?.ok_or(RefundError::UnknownRefund(id))?;
    show(store, id)
}

/// A refund that ends here without reaching the PSP.
fn end_cancelled(row: &mut RefundRow, now: DateTime<Utc>) {
    row.status = RefundStatus::Cancelled.as_str().into();
    row.finished_at = Some(now.timestamp());
    row.updated_at = now.timestamp();
}

/// The refund as it stands after a change that may have approved it: its buyer is told then.
fn shown_and_told(store: &mut Store, id: i64, actor: &str) -> Result<Refund, RefundError> {
    let refund = show(store, id)?;
    notify_approved(store, &refund, actor);
    Ok(refund)
}

/// Approves a pending refund as `operator`. The requester never approves;
/// each approval fills one role the tier still awaits (finance, manager), and
/// two approvals always come from two people. The last approval locks the
/// exchange rate when the order was priced in USD.
pub fn approve(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    let comment = check_text("comment", comment.unwrap_or(""), NOTE_CHARS_MAX)?;
    let (current, _) = store.refund(id)?.ok_or(RefundError::UnknownRefund(id))?;
    let order = store.order(&current.order_id)?;
    let (_, _, currency) = parse_row(&current)?;
    // Rates are never changed once recorded: reading the one to lock before the
    // transaction is reading what it would read. Only the last approval needs it.
    let fx = fx_for(store, order.as_ref(), currency, current.amount_minor, now);
    let updated = store.update_refund(id, |row, approvals, held| -> Result<RefundUpdate, RefundError> {
        let (status, tier, _) = parse_row(row)?;
        ensure_open_to(operator, id, row, status, "approval", approvals)?;
        if approvals.iter().any(|a| a.decision == "approve" && a.operator.eq_ignore_ascii_case(&operator.name)) {
            return Err(RefundError::SameApprover { operator: operator.name.clone(), id });
        }
        let required = required_roles(tier, row.finance_required);
        let waiting = awaiting(&required, approvals);
        if let Some(mine) = approver_role(operator.role).filter(|r| required.contains(r) && !waiting.contains(r)) {
            if let Some(by) = approvals.iter().rev().find(|a| a.decision == "approve" && a.role == mine.as_str()) {
                return Err(RefundError::AlreadyDecided {
                    id,
                    what: format!("approved for {}", mine.as_str()),
                    by: by.operator.clone(),
                    at: crate::store::team::format_instant(by.at),
                });
            }
        }
        let role =
            approver_role(operator.role).filter(|r| waiting.contains(r)).ok_or_else(|| RefundError::WrongRole {
                operator: operator.name.clone(),
                role: operator.role.as_str(),
                id,
                awaiting: list_roles(&waiting),
            })?;
        let complete = waiting.len() == 1;
        let mut extra = serde_json::json!({ "role": role.as_str(), "comment": comment });
        if complete {
            debug_assert!(status.can_become(RefundStatus::Approved));
            let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
            extra["refundable_before_minor"] = serde_json::json!(refundable);
            if row.amount_minor != current.amount_minor {
                return Err(RefundError::Corrupt(format!("refund {id} changed its amount")));
            }
            let fx = fx?;
            if let Some(fx) = &fx {
                extra["fx_rate"] = serde_json::json!(fx.rate);
                extra["fx_source"] = serde_json::json!(fx.source);
            }
            lock_fx(row, fx, now);
            row.status = RefundStatus::Approved.as_str().into();
        }
        row.updated_at = now.timestamp();
        Ok(RefundUpdate {
            approval: Some(decision_row(operator, role, "approve", &comment, row, now)),
            audit: decision_audit(&operator.name, "refund.approve", row, status, extra),
        })
    })?;
    updated.ok_or(RefundError::UnknownRefund(id))?;
    shown_and_told(store, id, &operator.name)
}

/// Rejects a pending refund (it is cancelled); a comment is required.
pub fn reject(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    let comment = required_note("comment", comment)?;
    change(store, id, |row, approvals, _| {
        let (status, tier, _) = parse_row(row)?;
        ensure_open_to(operator, id, row, status, "rejection", approvals)?;
        let required = required_roles(tier, row.finance_required);
        let role =
            approver_role(operator.role).filter(|r| required.contains(r)).ok_or_else(|| RefundError::WrongRole {
                operator: operator.name.clone(),
                role: operator.role.as_str(),
                id,
                awaiting: list_roles(&awaiting(&required, approvals)),
            })?;
        debug_assert!(status.can_become(RefundStatus::Cancelled));
        end_cancelled(row, now);
        let extra = serde_json::json!({ "role": role.as_str(), "comment": comment });
        Ok(RefundUpdate {
            approval: Some(decision_row(operator, role, "reject", &comment, row, now)),
            audit: decision_audit(&operator.name, "refund.reject", row, status, extra),
        })
    })
}

/// Cancels a refund before it is submitted: its requester, or an approver.
pub fn cancel(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let note = check_text("note", note.unwrap_or(""), NOTE_CHARS_MAX)?;
    change(store, id, |row, _, _| {
        let (status, _, _) = parse_row(row)?;
        if !status.can_become(RefundStatus::Cancelled) {
            return Err(bad_state(id, status, "cancelling"));
        }
        ensure_own_or_approver(operator, row, "cancel", id)?;
        end_cancelled(row, now);
        let extra = serde_json::json!({ "note": note });
        Ok(RefundUpdate { approval: None, audit: decision_audit(&operator.name, "refund.cancel", row, status, extra) })
    })
}

/// Sends a failed (or PSP-rejected) refund again: back to `approved` with a
/// NEW idempotency key (the old attempt is final at the PSP; reusing its key
/// would only return the same failure). Finance, managers and admins.
pub fn retry(store: &mut Store, operator: &Operator, id: i64, now: DateTime<Utc>) -> Result<Refund, RefundError> {
    operator.require(Permission::ApproveRefund)?;
    store
        .update_refund(id, |row, _, held| -> Result<RefundUpdate, RefundError> {
            let (status, _, _) = parse_row(row)?;
            if !matches!(status, RefundStatus::Failed | RefundStatus::RejectedByPsp) {
                return Err(bad_state(id, status, "a retry"));
            }
            debug_assert!(status.can_become(RefundStatus::Approved));
            // A final attempt held nothing: meanwhile other refunds may have taken its share.
            let refundable = invariant::ensure_covers(&row.payment_id, held, row.amount_minor)?;
            let old_key = std::mem::replace(&mut row.idempotency_key, new_idempotency_key());
            let extra = serde_json::json!({
                "old_key": old_key, "new_key": row.idempotency_key,
                "old_psp_refund_id": row.psp_refund_id, "old_error": row.last_error,
                "refundable_before_minor": refundable,
            });
            row.status = RefundStatus::Approved.as_str().into();
            row.psp_refund_id = None;
            row.withdrawal_code = None;
            row.psp_status = None;
            row.last_error = None;
            row.finished_at = None;
            row.updated_at = now.timestamp();
            Ok(RefundUpdate {
                approval: None,
                audit: decision_audit(&operator.name, "refund.retry", row, status, extra),
            })
        })?
        .ok_or(RefundError::UnknownRefund(id))?;
    shown_and_told(store, id, &operator.name)
}

/// Flags a failed, rejected or unconfirmed refund for a manager's attention.
pub fn escalate(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let note = required_note("note", note)?;
    change(store, id, |row, _, _| {
        let (status, _, _) = parse_row(row)?;
        if !matches!(status, RefundStatus::Failed | RefundStatus::RejectedByPsp | RefundStatus::Submitted) {
            return Err(bad_state(id, status, "escalation"));
        }
        row.escalated = true;
        row.updated_at = now.timestamp();
        let extra = serde_json::json!({ "note": note });
        Ok(RefundUpdate {
            approval: None,
            audit: decision_audit(&operator.name, "refund.escalate", row, status, extra),
        })
    })
}

/// Changes the amount of a refund that is not submitted yet. Approval
/// restarts: the old refund is cancelled and a new one (new id, new
/// idempotency key, the tier of the new amount, no approvals) takes its
/// place, in one transaction that re-checks the refundable remainder. Whoever
/// amends becomes the requester (the maker), so cannot approve it.
pub fn amend(
    store: &mut Store,
    operator: &Operator,
    id: i64,
    amount: &str,
    now: DateTime<Utc>,
) -> Result<Refund, RefundError> {
    operator.require(Permission::RequestRefund)?;
    let settings = tiers::get(store)?;
    let (current, _) = store.refund(id)?.ok_or(RefundError::UnknownRefund(id))?;
    let order = store.order(&current.order_id)?;
    let (_, _, currency) = parse_row(&current)?;
    // The rate a tier-1 amount would lock (rates never change once recorded).
    let fx_quote = match money::parse_minor(amount, currency, NumberFormat::PLAIN) {
        Ok(minor) if minor > 0 => Some(fx_for(store, order.as_ref(), currency, minor, now)),
        Ok(_) | Err(_) => None,
    };
    let method = RefundMethod::parse(&current.method)
        .ok_or_else(|| RefundError::Corrupt(format!("method {}", current.method)))?;
    let payout_limits = super::limits::applying(store, &current.psp, method, currency)?;
    let stored = store.replace_refund(id, |old, held| -> Result<_, RefundError> {
        let (status, _, currency) = parse_row(old)?;
        if !matches!(status, RefundStatus::Requested | RefundStatus::PendingApproval | RefundStatus::Approved) {
            return Err(bad_state(id, status, "amending"));
        }
        ensure_own_or_approver(operator, old, "amend", id)?;
        let minor = match money::parse_minor(amount, currency, NumberFormat::PLAIN) {
            Ok(minor) => minor,
            Err(MoneyError::Negative(_)) => return Err(RefundError::AmountNotPositive),
            Err(e) => return Err(RefundError::BadAmount(e)),
        };
        if minor <= 0 {
            return Err(RefundError::AmountNotPositive);
        }
        let method =
            RefundMethod::parse(&old.method).ok_or_else(|| RefundError::Corrupt(format!("method {}", old.method)))?;
        if !super::rails::quotable(&old.psp, method, minor, currency) {
            return Err(RefundError::Unquotable { amount: format_minor(minor, currency), currency });
        }
        invariant::ensure_covers(&old.payment_id, held, minor)?;
        if let Some(applied) = &payout_limits {
            super::limits::ensure_within(applied, &held.payouts, minor, PayoutDay::Requested, now.timestamp())?;
        }
        let amount_tier = settings.tier_of(currency, minor);
        let tier = if old.finance_required { amount_tier.max(Tier::Two) } else { amount_tier };
        let required = required_roles(tier, old.finance_required);
        let fx = match (required.is_empty(), fx_quote) {
            (true, Some(quote)) => quote?,
            (true, None) => return Err(RefundError::Corrupt(format!("refund {id}: no rate quoted for {minor}"))),
            (false, _) => None,
        };
        let new_status = if required.is_empty() { RefundStatus::Approved } else { RefundStatus::PendingApproval };
        let mut new = old.clone();
        new.id = 0;
        new.amount_minor = minor;
        new.tier = tier.number();
        new.status = new_status.as_str().into();
        new.idempotency_key = new_idempotency_key();
        new.additional = true;
        new.requested_by = operator.name.clone();
        new.requested_at = now.timestamp();
        (new.fx_rate, new.fx_source, new.fx_locked_at, new.fx_order_currency, new.fx_order_amount_minor) =
            (None, None, None, None, None);
        lock_fx(&mut new, fx, now);
        let mut cancelled = old.clone();
        cancelled.status = RefundStatus::Cancelled.as_str().into();
        let cancel = decision_audit(
            &operator.name,
            "refund.amend",
            &cancelled,
            status,
            serde_json::json!({ "new_amount_minor": minor, "new_tier": tier.number() }),
        );
        let after = serde_json::json!({
            "payment": new.payment_id, "psp": new.psp, "order_id": new.order_id, "amount_minor": minor,
            "currency": new.currency, "tier": new.tier, "method": new.method, "reason": new.reason,
            "status": new.status, "amends": old.id, "idempotency_key": new.idempotency_key,
        });
        let request = audit_entry(&operator.name, "refund.request", "refund", "", &after.to_string());
        Ok((new, cancel, request))
    })?;
    let stored = stored.ok_or(RefundError::UnknownRefund(id))?;
    shown_and_told(store, stored.id, &operator.name)
}
