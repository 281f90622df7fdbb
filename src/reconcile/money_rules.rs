//! The rules about the money: pending vouchers, paid payments, money taken back, and settlement rows of every type.

use super::*;

/// What the money rules found, and the paid payments no settlement row
/// reports yet (each with its market paid date): those the clock alone can
/// make `not_settled`, kept for the next scoped run.
pub(super) struct MoneyRules {
    pub items: Vec<StoredFinding>,
    pub awaiting_settlement: Vec<AwaitingSettlement>,
}

/// The payment a finding is about (pending or paid), and its order when the shop knows it.
struct OnPayment<'a> {
    psp: &'a str,
    payment_id: &'a str,
    order_id: &'a str,
    country: Country,
    order: Option<&'a OrderFacts>,
}

impl OnPayment<'_> {
    fn finding(
        &self,
        kind: ExceptionKind,
        amount_minor: i64,
        currency: Currency,
        facts: String,
        detail: String,
    ) -> StoredFinding {
        StoredFinding {
            id: kind.exception_id(&[self.psp, self.payment_id]),
            kind: kind.as_str(),
            order_id: self.order_id.to_string(),
            psp: self.psp.to_string(),
            payment_id: self.payment_id.to_string(),
            settlement: None,
            country: self.country.code().to_string(),
            store: self.order.map(|o| o.store.to_string()).unwrap_or_default(),
            amount_minor: Some(amount_minor),
            currency: currency.code().to_string(),
            facts,
            detail,
        }
    }
}

/// The rules about the money: pending vouchers, paid payments, money taken
/// back, and settlement rows of every type.
pub(super) fn money_rules(
    orders: &[OrderFacts],
    paid: &[PaymentFacts],
    pending: &[PendingFacts],
    settlements: &[SettlementFacts],
    money: &MoneyFacts,
    options: &ReconcileOptions,
) -> MoneyRules {
    let order_index: FxHashMap<&str, usize> =
        orders.iter().enumerate().map(|(i, o)| (o.order_id.as_str(), i)).collect();
    let mut paid_by_key: FxHashMap<(&str, &str), usize> = FxHashMap::default();
    paid_by_key.reserve(paid.len());
    for (i, p) in paid.iter().enumerate() {
        paid_by_key.insert((&p.psp, p.payment_id.as_str()), i);
    }
    let settled = settled_keys(settlements);
    // Payments paid once whose money later went back (or out again).
    let later_by_key: FxHashMap<(&str, &str), usize> =
        money.later.iter().enumerate().map(|(i, p)| ((&*p.psp, p.payment_id.as_str()), i)).collect();
    let chargeback_rows: FxHashMap<(&str, &str), &SettlementFacts> = settlements
        .iter()
        .filter(|s| s.row_type == RowType::Chargeback)
        .map(|s| ((&*s.psp, s.payment_id.as_str()), s))
        .collect();
    let stale_pending_s = options.terms.stale_pending_days * 86_400;
    let mut items = Vec::new();
    let mut awaiting_settlement = Vec::new();

    for p in pending {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let Some(expiry) = p.expires_at.or_else(|| order.and_then(|o| o.voucher_expires_at)) else { continue };
        if options.at - expiry < stale_pending_s {
            continue;
        }
        let on = OnPayment { psp: &p.psp, payment_id: &p.payment_id, order_id: &p.order_id, country: p.country, order };
        items.push(on.finding(
            ExceptionKind::StalePending,
            p.amount_minor,
            p.currency,
            format!("expired={expiry}"),
            format!(
                "{} still says pending {} days after the voucher expired at {}: the PSP never closed this voucher, ask them",
                p.psp,
                (options.at - expiry) / 86_400,
                utc_text(expiry)
            ),
        ));
    }

    for p in paid {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let on = OnPayment { psp: &p.psp, payment_id: &p.payment_id, order_id: &p.order_id, country: p.country, order };
        let payment_finding = |kind: ExceptionKind, facts: String, detail: String| {
            on.finding(kind, p.amount_minor, p.currency, facts, detail)
        };
        match order {
            None => items.push(payment_finding(
                ExceptionKind::UnknownOrder,
                format!("order={}", p.order_id),
                format!(
                    "paid {} for order {:?}, which the shop does not know",
                    money_text(p.amount_minor, p.currency),
                    p.order_id
                ),
            )),
            Some(o) if o.currency != p.currency => {
                if let Some((kind, facts, detail)) = converted_problem(o, p, &money.fx_rates, options) {
                    items.push(payment_finding(kind, facts, detail));
                }
            }
            // The tolerance is never negative: equal amounts need no (decimal) tolerance.
            Some(o)
                if o.amount_minor != p.amount_minor
                    && (o.amount_minor - p.amount_minor).abs()
                        > options.terms.amount_tolerance_minor(options.amount_tolerance_minor, o.amount_minor) =>
            {
                items.push(payment_finding(
                    ExceptionKind::AmountMismatch,
                    format!("order={};payment={}", o.amount_minor, p.amount_minor),
                    format!(
                        "paid {} but the order is for {}",
                        money_text(p.amount_minor, p.currency),
                        money_text(o.amount_minor, o.currency)
                    ),
                ))
            }
            Some(_) => {}
        }
        let expiry = p.expires_at.or_else(|| order.and_then(|o| o.voucher_expires_at));
        if let (Some(paid_at), Some(expiry)) = (p.paid_at, expiry)
            && paid_at > expiry
        {
            items.push(payment_finding(
                ExceptionKind::PaidAfterExpiry,
                format!("paid={paid_at};expired={expiry}"),
                format!(
                    "paid at {} after the voucher expired at {} ({} min late)",
                    utc_text(paid_at),
                    utc_text(expiry),
                    (paid_at - expiry) / 60
                ),
            ));
        }
        if let Some(paid_on) = unsettled_paid_on(p, &settled) {
            awaiting_settlement.push(AwaitingSettlement {
                psp: p.psp.to_string(),
                payment_id: p.payment_id.to_string(),
                country: p.country.code().to_string(),
                paid_on: paid_on.to_string(),
            });
            let terms = options.terms.channel(&p.psp, p.country);
            let due = settlement_due(&terms, paid_on);
            let late = calendar::business_days_between(p.country, due, options.as_of);
            if late > options.settlement_lag_days {
                items.push(payment_finding(
                    ExceptionKind::NotSettled,
                    format!("paid_on={paid_on};due={due}"),
                    format!(
                        "paid on {paid_on} (market date), settlement due by {due} (T+{} business days): none reported",
                        terms.settle_business_days
                    ),
                ));
            }
        }
    }

    // Money taken back: a reversal the shop may have shipped against, and
    // one chargeback per charged-back payment (the status or its row).
    let mut charged_back: FxHashSet<(&str, &str)> = FxHashSet::default();
    for p in &money.later {
        let order = order_index.get(p.order_id.as_str()).map(|i| &orders[*i]);
        let on = OnPayment { psp: &p.psp, payment_id: &p.payment_id, order_id: &p.order_id, country: p.country, order };
        let finding =
            |kind, amount_minor, currency, facts, detail| on.finding(kind, amount_minor, currency, facts, detail);
        match p.status {
            PaymentStatus::ChargedBack => {
                charged_back.insert((&*p.psp, p.payment_id.as_str()));
                let row = chargeback_rows.get(&(&*p.psp, p.payment_id.as_str())).copied();
                items.push(chargeback_finding(p, row, &finding));
            }
            PaymentStatus::Reversed => {
                if let Some(o) = order.filter(|o| o.status.counts_as_paid()) {
                    let on = p
                        .taken_back_at
                        .and_then(|t| business_date(p.country, t))
                        .map(|d| format!(" on {d}"))
                        .unwrap_or_default();
                    items.push(finding(
                        ExceptionKind::ReversedAfterFulfilment,
                        p.amount_minor,
                        p.currency,
                        format!("shop={};reversed={}", o.status.as_str(), p.taken_back_at.unwrap_or(0)),
                        format!(
                            "{} reversed payment {} of {}{on}, but the shop has the order as {} → money taken back: stop shipment or recover the goods",
                            p.psp,
                            p.payment_id,
                            money_text(p.amount_minor, p.currency),
                            o.status.as_str()
                        ),
                    ));
                }
            }
            PaymentStatus::Pending
            | PaymentStatus::Rejected
            | PaymentStatus::Cancelled
            | PaymentStatus::Expired
            | PaymentStatus::Paid
            | PaymentStatus::Refunded => {}
        }
    }

    let refunds_by_payment: FxHashMap<(&str, &str), Vec<&RefundFacts>> =
        money.refunds.iter().fold(FxHashMap::default(), |mut map, r| {
            map.entry((r.psp.as_str(), r.payment_id.as_str())).or_insert_with(Vec::new).push(r);
            map
        });
    for s in settlements {
        let settlement_finding =
            |kind: ExceptionKind, p: Option<&PaymentFacts>, facts: String, detail: String| StoredFinding {
                id: kind.exception_id(&[&s.psp, &s.payment_id, s.row_type.as_str()]),
                kind: kind.as_str(),
                order_id: p.map(|p| p.order_id.to_string()).unwrap_or_else(|| s.order_id.to_string()),
                psp: s.psp.to_string(),
                payment_id: s.payment_id.to_string(),
                settlement: Some(s.id),
                country: p.map(|p| p.country.code().to_string()).unwrap_or_default(),
                store: String::new(),
                amount_minor: Some(s.local_amount_minor),
                currency: s.local_currency.code().to_string(),
                facts,
                detail,
            };
        let key = (&*s.psp, s.payment_id.as_str());
        let payment =
            paid_by_key.get(&key).map(|i| &paid[*i]).or_else(|| later_by_key.get(&key).map(|i| &money.later[*i]));
        if let Some(problem) = fx_problem(s) {
            items.push(settlement_finding(
                ExceptionKind::SettlementFxMismatch,
                payment,
                format!(
                    "local={}{};fx={};gross={}{}",
                    s.local_amount_minor, s.local_currency, s.fx_rate, s.gross_minor, s.settlement_currency
                ),
                problem,
            ));
        }
        match s.row_type {
            RowType::Payment => match payment {
                None => items.push(settlement_finding(
                    ExceptionKind::UnknownSettlement,
                    None,
                    format!("amount={};{}", s.local_amount_minor, s.local_currency),
                    format!(
                        "settlement of {} for payment {:?}, which is not a paid payment",
                        money_text(s.local_amount_minor, s.local_currency),
                        s.payment_id
                    ),
                )),
                Some(p) => {
                    let mut problems = Vec::new();
                    if s.local_currency != p.currency {
                        problems.push(format!("settled in {} but paid in {}", s.local_currency, p.currency));
                    } else if s.local_amount_minor != p.amount_minor {
                        problems.push(format!(
                            "settled {} but paid {}",
                            money_text(s.local_amount_minor, s.local_currency),
                            money_text(p.amount_minor, p.currency)
                        ));
                    }
                    if s.gross_minor.checked_sub(s.fee_minor) != Some(s.net_minor) {
                        problems.push(format!("net {} ≠ gross {} − fee {}", s.net_minor, s.gross_minor, s.fee_minor));
                    }
                    if !problems.is_empty() {
                        items.push(settlement_finding(
                            ExceptionKind::SettlementMismatch,
                            Some(p),
                            format!(
                                "local={}{};paid={}{};g={};n={};f={}",
                                s.local_amount_minor,
                                s.local_currency,
                                p.amount_minor,
                                p.currency,
                                s.gross_minor,
                                s.net_minor,
                                s.fee_minor
                            ),
                            problems.join("; "),
                        ));
                    }
                    if let Some(problem) = fee_problem(s, &money.fee_rates) {
                        items.push(settlement_finding(
                            ExceptionKind::FeeMismatch,
                            Some(p),
                            format!("gross={};fee={};{}", s.gross_minor, s.fee_minor, s.settlement_currency),
                            problem,
                        ));
                    }
                }
            },
            RowType::Refund => {
                let magnitude = s.local_amount_minor.abs();
                let ours = refunds_by_payment.get(&key).is_some_and(|refunds| {
                    refunds.iter().any(|r| r.currency == s.local_currency && r.amount_minor == magnitude)
                });
                if !ours {
                    items.push(settlement_finding(
                        ExceptionKind::UnmatchedRefundSettlement,
                        payment,
                        format!("amount={};{}", magnitude, s.local_currency),
                        format!(
                            "refund of {} for payment {:?} that matches none of our succeeded refunds → a refund we did not make: check the PSP portal",
                            money_text(magnitude, s.local_currency),
                            s.payment_id
                        ),
                    ));
                }
            }
            RowType::Chargeback => {
                // A chargeback row for a payment the ledger does not have as
                // charged back (or does not know) still opens its one case.
                if !charged_back.contains(&key) {
                    charged_back.insert(key);
                    let p = payment;
                    let order = p.and_then(|p| order_index.get(p.order_id.as_str())).map(|i| &orders[*i]);
                    let finding =
                        |kind: ExceptionKind, amount_minor: i64, currency: Currency, facts: String, detail: String| {
                            StoredFinding {
                                id: kind.exception_id(&[&s.psp, &s.payment_id]),
                                kind: kind.as_str(),
                                order_id: p.map(|p| p.order_id.to_string()).unwrap_or_else(|| s.order_id.to_string()),
                                psp: s.psp.to_string(),
                                payment_id: s.payment_id.to_string(),
                                settlement: Some(s.id),
                                country: p.map(|p| p.country.code().to_string()).unwrap_or_default(),
                                store: order.map(|o| o.store.to_string()).unwrap_or_default(),
                                amount_minor: Some(amount_minor),
                                currency: currency.code().to_string(),
                                facts,
                                detail,
                            }
                        };
                    let (amount, currency) = (s.local_amount_minor.abs(), s.local_currency);
                    let day = chargeback_day(Some(s), None, p);
                    items.push(finding(
                        ExceptionKind::Chargeback,
                        amount,
                        currency,
                        format!("amount={amount};{currency};on={day}"),
                        chargeback_detail(amount, currency, &day),
                    ));
                }
            }
            // Fees have no counterpart to match; they count in the settled figures.
            RowType::Fee => {}
        }
    }
    MoneyRules { items, awaiting_settlement }
}

/// The payment keys a settlement row of type payment reported.
fn settled_keys(settlements: &[SettlementFacts]) -> FxHashSet<(&str, &str)> {
    settlements.iter().filter(|s| s.row_type == RowType::Payment).map(|s| (&*s.psp, s.payment_id.as_str())).collect()
}

/// A paid payment's market paid date while no settlement row reports it: the
/// date `not_settled` counts its lateness from.
fn unsettled_paid_on(p: &PaymentFacts, settled: &FxHashSet<(&str, &str)>) -> Option<NaiveDate> {
    if settled.contains(&(&*p.psp, p.payment_id.as_str())) {
        return None;
    }
    p.paid_at.and_then(|t| business_date(p.country, t))
}
