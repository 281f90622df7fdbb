//! Refund requests and approvals through the library (the functions the CLI
//! and the app call): tiers, maker-checker, the refundable remainder under
//! concurrency, partial refunds, the refund window, KYC, the FX lock, and
//! refusals that write nothing.

use crate::support;

use chrono::Utc;
use support::refunds::*;
use voucherdesk::money::Currency;
use voucherdesk::refunds::tiers::{self, RefundSettings, TierLimits};
use voucherdesk::refunds::{self, ApproverRole, RefundError, RefundStatus, Tier};

fn code<T: std::fmt::Debug>(result: Result<T, RefundError>) -> String {
    result.expect_err("must be refused").code().to_string()
}

#[test]
fn tier_boundaries_per_currency_exactly_at_and_one_minor_unit_over() {
    let s = RefundSettings::default();
    for (currency, t1, t2) in
        [(Currency::Cop, 20_000_000, 200_000_000), (Currency::Pen, 20_000, 200_000), (Currency::Usd, 5_000, 50_000)]
    {
        assert_eq!(s.tier_of(currency, 1), Tier::One, "{currency}");
        assert_eq!(s.tier_of(currency, t1), Tier::One, "{currency} at tier 1 limit");
        assert_eq!(s.tier_of(currency, t1 + 1), Tier::Two, "{currency} one minor unit over tier 1");
        assert_eq!(s.tier_of(currency, t2), Tier::Two, "{currency} at tier 2 limit");
        assert_eq!(s.tier_of(currency, t2 + 1), Tier::Three, "{currency} one minor unit over tier 2");
    }
    assert_eq!(Tier::One.approvers(), &[] as &[ApproverRole]);
    assert_eq!(Tier::Two.approvers(), &[ApproverRole::Finance]);
    assert_eq!(Tier::Three.approvers(), &[ApproverRole::Finance, ApproverRole::Manager]);
}

#[test]
fn requests_get_their_tier_at_the_boundaries_and_tier_one_needs_no_approval() {
    let mut l = ledger();
    l.add(&[
        sale("PE-1", "D-PE-1", "PE", "200.00"),
        sale("PE-2", "D-PE-2", "PE", "200.01"),
        sale("PE-3", "D-PE-3", "PE", "2000.01"),
        sale("CO-1", "D-CO-1", "CO", "2000001"),
    ]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let at = refunds::request(&mut l.store, &sam, &psp_refund("D-PE-1", "200.00"), now).unwrap();
    assert_eq!((at.tier, at.status, at.awaiting.clone()), (1, RefundStatus::Approved, vec![]));
    let over = refunds::request(&mut l.store, &sam, &psp_refund("D-PE-2", "200.01"), now).unwrap();
    assert_eq!((over.tier, over.status), (2, RefundStatus::PendingApproval));
    assert_eq!(over.awaiting, vec![ApproverRole::Finance]);
    let top = refunds::request(&mut l.store, &sam, &psp_refund("D-PE-3", "2000.01"), now).unwrap();
    assert_eq!((top.tier, top.awaiting.clone()), (3, vec![ApproverRole::Finance, ApproverRole::Manager]));
    // COP: 2,000,000 is tier 2, 2,000,001 tier 3 (dLocal quotes COP in whole pesos).
    let cop = refunds::request(&mut l.store, &sam, &psp_refund("D-CO-1", "2000000"), now).unwrap();
    assert_eq!(cop.tier, 2);
    let cop3 = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-CO-1", "1") },
        now,
    )
    .unwrap();
    assert_eq!(cop3.tier, 1);
    // Centavos cannot reach dLocal: refused before anything is written.
    let before = snapshot(&l.store);
    assert_eq!(
        code(refunds::request(
            &mut l.store,
            &sam,
            &refunds::RefundRequestInput { additional: true, ..psp_refund("D-CO-1", "0.01") },
            now
        )),
        "refunds.unquotable_amount"
    );
    assert_eq!(snapshot(&l.store), before);
}

#[test]
fn maker_checker_self_approval_same_person_twice_and_wrong_roles_are_refused() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "5000000"), sale("CO-2", "D-2", "CO", "500000")]);
    let now = Utc::now();
    // fabio (finance) requests a tier-3 refund: he can never approve it himself.
    let fabio = op(&l.db, "fabio");
    let r = refunds::request(&mut l.store, &fabio, &psp_refund("D-1", "3000000"), now).unwrap();
    assert_eq!(r.tier, 3);
    let before = snapshot(&l.store);
    let err = refunds::approve(&mut l.store, &fabio, r.id, None, now).unwrap_err();
    assert_eq!(err.code(), "refunds.self_approval");
    assert_eq!(
        err.to_string(),
        format!("fabio requested refund {}: the requester can never approve their own refund", r.id)
    );
    // Support cannot approve at all; an admin is not finance or manager.
    assert_eq!(code(refunds::approve(&mut l.store, &op(&l.db, "sam"), r.id, None, now)), "auth.forbidden");
    assert_eq!(code(refunds::approve(&mut l.store, &op(&l.db, "admin"), r.id, None, now)), "refunds.wrong_role");
    assert_eq!(snapshot(&l.store), before);

    // ana (manager) approves; she cannot approve a second time, and luis
    // (another manager) cannot fill the finance slot.
    let after_ana = refunds::approve(&mut l.store, &op(&l.db, "ana"), r.id, Some("ok"), now).unwrap();
    assert_eq!(
        (after_ana.status, after_ana.awaiting.clone()),
        (RefundStatus::PendingApproval, vec![ApproverRole::Finance])
    );
    assert_eq!(code(refunds::approve(&mut l.store, &op(&l.db, "ana"), r.id, None, now)), "refunds.same_approver");
    // The manager's slot is ana's: luis is told who filled it and when.
    let err = refunds::approve(&mut l.store, &op(&l.db, "luis"), r.id, None, now).unwrap_err();
    assert_eq!(err.code(), "refunds.already_decided");
    let at = voucherdesk::store::team::format_instant(now.timestamp());
    assert_eq!(err.to_string(), format!("refund {} is already approved for manager by ana at {at}", r.id));
    let done = refunds::approve(&mut l.store, &op(&l.db, "fiona"), r.id, None, now).unwrap();
    assert_eq!(done.status, RefundStatus::Approved);
    let who: Vec<(&str, &str)> = done.approvals.iter().map(|a| (a.operator.as_str(), a.role.as_str())).collect();
    assert_eq!(who, vec![("ana", "manager"), ("fiona", "finance")]);
    let err = refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, None, now).unwrap_err();
    assert_eq!(err.to_string(), format!("refund {} is already approved by fiona at {at}", r.id));

    // Tier 2 needs finance: a manager is the wrong role.
    let t2 = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-2", "300000"), now).unwrap();
    assert_eq!(t2.tier, 2);
    assert_eq!(code(refunds::approve(&mut l.store, &op(&l.db, "ana"), t2.id, None, now)), "refunds.wrong_role");
    // Rejection needs a comment, and cancels.
    assert_eq!(code(refunds::reject(&mut l.store, &op(&l.db, "fabio"), t2.id, "  ", now)), "refunds.comment_required");
    let rejected = refunds::reject(&mut l.store, &op(&l.db, "fabio"), t2.id, "buyer kept the goods", now).unwrap();
    assert_eq!(rejected.status, RefundStatus::Cancelled);
    assert_eq!(rejected.approvals[0].decision, "reject");

    // Every decision is in the audit log with operator, tier and amount.
    let entries = voucherdesk::audit::page(
        &l.store,
        &voucherdesk::audit::AuditQuery { action: Some("refund.approve".into()), limit: 10, ..Default::default() },
    )
    .unwrap();
    assert_eq!(entries.len(), 2);
    let last: serde_json::Value = serde_json::from_str(&entries[0].entry.after).unwrap();
    assert_eq!(
        (entries[0].entry.operator.as_str(), last["tier"].as_i64(), last["amount_minor"].as_i64()),
        ("fiona", Some(3), Some(300_000_000))
    );
    assert_eq!(voucherdesk::audit::verify(&l.store).unwrap().first_broken, None);
}

#[test]
fn two_concurrent_requests_cannot_both_take_the_same_remainder() {
    let mut l = ledger();
    let sales: Vec<Sale> = (0..8)
        .map(|i| sale(Box::leak(format!("CO-{i}").into_boxed_str()), &format!("D-{i}"), "CO", "100000"))
        .collect();
    l.add(&sales);
    for i in 0..8 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = ["sam", "sue"]
            .into_iter()
            .map(|name| {
                let (db, barrier) = (l.db.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut store = voucherdesk::store::Store::open(&db).unwrap();
                    let op = voucherdesk::operators::act_as(&store, name).unwrap();
                    let input =
                        refunds::RefundRequestInput { additional: true, ..psp_refund(&format!("D-{i}"), "60000") };
                    barrier.wait();
                    refunds::request(&mut store, &op, &input, Utc::now()).map(|r| r.id).map_err(|e| e.code())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let passed = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(passed, 1, "payment D-{i}: {results:?}");
        assert!(results.contains(&Err("refunds.exceeds_refundable")), "{results:?}");
        let left = refunds::refundable(&l.store, &format!("D-{i}"), None).unwrap();
        assert_eq!((left.in_flight_minor, left.refundable_minor), (6_000_000, 4_000_000));
    }
}

#[test]
fn partial_refunds_add_up_to_the_paid_amount_and_not_one_cent_more() {
    let mut l = ledger();
    l.add(&[sale("PE-1", "D-1", "PE", "89.90")]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let mut ids = Vec::new();
    for amount in ["30.00", "29.95", "29.95"] {
        let input = refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", amount) };
        ids.push(refunds::request(&mut l.store, &sam, &input, now).unwrap().id);
    }
    let left = refunds::refundable(&l.store, "D-1", None).unwrap();
    assert_eq!((left.paid_minor, left.in_flight_minor, left.refundable_minor), (8_990, 8_990, 0));
    let before = snapshot(&l.store);
    let err = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "0.01") },
        now,
    )
    .unwrap_err();
    assert_eq!(err.code(), "refunds.exceeds_refundable");
    assert_eq!(
        err.to_string(),
        "0.01 PEN is more than what remains refundable (0.00 PEN of 89.90 PEN paid; 0.00 PEN refunded, 89.90 PEN in flight)"
    );
    assert_eq!(snapshot(&l.store), before);
    // A cancelled refund gives its amount back.
    refunds::cancel(&mut l.store, &sam, ids[2], Some("typo"), now).unwrap();
    assert_eq!(refunds::refundable(&l.store, "D-1", None).unwrap().refundable_minor, 2_995);
    assert_eq!(
        code(refunds::request(
            &mut l.store,
            &sam,
            &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "29.96") },
            now
        )),
        "refunds.exceeds_refundable"
    );
    refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "29.95") },
        now,
    )
    .unwrap();
}

#[test]
fn refusals_say_why_and_write_nothing() {
    let mut l = ledger();
    let mut unpaid = sale("CO-9", "D-9", "CO", "100000");
    unpaid.paid = false;
    l.add(&[sale("CO-1", "D-1", "CO", "5000000"), unpaid]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let before = snapshot(&l.store);
    let cases: Vec<(refunds::RefundRequestInput, &str)> = vec![
        (psp_refund("D-1", "0"), "refunds.amount_not_positive"),
        (psp_refund("D-1", "-5"), "refunds.amount_not_positive"),
        (psp_refund("D-1", "abc"), "refunds.bad_amount"),
        (psp_refund("D-1", "5000001"), "refunds.exceeds_refundable"),
        (psp_refund("D-404", "1"), "refunds.unknown_payment"),
        (psp_refund("D-9", "1"), "refunds.payment_not_paid"),
        (refunds::RefundRequestInput { reason: "because".into(), ..psp_refund("D-1", "1") }, "refunds.unknown_reason"),
        (refunds::RefundRequestInput { reason: "other".into(), ..psp_refund("D-1", "1") }, "refunds.note_required"),
        (refunds::RefundRequestInput { method: "card".into(), ..psp_refund("D-1", "1") }, "refunds.unknown_method"),
        (
            refunds::RefundRequestInput { currency: Some("PEN".into()), ..psp_refund("D-1", "1") },
            "refunds.currency_mismatch",
        ),
        (
            refunds::RefundRequestInput {
                beneficiary: refunds::BeneficiaryInput { bank: "".into(), ..bank() },
                ..psp_refund("D-1", "1")
            },
            "refunds.beneficiary_missing",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(code(refunds::request(&mut l.store, &sam, &input, now)), expected, "{input:?}");
    }
    assert_eq!(snapshot(&l.store), before);
    // `other` with a note is fine; a second request while it awaits approval is refused unless --additional.
    let first = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput {
            reason: "other".into(),
            note: Some("goodwill".into()),
            ..psp_refund("D-1", "300000")
        },
        now,
    )
    .unwrap();
    assert_eq!(first.status, RefundStatus::PendingApproval);
    let err = refunds::request(&mut l.store, &sam, &psp_refund("D-1", "1000"), now).unwrap_err();
    assert_eq!(err.code(), "refunds.pending_exists");
    assert!(err.to_string().contains(&format!("refund {} of this payment is waiting for approval", first.id)), "{err}");
    let extra = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "1000") },
        now,
    )
    .unwrap();
    assert!(extra.additional);
}

#[test]
fn past_the_window_a_psp_refund_is_refused_and_a_cash_withdrawal_needs_finance_whatever_the_amount() {
    let mut l = ledger();
    let mut old = sale("CO-1", "D-1", "CO", "100000");
    old.paid_hours_ago = 16 * 24;
    let mut edge = sale("CO-2", "D-2", "CO", "100000");
    edge.paid_hours_ago = 14 * 24;
    l.add(&[old, edge]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let err = refunds::request(&mut l.store, &sam, &psp_refund("D-1", "1000"), now).unwrap_err();
    assert_eq!(err.code(), "refunds.window_passed");
    assert!(err.to_string().contains("more than 15 days ago"), "{err}");
    // Inside the window (14 days), a small psp_refund is tier 1.
    assert_eq!(refunds::request(&mut l.store, &sam, &psp_refund("D-2", "1000"), now).unwrap().tier, 1);
    // Past it, a 1,000 COP cash withdrawal is tier 2: finance approves.
    let cash = refunds::request(&mut l.store, &sam, &cash_withdrawal("D-1", "1000", payee_co()), now).unwrap();
    assert_eq!((cash.tier, cash.finance_required, cash.awaiting.clone()), (2, true, vec![ApproverRole::Finance]));
    // The window is a setting.
    let mut settings = tiers::get(&l.store).unwrap();
    settings.window_days = 20;
    tiers::set(&mut l.store, &op(&l.db, "admin"), &settings).unwrap();
    assert_eq!(
        refunds::request(
            &mut l.store,
            &sam,
            &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "1000") },
            now
        )
        .unwrap()
        .tier,
        1
    );
    // Only admins change it.
    assert_eq!(tiers::set(&mut l.store, &op(&l.db, "fabio"), &settings).unwrap_err().code(), "auth.forbidden");
}

#[test]
fn kyc_mismatches_are_refused_and_accents_case_and_word_order_are_not_mismatches() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "100000")]);
    let mut pe = sale("PE-1", "D-PE", "PE", "89.90");
    pe.buyer_name = "Luis Quispe Mamani";
    pe.buyer_document = "45678912";
    l.add(&[pe]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let before = snapshot(&l.store);
    let p = payee_co;
    let cases: Vec<(refunds::PayeeInput, &str)> = vec![
        (refunds::PayeeInput { name: "María Peña".into(), ..p() }, "kyc.name_mismatch"),
        (refunds::PayeeInput { name: "Maria Jose Pena Gomez".into(), ..p() }, "kyc.name_mismatch"),
        (refunds::PayeeInput { document_number: "1020304051".into(), ..p() }, "kyc.document_mismatch"),
        (refunds::PayeeInput { document_type: "CE".into(), ..p() }, "kyc.document_mismatch"),
        (refunds::PayeeInput { document_type: "XX".into(), ..p() }, "kyc.invalid"),
        (refunds::PayeeInput { phone: "300 123 4567".into(), ..p() }, "kyc.phone_format"),
        (refunds::PayeeInput { phone: "+51 987 654 321".into(), ..p() }, "kyc.phone_format"),
        (refunds::PayeeInput { phone: "".into(), ..p() }, "kyc.invalid"),
    ];
    for (payee, expected) in cases {
        assert_eq!(
            code(refunds::request(&mut l.store, &sam, &cash_withdrawal("D-1", "1000", payee.clone()), now)),
            expected,
            "{payee:?}"
        );
    }
    assert_eq!(snapshot(&l.store), before);
    // "MARIA JOSE PENA" with a dotted document matches "Peña, María José" / 1020304050.
    let ok = refunds::request(&mut l.store, &sam, &cash_withdrawal("D-1", "1000", p()), now).unwrap();
    match ok.details {
        refunds::RefundDetails::CashPickup { payee } => {
            assert_eq!((payee.document_number.as_str(), payee.phone.as_str()), ("1020304050", "+573001234567"));
        }
        other => panic!("{other:?}"),
    }
    // Peru: DNI and +51.
    let peru = refunds::PayeeInput {
        name: "quispe mamani luis".into(),
        document_type: "dni".into(),
        document_number: "45678912".into(),
        phone: "+51 987 654 321".into(),
    };
    refunds::request(&mut l.store, &sam, &cash_withdrawal("D-PE", "10.00", peru.clone()), now).unwrap();
    let wrong = refunds::PayeeInput { document_type: "CC".into(), ..peru };
    let err = refunds::request(
        &mut l.store,
        &sam,
        &refunds::RefundRequestInput { additional: true, ..cash_withdrawal("D-PE", "10.00", wrong) },
        now,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "document type CC does not match the order's (DNI, the national id of Peru)");
}

#[test]
fn a_usd_priced_order_refunded_in_pesos_locks_the_rate_at_approval_with_its_source() {
    let mut l = ledger();
    l.add(&[usd_priced_sale("400000", "100.00")]);
    let now = Utc::now();
    let sam = op(&l.db, "sam");
    let r = refunds::request(&mut l.store, &sam, &psp_refund("D-USD", "395025"), now).unwrap();
    assert_eq!(r.tier, 2);
    // No rate recorded yet: approval is refused and nothing changes.
    let err = refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, None, now).unwrap_err();
    assert_eq!(err.code(), "refunds.no_fx_rate");
    assert_eq!(
        err.to_string(),
        "no exchange rate USD → COP is recorded: an admin enters one (voucherdesk fx add --pair USD/COP --date YYYY-MM-DD --rate RATE, or fx import FILE)"
    );
    assert_eq!(refunds::show(&l.store, r.id).unwrap().status, RefundStatus::PendingApproval);
    let today = voucherdesk::market::Country::Colombia.business_date(now);
    let today_text = today.to_string();
    voucherdesk::fx::add(&mut l.store, &op(&l.db, "admin"), "USD/COP", &today_text, "3950.25", None, now).unwrap();
    // The approver sees the rate approving would lock, with its date.
    let quote = refunds::show(&l.store, r.id).unwrap().fx_quote.expect("quote");
    assert_eq!((quote.rate.as_str(), quote.order_amount_minor, quote.rate_date), ("3950.25", 10_000, Some(today)));
    let approved = refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, None, now).unwrap();
    let fx = approved.fx.expect("locked");
    assert_eq!((fx.rate.as_str(), fx.order_currency, fx.order_amount.as_str()), ("3950.25", Currency::Usd, "100.00"));
    assert_eq!(fx.source, format!("{today} manual entry, entered by admin"));
    assert_eq!(fx.rate_date, Some(today));
    // A recorded rate never changes: the same date with another rate is refused.
    let err =
        voucherdesk::fx::add(&mut l.store, &op(&l.db, "admin"), "USD/COP", &today_text, "4100", None, now).unwrap_err();
    assert_eq!(err.code(), "fx.conflict");
    assert_eq!(refunds::show(&l.store, r.id).unwrap().fx.unwrap().rate, "3950.25");
}

#[test]
fn tier_limits_are_settings_and_the_tier_is_fixed_when_requested() {
    let mut l = ledger();
    l.add(&[sale("PE-1", "D-1", "PE", "500.00")]);
    let now = Utc::now();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-1", "150.00"), now).unwrap();
    assert_eq!(r.tier, 1);
    let mut settings = tiers::get(&l.store).unwrap();
    settings.tiers.insert(Currency::Pen, TierLimits { tier1_max_minor: 10_000, tier2_max_minor: 20_000 });
    tiers::set(&mut l.store, &op(&l.db, "admin"), &settings).unwrap();
    assert_eq!(refunds::show(&l.store, r.id).unwrap().tier, 1);
    let later = refunds::request(
        &mut l.store,
        &op(&l.db, "sam"),
        &refunds::RefundRequestInput { additional: true, ..psp_refund("D-1", "150.00") },
        now,
    )
    .unwrap();
    assert_eq!(later.tier, 2);
    settings.tiers.insert(Currency::Pen, TierLimits { tier1_max_minor: 30_000, tier2_max_minor: 20_000 });
    assert_eq!(tiers::set(&mut l.store, &op(&l.db, "admin"), &settings).unwrap_err().code(), "errors.validation");
}

#[test]
fn changing_the_amount_restarts_approval_with_a_new_refund_and_a_new_tier() {
    let mut l = ledger();
    l.add(&[sale("PE-1", "D-1", "PE", "3000.00")]);
    let now = Utc::now();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-1", "2500.00"), now).unwrap();
    assert_eq!(r.tier, 3);
    refunds::approve(&mut l.store, &op(&l.db, "fabio"), r.id, None, now).unwrap();
    // More than the payment holds (the old amount counts as given back): refused, nothing changes.
    let before = snapshot(&l.store);
    assert_eq!(
        code(refunds::amend(&mut l.store, &op(&l.db, "sam"), r.id, "3000.01", now)),
        "refunds.exceeds_refundable"
    );
    assert_eq!(code(refunds::amend(&mut l.store, &op(&l.db, "sue"), r.id, "100", now)), "auth.forbidden");
    assert_eq!(snapshot(&l.store), before);
    let amended = refunds::amend(&mut l.store, &op(&l.db, "sam"), r.id, "1500.00", now).unwrap();
    assert_ne!(amended.id, r.id);
    assert_ne!(amended.idempotency_key, r.idempotency_key);
    assert_eq!((amended.tier, amended.status, amended.approvals.len()), (2, RefundStatus::PendingApproval, 0));
    assert_eq!(refunds::show(&l.store, r.id).unwrap().status, RefundStatus::Cancelled);
    let left = refunds::refundable(&l.store, "D-1", None).unwrap();
    assert_eq!((left.in_flight_minor, left.refundable_minor), (150_000, 150_000));
    // A small amount is tier 1: approved at once, and its FX fields (none here) are stored as computed.
    let small = refunds::amend(&mut l.store, &op(&l.db, "sam"), amended.id, "100.00", now).unwrap();
    assert_eq!((small.tier, small.status), (1, RefundStatus::Approved));
    assert_eq!(code(refunds::amend(&mut l.store, &op(&l.db, "sam"), amended.id, "50", now)), "refunds.bad_state");
}

#[test]
fn a_tier_one_refund_of_a_usd_priced_order_locks_the_rate_when_requested() {
    let mut l = ledger();
    l.add(&[usd_priced_sale("400000", "100.00")]);
    let now = Utc::now();
    let today = voucherdesk::market::Country::Colombia.business_date(now).to_string();
    voucherdesk::fx::add(&mut l.store, &op(&l.db, "admin"), "USD/COP", &today, "4000", Some("Banco X"), now).unwrap();
    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund("D-USD", "100000"), now).unwrap();
    assert_eq!((r.tier, r.status), (1, RefundStatus::Approved));
    let fx = refunds::show(&l.store, r.id).unwrap().fx.expect("locked at request");
    assert_eq!((fx.rate.as_str(), fx.order_amount.as_str()), ("4000", "25.00"));
}

#[test]
fn an_approver_sees_whether_the_payee_or_the_beneficiary_is_the_buyer() {
    let mut l = ledger();
    l.add(&[sale("CO-1", "D-1", "CO", "100000"), sale("CO-2", "D-2", "CO", "100000")]);
    let sam = op(&l.db, "sam");
    let now = Utc::now();
    let cash = refunds::request(&mut l.store, &sam, &cash_withdrawal("D-1", "1000", payee_co()), now).unwrap();
    let both = refunds::PayeeCheck { name_matches: true, document_matches: true };
    assert_eq!(cash.payee_check, Some(both));
    // A bank transfer is not refused for another account holder, but the approver is told.
    let other = refunds::RefundRequestInput {
        beneficiary: refunds::BeneficiaryInput { name: "Ana Gómez".into(), ..bank() },
        ..psp_refund("D-2", "1000")
    };
    let transfer = refunds::request(&mut l.store, &sam, &other, now).unwrap();
    let name_differs = refunds::PayeeCheck { name_matches: false, document_matches: true };
    assert_eq!(transfer.payee_check, Some(name_differs));
    assert_eq!(refunds::show(&l.store, transfer.id).unwrap().payee_check, Some(name_differs));
    let listed: Vec<_> =
        refunds::list(&l.store, None, 0, 50).unwrap().into_iter().map(|r| (r.id, r.payee_check)).collect();
    assert_eq!(listed, vec![(cash.id, Some(both)), (transfer.id, Some(name_differs))]);
}
