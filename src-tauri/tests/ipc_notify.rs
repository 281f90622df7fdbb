//! The notifications screen's and Settings → Notifications' commands through
//! Tauri's IPC layer (mock runtime, real library, temporary database, an
//! in-memory vault): retry of failed messages (who may, what may be retried,
//! once), and the delivery settings, admins only, with no secret in any answer.

use crate::common;

use common::MockApp;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use voucherdesk::credentials::{MemoryVault, SecretVault};
use voucherdesk::notifications::delivery::{self, SendError, Sender, Transports};
use voucherdesk::store::{BuyerNotificationRow, Store};
use voucherdesk_desktop::state::AppState;

struct Harness {
    app: MockApp,
    dir: tempfile::TempDir,
    vault: Arc<MemoryVault>,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ipc.sqlite")).unwrap();
        let vault = Arc::new(MemoryVault::default());
        let app = MockApp::new(AppState::with_vault(store, vault.clone()));
        Harness { app, dir, vault }
    }

    fn store(&self) -> Store {
        Store::open(&self.dir.path().join("ipc.sqlite")).unwrap()
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        common::ok(self.app.call(cmd, args), cmd)
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        common::err(self.app.call(cmd, args), cmd)
    }

    fn sign_in(&self, name: &str) {
        self.ok("sign_out", json!({}));
        self.ok("sign_in", json!({ "name": name, "password": format!("voucherdesk-{name}") }));
    }
}

fn sample(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/samples").join(name);
    path.canonicalize().unwrap().display().to_string()
}

/// The team and the walkthrough's orders and dLocal payments (CO-1001: José Núñez, Bogotá, paid).
fn populated() -> Harness {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "admin", "password": "voucherdesk-admin" }));
    for (name, role) in [("ana", "support"), ("fabio", "finance"), ("marta", "manager")] {
        h.ok("operator_add", json!({ "name": name, "role": role, "password": format!("voucherdesk-{name}") }));
    }
    for (file, kind, profile) in [("shop-orders.csv", "orders", "shop"), ("dlocal-payments.csv", "payments", "dlocal")]
    {
        let outcome =
            h.ok("import_file", json!({ "token": h.app.chosen(sample(file)), "kind": kind, "profile": profile }));
        assert_eq!(outcome["outcome"], json!("imported"), "{outcome}");
    }
    h
}

/// A mail server that answers every message the same way.
struct Answer(Result<&'static str, &'static str>);

impl Sender for Answer {
    fn send(&self, _: &BuyerNotificationRow, _: &[delivery::MailAttachment]) -> Result<String, SendError> {
        self.0.map(str::to_string).map_err(|e| SendError::Permanent(e.to_string()))
    }
}

fn deliver_with(store: &mut Store, answer: Answer) -> delivery::DeliveryReport {
    let transports = Transports { email: Some(&answer), sms: None, attachments: None };
    delivery::deliver_due(store, &transports, chrono::Utc::now(), None).unwrap()
}

const RESEND: fn() -> Value =
    || json!({ "order_id": "CO-1001", "kind": "payment_received", "channel": "email", "override_limit": false });

#[test]
fn a_failed_message_goes_back_to_the_queue_once_keeping_its_reference_and_a_sent_one_never() {
    let h = populated();
    h.sign_in("ana");
    let id = h.ok("notification_resend", RESEND()).as_i64().unwrap();
    let mut store = h.store();
    let report = deliver_with(&mut store, Answer(Err("550 5.1.1 mailbox unavailable")));
    assert_eq!((report.attempted, report.failed), (1, 1));
    let failed = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));

    // The failures list is the log filtered by status.
    let failures = h.ok("notification_log", json!({ "status": "failed", "limit": 50 }));
    assert_eq!(failures.as_array().unwrap().len(), 1);
    assert_eq!(failures[0]["id"], json!(id));
    assert_eq!(failures[0]["last_error"], json!("550 5.1.1 mailbox unavailable (attempt 1 of 5)"));

    // Nobody signed in: refused, nothing moves.
    h.ok("sign_out", json!({}));
    assert_eq!(h.err("notification_retry", json!({ "ids": [id] }))["code"], json!("auth.required"));
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), failed);

    // Support retries it: queued again, same id and client reference, audited with ana.
    h.sign_in("ana");
    let outcome = h.ok("notification_retry", json!({ "ids": [id] }));
    assert_eq!(outcome, json!({ "retried": [id], "refused": [] }));
    let queued = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!(queued.status, "queued");
    assert_eq!(queued.client_ref, failed.client_ref, "the idempotency key is kept");
    assert_eq!(queued.attempts, 1, "the attempts so far are kept");
    let audit = h.ok("audit_page", json!({ "action": "notifications.retry", "limit": 10 }));
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["operator"], json!("ana"));
    assert_eq!(audit[0]["after"], json!("queued"));

    // Once: a second retry finds it queued and changes nothing.
    let again = h.ok("notification_retry", json!({ "ids": [id] }));
    assert_eq!(again["retried"], json!([]));
    assert_eq!(again["refused"][0]["code"], json!("notifications.not_retryable"));
    assert_eq!(
        again["refused"][0]["message"],
        json!(format!(
            "notification {id} is queued: only a failed message can be retried (this one is already with the deliverer)"
        ))
    );
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), queued);

    // Delivered on the next round; a sent message can never be retried.
    let report = deliver_with(&mut store, Answer(Ok("250 Ok: queued as SINK9")));
    assert_eq!((report.attempted, report.sent), (1, 1));
    let sent = store.buyer_notification(id).unwrap().unwrap();
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
    h.sign_in("marta");
    let refused = h.ok("notification_retry", json!({ "ids": [id, 999_999] }));
    assert_eq!(refused["retried"], json!([]));
    assert_eq!(
        refused["refused"],
        json!([
            {
                "id": id,
                "code": "notifications.not_retryable",
                "message": format!("notification {id} is sent: only a failed message can be retried (this one was delivered)")
            },
            { "id": 999_999, "code": "notifications.unknown_notification", "message": "no notification 999999" }
        ])
    );
    assert_eq!(store.buyer_notification(id).unwrap().unwrap(), sent, "a sent message is left alone");
    assert_eq!(deliver_with(&mut store, Answer(Ok("250"))).attempted, 0, "nothing to send twice");

    // Too many at once: a clear refusal, nothing written.
    let ids: Vec<i64> = (1..=101).collect();
    let too_many = h.err("notification_retry", json!({ "ids": ids }));
    assert_eq!(
        too_many,
        json!({ "code": "errors.validation", "message": "at most 100 messages can be retried at once, not 101" })
    );
    assert_eq!(
        h.ok("audit_page", json!({ "action": "notifications.retry", "limit": 10 })).as_array().unwrap().len(),
        1
    );
}

#[test]
fn delivery_settings_are_for_admins_and_never_echo_a_secret() {
    let h = populated();
    let settings = json!({
        "smtp": { "host": "127.0.0.1", "port": 2525, "security": "none", "username": "mailer", "from": "Tienda Ñandú <no-reply@tienda.example>" },
        "sms": null,
        "barcode_url_template": null
    });
    h.sign_in("marta");
    for (cmd, args) in [
        ("notification_settings_get", json!({})),
        ("notification_settings_set", json!({ "settings": settings, "smtp_password": "pw-Secret-77" })),
        ("notification_send_test", json!({ "channel": "email", "to": "marta@tienda.example" })),
    ] {
        let refused = h.err(cmd, args);
        assert_eq!(refused["code"], json!("auth.forbidden"), "{cmd}: {refused}");
    }
    assert!(h.vault.read("notifications:smtp-password").unwrap().is_none(), "nothing stored for a refusal");

    h.sign_in("admin");
    let empty = h.ok("notification_settings_get", json!({}));
    assert_eq!(
        empty,
        json!({ "settings": { "smtp": null, "sms": null, "barcode_url_template": null }, "smtp_password_present": false, "sms_token_present": false })
    );
    // Plain SMTP to a remote host is refused; neither the settings nor the password are written.
    let mut remote = settings.clone();
    remote["smtp"]["host"] = json!("smtp.example.com");
    let bad = h.err("notification_settings_set", json!({ "settings": remote, "smtp_password": "pw-Secret-77" }));
    assert_eq!(bad["code"], json!("errors.validation"), "{bad}");
    assert!(h.vault.read("notifications:smtp-password").unwrap().is_none());
    assert_eq!(h.ok("notification_settings_get", json!({})), empty);

    let saved = h.ok("notification_settings_set", json!({ "settings": settings, "smtp_password": "pw-Secret-77" }));
    assert_eq!(saved["settings"], settings);
    assert_eq!(saved["smtp_password_present"], json!(true));
    assert!(!saved.to_string().contains("pw-Secret-77"), "{saved}");
    assert_eq!(
        h.vault.read("notifications:smtp-password").unwrap().as_deref().map(String::as_str),
        Some("pw-Secret-77")
    );
    // Saving again without a password keeps the stored one.
    h.ok("notification_settings_set", json!({ "settings": settings }));
    assert_eq!(
        h.vault.read("notifications:smtp-password").unwrap().as_deref().map(String::as_str),
        Some("pw-Secret-77")
    );
    let audit = h.ok("audit_page", json!({ "action": "notifications.secret", "limit": 10 }));
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert!(!audit.to_string().contains("pw-Secret-77"));

    // A test message to a closed port: the SMTP error, with its code.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut closed = settings.clone();
    closed["smtp"]["port"] = json!(port);
    closed["smtp"]["username"] = json!("");
    h.ok("notification_settings_set", json!({ "settings": closed }));
    let failed = h.err("notification_send_test", json!({ "channel": "email", "to": "admin@tienda.example" }));
    assert_eq!(failed["code"], json!("notifications.test_failed"), "{failed}");
    let sms = h.err("notification_send_test", json!({ "channel": "sms", "to": "+573001234567" }));
    assert_eq!(
        sms,
        json!({ "code": "errors.validation", "message": "sms delivery is not configured: save its settings first" })
    );

    // The deliverer is not started in the mock app: its status says so.
    assert_eq!(h.ok("notification_deliverer_status", json!({}))["state"], json!("starting"));
}
