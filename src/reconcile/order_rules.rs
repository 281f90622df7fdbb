//! The rules about one order against its payments: recorded and paid, paid and recorded, duplicates, mismatches, expiry.

use super::*;

pub(super) struct OrderRules<'f> {
    pub(super) items: Vec<StoredFinding>,
    /// Paid payments per order: (first index, count).
    pub(super) paid_by_order: FxHashMap<&'f str, (usize, u32)>,
}

/// The rules about an order and the payments made for it.
pub(super) fn order_rules<'f>(
    orders: &'f [OrderFacts],
    paid: &'f [PaymentFacts],
    pending: &'f [PendingFacts],
    money: &'f MoneyFacts,
    options: &ReconcileOptions,
) -> OrderRules<'f> {
    // Paid payments per order: (first index, count). Orders paid more than once
    // are rare; their full lists are gathered separately.
    let mut paid_by_order: FxHashMap<&str, (usize, u32)> = FxHashMap::default();
    paid_by_order.reserve(paid.len());
    for (i, p) in paid.iter().enumerate() {
        paid_by_order.entry(p.order_id.as_str()).and_modify(|e| e.1 += 1).or_insert((i, 1));
    }
    let mut paid_many: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (i, p) in paid.iter().enumerate() {
        if paid_by_order.get(p.order_id.as_str()).is_some_and(|e| e.1 > 1) {
            paid_many.entry(p.order_id.as_str()).or_default().push(i);
        }
    }
    let taken_back_orders: FxHashSet<&str> =
        money.later.iter().filter(|p| p.status.is_taken_back()).map(|p| p.order_id.as_str()).collect();
    // The latest expiry of each order's still-pending vouchers: a voucher
    // issued again keeps the order alive until it expires too.
    let mut pending_expiry: FxHashMap<&str, i64> = FxHashMap::default();
    for p in pending {
        if let Some(at) = p.expires_at {
            pending_expiry.entry(p.order_id.as_str()).and_modify(|e| *e = (*e).max(at)).or_insert(at);
        }
    }
    let expired_unpaid_s = options.terms.expired_unpaid_hours * 3_600;
    let mut items = Vec::new();

    let order_finding = |kind: ExceptionKind, o: &OrderFacts, facts: String, detail: String| StoredFinding {
        id: kind.exception_id(&[&o.order_id]),
        kind: kind.as_str(),
        order_id: o.order_id.to_string(),
        psp: String::new(),
        payment_id: String::new(),
        settlement: None,
        country: o.country.code().to_string(),
        store: o.store.to_string(),
        amount_minor: Some(o.amount_minor),
        currency: o.currency.code().to_string(),
        facts,
        detail,
    };
    for o in orders {
        let (first, count) = paid_by_order.get(o.order_id.as_str()).copied().unwrap_or((0, 0));
        let ids = || match paid_many.get(o.order_id.as_str()) {
            Some(all) => {
                all.iter().map(|i| format!("{}:{}", paid[*i].psp, paid[*i].payment_id)).collect::<Vec<_>>().join(",")
            }
            None => format!("{}:{}", paid[first].psp, paid[first].payment_id),
        };
        let status = o.status.as_str();
        if count > 0 && o.status.awaits_payment() {
            let facts = format!("shop={status};paid={}", ids());
            let detail = format!("paid at the PSP ({}) but the shop still says {status}: deliver the order", ids());
            items.push(order_finding(ExceptionKind::PaidNotRecorded, o, facts, detail));
        }
        // An order whose payment was reversed or charged back has its own finding.
        if count == 0 && o.status.counts_as_paid() && !taken_back_orders.contains(o.order_id.as_str()) {
            let facts = format!("shop={status}");
            let detail = format!("the shop says {status} but no PSP reports a paid payment for it");
            items.push(order_finding(ExceptionKind::RecordedNotPaid, o, facts, detail));
        }
        if count >= 2 {
            let facts = format!("paid={}", ids());
            let detail = format!("{count} paid payments for one order: {}", ids());
            items.push(order_finding(ExceptionKind::DuplicatePayment, o, facts, detail));
        }
        if count > 0 && !o.psp_payment_id.is_empty() {
            let named = o.psp_payment_id.as_str();
            let named_paid = match paid_many.get(o.order_id.as_str()) {
                Some(all) => all.iter().any(|i| paid[*i].payment_id == named),
                None => paid[first].payment_id == named,
            };
            if !named_paid {
                let facts = format!("shop_payment={named};paid={}", ids());
                let detail = format!(
                    "the shop names payment {named:?} but {} paid it: check which payment the shop recorded",
                    ids()
                );
                items.push(order_finding(ExceptionKind::PaymentIdMismatch, o, facts, detail));
            }
        }
        if count == 0 && o.status == ShopStatus::PendingPayment {
            let pending_until = pending_expiry.get(o.order_id.as_str()).copied();
            let expiry = match (o.voucher_expires_at, pending_until) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if let Some(expiry) = expiry
                && options.at - expiry >= expired_unpaid_s
            {
                let facts = format!("expired={expiry}");
                let detail = format!(
                    "the voucher expired at {} and nothing is paid, but the shop still says {status}: \
                     release the stock (cancel the order) or issue a new voucher",
                    utc_text(expiry)
                );
                items.push(order_finding(ExceptionKind::ExpiredUnpaid, o, facts, detail));
            }
        }
    }
    OrderRules { items, paid_by_order }
}
