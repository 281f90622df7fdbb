//! The manual `bank_transfer` refund: requested and approved like any refund,
//! then finance records the transfer (bank reference, date, proof file) and
//! it counts as succeeded. A PagoEfectivo payment, whose API pays no refund,
//! goes back this way; `outlet_cash` for it is refused naming the way that
//! works. Every path passes the one refundable-balance check.

use crate::support;

use chrono::{TimeDelta, Utc};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use support::refunds::*;
use voucherdesk::import::profile::{ImportKind, built_in};
use voucherdesk::import::{ImportRequest, import_file};
use voucherdesk::market::Country;
use voucherdesk::refunds::submission::{SubmitConfig, submit_and_follow};
use voucherdesk::refunds::{self, RefundRequestInput, RefundStatus};

const PROOF_PDF: &[u8] = b"%PDF-1.4\n% BCP transfer BCP-778812, S/ 350.00\n%%EOF\n";

/// Imports order `order_id` and its paid PagoEfectivo CIP `cip` of `amount` soles.
fn add_pagoefectivo(l: &mut Ledger, order_id: &str, cip: &str, amount: &str) {
    let admin = op(&l.db, "admin");
    let paid = Utc::now() - TimeDelta::hours(24);
    let created = paid - TimeDelta::hours(2);
    let expires = created + TimeDelta::days(2);
    let iso = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    let lima =
        |t: chrono::DateTime<Utc>| t.with_timezone(&chrono_tz::America::Lima).format("%d/%m/%Y %H:%M:%S").to_string();
    let orders = format!(
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n\
         {order_id},Bodega,{},\"Quispe, Rosa\",rosa@example.com,+51 987 654 321,45678912,PE,{amount},PEN,paid,pagoefectivo,{cip},{cip},{}\n",
        iso(created),
        iso(expires)
    );
    let payments = format!(
        "CIP;CODIGO_TRANSACCION;MONEDA;MONTO;ESTADO;FECHA_CREACION;FECHA_EXPIRACION;FECHA_PAGO;NRO_OPERACION\n\
         {cip};{order_id};PEN;{amount};Pagado;{};{};{};OP{cip}\n",
        lima(created),
        lima(expires),
        lima(paid)
    );
    let orders_path = l.dir.path().join(format!("orders-{order_id}.csv"));
    let payments_path = l.dir.path().join(format!("pe-{order_id}.csv"));
    std::fs::write(&orders_path, orders).unwrap();
    std::fs::write(&payments_path, payments).unwrap();
    for (kind, profile, path) in
        [(ImportKind::Orders, "shop", &orders_path), (ImportKind::Payments, "pagoefectivo", &payments_path)]
    {
        let profile = built_in(profile).unwrap();
        import_file(&mut l.store, &ImportRequest { kind, profile: &profile, path, operator: &admin }).unwrap();
    }
}

/// Frees the ledger's own connection: from here the CLI works on the file.
fn hand_to_cli(l: &mut Ledger) {
    drop(std::mem::replace(&mut l.store, voucherdesk::store::Store::open_in_memory().unwrap()));
}

const ROSA_BANK: [&str; 10] = [
    "--beneficiary-name",
    "Rosa Quispe",
    "--bank",
    "BCP",
    "--bank-account",
    "19112345678012",
    "--account-type",
    "S",
    "--beneficiary-document",
    "45678912",
];

fn request_args<'a>(payment: &'a str, amount: &'a str, method: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "request",
        "--payment",
        payment,
        "--amount",
        amount,
        "--reason",
        "buyer_cancelled",
        "--method",
        method,
        "--json",
    ];
    args.extend(ROSA_BANK);
    args
}

fn proof(l: &Ledger, name: &str, bytes: &[u8]) -> PathBuf {
    let path = l.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn lima_today() -> String {
    Country::Peru.business_date(Utc::now()).to_string()
}

fn record_args<'a>(id: &'a str, reference: &'a str, date: &'a str, proof: &'a Path) -> Vec<&'a str> {
    vec!["record-transfer", id, "--reference", reference, "--date", date, "--proof", proof.to_str().unwrap(), "--json"]
}

/// The refund's audit trail: (operator, action), oldest first.
fn audit_of(db: &Path, id: i64) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT operator, action FROM audit_log
             WHERE subject = ?1 OR (action = 'refund.request' AND json_extract(after, '$.payment') = ?2)
             ORDER BY id",
        )
        .unwrap();
    let payment: String = conn.query_row("SELECT payment_id FROM refunds WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    stmt.query_map(rusqlite::params![format!("refund {id}"), payment], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// What a refusal must leave alone: refunds, audit entries and the receipts folder.
fn state(l: &Ledger) -> (String, u64, Vec<String>) {
    let store = l.reopen();
    let rows: Vec<String> = store
        .refunds(None, 0, 1_000)
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {} {} {:?} {}", r.id, r.status, r.amount_minor, r.psp_refund_id, r.details))
        .collect();
    let audit = voucherdesk::audit::verify(&store).unwrap().entries;
    let mut files: Vec<String> = std::fs::read_dir(l.dir.path().join("receipts"))
        .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    files.sort();
    (rows.join("\n"), audit, files)
}

#[test]
fn a_pagoefectivo_payment_is_refunded_by_bank_transfer_end_to_end() {
    let mut l = ledger();
    add_pagoefectivo(&mut l, "PE-7001", "90007001", "850.00");
    hand_to_cli(&mut l);

    // Support asks; 350.00 PEN is tier 2: finance approves.
    let r = refunds_ok_json(&l, "sam", &request_args("90007001", "350.00", "bank_transfer"));
    assert_eq!(
        (r["status"].as_str(), r["method"].as_str(), r["psp"].as_str(), r["amount_minor"].as_i64(), r["tier"].as_i64()),
        (Some("pending_approval"), Some("bank_transfer"), Some("pagoefectivo"), Some(35_000), Some(2))
    );
    assert_eq!(r["awaiting"], serde_json::json!(["finance"]));
    assert_eq!(r["details"]["beneficiary"]["account"], "19112345678012");
    assert_eq!(r["details"].get("transfer"), None);
    let id_n = r["id"].as_i64().unwrap();
    let id = id_n.to_string();

    let approved =
        refunds_ok_json(&l, "fabio", &["approve", &id, "--comment", "order cancelled by the shop", "--json"]);
    assert_eq!(approved["status"], "approved");

    // The submitter has nothing to do with it: no PSP account, and a bank transfer is finance's.
    let left = refunds_ok_json(&l, "fiona", &["show", &id, "--json"]);
    assert_eq!(left["status"], "approved");

    let today = lima_today();
    let file = proof(&l, "bcp-constancia.pdf", PROOF_PDF);
    let done = refunds_ok_json(&l, "fiona", &record_args(&id, "BCP-778812", &today, &file));
    assert_eq!(done["status"], "succeeded");
    assert_eq!(done["psp_refund_id"], "BCP-778812");
    assert_eq!(done["amount"], "350.00");
    assert_eq!(done["psp_status"], format!("transferred on {today}, recorded by fiona"));
    let transfer = &done["details"]["transfer"];
    let sha = hex::encode(Sha256::digest(PROOF_PDF));
    assert_eq!(
        (
            transfer["reference"].as_str(),
            transfer["date"].as_str(),
            transfer["proof_file"].as_str(),
            transfer["proof_sha256"].as_str(),
            transfer["proof_bytes"].as_u64(),
            transfer["recorded_by"].as_str()
        ),
        (
            Some("BCP-778812"),
            Some(today.as_str()),
            Some(format!("refund-{id}-transfer.pdf").as_str()),
            Some(sha.as_str()),
            Some(PROOF_PDF.len() as u64),
            Some("fiona")
        )
    );
    assert!(done["finished_at"].is_string(), "{done}");

    // The proof is kept beside the receipts, byte for byte; the receipt is archived and names the transfer.
    let receipts = l.dir.path().join("receipts");
    assert_eq!(std::fs::read(receipts.join(format!("refund-{id}-transfer.pdf"))).unwrap(), PROOF_PDF);
    assert!(receipts.join(format!("refund-{id}.pdf")).is_file());
    let refund = refunds::show(&l.reopen(), id_n).unwrap();
    let lines = refunds::receipt::lines(&refund, "Quispe, Rosa", Some(Country::Peru));
    assert!(lines.contains(&format!("Transfer:       BCP-778812 on {today}, recorded by fiona")), "{lines:?}");

    // It counts once, as succeeded: 850.00 − 350.00 = 500.00 PEN remain.
    let left = refunds_ok_json(&l, "sam", &["refundable", "--payment", "90007001", "--json"]);
    assert_eq!(
        (left["paid_minor"].as_i64(), left["succeeded_minor"].as_i64(), left["in_flight_minor"].as_i64()),
        (Some(85_000), Some(35_000), Some(0))
    );
    assert_eq!(left["refundable_minor"], 50_000);

    let trail = audit_of(&l.db, id_n);
    let expected: Vec<(String, String)> = [
        ("sam", "refund.request"),
        ("fabio", "refund.approve"),
        ("fiona", "refund.submit"),
        ("fiona", "refund.transfer_recorded"),
    ]
    .iter()
    .map(|(o, a)| (o.to_string(), a.to_string()))
    .collect();
    assert_eq!(trail, expected);
    assert!(voucherdesk::audit::verify(&l.reopen()).unwrap().entries > 0);

    // The human form says what was recorded.
    let out = refunds_cli(&l, "sam", &["show", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("transferred on {today} (bank reference BCP-778812), recorded by fiona")), "{text}");
}

#[test]
fn maker_is_never_checker_and_only_finance_records_the_transfer() {
    let mut l = ledger();
    add_pagoefectivo(&mut l, "PE-7002", "90007002", "850.00");
    hand_to_cli(&mut l);
    let r = refunds_ok_json(&l, "fabio", &request_args("90007002", "300.00", "bank_transfer"));
    let id = r["id"].as_i64().unwrap().to_string();
    let err = refunds_refused(&l, "fabio", &["approve", &id]);
    assert_eq!(
        err,
        format!(
            "error: fabio requested refund {id}: the requester can never approve their own refund [refunds.self_approval]"
        )
    );
    refunds_ok_json(&l, "fiona", &["approve", &id, "--json"]);
    let file = proof(&l, "proof.pdf", PROOF_PDF);
    let today = lima_today();
    let before = state(&l);
    let err = refunds_refused(&l, "sam", &record_args(&id, "BCP-1", &today, &file));
    assert!(err.contains("may not approve refunds") && err.ends_with("[auth.forbidden]"), "{err}");
    let err = refunds_refused(&l, "ana", &record_args(&id, "BCP-1", &today, &file));
    assert_eq!(err, format!("error: ana may not record the transfer of refund {id} [auth.forbidden]"));
    assert_eq!(state(&l), before, "refused: nothing written");
}

#[test]
fn a_transfer_is_recorded_only_after_approval_and_only_once() {
    let mut l = ledger();
    add_pagoefectivo(&mut l, "PE-7003", "90007003", "850.00");
    hand_to_cli(&mut l);
    let r = refunds_ok_json(&l, "sam", &request_args("90007003", "300.00", "bank_transfer"));
    let id = r["id"].as_i64().unwrap().to_string();
    let today = lima_today();
    let file = proof(&l, "proof.pdf", PROOF_PDF);

    let before = state(&l);
    let err = refunds_refused(&l, "fiona", &record_args(&id, "BCP-900", &today, &file));
    assert_eq!(
        err,
        format!("error: refund {id} is pending_approval: recording a transfer is not possible [refunds.bad_state]")
    );
    assert_eq!(state(&l), before, "before approval: nothing written, no proof kept");

    refunds_ok_json(&l, "fabio", &["approve", &id, "--json"]);
    let done = refunds_ok_json(&l, "fiona", &record_args(&id, "BCP-900", &today, &file));
    assert_eq!(done["status"], "succeeded");

    let before = state(&l);
    let other = proof(&l, "other.png", b"\x89PNG\r\n\x1a\nsecond proof");
    let err = refunds_refused(&l, "fabio", &record_args(&id, "BCP-901", &today, &other));
    assert_eq!(
        err,
        format!(
            "error: refund {id}'s transfer is already recorded (bank reference BCP-900, by fiona): a transfer counts once [refunds.transfer_already_recorded]"
        )
    );
    assert_eq!(state(&l), before, "a second record changes nothing");

    // The same bank transfer cannot pay a second refund either.
    let second = refunds_ok_json(&l, "sam", &request_args("90007003", "100.00", "bank_transfer"));
    assert_eq!(second["status"], "approved", "tier 1");
    let second_id = second["id"].as_i64().unwrap().to_string();
    let before = state(&l);
    let err = refunds_refused(&l, "fiona", &record_args(&second_id, "BCP-900", &today, &other));
    assert!(err.contains(&format!("is already recorded for refund {id}")), "{err}");
    assert!(err.ends_with("[refunds.transfer_duplicate]"), "{err}");
    let err = refunds_refused(&l, "fiona", &record_args(&second_id, "BCP-902", &today, &file));
    assert!(err.contains(&format!("is already recorded for refund {id}")), "{err}");
    assert_eq!(state(&l), before);

    // Only PDF, PNG or JPEG; dates are real days within the refund's life.
    let text = proof(&l, "proof.txt", b"just words");
    let err = refunds_refused(&l, "fiona", &record_args(&second_id, "BCP-902", &today, &text));
    assert_eq!(
        err,
        format!("error: proof file: {} is not a PDF, PNG or JPEG file [refunds.bad_proof]", text.display())
    );
    let tomorrow = (Country::Peru.business_date(Utc::now()) + TimeDelta::days(1)).to_string();
    let jpeg = proof(&l, "proof.jpg", b"\xFF\xD8\xFF\xE0 jpeg");
    let err = refunds_refused(&l, "fiona", &record_args(&second_id, "BCP-902", &tomorrow, &jpeg));
    assert!(err.starts_with(&format!("error: transfer: date {tomorrow} is after today ({today} in PE)")), "{err}");
    assert_eq!(state(&l), before);
    let done = refunds_ok_json(&l, "fiona", &record_args(&second_id, "BCP-902", &today, &jpeg));
    assert_eq!(
        (done["status"].as_str(), done["details"]["transfer"]["proof_file"].as_str()),
        (Some("succeeded"), Some(format!("refund-{second_id}-transfer.jpg").as_str()))
    );
    let left = refunds_ok_json(&l, "sam", &["refundable", "--payment", "90007003", "--json"]);
    assert_eq!((left["succeeded_minor"].as_i64(), left["refundable_minor"].as_i64()), (Some(40_000), Some(45_000)));
}

#[test]
fn more_than_the_refundable_balance_is_refused_at_request_and_at_record() {
    let mut l = ledger();
    add_pagoefectivo(&mut l, "PE-7004", "90007004", "100.00");
    hand_to_cli(&mut l);
    let before = state(&l);
    let err = refunds_refused(&l, "sam", &request_args("90007004", "100.01", "bank_transfer"));
    assert_eq!(
        err,
        "error: 100.01 PEN is more than what remains refundable (100.00 PEN of 100.00 PEN paid; 0.00 PEN refunded, 0.00 PEN in flight) [refunds.exceeds_refundable]"
    );
    assert_eq!(state(&l), before);

    let a = refunds_ok_json(&l, "sam", &request_args("90007004", "60.00", "bank_transfer"));
    assert_eq!(a["status"], "approved", "tier 1: approved as requested");
    let mut more = request_args("90007004", "40.00", "bank_transfer");
    more.push("--additional");
    let b = refunds_ok_json(&l, "sam", &more);
    let err = refunds_refused(&l, "sam", &request_args("90007004", "0.01", "bank_transfer"));
    assert!(err.contains("0.01 PEN is more than what remains refundable (0.00 PEN of 100.00 PEN paid; 0.00 PEN refunded, 100.00 PEN in flight)"), "{err}");

    // The PSP's corrected report says 50.00 was paid: the 60.00 no longer fits beside the 40.00 in flight.
    let conn = rusqlite::Connection::open(&l.db).unwrap();
    let changed = conn.execute("UPDATE payments SET amount_minor = 5000 WHERE payment_id = '90007004'", []).unwrap();
    assert_eq!(changed, 1);
    drop(conn);
    let a_id = a["id"].as_i64().unwrap().to_string();
    let file = proof(&l, "proof.pdf", PROOF_PDF);
    let before = state(&l);
    let err = refunds_refused(&l, "fiona", &record_args(&a_id, "BCP-60", &lima_today(), &file));
    assert_eq!(
        err,
        "error: 60.00 PEN is more than what remains refundable (10.00 PEN of 50.00 PEN paid; 0.00 PEN refunded, 40.00 PEN in flight) [refunds.exceeds_refundable]"
    );
    assert_eq!(state(&l), before, "refused at record: still approved, no audit entry, no proof kept");
    let shown = refunds_ok_json(&l, "sam", &["show", &a_id, "--json"]);
    assert_eq!((shown["status"].as_str(), shown["psp_refund_id"].as_str()), (Some("approved"), None));

    // Neither fits beside the other now: the 40.00 is refused too while the 60.00 is held.
    let b_id = b["id"].as_i64().unwrap().to_string();
    let err = refunds_refused(&l, "fiona", &record_args(&b_id, "BCP-40", &lima_today(), &file));
    assert!(
        err.starts_with("error: 40.00 PEN is more than what remains refundable (0.00 PEN of 50.00 PEN paid"),
        "{err}"
    );
    // Support cancels the 60.00; the 40.00 is then recorded and counts once, as succeeded.
    refunds_ok_json(&l, "sam", &["cancel", &a_id, "--note", "paid amount corrected", "--json"]);
    let done = refunds_ok_json(&l, "fiona", &record_args(&b_id, "BCP-40", &lima_today(), &file));
    assert_eq!((done["status"].as_str(), done["amount_minor"].as_i64()), (Some("succeeded"), Some(4_000)));
    let left = refunds_ok_json(&l, "sam", &["refundable", "--payment", "90007004", "--json"]);
    assert_eq!(
        (left["paid_minor"].as_i64(), left["succeeded_minor"].as_i64(), left["in_flight_minor"].as_i64()),
        (Some(5_000), Some(4_000), Some(0))
    );
    assert_eq!(left["refundable_minor"], 1_000);
}

#[test]
fn outlet_cash_and_psp_refunds_for_pagoefectivo_are_refused_naming_bank_transfer() {
    let mut l = ledger();
    add_pagoefectivo(&mut l, "PE-7005", "90007005", "120.00");
    hand_to_cli(&mut l);
    let before = state(&l);
    let mut cash = vec![
        "request",
        "--payment",
        "90007005",
        "--amount",
        "120.00",
        "--reason",
        "out_of_stock",
        "--method",
        "outlet_cash",
        "--payee-name",
        "ROSA QUISPE",
        "--doc-type",
        "DNI",
        "--doc-number",
        "45678912",
        "--phone",
        "+51 987 654 321",
    ];
    let err = refunds_refused(&l, "sam", &cash);
    assert_eq!(
        err,
        "error: PagoEfectivo cannot pay a cash_withdrawal from VoucherDesk (its API has no refund or payout): refund this payment by bank_transfer, which finance pays and records with the bank's reference and proof [refunds.method_unsupported]"
    );
    cash[8] = "cash_withdrawal";
    assert_eq!(refunds_refused(&l, "sam", &cash), err);
    let err = refunds_refused(&l, "sam", &request_args("90007005", "120.00", "psp_refund"));
    assert!(err.contains("PagoEfectivo cannot pay a psp_refund") && err.contains("by bank_transfer"), "{err}");
    assert!(err.ends_with("[refunds.method_unsupported]"), "{err}");
    assert_eq!(state(&l), before, "refused: nothing written");
    let ok = refunds_ok_json(&l, "sam", &request_args("90007005", "120.00", "bank_transfer"));
    assert_eq!((ok["status"].as_str(), ok["amount_minor"].as_i64()), (Some("approved"), Some(12_000)));
}

#[test]
fn the_submitter_pays_dlocal_refunds_and_leaves_a_bank_transfer_to_finance() {
    let psp = SandboxPsp::start("", 5_000);
    let payment_id = psp.paid_payment("CO-BT", 5_000_000);
    let mut l = ledger();
    l.add(&[sale("CO-BT", &payment_id, "CO", "50000")]);
    let sam = op(&l.db, "sam");
    let manual = RefundRequestInput { method: "bank_transfer".into(), ..psp_refund(&payment_id, "15000") };
    let by_hand = refunds::request(&mut l.store, &sam, &manual, Utc::now()).unwrap();
    let by_psp = refunds::request(&mut l.store, &sam, &psp_refund(&payment_id, "20000"), Utc::now()).unwrap();
    assert_eq!((by_hand.status, by_psp.status), (RefundStatus::Approved, RefundStatus::Approved));

    let client = psp.client();
    let report = psp
        .rt
        .block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), Utc::now(), &|_| {}))
        .unwrap();
    assert_eq!((report.submitted, report.succeeded, report.issues.len()), (1, 1, 0), "{report:?}");
    assert_eq!(refunds::show(&l.store, by_psp.id).unwrap().status, RefundStatus::Succeeded);
    let waiting = refunds::show(&l.store, by_hand.id).unwrap();
    assert_eq!((waiting.status, waiting.submit_attempts, waiting.psp_refund_id), (RefundStatus::Approved, 0, None));

    let file = proof(&l, "bancolombia.png", b"\x89PNG\r\n\x1a\nbancolombia");
    let input = refunds::transfer::TransferInput {
        reference: "BCOL-5531".into(),
        date: Country::Colombia.business_date(Utc::now()).to_string(),
    };
    let fabio = op(&l.db, "fabio");
    let done = refunds::transfer::record_transfer(&mut l.store, &fabio, by_hand.id, &input, &file, Utc::now()).unwrap();
    assert_eq!((done.status, done.psp_refund_id.as_deref()), (RefundStatus::Succeeded, Some("BCOL-5531")));
    let left = refunds::refundable(&l.store, &payment_id, None).unwrap();
    assert_eq!(
        (left.paid_minor, left.succeeded_minor, left.in_flight_minor, left.refundable_minor),
        (5_000_000, 3_500_000, 0, 1_500_000)
    );
    // A later round neither sends nor reads the recorded transfer.
    let again = psp
        .rt
        .block_on(submit_and_follow(&mut l.store, &client, &sam, &SubmitConfig::default(), Utc::now(), &|_| {}))
        .unwrap();
    assert_eq!((again.submitted, again.resent, again.polled), (0, 0, 0), "{again:?}");
}
