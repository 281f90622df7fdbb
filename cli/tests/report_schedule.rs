//! The daily report by email: a manager schedules it (`report schedule`),
//! the outbox deliverer queues the previous market day's report once that
//! market's time has passed (once per market and date) and sends it to the
//! list with the day's files attached, made from the ledger at sending time.

use crate::notifications::{SmtpSink, mailer};
use crate::support;

use chrono::{DateTime, Utc};
use support::{Ctx, pdf_text, stderr, stdout};
use voucherdesk::daily_report::schedule::{self, ReportAttachments};
use voucherdesk::notifications::delivery::{self, Transports};
use voucherdesk::store::Store;

const DAY: &str = "2026-03-18";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn configure_smtp(ctx: &Ctx, sink: &SmtpSink) {
    let port = sink.addr.port().to_string();
    let smtp = ["--smtp-host", "127.0.0.1", "--smtp-port", &port, "--smtp-security", "none"];
    ctx.ok(["notifications", "configure"]
        .into_iter()
        .chain(smtp)
        .chain(["--smtp-from", "Tienda <no-reply@tienda.example>"]));
}

fn reconciled() -> Ctx {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    ctx.reconcile();
    ctx
}

#[test]
fn only_managers_and_admins_schedule_it_and_bad_input_changes_nothing() {
    let ctx = Ctx::new();
    let out =
        ctx.fails_with(2, ["--operator", "sam", "report", "schedule", "--at", "07:00", "--to", "f@tienda.example"]);
    assert!(stderr(&out).contains("schedule the daily report"), "{}", stderr(&out));
    let out =
        ctx.fails_with(2, ["--operator", "fabio", "report", "schedule", "--at", "07:00", "--to", "f@tienda.example"]);
    assert!(stderr(&out).contains("schedule the daily report"), "{}", stderr(&out));

    let set = ctx.json([
        "--operator",
        "ana",
        "report",
        "schedule",
        "--at",
        "6:30",
        "--market",
        "CO",
        "--to",
        "Finanzas <Finanzas@Tienda.example>, jefe@tienda.example",
        "--to",
        "JEFE@tienda.example",
        "--xlsx",
        "--json",
    ]);
    assert_eq!(
        set,
        serde_json::json!({"at": "06:30", "markets": ["CO"], "recipients": ["finanzas@tienda.example", "jefe@tienda.example"],
                           "format": "xlsx", "set_by": "ana"})
    );

    for (args, says) in [
        (vec!["--at", "25:00", "--to", "x@tienda.example"], "\"25:00\" is not a time of day"),
        (vec!["--at", "07:00", "--to", "not an address"], "\"not an address\" is not an email address"),
        (vec!["--at", "07:00", "--to", ","], "name at least one recipient"),
    ] {
        let out = ctx.fails_with(2, ["--operator", "ana", "report", "schedule"].into_iter().chain(args));
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
        assert!(stderr(&out).contains("[report.bad_schedule]"), "{}", stderr(&out));
    }
    let many: Vec<String> = (0..21).map(|i| format!("r{i}@tienda.example")).collect();
    let out = ctx.fails_with(2, ["--operator", "ana", "report", "schedule", "--at", "07:00", "--to", &many.join(",")]);
    assert!(stderr(&out).contains("21 recipients: at most 20"), "{}", stderr(&out));
    assert_eq!(ctx.json(["report", "schedule", "--json"]), set, "every refusal left the schedule as it was");

    let shown = stdout(&ctx.ok(["report", "schedule"]));
    assert_eq!(
        shown,
        "the daily report of the previous market day is emailed at 06:30 (CO) to finanzas@tienda.example, \
         jefe@tienda.example, data as xlsx; made as ana\n\
         no SMTP server is set up yet: nothing is queued until `notifications configure --smtp-host …`\n"
    );
    ctx.ok(["--operator", "luis", "report", "schedule", "--off"]);
    assert_eq!(ctx.json(["report", "schedule", "--json"]), serde_json::Value::Null);
    let db = rusqlite::Connection::open(&ctx.db).unwrap();
    let audited: Vec<String> = db
        .prepare("SELECT operator FROM audit_log WHERE action = 'reports.schedule' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(audited, ["ana", "luis"]);
}

#[test]
fn the_report_is_queued_once_after_the_markets_time_and_sent_with_the_days_files() {
    let ctx = reconciled();
    ctx.ok([
        "--operator",
        "ana",
        "report",
        "schedule",
        "--at",
        "06:30",
        "--market",
        "CO",
        "--market",
        "PE",
        "--to",
        "finanzas@tienda.example,jefe@tienda.example",
        "--xlsx",
    ]);
    let mut store = Store::open(&ctx.db).unwrap();
    // Nothing is queued while no SMTP server is set up: reports would pile up.
    assert_eq!(schedule::queue_due(&mut store, at("2026-03-19T12:00:00Z")).unwrap(), Vec::<i64>::new());
    let sink = SmtpSink::start();
    configure_smtp(&ctx, &sink);
    let figures = ctx.json(
        ["--operator", "sam", "report", "daily", "--date", DAY, "--json", "--out"]
            .map(String::from)
            .into_iter()
            .chain([ctx.path("by-hand").display().to_string()]),
    );

    // 06:29 in Bogotá and Lima (UTC−5): not yet. 06:30: yesterday's report, per market, once.
    assert_eq!(schedule::queue_due(&mut store, at("2026-03-19T11:29:59Z")).unwrap(), Vec::<i64>::new());
    let queued = schedule::queue_due(&mut store, at("2026-03-19T11:30:00Z")).unwrap();
    assert_eq!(queued.len(), 2);
    assert_eq!(schedule::queue_due(&mut store, at("2026-03-19T23:59:00Z")).unwrap(), Vec::<i64>::new(), "once a day");

    let rows: Vec<_> = queued.iter().map(|id| store.buyer_notification(*id).unwrap().unwrap()).collect();
    for (row, (code, market)) in rows.iter().zip([("CO", 0), ("PE", 1)]) {
        assert_eq!(row.order_id, format!("daily-report {code} {DAY}"));
        assert_eq!((row.kind.as_str(), row.channel.as_str(), row.status.as_str()), ("daily_report", "email", "queued"));
        assert_eq!(row.recipient, "finanzas@tienda.example, jefe@tienda.example");
        assert_eq!(row.subject, format!("VoucherDesk daily report / Reporte diario {DAY} {code}"));
        let payments = &figures["markets"][market]["totals"]["payments"];
        assert!(row.body_text.contains(&format!("Payments dated that day:   {payments}\n")), "{}", row.body_text);
        assert_eq!(row.triggered_by, "(daily report)");
    }

    let sender = mailer(sink.addr);
    let transports = Transports { email: Some(&sender), sms: None, attachments: Some(&ReportAttachments) };
    let report = delivery::deliver_due(&mut store, &transports, at("2026-03-19T11:31:00Z"), None).unwrap();
    assert_eq!((report.sent, report.failed), (2, 0));
    let mails = sink.messages();
    assert_eq!(mails.len(), 2);
    for (mail, (code, market)) in mails.iter().zip([("CO", 0), ("PE", 1)]) {
        assert_eq!(mail.rcpt_to, ["<finanzas@tienda.example>", "<jefe@tienda.example>"]);
        let parsed = mailparse::parse_mail(&mail.data).unwrap();
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for part in parsed.parts() {
            let disposition = part.get_content_disposition();
            if let Some(name) = disposition.params.get("filename") {
                files.push((name.clone(), part.get_body_raw().unwrap()));
            }
        }
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                format!("voucherdesk-daily-{DAY}-{code}-payments.xlsx"),
                format!("voucherdesk-daily-{DAY}-{code}-settlements.xlsx"),
                format!("voucherdesk-daily-{DAY}-{code}.pdf"),
            ]
        );
        assert!(files[0].1.starts_with(b"PK"), "an xlsx is a zip");
        let pdf = ctx.path(&format!("{code}.pdf"));
        std::fs::write(&pdf, &files[2].1).unwrap();
        let payments = &figures["markets"][market]["totals"]["payments"];
        let text = pdf_text(&pdf);
        assert!(text.contains(&format!("Payments dated that day: {payments}")), "{text}");
    }
    assert!(
        !std::fs::read_dir(std::env::temp_dir()).unwrap().any(|e| {
            e.unwrap().file_name().to_string_lossy().starts_with(&format!("voucherdesk-mail-{}-", std::process::id()))
        }),
        "the files made for the emails are gone"
    );

    // The day after, only the new day is queued: nothing is sent twice.
    assert_eq!(schedule::queue_due(&mut store, at("2026-03-20T12:00:00Z")).unwrap().len(), 2);
    let filter = voucherdesk::store::NotificationFilter { order_id: None, status: None, before_id: None, limit: 50 };
    let mut keys: Vec<String> = store
        .buyer_notifications(&filter)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "daily_report")
        .map(|r| r.order_id)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "daily-report CO 2026-03-18",
            "daily-report CO 2026-03-19",
            "daily-report PE 2026-03-18",
            "daily-report PE 2026-03-19"
        ]
    );
}

#[test]
fn the_cli_deliverer_queues_and_sends_it_once_and_a_disabled_scheduler_is_said_without_stopping_the_round() {
    let ctx = Ctx::new();
    let sink = SmtpSink::start();
    configure_smtp(&ctx, &sink);
    // 00:00: whenever this runs, the time has passed in the market.
    ctx.ok(["--operator", "ana", "report", "schedule", "--at", "00:00", "--market", "PE", "--to", "f@tienda.example"]);

    // The manager who set it is disabled: the round says why and still runs.
    ctx.ok(["operators", "disable", "ana"]);
    let out = ctx.ok(["notifications", "deliver", "--once"]);
    assert!(
        stderr(&out).contains("daily report: the daily report is made as ana, who cannot act now"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("[report.bad_schedule]"), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("sent 0, retrying 0, failed 0"), "{}", stdout(&out));

    // Another manager sets it again: queued and sent, once.
    ctx.ok(["--operator", "luis", "report", "schedule", "--at", "00:00", "--market", "PE", "--to", "f@tienda.example"]);
    let out = ctx.ok(["notifications", "deliver", "--once"]);
    assert!(
        stdout(&out).starts_with("queued 1 daily report email(s)\nsent 1, retrying 0, failed 0"),
        "{}",
        stdout(&out)
    );
    let out = ctx.ok(["notifications", "deliver", "--once"]);
    assert!(stdout(&out).starts_with("sent 0,"), "queued once: {}", stdout(&out));
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    let parsed = mailparse::parse_mail(&mails[0].data).unwrap();
    let names: Vec<String> =
        parsed.parts().filter_map(|p| p.get_content_disposition().params.get("filename").cloned()).collect();
    assert_eq!(names.len(), 3, "payments, settlements and the summary: {names:?}");
    assert!(names[2].ends_with("-PE.pdf"), "{names:?}");
    let log = ctx.json(["notifications", "list", "--json"]);
    assert_eq!(log[0]["kind"], "daily_report");
    assert_eq!(log[0]["status"], "sent");
}
