//! Cancelling an unpaid voucher: a PagoEfectivo CIP or a dLocal cash ticket.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    pub order_id: String,
    /// The voucher (payment id or CIP); `None`: the order's pending one.
    pub payment_id: Option<String>,
}

/// What the PSP answered to a cancel, in the ledger's terms.
struct Cancelled {
    voucher: PspVoucher,
    psp_status: String,
    currency: Currency,
    expires_at: Option<DateTime<Utc>>,
    status: PaymentStatus,
    reference: Option<String>,
    /// Already cancelled at the PSP (an earlier call whose answer was lost).
    replayed: bool,
}

/// Cancels an unpaid voucher: a PagoEfectivo CIP (`DELETE /v1/cips/{cip}`) or
/// a dLocal cash ticket (`POST /payments/{id}/cancel`, for payments still
/// pending). The PSP first, then the ledger: the payment moves to
/// `cancelled` through the observation path, audited, and the buyer is told.
/// A PSP that says the voucher is no longer pending is asked what it is: a
/// cancel whose answer was lost is recorded once (`replayed`); a voucher
/// paid meanwhile is recorded as paid and the cancel refused.
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
    store.barrier()?;
    let done = match VoucherPsp::of(&order)? {
        VoucherPsp::PagoEfectivo => cancel_cip(store, clients, operator, &target).await?,
        VoucherPsp::Dlocal => cancel_ticket(store, clients, operator, &target).await?,
    };
    let entry = audit_entry(
        &operator.name,
        "voucher.cancel",
        &format!("order {}", order.order_id),
        &target.status,
        &audit_after(serde_json::json!({
            "payment_id": target.payment_id, "voucher_code": target.voucher_code,
            "psp_status": done.psp_status, "replayed": done.replayed, "at": now.to_rfc3339(),
        })),
    );
    store.record_voucher_cancelled(
        &Observed::Payment(done.voucher.observation.clone()),
        &done.voucher.raw,
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
        currency: done.currency,
        expires_at: done.expires_at,
        status: done.status,
        reference: done.reference,
        replayed: done.replayed,
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

/// The ledger learns what the PSP says the voucher is (paid meanwhile, say).
fn learn(store: &mut Store, voucher: &PspVoucher, operator: &Operator) -> Result<(), VoucherError> {
    crate::observations::apply(
        store,
        &Observed::Payment(voucher.observation.clone()),
        crate::observations::ObservationSource::Api,
        &voucher.raw,
        &operator.name,
    )
    .map(|_| ())
    .map_err(|e| match e {
        crate::observations::ObservationError::Store(e) => VoucherError::Store(e),
        other => VoucherError::Store(StoreError::Invalid(other.to_string())),
    })
}

async fn cancel_cip(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    target: &PaymentRecord,
) -> Result<Cancelled, VoucherError> {
    let cip = cip_number(target)?;
    let client = clients.pagoefectivo()?;
    let (record, replayed, source) = match client.cancel_cip(cip).await {
        Ok(record) => (record, false, "DELETE /v1/cips/{cip}"),
        // Not pending any more: an earlier cancel whose answer was lost, or the buyer paid meanwhile.
        Err(e @ PagoEfectivoError::Refused { status: 409, .. }) => {
            let found = client.search_cips(&[CipQuery::Cip(cip)]).await.map_err(|e| pagoefectivo_failure(&e, None))?;
            let Some(record) = found.into_iter().next() else { return Err(pagoefectivo_failure(&e, None)) };
            if record.status != PaymentStatus::Cancelled {
                learn(store, &cip_voucher(&record, "POST /v1/cips/search"), operator)?;
                return Err(pagoefectivo_failure(&e, None));
            }
            (record, true, "POST /v1/cips/search")
        }
        Err(e) => return Err(pagoefectivo_failure(&e, None)),
    };
    Ok(Cancelled {
        voucher: cip_voucher(&record, source),
        psp_status: record.status_name.clone(),
        currency: record.currency,
        expires_at: Some(record.expires_at),
        status: record.status,
        reference: Some(record.transaction_code.clone()),
        replayed,
    })
}

async fn cancel_ticket(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    target: &PaymentRecord,
) -> Result<Cancelled, VoucherError> {
    let client = clients.dlocal()?;
    let (payment, replayed, source) = match client.cancel_payment(&target.payment_id).await {
        Ok(payment) => (payment, false, "POST /payments/{id}/cancel"),
        // Not pending any more: cancelled by an earlier call, paid, or expired meanwhile.
        Err(e @ DlocalError::Refused { .. }) => {
            let payment = client.payment(&target.payment_id).await.map_err(|e| dlocal_failure(&e, None))?;
            if payment.reading.status != PaymentStatus::Cancelled {
                learn(store, &cash_payment_voucher(&payment, "GET /payments/{id}"), operator)?;
                return Err(dlocal_failure(&e, None));
            }
            (payment, true, "GET /payments/{id}")
        }
        Err(e) => return Err(dlocal_failure(&e, None)),
    };
    if payment.reading.status != PaymentStatus::Cancelled {
        let voucher = cash_payment_voucher(&payment, source);
        learn(store, &voucher, operator)?;
        return Err(VoucherError::PspRefused {
            psp: "dlocal",
            code: "dlocal.unexpected_status",
            message: format!("dLocal answered the cancel with {}", payment.reading.dlocal_status.as_str()),
        });
    }
    Ok(Cancelled {
        voucher: cash_payment_voucher(&payment, source),
        psp_status: payment.reading.dlocal_status.as_str().to_string(),
        currency: payment.currency,
        expires_at: payment.voucher.as_ref().and_then(|v| v.expires_at),
        status: payment.reading.status,
        reference: Some(payment.payment_id.clone()),
        replayed,
    })
}
