//! Issuing a new voucher for an order, exactly once per attempt: dLocal cash
//! payments and PagoEfectivo CIPs.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub order_id: String,
    /// Validity in hours; `None`: the setting ([`VoucherSettings::expiry_hours`]).
    pub hours: Option<u32>,
}

/// Issues a new voucher for an order pending payment (or expired) that no
/// PSP reports as paid and that has no payable voucher left; see the module
/// documentation for how a retry never creates a second one.
pub async fn issue(
    store: &mut Store,
    clients: &VoucherClients,
    operator: &Operator,
    request: &IssueRequest,
    now: DateTime<Utc>,
) -> Result<VoucherOutcome, VoucherError> {
    operator.require(Permission::IssueVoucher)?;
    let hours = match request.hours {
        Some(hours) => hours,
        None => settings(store)?.expiry_hours,
    };
    check_hours(hours)?;
    let order = load_order(store, &request.order_id)?;
    let (psp, payments) = issuable(store, &order)?;
    let currency = parse_currency(&order)?;
    let country = parse_country(&order)?;
    match psp {
        VoucherPsp::Dlocal => clients.dlocal().map(drop)?,
        VoucherPsp::PagoEfectivo => clients.pagoefectivo().map(drop)?,
    }
    let attempts = store.voucher_issues_of_order(&order.order_id)?;
    let waiting = attempts.iter().rev().find(|a| a.status == "requested").cloned();
    if waiting.is_none()
        && let Some(open) = payable(&order, &payments, now)
    {
        // The voucher an earlier issue created is still payable: the same answer again.
        let ours =
            attempts.iter().rev().find(|a| a.status == "issued" && a.payment_id.as_ref() == Some(&open.payment_id));
        return match ours {
            Some(attempt) => Ok(VoucherOutcome {
                action: VoucherAction::Issue,
                order_id: order.order_id.clone(),
                psp: open.psp.clone(),
                payment_id: open.payment_id.clone(),
                voucher_code: open.voucher_code.clone(),
                amount_minor: open.amount_minor,
                currency,
                expires_at: open.expires_at,
                status: PaymentStatus::Pending,
                reference: Some(attempt.reference.clone()),
                replayed: true,
                messages_queued: Vec::new(),
                message_error: None,
            }),
            None => Err(voucher_open(&order, open)),
        };
    }
    let subject = format!("order {}", order.order_id);
    let attempt: VoucherIssueRow = match waiting {
        Some(waiting) => {
            let entry = audit_entry(
                &operator.name,
                "voucher.issue_retry",
                &subject,
                "requested",
                &audit_after(serde_json::json!({
                    "reference": waiting.reference, "attempt": waiting.attempts + 1, "psp": psp.name(),
                })),
            );
            store.retry_voucher_issue(waiting.id, &entry)?
        }
        None => {
            let new = NewVoucherIssue {
                order_id: order.order_id.clone(),
                psp: psp.name().to_string(),
                hours: i64::from(hours),
                expires_at: now + Duration::hours(i64::from(hours)),
                requested_by: operator.name.clone(),
                requested_at: now,
            };
            let entry = audit_entry(
                &operator.name,
                "voucher.issue_request",
                &subject,
                "",
                &audit_after(serde_json::json!({
                    "psp": psp.name(), "hours": hours, "amount_minor": order.amount_minor, "currency": currency.code(),
                })),
            );
            store.begin_voucher_issue(&new, &entry)?
        }
    };
    // Team mode: the attempt is on the server before the PSP is called.
    store.barrier()?;
    let reference = attempt.reference.clone();
    let answer = match psp {
        VoucherPsp::Dlocal => issue_dlocal(clients.dlocal()?, clients, &order, &attempt, currency, country).await,
        VoucherPsp::PagoEfectivo => issue_cip(clients.pagoefectivo()?, &order, &attempt, currency).await,
    };
    let (voucher, replayed) = match answer {
        Ok(found) => found,
        Err(e) => {
            let entry = |action: &str| {
                audit_entry(
                    &operator.name,
                    action,
                    &subject,
                    "requested",
                    &audit_after(
                        serde_json::json!({ "reference": reference, "code": e.code(), "message": e.to_string() }),
                    ),
                )
            };
            // Only a refusal says nothing exists at the PSP; anything else may hide a voucher.
            if e.is_refusal() {
                store.fail_voucher_issue(
                    attempt.id,
                    &format!("{}: {e}", e.code()),
                    Utc::now(),
                    &entry("voucher.issue_refused"),
                )?;
            } else {
                store.note_voucher_issue_error(
                    attempt.id,
                    &format!("{}: {e}", e.code()),
                    &entry("voucher.issue_unconfirmed"),
                )?;
            }
            return Err(e);
        }
    };
    let observation = &voucher.observation;
    let order_voucher = crate::store::OrderVoucher {
        payment_id: observation.payment_id.clone(),
        voucher_code: observation.voucher_code.clone(),
        expires_at: observation.expires_at,
    };
    let entry = audit_entry(
        &operator.name,
        "voucher.issue",
        &subject,
        &audit_after(serde_json::json!({
            "psp_payment_id": order.psp_payment_id, "voucher_code": order.voucher_code,
            "voucher_expires_at": order.voucher_expires_at.map(|t| t.to_rfc3339()),
        })),
        &audit_after(serde_json::json!({
            "psp": psp.name(), "reference": reference, "payment_id": observation.payment_id,
            "voucher_code": observation.voucher_code, "expires_at": observation.expires_at.map(|t| t.to_rfc3339()),
            "amount_minor": observation.amount_minor, "attempt": attempt.attempts, "replayed": replayed,
        })),
    );
    store.record_voucher_issued(
        attempt.id,
        &Observed::Payment(observation.clone()),
        &voucher.raw,
        &operator.name,
        &order_voucher,
        Utc::now(),
        &entry,
    )?;
    let mut outcome = VoucherOutcome {
        action: VoucherAction::Issue,
        order_id: order.order_id.clone(),
        psp: psp.name().to_string(),
        payment_id: observation.payment_id.clone(),
        voucher_code: observation.voucher_code.clone(),
        amount_minor: observation.amount_minor,
        currency: observation.currency,
        expires_at: observation.expires_at,
        status: observation.status,
        reference: Some(reference),
        replayed,
        messages_queued: Vec::new(),
        message_error: None,
    };
    let event = NotificationEvent::VoucherIssued {
        order_id: order.order_id.clone(),
        payment_id: observation.payment_id.clone(),
        revision: None,
    };
    queue_message(store, &event, operator, &mut outcome)?;
    Ok(outcome)
}

/// dLocal: the ticket already created under the reference (a retry), or a new one.
pub(super) async fn issue_dlocal(
    client: &DlocalClient,
    clients: &VoucherClients,
    order: &OrderRecord,
    attempt: &VoucherIssueRow,
    currency: Currency,
    country: Country,
) -> Result<(PspVoucher, bool), VoucherError> {
    let reference = attempt.reference.as_str();
    if attempt.attempts > 1 {
        match client.order(reference).await {
            Ok(found) => {
                let payment =
                    client.payment(&found.payment_id).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
                return Ok((cash_payment_voucher(&payment, "GET /payments/{id}"), true));
            }
            // Not found: the earlier call never reached dLocal's books.
            Err(DlocalError::Refused { http_status: 404, .. }) => {}
            Err(e) => {
                // A lookup refused otherwise is not a verdict on the voucher: try again later.
                return Err(VoucherError::PspUnconfirmed {
                    psp: "dlocal",
                    code: e.code(),
                    message: e.to_string(),
                    reference: Some(reference.to_string()),
                });
            }
        }
    }
    let method = match country {
        Country::Colombia => DlocalCashMethod::Efecty,
        Country::Peru => DlocalCashMethod::PagoEfectivo,
    };
    let request = CashPaymentRequest {
        order_id: reference.to_string(),
        amount_minor: order.amount_minor,
        currency,
        country,
        method,
        payer: CashPayer {
            name: order.buyer_name.trim().to_string(),
            email: order.buyer_email.trim().to_string(),
            document: order.buyer_document.trim().to_string(),
        },
        description: Some(concept(order)),
        notification_url: clients.notification_url.clone(),
    };
    match client.create_cash_payment(&request).await {
        Ok(payment) => Ok((cash_payment_voucher(&payment, "POST /payments"), false)),
        // The reference is taken at dLocal (another desktop's attempt, a ledger
        // restored from an older copy): the ticket made under it is this order's.
        Err(DlocalError::Refused { dlocal_code: Some(code), .. })
            if code == crate::psp::dlocal::api::ERROR_ORDER_ID_DUPLICATED =>
        {
            let found = client.order(reference).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
            let payment = client.payment(&found.payment_id).await.map_err(|e| dlocal_failure(&e, Some(reference)))?;
            same_money(&payment.observation(), order, currency, "dlocal")?;
            Ok((cash_payment_voucher(&payment, "GET /payments/{id}"), true))
        }
        Err(e) => Err(dlocal_failure(&e, Some(reference))),
    }
}

/// A voucher found under our reference must be for the order's money, or it is not ours.
pub(super) fn same_money(
    found: &PaymentObservation,
    order: &OrderRecord,
    currency: Currency,
    psp: &'static str,
) -> Result<(), VoucherError> {
    if found.amount_minor == order.amount_minor && found.currency == currency {
        return Ok(());
    }
    Err(VoucherError::PspRefused {
        psp,
        code: "vouchers.reference_taken",
        message: format!(
            "{} {} holds {} {} under reference {}, not the order's {} {}",
            psp,
            found.payment_id,
            crate::money::format_minor(found.amount_minor, found.currency),
            found.currency,
            found.order_id,
            crate::money::format_minor(order.amount_minor, currency),
            currency
        ),
    })
}

pub(super) fn concept(order: &OrderRecord) -> String {
    let text = format!("Pedido {} {}", order.order_id, order.store);
    text.chars().filter(|c| !c.is_control()).take(CONCEPT_CHARS_MAX).collect::<String>().trim().to_string()
}

/// PagoEfectivo: the CIP already created under the reference (a retry), or a new one.
pub(super) async fn issue_cip(
    client: &PagoEfectivoClient,
    order: &OrderRecord,
    attempt: &VoucherIssueRow,
    currency: Currency,
) -> Result<(PspVoucher, bool), VoucherError> {
    let reference = attempt.reference.as_str();
    let search = "POST /v1/cips/search";
    if attempt.attempts > 1 {
        let found = client.search_cips(&[CipQuery::TransactionCode(reference.to_string())]).await.map_err(|e| {
            match pagoefectivo_failure(&e, Some(reference)) {
                // A refused lookup is not a verdict on the voucher: try again later.
                VoucherError::PspRefused { psp, code, message } => {
                    VoucherError::PspUnconfirmed { psp, code, message, reference: Some(reference.to_string()) }
                }
                other => other,
            }
        })?;
        if let Some(record) = found.into_iter().find(|r| r.transaction_code == reference) {
            return Ok((cip_voucher(&record, search), true));
        }
    }
    let name = order.buyer_name.trim();
    let (first, last) = name.split_once(' ').map(|(f, l)| (f.trim(), l.trim())).unwrap_or((name, name));
    let phone: String = order.buyer_phone.chars().filter(char::is_ascii_digit).collect();
    let phone = phone.strip_prefix("51").filter(|rest| rest.len() == 9).unwrap_or(phone.as_str()).to_string();
    let cip = NewCip {
        transaction_code: reference.to_string(),
        currency,
        amount_minor: order.amount_minor,
        expires_at: attempt.expires_at,
        concept: concept(order),
        additional_data: None,
        payer: Payer {
            email: order.buyer_email.trim().to_string(),
            name: first.to_string(),
            last_name: last.to_string(),
            document_type: "DNI".into(),
            document_number: order.buyer_document.trim().to_string(),
            phone,
            phone_country_code: PERU_PHONE_CODE.into(),
            ubigeo: None,
            country: Some("PE".into()),
        },
    };
    let created = match client.create_cip(&cip).await {
        Ok(created) => created,
        // The transactionCode is taken (another desktop's attempt, a ledger
        // restored from an older copy): the CIP made under it is this order's.
        Err(PagoEfectivoError::Refused { fields, .. }) if fields.iter().any(|f| f.field == "transactionCode") => {
            let found = client
                .search_cips(&[CipQuery::TransactionCode(reference.to_string())])
                .await
                .map_err(|e| pagoefectivo_failure(&e, Some(reference)))?;
            let Some(record) = found.into_iter().find(|r| r.transaction_code == reference) else {
                return Err(VoucherError::PspRefused {
                    psp: "pagoefectivo",
                    code: "pagoefectivo.refused",
                    message: format!("transactionCode {reference} is taken but PagoEfectivo finds no CIP under it"),
                });
            };
            let voucher = cip_voucher(&record, search);
            same_money(&voucher.observation, order, currency, "pagoefectivo")?;
            return Ok((voucher, true));
        }
        Err(e) => return Err(pagoefectivo_failure(&e, Some(reference))),
    };
    // The creation answer carries no status: read the CIP back as PagoEfectivo holds it.
    let record = CipRecord {
        cip: created.cip,
        transaction_code: created.transaction_code.clone(),
        currency: created.currency,
        amount_minor: created.amount_minor,
        status: PaymentStatus::Pending,
        cip_status: crate::psp::pagoefectivo::wire::CipStatus::Pendiente,
        status_code: CIP_CREATED_CODE,
        status_name: CIP_CREATED_NAME.to_string(),
        created_at: Utc::now(),
        expires_at: created.expires_at,
        paid_at: None,
        removed_at: None,
    };
    Ok((cip_voucher(&record, "POST /v1/cips"), false))
}

/// A CIP just created is `Generado` (API status 22).
pub(super) const CIP_CREATED_CODE: i64 = 22;
pub(super) const CIP_CREATED_NAME: &str = "Generado";
