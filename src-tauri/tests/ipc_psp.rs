//! The PSP sync and PSP accounts commands through Tauri's IPC layer (mock
//! runtime, real library, temporary database, the sandbox on loopback, an
//! in-memory vault): "refresh from PSP" as support, pause/resume as each
//! role, and the accounts screen's commands, admins only, with no secret in
//! any answer.

use crate::common;

use common::MockApp;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use voucherdesk::credentials::MemoryVault;
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::observations::{self, ObservationSource, Observed};
use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalCredentials};
use voucherdesk::psp::dlocal::wire::DlocalCashMethod;
use voucherdesk::store::Store;
use voucherdesk_desktop::state::AppState;
use voucherdesk_sandbox::{self as sandbox, RunningSandbox, SandboxConfig, Scenario};

struct Harness {
    app: MockApp,
    dir: tempfile::TempDir,
    vault: Arc<MemoryVault>,
    /// Every answer and error, to look for secrets in.
    seen: std::cell::RefCell<String>,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("ipc.sqlite")).unwrap();
        let vault = Arc::new(MemoryVault::default());
        let app = MockApp::new(AppState::with_vault(store, vault.clone()));
        Harness { app, dir, vault, seen: Default::default() }
    }

    fn db(&self) -> std::path::PathBuf {
        self.dir.path().join("ipc.sqlite")
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let answer = self.app.call(cmd, args);
        let shown = match &answer {
            Ok(v) | Err(v) => v.to_string(),
        };
        self.seen.borrow_mut().push_str(&shown);
        answer
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        common::ok(self.call(cmd, args), cmd)
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        common::err(self.call(cmd, args), cmd)
    }

    fn sign_in(&self, name: &str) {
        self.ok("sign_in", json!({ "name": name, "password": format!("voucherdesk-{name}") }));
    }
}

const WRONG_SECRET: &str = "wrongSecretQ81vz";

fn dlocal_secrets(secret: &str) -> Value {
    json!({ "login": sandbox::DEFAULT_DLOCAL_LOGIN, "trans_key": sandbox::DEFAULT_DLOCAL_TRANS_KEY, "secret": secret })
}

/// A pending Efecty ticket at the sandbox, recorded in the ledger as the API returned it.
fn issue_voucher(sandbox: &RunningSandbox, db: &std::path::Path) -> String {
    let credentials = DlocalCredentials {
        login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
        trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
        secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
    };
    let client = DlocalClient::new(&sandbox.base_url(), credentials, Duration::from_secs(10)).unwrap();
    let request = CashPaymentRequest {
        order_id: "IPC-1".into(),
        amount_minor: 12_000_000,
        currency: Currency::Cop,
        country: Country::Colombia,
        method: DlocalCashMethod::Efecty,
        payer: CashPayer { name: "Comprador".into(), email: "c@correo.example".into(), document: "1012345678".into() },
        description: None,
        notification_url: None,
    };
    let payment = tauri::async_runtime::block_on(client.create_cash_payment(&request)).unwrap();
    let mut store = Store::open(db).unwrap();
    observations::apply(&mut store, &Observed::Payment(payment.observation()), ObservationSource::Api, "{}", "root")
        .unwrap();
    payment.payment_id
}

fn vault_users(h: &Harness) -> Vec<String> {
    h.vault.users()
}

#[test]
fn refresh_from_psp_pause_and_psp_accounts_as_each_role() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "voucherdesk-root" }));
    for (name, role) in [("ana", "support"), ("fabio", "finance"), ("marta", "manager")] {
        h.ok("operator_add", json!({ "name": name, "role": role, "password": format!("voucherdesk-{name}") }));
    }
    let scenario =
        Scenario::from_toml("[[dlocal.payments]]\norder_prefix = \"IPC-\"\noutcome = \"paid\"\nafter_ms = 0\n")
            .unwrap();
    let sbx = tauri::async_runtime::block_on(RunningSandbox::start(SandboxConfig { scenario, ..Default::default() }))
        .unwrap();
    let payment_id = issue_voucher(&sbx, &h.db());
    // The shop's order for it, awaiting payment.
    let orders = h.dir.path().join("orders.csv");
    std::fs::write(
        &orders,
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n\
         IPC-1,Tienda,2026-03-02T09:15:00-05:00,Comprador,c@correo.example,+57 300 123 4567,1012345678,CO,120000.00,COP,pending_payment,dlocal,,,\n",
    )
    .unwrap();
    let imported = h.ok("import_file", json!({ "token": h.app.chosen(&orders), "kind": "orders", "profile": "shop" }));
    assert_eq!(imported["outcome"], json!("imported"), "{imported}");

    // ---- support: no account yet, then refused every account command
    h.sign_in("ana");
    let none = h.err("refresh_from_psp", json!({ "psp": "dlocal", "payment_id": payment_id }));
    assert_eq!(
        none,
        json!({ "code": "sync.no_account", "message": "no PSP account configured (voucherdesk credentials add …)" })
    );
    let add = json!({ "name": "co-sbx", "psp": "dlocal", "base_url": sbx.base_url(), "secrets": dlocal_secrets(sandbox::DEFAULT_DLOCAL_SECRET) });
    assert_eq!(
        h.err("psp_account_add", add.clone()),
        json!({ "code": "auth.forbidden", "message": "ana (support) may not manage PSP credentials" })
    );
    assert_eq!(h.err("psp_accounts_list", json!({}))["code"], json!("auth.forbidden"));
    assert!(vault_users(&h).is_empty(), "a refused add wrote to the vault");
    assert_eq!(Store::open(&h.db()).unwrap().psp_account_count().unwrap(), 0);
    assert_eq!(
        h.err("sync_pause", json!({})),
        json!({ "code": "auth.forbidden", "message": "ana (support) may not pause or resume the PSP sync" })
    );
    let indicator = h.ok("sync_status", json!({}));
    assert_eq!(
        (indicator["paused"].clone(), indicator["runner"].clone()),
        (json!(false), json!("starting")),
        "{indicator}"
    );

    // ---- a manager pauses and resumes, but may not manage accounts
    h.sign_in("marta");
    assert_eq!(h.ok("sync_pause", json!({}))["paused"], json!(true));
    assert_eq!(h.ok("sync_status", json!({}))["paused_by"], json!("marta"));
    assert_eq!(h.ok("sync_resume", json!({}))["paused"], json!(false));
    assert_eq!(h.err("psp_account_test", json!({ "name": "co-sbx" }))["code"], json!("auth.forbidden"));

    // ---- the admin adds, tests, rotates and removes; no answer carries a secret
    h.sign_in("root");
    let row = h.ok("psp_account_add", add);
    assert_eq!(
        (row["name"].clone(), row["psp"].clone(), row["secret_present"].clone(), row["last_test"].clone()),
        (json!("co-sbx"), json!("dlocal"), json!(true), Value::Null)
    );
    assert_eq!(vault_users(&h), ["dlocal:co-sbx"]);
    let test = h.ok("psp_account_test", json!({ "name": "co-sbx" }));
    assert_eq!((test["ok"].clone(), test["message"].clone()), (json!(true), json!("connection OK")));
    let bad = json!({ "name": "co-wrong", "psp": "dlocal", "base_url": sbx.base_url(), "secrets": dlocal_secrets(WRONG_SECRET) });
    h.ok("psp_account_add", bad);
    let test = h.ok("psp_account_test", json!({ "name": "co-wrong" }));
    assert_eq!(test["ok"], json!(false));
    assert_eq!(
        test["message"],
        json!(
            "dLocal payment status: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials. [dlocal.credentials]"
        )
    );
    let listed = h.ok("psp_accounts_list", json!({}));
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["last_test"]["ok"], json!(false));
    let missing_field =
        h.err("psp_account_rotate", json!({ "name": "co-wrong", "secrets": { "login": "x", "secret": "y" } }));
    assert_eq!(
        missing_field,
        json!({ "code": "errors.validation", "message": "bad secrets: missing field \"trans_key\" for dlocal (expected login, trans_key, secret)" })
    );
    h.ok("psp_account_remove", json!({ "name": "co-wrong" }));
    assert_eq!(vault_users(&h), ["dlocal:co-sbx"]);

    // ---- support refreshes from the PSP: the sandbox's new status, a timeline entry from the API
    h.sign_in("ana");
    let before = h.ok("case_file", json!({ "order_id": "IPC-1" }));
    assert_eq!(before["payments"][0]["status"], json!("pending"));
    let refreshed = h.ok("refresh_from_psp", json!({ "psp": "dlocal", "payment_id": payment_id }));
    assert_eq!(
        refreshed,
        json!({ "psp": "dlocal", "payment_id": payment_id, "before": "pending", "after": "paid", "psp_status": "PAID", "recorded": true, "reconciled": false })
    );
    let after = h.ok("case_file", json!({ "order_id": "IPC-1" }));
    assert_eq!(after["payments"][0]["status"], json!("paid"));
    let history = after["payments"][0]["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{after}");
    assert_eq!((history[1]["source"].clone(), history[1]["status"].clone()), (json!("api"), json!("paid")));
    assert_eq!(
        (before["verdict"]["code"].clone(), after["verdict"]["code"].clone()),
        (json!("awaiting_payment"), json!("deliver_order")),
        "the verdict follows the new status"
    );
    // The buyer is told, once per channel (payment received through a refresh).
    let told = h.ok("notification_log", json!({ "order_id": "IPC-1", "limit": 50 }));
    let told: Vec<(Value, Value, Value, Value)> = told
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].clone(), n["channel"].clone(), n["trigger"].clone(), n["triggered_by"].clone()))
        .collect();
    assert_eq!(
        told,
        vec![
            (json!("payment_received"), json!("sms"), json!("event"), json!("ana")),
            (json!("payment_received"), json!("email"), json!("event"), json!("ana")),
        ]
    );
    let again = h.ok("refresh_from_psp", json!({ "psp": "dlocal", "payment_id": payment_id }));
    assert_eq!((again["before"].clone(), again["after"].clone()), (json!("paid"), json!("paid")));
    assert_eq!(
        h.ok("notification_log", json!({ "order_id": "IPC-1", "limit": 50 })).as_array().unwrap().len(),
        2,
        "a payment already paid notifies no one again"
    );
    let unknown = h.err("refresh_from_psp", json!({ "psp": "dlocal", "payment_id": "D-4-nope" }));
    assert_eq!(unknown["code"], json!("sync.unknown_payment"));

    // The secrets never crossed back.
    let seen = h.seen.borrow();
    for secret in [sandbox::DEFAULT_DLOCAL_SECRET, sandbox::DEFAULT_DLOCAL_TRANS_KEY, WRONG_SECRET] {
        assert!(!seen.contains(secret), "{secret} was in an IPC answer");
    }
    drop(sbx);
}
