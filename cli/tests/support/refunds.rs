//! Shared set-up for the refund tests: a temp database with a team, and
//! orders + dLocal payments imported from CSV written on the fly (paid dates
//! relative to now, so the refund window means something).

#![allow(dead_code)] // each test file uses a different subset

use chrono::{TimeDelta, Utc};
use std::path::{Path, PathBuf};
use voucherdesk::import::profile::{ImportKind, built_in};
use voucherdesk::import::{ImportRequest, import_file};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::refunds::{BeneficiaryInput, PayeeInput, RefundRequestInput};
use voucherdesk::store::Store;

pub struct Ledger {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub store: Store,
}

/// admin; ana, luis (managers); fabio, fiona (finance); sam, sue (support).
pub fn ledger() -> Ledger {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("voucherdesk.sqlite");
    let mut store = Store::open(&db).expect("open");
    let admin = operators::add(&mut store, None, "admin", Role::Admin, None).expect("first admin");
    for (name, role) in [
        ("ana", Role::Manager),
        ("luis", Role::Manager),
        ("fabio", Role::Finance),
        ("fiona", Role::Finance),
        ("sam", Role::Support),
        ("sue", Role::Support),
    ] {
        operators::add(&mut store, Some(&admin), name, role, None).expect("operator");
    }
    Ledger { dir, db, store }
}

/// The operator `name` (read through its own connection, so that it can be
/// passed next to `&mut ledger.store`).
pub fn op(db: &Path, name: &str) -> Operator {
    operators::act_as(&Store::open(db).expect("open"), name).expect("operator")
}

impl Ledger {
    /// A second connection to the same file (another "process").
    pub fn reopen(&self) -> Store {
        Store::open(&self.db).expect("reopen")
    }

    /// Imports orders and their paid dLocal payments.
    pub fn add(&mut self, sales: &[Sale]) {
        let admin = op(&self.db, "admin");
        let mut orders = String::from(
            "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n",
        );
        let mut payments = String::from(
            "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n",
        );
        for (n, s) in sales.iter().enumerate() {
            let paid = Utc::now() - TimeDelta::hours(s.paid_hours_ago);
            let created = paid - TimeDelta::hours(2);
            let expires = created + TimeDelta::days(3);
            let wire = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
            let (method, currency) = match s.country {
                "CO" => ("EY", "COP"),
                _ => ("EF", "PEN"),
            };
            orders.push_str(&format!(
                "{},Tienda,{},\"{}\",b{n}@example.com,+57 300 000 0000,{},{},{},{},paid,dlocal,{},{n:010},{}\n",
                s.order_id,
                wire(created),
                s.buyer_name,
                s.buyer_document,
                s.country,
                s.order_amount.unwrap_or(s.amount),
                s.order_currency.unwrap_or(currency),
                s.payment_id,
                wire(expires)
            ));
            let (status, code, approved) =
                if s.paid { ("PAID", "200", wire(paid)) } else { ("PENDING", "100", String::new()) };
            payments.push_str(&format!(
                "{},{},{},{method},{currency},{},{status},{code},{},{approved},{},{n:010}\n",
                s.payment_id,
                s.order_id,
                s.country,
                s.amount,
                wire(created),
                wire(expires)
            ));
        }
        let stamp = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let orders_path = self.dir.path().join(format!("orders-{stamp}.csv"));
        let payments_path = self.dir.path().join(format!("payments-{stamp}.csv"));
        std::fs::write(&orders_path, orders).unwrap();
        std::fs::write(&payments_path, payments).unwrap();
        import(&mut self.store, &admin, ImportKind::Orders, "shop", &orders_path);
        import(&mut self.store, &admin, ImportKind::Payments, "dlocal", &payments_path);
    }
}

fn import(store: &mut Store, admin: &Operator, kind: ImportKind, profile: &str, path: &Path) {
    let profile = built_in(profile).expect("profile");
    import_file(store, &ImportRequest { kind, profile: &profile, path, operator: admin }).expect("import");
}

/// One order with its payment at dLocal.
#[derive(Debug, Clone)]
pub struct Sale {
    pub order_id: &'static str,
    pub payment_id: String,
    pub country: &'static str,
    /// Major units as dLocal writes them ("150000", "89.90").
    pub amount: &'static str,
    pub paid: bool,
    pub paid_hours_ago: i64,
    pub buyer_name: &'static str,
    pub buyer_document: &'static str,
    /// A USD-priced order paid in local currency.
    pub order_currency: Option<&'static str>,
    pub order_amount: Option<&'static str>,
}

pub fn sale(order_id: &'static str, payment_id: &str, country: &'static str, amount: &'static str) -> Sale {
    Sale {
        order_id,
        payment_id: payment_id.to_string(),
        country,
        amount,
        paid: true,
        paid_hours_ago: 24,
        buyer_name: "Peña, María José",
        buyer_document: "1020304050",
        order_currency: None,
        order_amount: None,
    }
}

/// Order CO-USD priced at `usd` US dollars, paid `paid` pesos (payment D-USD).
pub fn usd_priced_sale(paid: &'static str, usd: &'static str) -> Sale {
    Sale { order_currency: Some("USD"), order_amount: Some(usd), ..sale("CO-USD", "D-USD", "CO", paid) }
}

pub fn bank() -> BeneficiaryInput {
    BeneficiaryInput {
        name: "María José Peña".into(),
        bank: "Bancolombia".into(),
        account: "0012345678".into(),
        account_type: "S".into(),
        document: "1020304050".into(),
    }
}

pub fn payee_co() -> PayeeInput {
    PayeeInput {
        name: "MARIA JOSE PENA".into(),
        document_type: "CC".into(),
        document_number: "1.020.304.050".into(),
        phone: "+57 300 123 4567".into(),
    }
}

/// `bank()` as the CLI's flags.
pub const BANK: [&str; 10] = [
    "--beneficiary-name",
    "María José Peña",
    "--bank",
    "Bancolombia",
    "--bank-account",
    "0012345678",
    "--account-type",
    "S",
    "--beneficiary-document",
    "1020304050",
];

/// A psp_refund request of `amount` for `payment_id`.
pub fn psp_refund(payment_id: &str, amount: &str) -> RefundRequestInput {
    RefundRequestInput {
        payment_id: payment_id.into(),
        amount: amount.into(),
        reason: "buyer_cancelled".into(),
        method: "psp_refund".into(),
        beneficiary: bank(),
        ..Default::default()
    }
}

pub fn cash_withdrawal(payment_id: &str, amount: &str, payee: PayeeInput) -> RefundRequestInput {
    RefundRequestInput {
        payment_id: payment_id.into(),
        amount: amount.into(),
        reason: "product_return".into(),
        method: "cash_withdrawal".into(),
        payee,
        ..Default::default()
    }
}

/// Row counts that a refused request must leave alone.
pub fn snapshot(store: &Store) -> (usize, u64) {
    let refunds = store.refunds(None, 0, 10_000).expect("refunds").len();
    let audit = voucherdesk::audit::verify(store).expect("verify").entries;
    (refunds, audit)
}

/// Longest a test waits for the sandbox (or a child process).
pub const SANDBOX_WAIT_MS: u64 = 10_000;

/// The local PSP sandbox on loopback, with its own runtime, and a dLocal
/// client signed with the sandbox's default credentials. Stopped when dropped.
pub struct SandboxPsp {
    pub rt: tokio::runtime::Runtime,
    pub sandbox: voucherdesk_sandbox::RunningSandbox,
    client_timeout_ms: u64,
}

impl SandboxPsp {
    /// `scenario` (TOML) rules come first; after them every payment is paid at once.
    pub fn start(scenario: &str, client_timeout_ms: u64) -> SandboxPsp {
        use voucherdesk_sandbox::{RunningSandbox, SandboxConfig, Scenario};
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let scenario = Scenario::from_toml(&format!("{scenario}\n[[dlocal.payments]]\noutcome = \"paid\"\n")).unwrap();
        scenario.check().unwrap();
        let sandbox =
            rt.block_on(RunningSandbox::start(SandboxConfig { scenario, ..SandboxConfig::default() })).unwrap();
        SandboxPsp { rt, sandbox, client_timeout_ms }
    }

    pub fn url(&self) -> String {
        self.sandbox.base_url()
    }

    pub fn client(&self) -> voucherdesk::psp::dlocal::client::DlocalClient {
        use voucherdesk::psp::dlocal::client::{DlocalClient, DlocalCredentials};
        use voucherdesk_sandbox as sandbox;
        let credentials = DlocalCredentials {
            login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
            trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
            secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
        };
        DlocalClient::new(&self.url(), credentials, std::time::Duration::from_millis(self.client_timeout_ms)).unwrap()
    }

    /// A paid Efecty payment of `amount_minor` COP at the sandbox; its id.
    pub fn paid_payment(&self, order_id: &str, amount_minor: i64) -> String {
        use std::time::{Duration, Instant};
        use voucherdesk::market::Country;
        use voucherdesk::money::Currency;
        use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest};
        use voucherdesk::psp::dlocal::wire::{DlocalCashMethod, DlocalPaymentStatus};
        let client = self.client();
        self.rt.block_on(async {
            let request = CashPaymentRequest {
                order_id: order_id.into(),
                amount_minor,
                currency: Currency::Cop,
                country: Country::Colombia,
                method: DlocalCashMethod::Efecty,
                payer: CashPayer {
                    name: "María José Peña".into(),
                    email: "m@example.com".into(),
                    document: "1020304050".into(),
                },
                description: None,
                notification_url: None,
            };
            let payment = client.create_cash_payment(&request).await.unwrap();
            let deadline = Instant::now() + Duration::from_millis(SANDBOX_WAIT_MS);
            while client.payment_status(&payment.payment_id).await.unwrap().dlocal_status != DlocalPaymentStatus::Paid {
                assert!(Instant::now() < deadline, "{} never paid", payment.payment_id);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            payment.payment_id
        })
    }
}

/// `voucherdesk --db DB --operator OPERATOR refunds ARGS…`, as a user runs it.
pub fn refunds_cli(l: &Ledger, operator: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").unwrap();
    cmd.arg("--db").arg(&l.db).args(["--operator", operator, "refunds"]).args(args);
    cmd.env_remove("VOUCHERDESK_DB").env_remove("VOUCHERDESK_OPERATOR");
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd.output().unwrap()
}

/// A `refunds` command that succeeds, its `--json` answer.
pub fn refunds_ok_json(l: &Ledger, operator: &str, args: &[&str]) -> serde_json::Value {
    let out = refunds_cli(l, operator, args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A `refunds` command refused with exit code 2: its error line.
pub fn refunds_refused(l: &Ledger, operator: &str, args: &[&str]) -> String {
    let out = refunds_cli(l, operator, args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}
