//! Buyer notifications against real servers on loopback, started and stopped
//! by each test: a small SMTP sink (receives, answers like a relay, keeps the
//! raw messages) and an HTTP stand-in for the SMS provider (bearer token,
//! idempotency by client reference, scripted 503s). Templates, amounts,
//! escaping, retries, crashes and re-send limits.

use crate::support;
use support::*;

use chrono::{DateTime, Duration, Utc};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use voucherdesk::credentials::MemoryVault;
use voucherdesk::notifications::config::{
    self, NotificationSettings, SecretKind, SmsSettings, SmtpSecurity, SmtpSettings,
};
use voucherdesk::notifications::delivery::{self, HttpSmsSender, SmtpSender, Transports};
use voucherdesk::notifications::{
    self, Channel, ContactField, Kind, Locale, NotificationError, NotificationEvent, Status,
};
use voucherdesk::operators::act_as;
use voucherdesk::store::Store;

// ------------------------------------------------------------------ SMTP sink

#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) mail_from: String,
    pub(crate) rcpt_to: Vec<String>,
    pub(crate) data: Vec<u8>,
}

/// A minimal SMTP server: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Plain
/// text (the settings allow `none` only on loopback).
pub(crate) struct SmtpSink {
    pub(crate) addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// The next RCPT TO gets a permanent 550 (then this goes back to false).
    refuse: Arc<AtomicBool>,
    _accept: AcceptLoop,
}

impl SmtpSink {
    pub(crate) fn start() -> SmtpSink {
        SmtpSink::start_on("127.0.0.1:0".parse().unwrap())
    }

    fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).expect("bind the SMTP sink");
        let received = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(AtomicBool::new(false));
        let (r, f) = (received.clone(), refuse.clone());
        let accept = AcceptLoop::start(listener, move |conn| {
            let _ = smtp_session(conn, &r, &f);
        });
        SmtpSink { addr: accept.addr, received, refuse, _accept: accept }
    }

    fn refuse_next_rcpt(&self) {
        self.refuse.store(true, Ordering::SeqCst);
    }

    pub(crate) fn messages(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A thread serving each connection to a loopback listener, one after the
/// other, until dropped.
struct AcceptLoop {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AcceptLoop {
    fn start(listener: TcpListener, mut serve: impl FnMut(TcpStream) + Send + 'static) -> AcceptLoop {
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    serve(conn);
                }
            }
        });
        AcceptLoop { addr, stop, thread: Some(thread) }
    }
}

impl Drop for AcceptLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn smtp_session(conn: TcpStream, received: &Mutex<Vec<Received>>, refuse: &AtomicBool) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut writer = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    writer.write_all(b"220 sink.test ESMTP ready\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let upper = line.trim_end().to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            writer.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 OK\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = line.trim_end()[10..].trim().to_string();
            to.clear();
            writer.write_all(b"250 2.1.0 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") && refuse.swap(false, Ordering::SeqCst) {
            writer.write_all(b"550 5.1.1 mailbox unavailable\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(line.trim_end()[8..].trim().to_string());
            writer.write_all(b"250 2.1.5 OK\r\n")?;
        } else if upper == "DATA" {
            writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = Vec::new();
            loop {
                let mut raw = Vec::new();
                if reader.read_until(b'\n', &mut raw)? == 0 {
                    return Ok(());
                }
                if raw == b".\r\n" {
                    break;
                }
                // Undo dot-stuffing.
                if raw.starts_with(b"..") {
                    raw.remove(0);
                }
                data.extend_from_slice(&raw);
            }
            let mut all = received.lock().unwrap();
            all.push(Received { mail_from: from.clone(), rcpt_to: to.clone(), data });
            let n = all.len();
            drop(all);
            writer.write_all(format!("250 2.0.0 Ok: queued as SINK{n}\r\n").as_bytes())?;
        } else if upper == "QUIT" {
            writer.write_all(b"221 2.0.0 bye\r\n")?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            writer.write_all(b"250 OK\r\n")?;
        } else {
            writer.write_all(b"502 5.5.2 not implemented\r\n")?;
        }
    }
}

/// A loopback port with nothing listening on it (bound, then released).
fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr
}

// ------------------------------------------------------------------ SMS stand-in

#[derive(Debug, Clone)]
struct SmsRequest {
    authorization: String,
    idempotency_key: String,
    body: serde_json::Value,
}

/// An SMS provider on loopback: `POST /messages`, bearer token `tok-123`,
/// one message per `client_ref` (a repeat answers the first id), and the
/// next `fail_next` requests answered 503.
struct SmsStandIn {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<SmsRequest>>>,
    fail_next: Arc<AtomicU32>,
    _accept: AcceptLoop,
}

impl SmsStandIn {
    fn start() -> SmsStandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(AtomicU32::new(0));
        let (r, f) = (requests.clone(), fail_next.clone());
        let mut ids: Vec<(String, String)> = Vec::new();
        let accept = AcceptLoop::start(listener, move |conn| {
            let _ = sms_exchange(conn, &r, &f, &mut ids);
        });
        SmsStandIn { addr: accept.addr, requests, fail_next, _accept: accept }
    }

    fn url(&self) -> String {
        format!("http://{}/messages", self.addr)
    }

    fn requests(&self) -> Vec<SmsRequest> {
        self.requests.lock().unwrap().clone()
    }
}

fn sms_exchange(
    conn: TcpStream,
    requests: &Mutex<Vec<SmsRequest>>,
    fail_next: &AtomicU32,
    ids: &mut Vec<(String, String)>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut writer = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        headers.push(line.trim_end().to_string());
    }
    let header = |name: &str| {
        headers
            .iter()
            .find_map(|h| {
                h.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let length: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    let request =
        SmsRequest { authorization: header("authorization"), idempotency_key: header("idempotency-key"), body };
    let reference = request.body["client_ref"].as_str().unwrap_or("").to_string();
    let authorized = request.authorization == "Bearer tok-123";
    requests.lock().unwrap().push(request);
    let (status, answer) = if !authorized {
        ("401 Unauthorized", r#"{"error":"bad token"}"#.to_string())
    } else if fail_next.load(Ordering::SeqCst) > 0 {
        fail_next.fetch_sub(1, Ordering::SeqCst);
        ("503 Service Unavailable", r#"{"error":"try later"}"#.to_string())
    } else {
        let id = match ids.iter().find(|(r, _)| *r == reference) {
            Some((_, id)) => id.clone(),
            None => {
                let id = format!("SM{}", ids.len() + 1);
                ids.push((reference, id.clone()));
                id
            }
        };
        ("201 Created", format!(r#"{{"id":"{id}"}}"#))
    };
    write!(
        writer,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    )?;
    writer.flush()
}

// ------------------------------------------------------------------ set-up

fn setup() -> Ctx {
    let ctx = Ctx::new();
    ctx.import("orders", "shop", &fixture("notify/orders.csv"));
    ctx
}

/// Both orders paid (a "payment received" message fits them only then).
fn setup_paid() -> Ctx {
    let ctx = setup();
    ctx.import("payments", "dlocal", &fixture("notify/dlocal_paid.csv"));
    ctx
}

fn store(ctx: &Ctx) -> Store {
    Store::open(&ctx.db).unwrap()
}

fn smtp_settings(addr: SocketAddr) -> SmtpSettings {
    SmtpSettings {
        host: addr.ip().to_string(),
        port: addr.port(),
        security: SmtpSecurity::None,
        username: String::new(),
        from: "Tienda Ñandú <no-reply@tienda.example>".into(),
    }
}

pub(crate) fn mailer(addr: SocketAddr) -> SmtpSender {
    SmtpSender::new(&smtp_settings(addr), None).unwrap()
}

fn email_only(sender: &SmtpSender) -> Transports<'_> {
    Transports { email: Some(sender), sms: None, attachments: None }
}

fn row_barcode(store: &Store, id: i64) -> Option<String> {
    store.buyer_notification(id).unwrap().unwrap().barcode
}

fn row_count(store: &Store) -> usize {
    store
        .buyer_notifications(&voucherdesk::store::NotificationFilter { limit: 1000, ..Default::default() })
        .unwrap()
        .len()
}

/// `notifications resend` of an order's voucher instructions by email, as `who`, with `extra` flags.
fn resend_voucher_email<'a>(order: &'a str, who: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args =
        vec!["notifications", "resend", "--order", order, "--kind", "voucher_instructions", "--channel", "email"];
    args.extend(["--operator", who]);
    args.extend_from_slice(extra);
    args
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

// ------------------------------------------------------------------ templates

#[test]
fn templates_render_per_locale_with_local_amounts_market_time_and_escaping() {
    let ctx = setup();
    let store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();

    let co = notifications::preview(&store, &sam, "N-CO-1", Kind::VoucherInstructions, None, Channel::Email).unwrap();
    assert_eq!(co.locale, Locale::EsCo);
    assert_eq!(co.recipient, "ana.nunez@correo.example");
    assert_eq!(co.rendered.subject, "Tu código de pago 4000001001 para el pedido N-CO-1");
    assert!(co.rendered.html.contains("<strong>$ 1.250.000</strong>"), "{}", co.rendered.html);
    assert!(co.rendered.html.contains("4 de marzo de 2099, 9:15 a. m. (hora de Bogotá)"));
    assert!(
        co.rendered.html.contains("Hola, &lt;script&gt;alert(1)&lt;&#x2f;script&gt; Núñez:"),
        "{}",
        co.rendered.html
    );
    assert!(!co.rendered.html.contains("<script>"));
    assert!(co.rendered.text.contains("Hola, <script>alert(1)</script> Núñez:"), "plain text is not escaped");
    assert!(co.rendered.text.contains("Valor a pagar: $ 1.250.000\nDónde pagar:   cualquier punto Efecty del país"));

    let pe = notifications::preview(&store, &sam, "N-PE-1", Kind::VoucherInstructions, None, Channel::Email).unwrap();
    assert_eq!(pe.locale, Locale::EsPe);
    assert!(pe.rendered.text.contains("Valor a pagar: S/ 1,250.50\n"), "{}", pe.rendered.text);
    // 22:30 in Lima on the 5th (the voucher said -05:00).
    assert!(pe.rendered.text.contains("Paga antes de: 5 de marzo de 2099, 10:30 p. m. (hora de Lima)"));
    assert!(pe.rendered.text.contains("Hola, José Ñahui Quispe:"));

    let en =
        notifications::preview(&store, &sam, "N-PE-1", Kind::VoucherInstructions, Some(Locale::En), Channel::Email)
            .unwrap();
    assert_eq!(en.rendered.subject, "Your payment code 12345678 for order N-PE-1");
    assert!(en.rendered.text.contains("Pay before:   March 5, 2099, 10:30 PM (Lima time)"), "{}", en.rendered.text);
    assert!(en.rendered.text.contains("Amount:       S/ 1,250.50"));

    let sms = notifications::preview(&store, &sam, "N-CO-1", Kind::VoucherInstructions, None, Channel::Sms).unwrap();
    assert_eq!(sms.recipient, "+573001234567");
    assert_eq!(
        sms.rendered.text,
        "Tienda Ñandu: paga $ 1.250.000 en Efecty con el codigo 4000001001 antes del 04/03/2099 9:15 a. m. (pedido N-CO-1)."
    );
    assert!(sms.rendered.text.chars().count() <= 160);
    assert_eq!(sms.rendered.subject, "");

    // A kind whose facts come from an event cannot be previewed before the event.
    let err = notifications::preview(&store, &sam, "N-CO-1", Kind::RefundCompleted, None, Channel::Email).unwrap_err();
    assert_eq!(err.code(), "errors.validation");
    assert!(err.to_string().contains("never had a refund_completed notification"), "{err}");
    let err =
        notifications::preview(&store, &sam, "NOPE", Kind::VoucherInstructions, None, Channel::Email).unwrap_err();
    assert_eq!(err.to_string(), "no order \"NOPE\"");
    assert_eq!(row_count(&store), 0, "a preview writes nothing");
}

// ------------------------------------------------------------------ SMTP

#[test]
fn an_email_reaches_the_smtp_sink_with_encoded_spanish_headers_and_both_parts() {
    let ctx = setup();
    let sink = SmtpSink::start();
    let mut store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();
    let id =
        notifications::resend(&mut store, &sam, "N-CO-1", Kind::VoucherInstructions, Channel::Email, false).unwrap();
    let sender = mailer(sink.addr);
    let report = delivery::deliver_due(&mut store, &email_only(&sender), Utc::now(), None).unwrap();
    assert_eq!((report.attempted, report.sent, report.retrying, report.failed), (1, 1, 0, 0));

    let got = sink.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from, "<no-reply@tienda.example>");
    assert_eq!(got[0].rcpt_to, vec!["<ana.nunez@correo.example>".to_string()]);
    let raw = String::from_utf8_lossy(&got[0].data).to_string();
    // Non-ASCII headers travel RFC 2047-encoded, never as raw UTF-8.
    let subject_line = raw.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(subject_line.contains("=?utf-8?"), "{subject_line}");
    assert!(subject_line.is_ascii());
    let parsed = mailparse::parse_mail(&got[0].data).unwrap();
    let header = |name: &str| parsed.headers.iter().find(|h| h.get_key() == name).unwrap().get_value();
    assert_eq!(header("Subject"), "Tu código de pago 4000001001 para el pedido N-CO-1");
    assert_eq!(header("From"), "Tienda Ñandú <no-reply@tienda.example>");
    assert!(raw.lines().find(|l| l.starts_with("From:")).unwrap().is_ascii(), "the From name is encoded too");
    assert_eq!(header("To"), "ana.nunez@correo.example");
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!(header("Message-ID"), format!("<{}@tienda.example>", row.client_ref));
    // multipart/related: the two alternatives, then the voucher code's barcode image the HTML shows.
    assert_eq!(parsed.ctype.mimetype, "multipart/related");
    assert_eq!(parsed.subparts.len(), 2);
    let alternative = &parsed.subparts[0];
    assert_eq!(alternative.ctype.mimetype, "multipart/alternative");
    assert_eq!(alternative.subparts.len(), 2);
    assert_eq!(alternative.subparts[0].ctype.mimetype, "text/plain");
    assert_eq!(alternative.subparts[1].ctype.mimetype, "text/html");
    let image = &parsed.subparts[1];
    assert_eq!(image.ctype.mimetype, "image/png");
    let content_id = image.headers.iter().find(|h| h.get_key() == "Content-ID").unwrap().get_value();
    assert_eq!(content_id, "<voucher-barcode>");
    let png = image.get_body_raw().unwrap();
    assert_eq!(png, voucherdesk::notifications::barcode::code128_png("4000001001").unwrap());
    let text = alternative.subparts[0].get_body().unwrap();
    let html = alternative.subparts[1].get_body().unwrap();
    assert!(html.contains(r#"<img src="cid:voucher-barcode" alt="Código de barras 4000001001">"#), "{html}");
    assert_eq!(row_barcode(&store, id), Some("4000001001".to_string()));
    assert!(text.contains("Dónde pagar:   cualquier punto Efecty del país"), "{text}");
    assert!(text.contains("Hola, <script>alert(1)</script> Núñez:"));
    assert!(html.contains("Hola, &lt;script&gt;alert(1)&lt;&#x2f;script&gt; Núñez:"), "{html}");
    assert!(html.contains("<strong>$ 1.250.000</strong>"));

    assert_eq!(row.status, "sent");
    assert_eq!(row.attempts, 1);
    assert!(
        row.provider_message_id.as_deref().unwrap().ends_with("Ok: queued as SINK1"),
        "{:?}",
        row.provider_message_id
    );
    assert!(row.sent_at.is_some());
    // A finished message cannot be moved again (the store guards every transition).
    let entry =
        voucherdesk::audit::audit_entry("(deliverer)", "notifications.status", "notification", "sending", "failed");
    let err = store
        .finish_notification(id, &voucherdesk::store::SendOutcome::Failed { error: "late" }, Utc::now(), &entry)
        .unwrap_err();
    assert_eq!(err.to_string(), format!("notification {id} is no longer being sent"));
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), row, "unchanged");
    // Nothing left to do: a second round sends nothing more.
    let again = delivery::deliver_due(&mut store, &email_only(&sender), Utc::now(), None).unwrap();
    assert_eq!(again.attempted, 0);
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn a_refused_connection_is_retried_with_backoff_until_the_server_is_up() {
    let ctx = setup();
    let mut store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();
    let id =
        notifications::resend(&mut store, &sam, "N-PE-1", Kind::VoucherInstructions, Channel::Email, false).unwrap();
    let addr = closed_port();
    let sender = mailer(addr);
    let t0 = Utc::now();
    let report = delivery::deliver_due(&mut store, &email_only(&sender), t0, None).unwrap();
    assert_eq!((report.attempted, report.sent, report.retrying), (1, 0, 1));
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!(row.status, "queued");
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.as_deref().unwrap().contains("refused"), "{:?}", row.last_error);
    // First retry after 60 s ± 20 %. The row keeps whole seconds: measure from t0's whole second.
    let wait = (row.next_attempt_at - chrono::SubsecRound::trunc_subsecs(t0, 0)).num_seconds();
    assert!((48..=72).contains(&wait), "{wait}");

    // Not due yet: nothing is attempted.
    assert_eq!(delivery::deliver_due(&mut store, &email_only(&sender), t0, None).unwrap().attempted, 0);

    let sink = SmtpSink::start_on(addr);
    let later = t0 + Duration::seconds(73);
    let report = delivery::deliver_due(&mut store, &email_only(&sender), later, None).unwrap();
    assert_eq!((report.attempted, report.sent), (1, 1));
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    assert_eq!(row.last_error, None);
    assert_eq!(sink.messages().len(), 1, "sent exactly once");
}

#[test]
fn a_message_fails_after_the_last_attempt() {
    let ctx = setup_paid();
    let mut store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();
    let id = notifications::resend(&mut store, &sam, "N-PE-1", Kind::PaymentReceived, Channel::Email, false).unwrap();
    let sender = mailer(closed_port());
    let mut now = Utc::now();
    for attempt in 1..=delivery::SEND_ATTEMPTS_MAX {
        let report = delivery::deliver_due(&mut store, &email_only(&sender), now, None).unwrap();
        assert_eq!(report.attempted, 1, "attempt {attempt}");
        now += Duration::seconds(delivery::RETRY_DELAY_SECONDS_MAX * 2);
    }
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 5));
    assert!(row.last_error.as_deref().unwrap().ends_with("(attempt 5 of 5)"), "{:?}", row.last_error);
    assert_eq!(delivery::deliver_due(&mut store, &email_only(&sender), now, None).unwrap().attempted, 0);
    let failures = notifications::list(&store, &sam, None, Some(Status::Failed), None, 50).unwrap();
    assert_eq!(failures.iter().map(|f| f.id).collect::<Vec<_>>(), vec![id]);
}

// ------------------------------------------------------------------ crashes

#[test]
fn a_deliverer_killed_after_claiming_leaves_the_email_unknown_and_never_resends_it() {
    let ctx = setup();
    let sink = SmtpSink::start();
    ctx.ok([
        "notifications",
        "configure",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        &sink.addr.port().to_string(),
        "--smtp-security",
        "none",
        "--smtp-from",
        "Tienda <no-reply@tienda.example>",
    ]);
    let out = ctx.ok(resend_voucher_email("N-CO-1", "sam", &[]));
    assert!(stdout(&out).starts_with("queued notification 1: voucher_instructions by email for order N-CO-1"));

    // The child process dies between recording `sending` and talking SMTP.
    let out = ctx
        .cmd()
        .args(["notifications", "deliver", "--once"])
        .env("VOUCHERDESK_NOTIFY_CRASH_AT", "after_claim")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("crash point AfterClaim reached"), "{}", stderr(&out));
    let log = ctx.json(["notifications", "list", "--order", "N-CO-1", "--json"]);
    assert_eq!(log[0]["status"], "sending");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(sink.messages().len(), 0);

    // Within the lease a new deliverer leaves it alone (the first may still be working).
    let out = ctx.ok(["notifications", "deliver", "--once"]);
    assert!(stdout(&out).contains("sent 0, retrying 0, failed 0 (of 0 attempted)"), "{}", stdout(&out));
    // Past the lease it is settled: unknown for a human, not re-sent.
    let out = ctx.ok(["notifications", "deliver", "--once", "--lease-seconds", "0"]);
    assert!(stdout(&out).contains("0 SMS re-queued, 1 emails marked unknown"), "{}", stdout(&out));
    let log = ctx.json(["notifications", "list", "--order", "N-CO-1", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["status"], "unknown");
    assert!(log[0]["last_error"].as_str().unwrap().contains("may or may not have been delivered"));
    ctx.ok(["notifications", "deliver", "--once", "--lease-seconds", "0"]);
    assert_eq!(sink.messages().len(), 0, "never re-sent blindly");
    let unknown = ctx.json(["notifications", "list", "--status", "unknown", "--json"]);
    assert_eq!(unknown.as_array().unwrap().len(), 1);
}

#[test]
fn an_sms_interrupted_after_the_provider_accepted_is_sent_again_under_the_same_reference_once() {
    let ctx = setup();
    let provider = SmsStandIn::start();
    let mut store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();
    let id = notifications::resend(&mut store, &sam, "N-PE-1", Kind::VoucherInstructions, Channel::Sms, false).unwrap();
    let sms = HttpSmsSender::new(
        &SmsSettings { url: provider.url(), sender: "Ayacucho".into() },
        zeroize::Zeroizing::new("tok-123".into()),
    );
    // A deliverer claims, the provider accepts, then the deliverer dies before recording it.
    let t0 = Utc::now();
    let claimed = store
        .claim_due_notification(t0, |r| {
            voucherdesk::audit::audit_entry(
                "(deliverer)",
                "notifications.status",
                &format!("notification {}", r.id),
                "queued",
                "sending",
            )
        })
        .unwrap()
        .unwrap();
    use voucherdesk::notifications::delivery::Sender as _;
    assert_eq!(sms.send(&claimed, &[]).unwrap(), "SM1");
    assert_eq!(store.buyer_notification(id).unwrap().unwrap().status, "sending");

    let report = delivery::reconcile_interrupted(
        &mut store,
        t0 + Duration::seconds(delivery::SEND_LEASE_SECONDS),
        delivery::SEND_LEASE_SECONDS,
    )
    .unwrap();
    assert_eq!((report.requeued.clone(), report.unknown.len()), (vec![id], 0));
    let transports = Transports { email: None, sms: Some(&sms), attachments: None };
    let later = t0 + Duration::seconds(delivery::SEND_LEASE_SECONDS);
    let delivered = delivery::deliver_due(&mut store, &transports, later, None).unwrap();
    assert_eq!(delivered.sent, 1);
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts, row.provider_message_id.as_deref()), ("sent", 2, Some("SM1")));

    let requests = provider.requests();
    assert_eq!(requests.len(), 2, "two requests...");
    assert!(
        requests.iter().all(|r| r.idempotency_key == row.client_ref && r.body["client_ref"] == row.client_ref.as_str())
    );
    assert!(requests.iter().all(|r| r.authorization == "Bearer tok-123"));
    assert_eq!(requests[0].body["to"], "+51987654321");
    assert_eq!(requests[0].body["from"], "Ayacucho");
    assert_eq!(
        requests[0].body["text"],
        "Libreria Ayacucho: paga S/ 1,250.50 en PagoEfectivo con el codigo 12345678 antes del 05/03/2099 10:30 p. m. (pedido N-PE-1)."
    );
}

#[test]
fn sms_provider_errors_retry_or_fail_and_the_token_comes_from_the_vault() {
    let ctx = setup_paid();
    let provider = SmsStandIn::start();
    let mut store = store(&ctx);
    let admin = act_as(&store, "admin").unwrap();
    let sam = act_as(&store, "sam").unwrap();
    let vault = MemoryVault::default();
    config::set(
        &mut store,
        &admin,
        &NotificationSettings {
            sms: Some(SmsSettings { url: provider.url(), sender: "Tienda".into() }),
            ..Default::default()
        },
    )
    .unwrap();
    // No token yet: a clear refusal.
    let err = delivery::ConfiguredTransports::from_settings(&config::get(&store).unwrap(), &vault).err().unwrap();
    assert!(err.to_string().contains("no SMS token is stored"), "{err}");
    // Support may not store it.
    let err = config::set_secret(&mut store, &vault, &sam, SecretKind::SmsToken, "tok-123").unwrap_err();
    assert_eq!(err.to_string(), "sam (support) may not change settings");
    config::set_secret(&mut store, &vault, &admin, SecretKind::SmsToken, "tok-123\n").unwrap();
    let audit =
        voucherdesk::audit::page(&store, &voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() }).unwrap();
    assert!(audit.iter().all(|e| !e.entry.after.contains("tok-123") && !e.entry.before.contains("tok-123")));
    let configured = delivery::ConfiguredTransports::from_settings(&config::get(&store).unwrap(), &vault).unwrap();

    provider.fail_next.store(1, Ordering::SeqCst);
    let id = notifications::resend(&mut store, &sam, "N-CO-1", Kind::PaymentReceived, Channel::Sms, false).unwrap();
    let t0 = Utc::now();
    let r = delivery::deliver_due(&mut store, &configured.transports(), t0, None).unwrap();
    assert_eq!((r.retrying, r.sent), (1, 0));
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert!(
        row.last_error.as_deref().unwrap().starts_with("SMS provider answered 503 Service Unavailable"),
        "{:?}",
        row.last_error
    );
    let r = delivery::deliver_due(&mut store, &configured.transports(), t0 + Duration::seconds(100), None).unwrap();
    assert_eq!(r.sent, 1);
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.provider_message_id.as_deref()), ("sent", Some("SM1")));
    assert_eq!(
        provider.requests()[1].body["text"],
        "Tienda Ñandu: recibimos tu pago de $ 1.250.000 del pedido N-CO-1. ¡Gracias!"
    );

    // A wrong token is permanent: failed at once, not retried.
    vault.write("notifications:sms-token", "wrong").unwrap();
    let configured = delivery::ConfiguredTransports::from_settings(&config::get(&store).unwrap(), &vault).unwrap();
    let id = notifications::resend(&mut store, &sam, "N-CO-1", Kind::PaymentReceived, Channel::Sms, false).unwrap();
    let r = delivery::deliver_due(&mut store, &configured.transports(), Utc::now(), None).unwrap();
    assert_eq!(r.failed, 1);
    let row = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 1));
    assert!(row.last_error.as_deref().unwrap().contains("401 Unauthorized"));
}

/// An SMS provider that refuses every request and echoes it back: the raw
/// request (with its `Authorization` header), the bearer token as a query,
/// a JSON field and a bare word. The first answer is a 503, the rest 400.
fn start_echoing_provider() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        for (n, conn) in listener.incoming().take(2).enumerate() {
            let Ok(conn) = conn else { continue };
            let mut writer = conn.try_clone().unwrap();
            let mut reader = BufReader::new(conn);
            let mut raw = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
                raw.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            raw.push_str(&String::from_utf8_lossy(&body));
            let token = raw
                .lines()
                .find_map(|l| {
                    l.strip_prefix("authorization: Bearer ").or_else(|| l.strip_prefix("Authorization: Bearer "))
                })
                .unwrap_or("")
                .trim()
                .to_string();
            let answer = format!(
                "key {token} is not valid; retry as POST /messages?token={token}&to=x or {{\"api_key\": \"{token}\"}}; you sent:\n{raw}"
            );
            let status = if n == 0 { "503 Service Unavailable" } else { "400 Bad Request" };
            write!(
                writer,
                "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            writer.flush().unwrap();
        }
    });
    (addr, thread)
}

#[test]
fn an_sms_provider_that_echoes_the_request_leaks_no_token_into_last_error_or_the_audit_log() {
    const TOKEN: &str = "tok-canary-8841";
    let ctx = setup_paid();
    let (addr, provider) = start_echoing_provider();
    let mut store = store(&ctx);
    let admin = act_as(&store, "admin").unwrap();
    let sam = act_as(&store, "sam").unwrap();
    let vault = MemoryVault::default();
    let sms = SmsSettings { url: format!("http://{addr}/messages"), sender: "Tienda".into() };
    config::set(&mut store, &admin, &NotificationSettings { sms: Some(sms), ..Default::default() }).unwrap();
    config::set_secret(&mut store, &vault, &admin, SecretKind::SmsToken, TOKEN).unwrap();
    let configured = delivery::ConfiguredTransports::from_settings(&config::get(&store).unwrap(), &vault).unwrap();

    let id = notifications::resend(&mut store, &sam, "N-CO-1", Kind::PaymentReceived, Channel::Sms, false).unwrap();
    let t0 = Utc::now();
    let r = delivery::deliver_due(&mut store, &configured.transports(), t0, None).unwrap();
    assert_eq!((r.retrying, r.sent, r.failed), (1, 0, 0));
    let retrying = store.buyer_notification(id).unwrap().unwrap().last_error.unwrap();
    assert!(
        retrying.starts_with("SMS provider answered 503 Service Unavailable: key [redacted] is not valid; retry as"),
        "{retrying}"
    );
    let r = delivery::deliver_due(&mut store, &configured.transports(), t0 + Duration::seconds(100), None).unwrap();
    assert_eq!((r.retrying, r.sent, r.failed), (0, 0, 1));
    provider.join().unwrap();
    let failed = store.buyer_notification(id).unwrap().unwrap().last_error.unwrap();
    assert!(
        failed.starts_with("SMS provider answered 400 Bad Request: key [redacted] is not valid; retry as"),
        "{failed}"
    );

    for kept in [&retrying, &failed] {
        assert!(!kept.contains(TOKEN) && !kept.contains("canary"), "{kept}");
        assert!(kept.contains("authorization: [redacted]") || kept.contains("Authorization: [redacted]"), "{kept}");
        assert!(kept.contains("?token=[redacted]&to=x"), "{kept}");
        assert!(kept.contains(r#"{"api_key": "[redacted]"}"#), "{kept}");
        assert!(kept.contains("you sent: POST /messages HTTP/1.1"), "{kept}");
    }
    let audit =
        voucherdesk::audit::page(&store, &voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() }).unwrap();
    let outcomes: Vec<&str> = audit
        .iter()
        .filter(|e| e.entry.action == "notifications.status" && e.entry.before == "sending")
        .map(|e| e.entry.after.as_str())
        .collect();
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(outcomes.iter().all(|after| after.contains("[redacted]")), "{outcomes:?}");
    for e in &audit {
        let text = format!("{:?}", e.entry);
        assert!(!text.contains(TOKEN) && !text.contains("canary"), "{text}");
    }
}

use voucherdesk::credentials::SecretVault as _;

// ------------------------------------------------------------------ re-send limits

#[test]
fn support_gets_three_resends_per_day_then_a_manager_overrides_with_an_audit_entry() {
    let ctx = setup();
    let resend = |who: &str, extra: &[&str]| ctx.run(resend_voucher_email("N-CO-1", who, extra));
    for n in 1..=3 {
        let out = resend("sam", &[]);
        assert!(out.status.success(), "re-send {n}: {}", stderr(&out));
    }
    let before = ctx.json(["notifications", "list", "--json"]).as_array().unwrap().len();
    let out = resend("sam", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: order N-CO-1 was already re-sent 3 times in the last 24 h (limit 3); a manager may override [notifications.resend_limit]"
    );
    let out = resend("sam", &["--override"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "error: sam (support) may not override the re-send limit: ask a manager [auth.forbidden]"
    );
    let out = resend("ana", &[]);
    assert_eq!(out.status.code(), Some(2), "a manager too needs --override past the limit");
    assert_eq!(
        ctx.json(["notifications", "list", "--json"]).as_array().unwrap().len(),
        before,
        "refusals write nothing"
    );

    let out = resend("ana", &["--override"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = ctx.json(["notifications", "list", "--order", "N-CO-1", "--json"]);
    assert_eq!(log.as_array().unwrap().len(), 4);
    assert_eq!((log[0]["trigger"].as_str(), log[0]["triggered_by"].as_str()), (Some("override"), Some("ana")));
    let audit = ctx.json(["audit", "list", "--action", "notifications.resend_override", "--json"]);
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["operator"], "ana");
    assert_eq!(audit[0]["subject"], "order N-CO-1");
    assert_eq!(audit[0]["before"], "3 manual re-sends in the last 24 h");
    // The other order has its own count.
    let out = ctx.run(resend_voucher_email("N-PE-1", "sam", &[]));
    assert!(out.status.success());
}

// ------------------------------------------------------------------ contacts and events

#[test]
fn a_changed_email_is_recorded_with_who_changed_it_and_used_from_then_on() {
    let ctx = setup_paid();
    let mut store = store(&ctx);
    let sam = act_as(&store, "sam").unwrap();
    let err = notifications::set_contact(&mut store, &sam, "N-CO-1", ContactField::Email, "ana at correo").unwrap_err();
    assert!(matches!(err, NotificationError::BadEmail(_)));
    let audit_before =
        voucherdesk::audit::page(&store, &voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() })
            .unwrap()
            .len();
    notifications::set_contact(&mut store, &sam, "N-CO-1", ContactField::Email, "ana.nueva@correo.example").unwrap();
    notifications::set_contact(&mut store, &sam, "N-CO-1", ContactField::Phone, "310 555 1234").unwrap();
    let audit =
        voucherdesk::audit::page(&store, &voucherdesk::audit::AuditQuery { limit: 500, ..Default::default() }).unwrap();
    assert_eq!(audit.len(), audit_before + 2);
    let email_change = audit.iter().find(|e| e.entry.action == "notifications.set_email").unwrap();
    assert_eq!(
        (email_change.entry.operator.as_str(), email_change.entry.before.as_str(), email_change.entry.after.as_str()),
        ("sam", "ana.nunez@correo.example", "ana.nueva@correo.example")
    );
    let phone = notifications::preview(&store, &sam, "N-CO-1", Kind::PaymentReceived, None, Channel::Sms).unwrap();
    assert_eq!(phone.recipient, "+573105551234");

    let out = ctx.run(["notifications", "set-contact", "--order", "N-PE-1", "--phone", "12", "--operator", "sam"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"12\" is not a phone number"), "{}", stderr(&out));
    let out = ctx.ok([
        "notifications",
        "set-contact",
        "--order",
        "N-PE-1",
        "--email",
        "jose@correo.example",
        "--operator",
        "sam",
    ]);
    assert_eq!(stdout(&out).trim(), "order N-PE-1: email is now jose@correo.example (changed by sam)");
}

#[test]
fn events_queue_once_per_channel_and_refund_messages_can_be_resent_with_their_facts() {
    let ctx = setup();
    let mut store = store(&ctx);
    let event = NotificationEvent::RefundCompleted {
        order_id: "N-CO-1".into(),
        refund_id: "R-77".into(),
        amount_minor: 50_000_000,
    };
    let ids = notifications::queue_for_event(&mut store, &event, "fabio").unwrap();
    assert_eq!(ids.len(), 2, "email and SMS");
    assert!(
        notifications::queue_for_event(&mut store, &event, "fabio").unwrap().is_empty(),
        "the same event twice queues nothing"
    );
    let email = store.buyer_notification(ids[0]).unwrap().unwrap();
    assert_eq!(
        (email.channel.as_str(), email.trigger.as_str(), email.triggered_by.as_str()),
        ("email", "event", "fabio")
    );
    assert_eq!(email.subject, "Tu reembolso del pedido N-CO-1 está hecho");
    assert!(email.body_text.contains("Te devolvimos $ 500.000 del pedido N-CO-1."), "{}", email.body_text);
    let sms = store.buyer_notification(ids[1]).unwrap().unwrap();
    assert_eq!(sms.body_text, "Tienda Ñandu: te devolvimos $ 500.000 del pedido N-CO-1.");

    let cash = NotificationEvent::CashReadyForPickup {
        order_id: "N-PE-1".into(),
        refund_id: "R-78".into(),
        amount_minor: 125_050,
        withdrawal_code: "RET-5521".into(),
        pickup_deadline: Some(utc("2026-03-20T23:00:00Z")),
    };
    let ids = notifications::queue_for_event(&mut store, &cash, "fabio").unwrap();
    let email = store.buyer_notification(ids[0]).unwrap().unwrap();
    assert!(email.body_text.contains("Código de retiro: RET-5521\nDónde: cualquier agente PagoEfectivo\nLleva: tu DNI original (terminado en 8912)\nRetira antes de: 20 de marzo de 2026, 6:00 p. m. (hora de Lima)"), "{}", email.body_text);

    // A re-send tells the same facts to today's contact.
    let sam = act_as(&store, "sam").unwrap();
    let id = notifications::resend(&mut store, &sam, "N-CO-1", Kind::RefundCompleted, Channel::Email, false).unwrap();
    assert!(store.buyer_notification(id).unwrap().unwrap().body_text.contains("Te devolvimos $ 500.000"));
    let err =
        notifications::resend(&mut store, &sam, "N-CO-1", Kind::RefundApproved, Channel::Email, false).unwrap_err();
    assert!(err.to_string().contains("never had a refund_approved notification"), "{err}");

    // Bad facts write nothing.
    let count = row_count(&store);
    let long_code = NotificationEvent::CashReadyForPickup {
        order_id: "N-PE-1".into(),
        refund_id: "R-80".into(),
        amount_minor: 125_050,
        withdrawal_code: "W".repeat(64),
        pickup_deadline: None,
    };
    let err = notifications::queue_for_event(&mut store, &long_code, "fabio").unwrap_err();
    assert!(matches!(err, NotificationError::SmsTooLong { max: 160, .. }), "{err}");
    assert_eq!(err.code(), "notifications.sms_too_long");
    let bad = NotificationEvent::RefundApproved {
        order_id: "N-CO-1".into(),
        refund_id: "R-79".into(),
        amount_minor: 0,
        expected_business_days: 7,
    };
    assert!(notifications::queue_for_event(&mut store, &bad, "fabio").is_err());
    let unknown = NotificationEvent::PaymentReceived { order_id: "X-1".into(), payment_id: "P".into() };
    assert_eq!(
        notifications::queue_for_event(&mut store, &unknown, "fabio").unwrap_err().code(),
        "notifications.unknown_order"
    );
    assert_eq!(row_count(&store), count);
}

#[test]
fn the_cli_previews_lists_and_refuses_bad_input_clearly() {
    let ctx = setup_paid();
    let out = ctx.ok([
        "notifications",
        "preview",
        "--order",
        "N-PE-1",
        "--kind",
        "payment_received",
        "--channel",
        "sms",
        "--operator",
        "sam",
    ]);
    assert_eq!(
        stdout(&out),
        "To: +51987654321  (sms, es-PE, payment_received)\nLibreria Ayacucho: recibimos tu pago de S/ 1,250.50 del pedido N-PE-1. ¡Gracias!\n"
    );
    let out =
        ctx.fails_with(2, ["notifications", "preview", "--order", "N-PE-1", "--kind", "hello", "--operator", "sam"]);
    assert!(stderr(&out).contains("unknown notification kind \"hello\""), "{}", stderr(&out));
    let out = ctx.fails_with(
        2,
        [
            "notifications",
            "preview",
            "--order",
            "N-PE-1",
            "--kind",
            "payment_received",
            "--locale",
            "fr",
            "--operator",
            "sam",
        ],
    );
    assert!(stderr(&out).contains("unknown locale \"fr\" (expected es-CO, es-PE or en)"));
    let out = ctx.fails_with(
        2,
        [
            "notifications",
            "configure",
            "--smtp-host",
            "smtp.example.com",
            "--smtp-security",
            "none",
            "--smtp-from",
            "T <a@b.co>",
        ],
    );
    assert!(stderr(&out).contains("SMTP without TLS is only allowed to a loopback host"), "{}", stderr(&out));
    let out = ctx.fails_with(
        2,
        [
            "notifications",
            "configure",
            "--smtp-host",
            "smtp.example.com",
            "--smtp-from",
            "T <a@b.co>",
            "--operator",
            "ana",
        ],
    );
    assert!(stderr(&out).contains("ana (manager) may not change settings"), "{}", stderr(&out));
    assert_eq!(ctx.json(["notifications", "settings", "--json"])["smtp"], serde_json::Value::Null, "nothing stored");
    ctx.ok(["notifications", "configure", "--smtp-host", "smtp.example.com", "--smtp-from", "T <a@b.co>"]);
    let settings = ctx.json(["notifications", "settings", "--json"]);
    assert_eq!(
        (settings["smtp"]["port"].as_u64(), settings["smtp"]["security"].as_str()),
        (Some(587), Some("starttls"))
    );
    let out = ctx.ok(["notifications", "list", "--status", "failed"]);
    assert_eq!(stdout(&out), "");
}

// ------------------------------------------------------------------ the app's rounds and retry

#[test]
fn a_round_does_nothing_until_delivery_is_configured_then_sends_and_a_failed_message_is_retried_once() {
    let ctx = setup();
    let sink = SmtpSink::start();
    let mut store = store(&ctx);
    let (sam, admin) = (act_as(&store, "sam").unwrap(), act_as(&store, "admin").unwrap());
    let vault = MemoryVault::default();
    let id =
        notifications::resend(&mut store, &sam, "N-CO-1", Kind::VoucherInstructions, Channel::Email, false).unwrap();
    let untouched = store.buyer_notification(id).unwrap().unwrap();
    let round = delivery::deliver_round(&mut store, &vault, Utc::now(), 20, None).unwrap();
    assert_eq!(round, delivery::RoundOutcome::NotConfigured);
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), untouched, "no attempt is spent");

    let settings = NotificationSettings { smtp: Some(smtp_settings(sink.addr)), ..Default::default() };
    config::set(&mut store, &admin, &settings).unwrap();
    let round = delivery::deliver_round(&mut store, &vault, Utc::now(), 20, None).unwrap();
    let delivery::RoundOutcome::Delivered { delivered, .. } = round else { panic!("{round:?}") };
    assert_eq!((delivered.attempted, delivered.sent), (1, 1));
    assert_eq!(sink.messages().len(), 1);

    // A sent message is never retried; the library says why and writes nothing.
    let sent = store.buyer_notification(id).unwrap().unwrap();
    let err = notifications::retry_one(&mut store, &sam, id).unwrap_err();
    assert_eq!(err.code(), "notifications.not_retryable");
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), sent);

    // A message the server refused for good: failed, retried once, sent under the same Message-ID.
    let second =
        notifications::resend(&mut store, &sam, "N-CO-1", Kind::VoucherInstructions, Channel::Email, false).unwrap();
    sink.refuse_next_rcpt();
    let round = delivery::deliver_round(&mut store, &vault, Utc::now(), 20, None).unwrap();
    let delivery::RoundOutcome::Delivered { delivered, .. } = round else { panic!("{round:?}") };
    assert_eq!((delivered.attempted, delivered.failed), (1, 1));
    let failed = store.buyer_notification(second).unwrap().unwrap();
    assert_eq!(failed.status, "failed");
    let outcome = notifications::retry(&mut store, &sam, &[second, second]).unwrap();
    assert_eq!((outcome.retried, outcome.refused.len()), (vec![second], 0), "a repeated id counts once");
    let again = notifications::retry(&mut store, &sam, &[second]).unwrap();
    assert_eq!(again.refused[0].code, "notifications.not_retryable");
    let round = delivery::deliver_round(&mut store, &vault, Utc::now(), 20, None).unwrap();
    let delivery::RoundOutcome::Delivered { delivered, .. } = round else { panic!("{round:?}") };
    assert_eq!((delivered.attempted, delivered.sent), (1, 1));
    let resent = store.buyer_notification(second).unwrap().unwrap();
    assert_eq!(
        (resent.status.as_str(), resent.attempts, resent.client_ref.as_str()),
        ("sent", 2, failed.client_ref.as_str())
    );
    assert_eq!(sink.messages().len(), 2, "one message for the first, one for the retried second");
}

#[test]
fn no_expiry_reminder_goes_to_an_order_the_shop_no_longer_awaits_payment_for() {
    let ctx = setup();
    // The shop cancels N-CO-1 and counts N-PE-1 as paid (no PSP payment reported yet).
    let text = std::fs::read_to_string(fixture("notify/orders.csv")).unwrap();
    let changed = text.replacen(",pending_payment,", ",cancelled,", 1).replacen(",pending_payment,", ",paid,", 1);
    assert!(!changed.contains("pending_payment"), "{changed}");
    let file = ctx.path("orders-changed.csv");
    std::fs::write(&file, changed).unwrap();
    ctx.import("orders", "shop", &file);
    let mut store = store(&ctx);
    let now = utc("2099-03-03T17:00:00Z");
    let report = notifications::queue_expiry_reminders(&mut store, now, 72, "(deliverer)").unwrap();
    assert_eq!(report, notifications::ReminderReport::default(), "both deadlines lie within the window");
    assert_eq!(row_count(&store), 0);
}

#[test]
fn expiry_reminders_are_queued_once_per_voucher_and_channel_for_deadlines_within_the_window() {
    let ctx = setup();
    let mut store = store(&ctx);
    // 3 March, noon in Bogotá: N-CO-1's deadline (4 March 09:15) is 21 h away, N-PE-1's (5 March 22:30 Lima) 58 h.
    let now = utc("2099-03-03T17:00:00Z");
    let report = notifications::queue_expiry_reminders(&mut store, now, 24, "(deliverer)").unwrap();
    assert_eq!(report.skipped, Vec::<String>::new());
    assert_eq!(report.queued.len(), 2, "email and SMS for N-CO-1 only: {report:?}");
    let rows: Vec<_> = report.queued.iter().map(|id| store.buyer_notification(*id).unwrap().unwrap()).collect();
    assert!(rows.iter().all(|r| r.order_id == "N-CO-1" && r.kind == "expiry_reminder" && r.trigger == "event"));
    assert_eq!(
        rows.iter().map(|r| r.channel.as_str()).collect::<Vec<_>>(),
        vec!["email", "sms"],
        "one per channel the buyer has"
    );
    assert!(rows[0].subject.contains("4000001001"), "{}", rows[0].subject);
    // Once per voucher: the next round (even a later one) queues nothing more for it.
    let again = notifications::queue_expiry_reminders(&mut store, now + Duration::hours(1), 24, "(deliverer)").unwrap();
    assert_eq!(again, notifications::ReminderReport::default());
    assert_eq!(row_count(&store), 2);
    // A wider window reaches N-PE-1; a deadline already past gets none.
    let wider = notifications::queue_expiry_reminders(&mut store, now, 72, "(deliverer)").unwrap();
    assert_eq!(wider.queued.len(), 2);
    let late = utc("2099-03-06T12:00:00Z");
    assert_eq!(notifications::queue_expiry_reminders(&mut store, late, 24, "(deliverer)").unwrap().queued.len(), 0);
    assert_eq!(row_count(&store), 4);
}
