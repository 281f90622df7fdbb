//! The case file's verdict: what happened to an order's money, in one sentence per situation.

use super::*;

pub(super) fn network_name(network: &str) -> &str {
    match network {
        "efecty" => "Efecty",
        "pagoefectivo" => "PagoEfectivo",
        _ => "the counter",
    }
}

pub(super) fn market_time(at: DateTime<Utc>, country: &str) -> String {
    let country = Country::parse(country).unwrap_or(Country::Colombia);
    format!("{} {}", at.with_timezone(&country.zone()).format("%-d %b %H:%M"), country.city())
}

/// `4 Mar`: a market date as the verdict shows it.
pub(super) fn day_text(date: NaiveDate) -> String {
    date.format("%-d %b").to_string()
}

/// The one line support reads first, the step it asks for and the buyer
/// message that fits. The ship policy of the payment's PSP and market
/// (`terms`) decides whether a paid order may go out before its settlement
/// arrives.
pub fn verdict(
    order: Option<&OrderRecord>,
    payments: &[PaymentRecord],
    settlements: &[SettlementRecord],
    exceptions: &[ExceptionRecord],
    terms: &TermsSettings,
    now: DateTime<Utc>,
) -> Verdict {
    let mut v = sentence(order, payments, settlements, exceptions, terms, now);
    v.buyer_message = order.and_then(|o| {
        let money = crate::notifications::fit::OrderMoney::of(o, payments);
        crate::notifications::fit::suggested(&money, now)
    });
    v.next_step = match v.code {
        VerdictCode::DeliverOrder => NextStep::ReleaseOrder,
        VerdictCode::AllGood => NextStep::NothingToDo,
        VerdictCode::AwaitingPayment | VerdictCode::NoPayment => match v.buyer_message {
            Some(_) => NextStep::RemindBuyer,
            None => NextStep::NothingToDo,
        },
        VerdictCode::ExpiredUnpaid => {
            // Stock is held only while the shop still waits for this payment.
            match order.and_then(|o| ShopStatus::parse(&o.status)) == Some(ShopStatus::PendingPayment) {
                true => NextStep::ReleaseStock,
                false => NextStep::OfferNewVoucher,
            }
        }
        VerdictCode::NotPaidDoNotShip => NextStep::AskPsp,
        VerdictCode::PaidTwice => NextStep::RefundExtraPayment,
        VerdictCode::CheckAmounts => NextStep::CheckAmounts,
        VerdictCode::UnknownOrder => NextStep::LinkOrder,
        VerdictCode::Reversed => NextStep::StopShipment,
        VerdictCode::ChargedBack => NextStep::AnswerChargeback,
        VerdictCode::HoldUntilSettled => NextStep::HoldShipment,
        VerdictCode::PaidAfterExpiry => NextStep::CheckStock,
        VerdictCode::CheckPaymentId => NextStep::CheckPaymentId,
    };
    v
}

/// The facts of a paid payment every "paid" verdict starts from.
pub(super) fn paid_facts(p: &PaymentRecord) -> VerdictFacts {
    VerdictFacts {
        country: Some(p.country.clone()),
        psp: Some(p.psp.clone()),
        network: Some(p.network.clone()),
        payment_id: Some(p.payment_id.clone()),
        amount_minor: Some(p.amount_minor),
        currency: Some(p.currency.clone()),
        paid_at: p.paid_at,
        ..VerdictFacts::default()
    }
}

pub(super) fn sentence(
    order: Option<&OrderRecord>,
    payments: &[PaymentRecord],
    settlements: &[SettlementRecord],
    exceptions: &[ExceptionRecord],
    terms: &TermsSettings,
    now: DateTime<Utc>,
) -> Verdict {
    let paid: Vec<&PaymentRecord> = payments.iter().filter(|p| p.status == "paid").collect();
    let paid_text = |p: &PaymentRecord| match p.paid_at {
        Some(at) => format!("Paid at {} on {}", network_name(&p.network), market_time(at, &p.country)),
        None => format!("Paid at {}", network_name(&p.network)),
    };
    let Some(order) = order else {
        return match paid.first() {
            Some(p) => Verdict::new(
                VerdictCode::UnknownOrder,
                format!("{}, but the shop has no such order → find the buyer's order and link it", paid_text(p)),
                paid_facts(p),
            ),
            None => Verdict::new(
                VerdictCode::UnknownOrder,
                "The shop has no such order".to_string(),
                VerdictFacts::default(),
            ),
        };
    };
    let shop = |facts: VerdictFacts| VerdictFacts { shop_status: Some(order.status.clone()), ..facts };
    let status = ShopStatus::parse(&order.status);
    if paid.is_empty()
        && let Some(verdict) =
            taken_back_verdict(payments, &order.status, status.is_some_and(ShopStatus::counts_as_paid))
    {
        return verdict;
    }
    let open_kinds: Vec<&str> =
        exceptions.iter().filter(|e| e.status == ExceptionStatus::Open).map(|e| e.kind.as_str()).collect();
    if paid.len() >= 2 {
        return Verdict::new(
            VerdictCode::PaidTwice,
            format!(
                "{}, and paid {} times in all → ship once and refund the extra payment",
                paid_text(paid[0]),
                paid.len()
            ),
            VerdictFacts { times_paid: Some(paid.len() as u32), ..shop(paid_facts(paid[0])) },
        );
    }
    if let Some(p) = paid.first() {
        let expiry = p.expires_at.or(order.voucher_expires_at);
        let shipped = status.is_some_and(|s| s == ShopStatus::Fulfilled || s == ShopStatus::Refunded);
        if let (Some(paid_at), Some(expiry)) = (p.paid_at, expiry)
            && paid_at > expiry
            && !shipped
        {
            return Verdict::new(
                VerdictCode::PaidAfterExpiry,
                format!(
                    "{}, {} after the voucher expired; the shop says {} → check the stock is still held before \
                     shipping, otherwise refund the buyer",
                    paid_text(p),
                    ago(paid_at - expiry),
                    order.status
                ),
                VerdictFacts { voucher_expires_at: Some(expiry), ..shop(paid_facts(p)) },
            );
        }
        let market = Country::parse(&p.country).unwrap_or(Country::Colombia);
        let channel = terms.channel(&p.psp, market);
        let settled = settlements.iter().any(|s| s.psp == p.psp && s.payment_id == p.payment_id);
        if channel.ship_on == ShipOn::Settled
            && !settled
            && !shipped
            && let Some(paid_at) = p.paid_at
        {
            let due = settlement_due(&channel, market.business_date(paid_at));
            return Verdict::new(
                VerdictCode::HoldUntilSettled,
                format!(
                    "{}; settlement expected by {} (T+{} business days); the shop says {} → hold shipping until settled",
                    paid_text(p),
                    day_text(due),
                    channel.settle_business_days,
                    order.status
                ),
                VerdictFacts {
                    settle_by: Some(due),
                    settle_business_days: Some(channel.settle_business_days),
                    ..shop(paid_facts(p))
                },
            );
        }
        if open_kinds.contains(&"payment_id_mismatch") {
            return Verdict::new(
                VerdictCode::CheckPaymentId,
                format!(
                    "{} (payment {}), but the shop recorded payment {} → check which payment the shop recorded",
                    paid_text(p),
                    p.payment_id,
                    order.psp_payment_id
                ),
                VerdictFacts { recorded_payment_id: Some(order.psp_payment_id.clone()), ..shop(paid_facts(p)) },
            );
        }
        if status.is_some_and(ShopStatus::awaits_payment) {
            return Verdict::new(
                VerdictCode::DeliverOrder,
                format!("{}; the shop still says {} → deliver the order", paid_text(p), order.status),
                shop(paid_facts(p)),
            );
        }
        if open_kinds.iter().any(|k| matches!(*k, "amount_mismatch" | "currency_mismatch")) {
            return Verdict::new(
                VerdictCode::CheckAmounts,
                format!("{}, but not the amount the order asks → check before shipping", paid_text(p)),
                shop(paid_facts(p)),
            );
        }
        return Verdict::new(
            VerdictCode::AllGood,
            format!("{}; the shop says {}", paid_text(p), order.status),
            shop(paid_facts(p)),
        );
    }
    let order_facts = shop(VerdictFacts {
        country: Some(order.country.clone()),
        psp: Some(order.psp.clone()).filter(|p| !p.is_empty()),
        amount_minor: Some(order.amount_minor),
        currency: Some(order.currency.clone()),
        ..VerdictFacts::default()
    });
    if status.is_some_and(ShopStatus::counts_as_paid) {
        return Verdict::new(
            VerdictCode::NotPaidDoNotShip,
            format!(
                "No PSP reports a payment, but the shop says {} → do not ship until the money is confirmed",
                order.status
            ),
            order_facts,
        );
    }
    let expiry = payments.iter().filter_map(|p| p.expires_at).max().or(order.voucher_expires_at);
    let still_pending = payments.iter().any(|p| p.status == "pending");
    let facts = VerdictFacts { voucher_expires_at: expiry, psp_still_pending: still_pending, ..order_facts };
    match (payments.is_empty(), expiry) {
        (_, Some(at)) if at < now => Verdict::new(
            VerdictCode::ExpiredUnpaid,
            format!(
                "Not paid; the voucher expired {} ago{}{}",
                ago(now - at),
                if still_pending { " but the PSP still says pending (ask them to close it)" } else { "" },
                if status == Some(ShopStatus::PendingPayment) {
                    " → release the stock (cancel the order), or issue a new voucher if the buyer still wants it"
                } else {
                    " → issue a new voucher if the buyer still wants it"
                }
            ),
            facts,
        ),
        (false, expiry) => Verdict::new(
            VerdictCode::AwaitingPayment,
            match expiry {
                Some(at) => format!("Not paid yet; the voucher expires in {}", ago(at - now)),
                None => "Not paid yet".to_string(),
            },
            facts,
        ),
        (true, _) => {
            Verdict::new(VerdictCode::NoPayment, "No payment has been reported for this order".to_string(), facts)
        }
    }
}

pub(super) fn amount_text(p: &PaymentRecord) -> String {
    match crate::money::Currency::parse(&p.currency) {
        Ok(c) => format!("{} {}", crate::money::format_minor(p.amount_minor, c), c),
        Err(_) => format!("{} {}", p.amount_minor, p.currency),
    }
}

/// The verdict for an order whose payment the PSP took back (charged back
/// first: it is the later, stronger claim). Never "deliver the order".
pub(super) fn taken_back_verdict(
    payments: &[PaymentRecord],
    shop_status: &str,
    shop_counts_as_paid: bool,
) -> Option<Verdict> {
    let taken_at = |p: &PaymentRecord| p.history.iter().rev().find(|h| h.status == p.status).and_then(|h| h.status_at);
    let when =
        |p: &PaymentRecord| taken_at(p).map(|at| format!(" on {}", market_time(at, &p.country))).unwrap_or_default();
    let facts = |p: &PaymentRecord| VerdictFacts {
        taken_back_at: taken_at(p),
        shop_status: Some(shop_status.to_string()),
        ..paid_facts(p)
    };
    if let Some(p) = payments.iter().find(|p| p.status == "charged_back") {
        return Some(Verdict::new(
            VerdictCode::ChargedBack,
            format!(
                "Chargeback of {}{} at {} → dispute or accept; do not ship against this payment",
                amount_text(p),
                when(p),
                p.psp
            ),
            facts(p),
        ));
    }
    let p = payments.iter().find(|p| p.status == "reversed")?;
    let action = if shop_counts_as_paid {
        format!("the shop says {shop_status} → money taken back: stop shipment or recover the goods")
    } else {
        "money taken back → do not ship".to_string()
    };
    Some(Verdict::new(
        VerdictCode::Reversed,
        format!("{} reversed the payment of {}{}; {action}", p.psp, amount_text(p), when(p)),
        facts(p),
    ))
}

pub(super) fn ago(span: chrono::TimeDelta) -> String {
    let minutes = span.num_minutes().abs();
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} days", m / (24 * 60)),
    }
}
