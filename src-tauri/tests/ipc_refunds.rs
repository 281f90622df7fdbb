//! Refunds through Tauri's IPC layer (mock runtime, real library, a temporary
//! database): maker-checker is the library's, and the commands meet it as
//! each role does. Every refusal leaves the refund as it was.

use crate::common;

use chrono::{TimeDelta, Utc};
use common::MockApp;
use serde_json::{Value, json};
use voucherdesk::store::Store;
use voucherdesk_desktop::state::AppState;

struct Harness {
    app: MockApp,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ipc.sqlite")).unwrap();
        Harness { app: MockApp::new(AppState::new(store)), dir }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.app.call(cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        common::ok(self.call(cmd, args), cmd)
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        common::err(self.call(cmd, args), cmd)
    }

    fn as_(&self, name: &str) {
        self.ok("sign_in", json!({ "name": name, "password": format!("voucherdesk-{name}") }));
    }

    fn show(&self, id: i64) -> Value {
        self.ok("refunds_show", json!({ "id": id }))
    }
}

/// Two paid dLocal payments of 3,000,000 COP (yesterday), imported through the IPC.
fn with_payments(h: &Harness) {
    let wire = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    let paid = Utc::now() - TimeDelta::hours(24);
    let created = paid - TimeDelta::hours(2);
    let expires = created + TimeDelta::days(3);
    let mut orders = String::from(
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n",
    );
    let mut payments = String::from(
        "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n",
    );
    for n in 1..=2 {
        orders.push_str(&format!(
            "CO-{n},Tienda,{},\"Peña, María José\",b{n}@example.com,+57 300 000 0000,1020304050,CO,3000000,COP,paid,dlocal,D-{n},{n:010},{}\n",
            wire(created),
            wire(expires)
        ));
        payments.push_str(&format!(
            "D-{n},CO-{n},CO,EY,COP,3000000,PAID,200,{},{},{},{n:010}\n",
            wire(created),
            wire(paid),
            wire(expires)
        ));
    }
    for (name, text, kind, profile) in
        [("orders.csv", orders, "orders", "shop"), ("payments.csv", payments, "payments", "dlocal")]
    {
        let path = h.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let outcome = h.ok("import_file", json!({ "token": h.app.chosen(&path), "kind": kind, "profile": profile }));
        assert_eq!(outcome["outcome"], json!("imported"), "{name}: {outcome}");
    }
}

fn request(payment_id: &str, amount: &str) -> Value {
    json!({ "request": {
        "payment_id": payment_id,
        "amount": amount,
        "reason": "buyer_cancelled",
        "method": "psp_refund",
        "beneficiary": {
            "name": "María José Peña", "bank": "Bancolombia", "account": "0012345678",
            "account_type": "S", "document": "1020304050"
        }
    }})
}

fn approvers(refund: &Value) -> Vec<(String, String)> {
    refund["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["operator"].as_str().unwrap().to_string(), a["decision"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn maker_checker_holds_through_the_ipc_commands() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    for (name, role) in [("sam", "support"), ("fabio", "finance"), ("fiona", "finance"), ("marta", "manager")] {
        h.ok("operator_add", json!({ "name": name, "role": role, "password": format!("voucherdesk-{name}") }));
    }
    with_payments(&h);

    // Support requests a tier-3 refund: it awaits finance and a manager.
    h.as_("sam");
    let r = h.ok("refunds_request", request("D-1", "2500000"));
    let id = r["id"].as_i64().unwrap();
    assert_eq!(
        (&r["status"], &r["tier"], &r["awaiting"], &r["amount_minor"], &r["requested_by"]),
        (&json!("pending_approval"), &json!(3), &json!(["finance", "manager"]), &json!(250_000_000), &json!("sam"))
    );
    let refundable = h.ok("refunds_refundable", json!({ "payment_id": "D-1" }));
    assert_eq!(
        refundable,
        json!({ "paid_minor": 300_000_000, "succeeded_minor": 0, "in_flight_minor": 250_000_000,
                "refundable_minor": 50_000_000, "currency": "COP" })
    );

    // Support cannot approve, not even someone else's.
    let refused = h.err("refunds_approve", json!({ "id": id }));
    assert_eq!(refused["code"], json!("auth.forbidden"), "{refused}");
    assert_eq!(h.show(id), r, "a refused approval changed the refund");

    // The requester never approves their own, even as finance.
    h.as_("fiona");
    let own = h.ok("refunds_request", request("D-2", "300000"));
    let own_id = own["id"].as_i64().unwrap();
    assert_eq!((&own["tier"], &own["status"]), (&json!(2), &json!("pending_approval")));
    assert_eq!(
        h.err("refunds_approve", json!({ "id": own_id, "comment": "mine" })),
        json!({ "code": "refunds.self_approval",
                "message": format!("fiona requested refund {own_id}: the requester can never approve their own refund") })
    );
    assert_eq!(h.show(own_id), own);

    // Finance approves; the same finance operator cannot approve twice.
    h.as_("fabio");
    let once = h.ok("refunds_approve", json!({ "id": id, "comment": "checked the case file" }));
    assert_eq!((&once["status"], &once["awaiting"]), (&json!("pending_approval"), &json!(["manager"])));
    assert_eq!(approvers(&once), vec![("fabio".into(), "approve".into())]);
    assert_eq!(
        h.err("refunds_approve", json!({ "id": id })),
        json!({ "code": "refunds.same_approver",
                "message": format!("fabio has already approved refund {id}: the second approval must come from someone else") })
    );
    assert_eq!(h.show(id), once);

    // A rejection without a comment is refused (missing, empty, blank); nothing changes.
    for args in
        [json!({ "id": own_id }), json!({ "id": own_id, "comment": "" }), json!({ "id": own_id, "comment": "  " })]
    {
        let e = h.err("refunds_reject", args);
        assert_eq!(
            e,
            json!({ "code": "refunds.comment_required", "message": "a rejection needs a comment (--comment)" })
        );
    }
    assert_eq!(h.show(own_id), own);
    // With a comment, finance's rejection cancels it.
    let rejected = h.ok("refunds_reject", json!({ "id": own_id, "comment": "duplicate request" }));
    assert_eq!(rejected["status"], json!("cancelled"));
    assert_eq!(approvers(&rejected), vec![("fabio".into(), "reject".into())]);

    // A manager completes the tier-3 refund.
    h.as_("marta");
    let done = h.ok("refunds_approve", json!({ "id": id }));
    assert_eq!((&done["status"], &done["awaiting"]), (&json!("approved"), &json!([])));
    assert_eq!(approvers(&done), vec![("fabio".into(), "approve".into()), ("marta".into(), "approve".into())]);

    // The list pages by id and filters; the approved refund has no receipt until it succeeds.
    let all = h.ok("refunds_list", json!({ "filter": {}, "limit": 1 }));
    assert_eq!((all["items"][0]["id"].as_i64(), all["next_after"].as_i64()), (Some(id), Some(id)));
    let rest = h.ok("refunds_list", json!({ "filter": {}, "after_id": id, "limit": 1 }));
    assert_eq!(rest["items"][0]["id"].as_i64(), Some(own_id));
    let tier3 = h.ok(
        "refunds_list",
        json!({ "filter": { "tier": 3, "status": "approved", "psp": "dlocal",
        "method": "psp_refund", "reason": "buyer_cancelled" }, "limit": 50 }),
    );
    assert_eq!((tier3["items"].as_array().unwrap().len(), &tier3["items"][0]["id"]), (1, &json!(id)));
    let none = h.ok("refunds_list", json!({ "filter": { "tier": 3, "status": "cancelled" }, "limit": 50 }));
    assert_eq!(none, json!({ "items": [], "next_after": null }));
    assert_eq!(
        h.err("refunds_list", json!({ "filter": { "tier": 4 }, "limit": 50 }))["code"],
        json!("errors.validation")
    );
    assert_eq!(h.err("refunds_receipt", json!({ "id": id }))["code"], json!("refunds.receipt_not_available"));
    assert_eq!(h.err("refunds_show", json!({ "id": 999 }))["code"], json!("refunds.not_found"));

    // Cancelling before submission (the approved one) works for the requester's side.
    h.as_("sam");
    assert_eq!(
        h.ok("refunds_cancel", json!({ "id": id, "note": "buyer changed their mind" }))["status"],
        json!("cancelled")
    );
    assert_eq!(h.ok("audit_verify", json!({}))["first_broken"], Value::Null);
}

/// The state of each refund, in order: (status, approvals).
fn states(h: &Harness, ids: &[i64]) -> Vec<(Value, usize)> {
    ids.iter()
        .map(|id| {
            let r = h.show(*id);
            (r["status"].clone(), r["approvals"].as_array().unwrap().len())
        })
        .collect()
}

#[test]
fn the_tier_preview_comes_from_the_library_and_writes_nothing() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    h.ok("operator_add", json!({ "name": "sam", "role": "support", "password": "voucherdesk-sam" }));
    with_payments(&h);
    h.as_("sam");
    let preview = |amount: &str| {
        h.ok("refunds_preview", json!({ "payment_id": "D-1", "amount": amount, "method": "psp_refund" }))
    };
    let t3 = preview("2500000");
    assert_eq!(
        (&t3["tier"], &t3["required_approvals"], &t3["two_people"], &t3["amount_minor"], &t3["exceeds_refundable"]),
        (&json!(3), &json!(["finance", "manager"]), &json!(true), &json!(250_000_000), &json!(false))
    );
    assert_eq!(t3["refundable"]["refundable_minor"], json!(300_000_000));
    // The boundaries of the COP table (whole pesos at dLocal): 200,000 is tier 1, 200,001 tier 2.
    assert_eq!(
        (preview("200000")["tier"].clone(), preview("200000")["required_approvals"].clone()),
        (json!(1), json!([]))
    );
    assert_eq!((preview("200001")["tier"].clone(), preview("2000000")["tier"].clone()), (json!(2), json!(2)));
    assert_eq!(preview("3000001")["exceeds_refundable"], json!(true));
    let refused = h.err("refunds_preview", json!({ "payment_id": "D-1", "amount": "0", "method": "psp_refund" }));
    assert_eq!(refused["code"], json!("refunds.amount_not_positive"));
    let refused = h.err("refunds_preview", json!({ "payment_id": "D-9", "amount": "10", "method": "psp_refund" }));
    assert_eq!(refused["code"], json!("refunds.unknown_payment"));
    let page = h.ok("refunds_list", json!({ "filter": {}, "limit": 50 }));
    assert_eq!(page["items"], json!([]), "a preview writes nothing");
}

#[test]
fn bulk_approve_takes_tier_two_only_and_applies_maker_checker_to_each_refund() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    for (name, role) in [("sam", "support"), ("fabio", "finance")] {
        h.ok("operator_add", json!({ "name": name, "role": role, "password": format!("voucherdesk-{name}") }));
    }
    with_payments(&h);
    h.as_("sam");
    let by_sam = h.ok("refunds_request", request("D-1", "500000"))["id"].as_i64().unwrap();
    let tier3 = h.ok("refunds_request", request("D-2", "2500000"))["id"].as_i64().unwrap();
    h.as_("fabio");
    let mut own = request("D-1", "400000");
    own["request"]["additional"] = json!(true);
    let by_fabio = h.ok("refunds_request", own)["id"].as_i64().unwrap();
    assert_eq!(h.show(by_fabio)["tier"], json!(2));

    // A tier-3 refund in the batch: the whole call is refused, nothing is written.
    let refused = h.err("refunds_bulk_approve", json!({ "ids": [by_sam, tier3] }));
    assert_eq!(refused["code"], json!("refunds.bulk_not_tier2"));
    assert!(refused["message"].as_str().unwrap().contains(&format!("refund {tier3} is tier 3")), "{refused}");
    let pending = (json!("pending_approval"), 0);
    assert_eq!(states(&h, &[by_sam, tier3, by_fabio]), vec![pending.clone(), pending.clone(), pending.clone()]);
    assert_eq!(h.err("refunds_bulk_approve", json!({ "ids": [] }))["code"], json!("refunds.bulk_size"));
    assert_eq!(h.err("refunds_bulk_approve", json!({ "ids": [999] }))["code"], json!("refunds.not_found"));

    // Support may not approve at all.
    h.as_("sam");
    assert_eq!(h.err("refunds_bulk_approve", json!({ "ids": [by_fabio] }))["code"], json!("auth.forbidden"));
    assert_eq!(states(&h, &[by_fabio]), vec![pending.clone()]);

    // Finance: sam's refund is approved; fabio's own is refused on its own (maker-checker).
    h.as_("fabio");
    let out = h.ok("refunds_bulk_approve", json!({ "ids": [by_sam, by_fabio, by_sam], "comment": "checked" }));
    let approved: Vec<i64> = out["approved"].as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect();
    assert_eq!(approved, vec![by_sam]);
    assert_eq!(out["refused"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&out["refused"][0]["id"], &out["refused"][0]["code"]),
        (&json!(by_fabio), &json!("refunds.self_approval"))
    );
    assert_eq!(states(&h, &[by_sam, tier3, by_fabio]), vec![(json!("approved"), 1), pending.clone(), pending]);
    assert_eq!(approvers(&h.show(by_sam)), vec![("fabio".to_string(), "approve".to_string())]);
    assert_eq!(h.show(by_sam)["approvals"][0]["comment"], json!("checked"));

    // Approved already: a second bulk approval refuses it, says by whom, and changes nothing.
    let again = h.ok("refunds_bulk_approve", json!({ "ids": [by_sam] }));
    assert_eq!(
        (again["approved"].as_array().unwrap().len(), &again["refused"][0]["code"]),
        (0, &json!("refunds.already_decided"))
    );
    let message = again["refused"][0]["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("refund {by_sam} is already approved by fabio at ")), "{message}");
    assert_eq!(states(&h, &[by_sam]), vec![(json!("approved"), 1)]);
}
