//! Extending an unpaid CIP's deadline.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendRequest {
    pub order_id: String,
    /// The voucher (payment id or CIP); `None`: the order's pending one.
    pub payment_id: Option<String>,
    /// The new deadline is this many hours from now.
    pub hours: u32,
}

/// Moves a pending PagoEfectivo CIP's deadline to `hours` from now. dLocal
/// has no extension: refused with a pointer to issuing a new voucher.
pub async fn extend(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &ExtendRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::ExtendVoucher)?;
    check_hours(request.hours)?;
    let order = load_order(store, &request.order_id)?;
    let target = open_cip(store, &order, VoucherAction::Extend, request.payment_id.as_deref())?;
    let cip = cip_number(&target)?;
    let client = clients.pagoefectivo()?;
    let expires_at = now + Duration::hours(i64::from(request.hours));
    store.barrier()?;
    // Extending is idempotent at the PSP (the same deadline again): a failure
    // records nothing and the command can simply be run again.
    let record = client.extend_cip(cip, expires_at).await.map_err(|e| pagoefectivo_failure(&e, None))?;
    let entry = audit_entry(
        &operator.name,
        "voucher.extend",
        &format!("order {}", order.order_id),
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "expires_at": target.expires_at.map(|t| t.to_rfc3339()),
        })),
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "expires_at": record.expires_at.to_rfc3339(), "hours": request.hours,
        })),
    );
    store.record_voucher_extended(&target.psp, &target.payment_id, record.expires_at, &entry)?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Extend,
        order_id: order.order_id.clone(),
        psp: target.psp.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
        amount_minor: target.amount_minor,
        currency: record.currency,
        expires_at: Some(record.expires_at),
        status: record.status,
        reference: Some(record.transaction_code.clone()),
        replayed: false,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let current = store.order(&order.order_id)?;
    if current.is_some_and(|o| o.voucher_expires_at == Some(record.expires_at)) {
        let event = NotificationEvent::VoucherIssued {
            order_id: order.order_id.clone(),
            payment_id: target.payment_id.clone(),
            revision: Some(record.expires_at.timestamp().to_string()),
        };
        queue_message(store, &event, operator, &mut outcome)?;
    } else {
        outcome.message_error =
            Some("vouchers.not_current: the extended voucher is not the order's current one; no message".into());
    }
    Ok(outcome)
}
