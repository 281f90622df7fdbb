//! Cancelling an unpaid CIP.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: String,
    /// The voucher (payment id or CIP); `None`: the order's pending one.
    pub payment_id: Option<String>,
}

/// Cancels an unpaid PagoEfectivo CIP: the PSP first, then the ledger (the
/// payment moves to `cancelled` through the observation path). dLocal has no
/// cancellation for cash tickets: refused.
pub async fn cancel(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &CancelRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::CancelVoucher)?;
    let order = load_order(store, &request.order_id)?;
    let target = open_cip(store, &order, VoucherAction::Cancel, request.payment_id.as_deref())?;
    let cip = cip_number(&target)?;
    let client = clients.pagoefectivo()?;
    store.barrier()?;
    let (record, replayed, source) = match client.cancel_cip(cip).await {
        Ok(record) => (record, false, "DELETE /v1/cips/{cip}"),
        // Not pending any more: an earlier cancel whose answer was lost, or the buyer paid meanwhile.
        Err(e @ PagoEfectivoError::Refused { status: 409, .. }) => {
            let found = client.search_cips(&[CipQuery::Cip(cip)]).await.map_err(|e| pagoefectivo_failure(&e, None))?;
            let Some(record) = found.into_iter().next() else { return Err(pagoefectivo_failure(&e, None)) };
            if record.status != PaymentStatus::Cancelled {
                // The ledger learns what the PSP says, then the cancel is refused.
                let voucher = cip_voucher(&record, "POST /v1/cips/search");
                crate::observations::apply(
                    store,
                    &Observed::Payment(voucher.observation),
                    crate::observations::ObservationSource::Api,
                    &voucher.raw,
                    &operator.name,
                )
                .map_err(|e| match e {
                    crate::observations::ObservationError::Store(e) => VoucherError::Store(e),
                    other => VoucherError::Store(StoreError::Invalid(other.to_string())),
                })?;
                return Err(pagoefectivo_failure(&e, None));
            }
            (record, true, "POST /v1/cips/search")
        }
        Err(e) => return Err(pagoefectivo_failure(&e, None)),
    };
    let voucher = cip_voucher(&record, source);
    let entry = audit_entry(
        &operator.name,
        "voucher.cancel",
        &format!("order {}", order.order_id),
        &target.status,
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "voucher_code": target.voucher_code,
            "psp_status": record.status_name, "replayed": replayed, "at": now.to_rfc3339(),
        })),
    );
    store.record_voucher_cancelled(
        &Observed::Payment(voucher.observation.clone()),
        &voucher.raw,
        &operator.name,
        Utc::now(),
        &entry,
    )?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Cancel,
        order_id: order.order_id.clone(),
        psp: target.psp.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
        amount_minor: target.amount_minor,
        currency: record.currency,
        expires_at: Some(record.expires_at),
        status: record.status,
        reference: Some(record.transaction_code.clone()),
        replayed,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let event = NotificationEvent::VoucherCancelled {
        order_id: order.order_id.clone(),
        payment_id: target.payment_id.clone(),
        voucher_code: target.voucher_code.clone(),
    };
    queue_message(store, &event, operator, &mut outcome)?;
    Ok(outcome)
}
