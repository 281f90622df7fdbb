//! The JSON forms the app reads where a core type crosses with a serde form of
//! its own (labels, renamed or flattened fields, defaults): exact, field by field.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use voucherdesk::jobs::psp_sync::RunnerState;
use voucherdesk::{audit, credentials, dashboard, exceptions, reconcile, refunds, store, sync};
use voucherdesk_desktop::{dto, dto_psp};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

#[test]
fn queue_filters_and_pages_cross_with_the_labels_the_ui_sends() {
    let ages = serde_json::to_value(exceptions::AgeBucket::ALL).unwrap();
    assert_eq!(ages, json!(["d0_1", "d2_7", "d8_30", "over_30"]));
    let q: exceptions::ExceptionQuery = serde_json::from_value(json!({ "age": "d8_30", "assignee": "" })).unwrap();
    assert_eq!(q.age, Some(exceptions::AgeBucket::D8To30));
    assert_eq!(q.assignee.as_deref(), Some(""));
    assert_eq!(q.kind, None);

    let page = exceptions::QueuePage {
        rows: vec![],
        next: Some(store::ExceptionCursor { value: 86_400, id: "EXC-7".into() }),
    };
    assert_eq!(
        serde_json::to_value(&page).unwrap(),
        json!({ "rows": [], "next_after": { "value": 86_400, "id": "EXC-7" } })
    );

    let link: exceptions::LinkTarget = serde_json::from_value(json!({ "payment": "D-CO-9" })).unwrap();
    assert_eq!(link, exceptions::LinkTarget::Payment("D-CO-9".into()));
    assert_eq!(serde_json::to_value(exceptions::LinkTarget::Order("A-1".into())).unwrap(), json!({ "order": "A-1" }));
}

#[test]
fn the_reconcile_answer_is_the_core_summary_plus_the_run_figures() {
    let summary = reconcile::ReconcileSummary {
        as_of: "2026-03-05".into(),
        orders: 10,
        payments: 9,
        settlements: 8,
        matched: 7,
        exceptions: BTreeMap::from([("not_settled", 2)]),
        open_exceptions: 3,
        markets: BTreeMap::from([("CO", reconcile::MarketCounts { orders: 10, paid_orders: 9, matched: 7 })]),
        newly_opened: 1,
        cleared: 4,
        elapsed_ms: 12,
        scope: None,
    };
    assert_eq!(
        serde_json::to_value(dto::ReconcileSummary::from(summary)).unwrap(),
        json!({
            "as_of": "2026-03-05", "orders": 10, "payments": 9, "settlements": 8, "matched": 7,
            "exceptions": { "not_settled": 2 }, "open_exceptions": 3,
            "markets": { "CO": { "orders": 10, "paid_orders": 9, "matched": 7 } },
            "newly_opened": 1, "cleared": 4, "elapsed_ms": 12, "rechecked_orders": null,
        })
    );
}

#[test]
fn the_refund_panel_adds_its_windows_to_the_core_figures() {
    let figures = dashboard::RefundDashboard {
        pending_by_tier: vec![dashboard::TierPending {
            tier: 2,
            currency: "COP".into(),
            count: 1,
            amount_minor: 50_000_000,
        }],
        median_approve_seconds: Some(600),
        approved_count: 3,
        by_reason: vec![],
        failure: dashboard::FailureRate::new(1, 40),
    };
    assert_eq!(
        serde_json::to_value(dto::RefundDashboard::from(figures)).unwrap(),
        json!({
            "pending_by_tier": [{ "tier": 2, "currency": "COP", "count": 1, "amount_minor": 50_000_000 }],
            "median_approve_seconds": 600, "approved_count": 3, "by_reason": [],
            "failure": { "failed": 1, "finished": 40, "rate_bp": 250, "warning": false },
            "failure_window_days": dashboard::REFUND_FAILURE_WINDOW_DAYS,
            "stats_days": dashboard::REFUND_STATS_DAYS,
        })
    );
}

#[test]
fn the_sync_indicator_and_the_account_rows_are_flat() {
    let status = sync::SyncStatus {
        paused: false,
        paused_by: None,
        paused_at: None,
        last_round_at: Some(at("2026-03-05T03:30:00Z")),
        last_success_at: None,
        last_error_at: None,
        last_error_code: None,
        last_error_message: None,
        errors_last_hour: 0,
        queue_size: 12,
        due_now: 2,
        holds: vec![sync::PspHold { psp: "dlocal".into(), until: at("2026-03-05T03:31:00Z") }],
        polls_total: 340,
        changes_total: 9,
        errors_total: 1,
    };
    let indicator = dto_psp::SyncIndicator::new(status, RunnerState::Running { operator: "marta".into() });
    assert_eq!(
        serde_json::to_value(indicator).unwrap(),
        json!({
            "runner": "running", "runner_operator": "marta", "runner_code": null, "runner_message": null,
            "paused": false, "paused_by": null, "paused_at": null,
            "last_round_at": "2026-03-05T03:30:00Z", "last_success_at": null, "last_error_at": null,
            "last_error_code": null, "last_error_message": null,
            "errors_last_hour": 0, "queue_size": 12, "due_now": 2,
            "holds": [{ "psp": "dlocal", "until": "2026-03-05T03:31:00Z" }],
            "polls_total": 340, "changes_total": 9, "errors_total": 1,
        })
    );

    let row = credentials::AccountListing {
        account: credentials::PspAccount {
            name: "co-main".into(),
            psp: credentials::PspKind::PagoEfectivo,
            base_url: "https://sandbox.example".into(),
            created_at: at("2026-03-01T12:00:00Z"),
            created_by: "root".into(),
            rotated_at: None,
            last_test: None,
        },
        secret_present: true,
    };
    assert_eq!(
        serde_json::to_value(row).unwrap(),
        json!({
            "name": "co-main", "psp": "pagoefectivo", "base_url": "https://sandbox.example",
            "created_at": "2026-03-01T12:00:00Z", "created_by": "root", "rotated_at": null, "last_test": null,
            "secret_present": true,
        })
    );
}

#[test]
fn audit_rows_are_flat_and_a_refund_request_may_leave_out_its_optional_parts() {
    let row = audit::StoredAuditEntry {
        id: 4,
        entry: store::AuditEntry {
            at: at("2026-03-05T03:30:00Z"),
            operator: "marta".into(),
            action: "exception.resolve".into(),
            subject: "EXC-7".into(),
            before: "open".into(),
            after: "resolved".into(),
        },
        prev_hash: "aa".into(),
        hash: "bb".into(),
    };
    assert_eq!(
        serde_json::to_value(row).unwrap(),
        json!({
            "id": 4, "at": "2026-03-05T03:30:00Z", "operator": "marta", "action": "exception.resolve",
            "subject": "EXC-7", "before": "open", "after": "resolved", "prev_hash": "aa", "hash": "bb",
        })
    );

    let request: refunds::RefundRequestInput = serde_json::from_value(json!({
        "payment_id": "D-CO-1", "psp": null, "amount": "150000", "currency": null,
        "reason": "other", "note": null, "method": "psp_refund",
    }))
    .unwrap();
    assert_eq!(request.beneficiary, refunds::BeneficiaryInput::default());
    assert_eq!(request.payee, refunds::PayeeInput::default());
    assert!(!request.additional);
    assert_eq!(request.amount, "150000");
}
