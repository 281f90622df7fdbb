//! Shared helpers for the integration tests: every test gets its own temporary
//! database (`--db PATH`) and drives the real `voucherdesk` binary. By topic:
//! `keyring` (a real Secret Service), `refunds` (a ledger ready for refunds),
//! `team` (a real PostgreSQL server).

#![allow(dead_code)] // each test file uses a different subset

pub mod keyring;
pub mod refunds;
pub mod team;

use assert_cmd::Command;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The fixed business date every reconciliation test runs at.
pub const AS_OF: &str = "2026-03-20";

/// Every exception kind the `reconcile --json` summary must carry, even at zero.
pub const KINDS: [&str; 19] = [
    "paid_not_recorded",
    "recorded_not_paid",
    "duplicate_payment",
    "currency_mismatch",
    "amount_mismatch",
    "paid_after_expiry",
    "unknown_order",
    "not_settled",
    "settlement_mismatch",
    "unknown_settlement",
    "reversed_after_fulfilment",
    "chargeback",
    "unmatched_refund_settlement",
    "settlement_fx_mismatch",
    "fee_mismatch",
    "expired_unpaid",
    "stale_pending",
    "payment_id_mismatch",
    "settlement_report_missing",
];

/// A fixture file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests").join("fixtures").join(rel);
    assert!(path.exists(), "missing fixture {}", path.display());
    path
}

/// The text the importer prints for a file: the path exactly as given.
pub fn shown(path: &Path) -> String {
    path.display().to_string()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// stdout and stderr together, for messages whose stream does not matter.
pub fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// One test's workspace: a temp dir holding the database (and any scratch files).
pub struct Ctx {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Ctx {
    /// A fresh database with the test team: `admin` (admin), `ana` and
    /// `luis` (managers), `fabio` (finance), `sam` (support). Commands act as
    /// `admin` unless they pass `--operator`.
    pub fn new() -> Ctx {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("voucherdesk.sqlite");
        let mut store = voucherdesk::store::Store::open(&db).expect("open");
        use voucherdesk::operators::{Role, add};
        let admin = add(&mut store, None, "admin", Role::Admin, None).expect("first admin");
        for (name, role) in
            [("ana", Role::Manager), ("luis", Role::Manager), ("fabio", Role::Finance), ("sam", Role::Support)]
        {
            add(&mut store, Some(&admin), name, role, None).expect("operator");
        }
        Ctx { dir, db }
    }

    /// A command with `--db` set and a fixed operator environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("voucherdesk").expect("the voucherdesk binary");
        cmd.arg("--db").arg(&self.db);
        cmd.env_remove("VOUCHERDESK_DB");
        cmd.env("VOUCHERDESK_OPERATOR", "admin");
        cmd.env("USER", "tests");
        cmd.timeout(std::time::Duration::from_secs(60));
        cmd
    }

    /// Runs with no expectation on the outcome.
    pub fn run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd().args(args).output().expect("run voucherdesk")
    }

    /// Runs and requires exit code 0.
    pub fn ok<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_expecting(0, args, |args| format!("voucherdesk {args:?} failed"))
    }

    /// Runs, requires exit code 0 and parses stdout as one JSON value.
    pub fn json<I, S>(&self, args: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let out = self.ok(args);
        let text = stdout(&out);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{text}"))
    }

    /// Runs and requires a given exit code; returns the output.
    pub fn fails_with<I, S>(&self, code: i32, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run_expecting(code, args, |args| format!("voucherdesk {args:?}: expected exit {code}"))
    }

    /// Runs and requires exit `code`; a failure shows `heading`, stdout and stderr.
    fn run_expecting<I, S>(&self, code: i32, args: I, heading: impl Fn(&[std::ffi::OsString]) -> String) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
        let out = self.run(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}\nstdout:\n{}\nstderr:\n{}",
            heading(&args),
            stdout(&out),
            stderr(&out)
        );
        out
    }

    /// `import KIND FILE --profile NAME`, which must succeed.
    pub fn import(&self, kind: &str, profile: &str, file: &Path) -> Output {
        self.ok(import_args(kind, profile, file))
    }

    /// `import KIND FILE --profile NAME` with no expectation.
    pub fn try_import(&self, kind: &str, profile: &str, file: &Path) -> Output {
        self.run(import_args(kind, profile, file))
    }

    pub fn stats(&self) -> Value {
        self.json(["stats", "--json"])
    }

    pub fn reconcile(&self) -> Value {
        self.json(["reconcile", "--as-of", AS_OF, "--json"])
    }

    /// Every exception, whatever its status.
    pub fn exceptions_all(&self) -> Vec<Value> {
        match self.json(["exceptions", "list", "--status", "all", "--json"]) {
            Value::Array(items) => items,
            other => panic!("exceptions list --json is not an array: {other}"),
        }
    }

    pub fn lookup(&self, query: &str) -> Vec<Value> {
        match self.json(["lookup", query, "--json"]) {
            Value::Array(items) => items,
            other => panic!("lookup --json is not an array: {other}"),
        }
    }

    /// The order ids of a lookup, sorted.
    pub fn lookup_ids(&self, query: &str) -> Vec<String> {
        let mut ids: Vec<String> =
            self.lookup(query).iter().map(|c| c["order_id"].as_str().expect("order_id").to_string()).collect();
        ids.sort();
        ids
    }

    /// The exception of `kind` whose order id or payment id is `subject`.
    pub fn exception(&self, kind: &str, subject: &str) -> Value {
        let all = self.exceptions_all();
        let found: Vec<&Value> = all
            .iter()
            .filter(|e| e["kind"] == kind && (e["order_id"] == subject || e["payment_id"] == subject))
            .collect();
        assert_eq!(found.len(), 1, "exactly one {kind} exception about {subject}; all: {all:#?}");
        found[0].clone()
    }

    /// `audit verify --json`, which must pass.
    pub fn audit_entries(&self) -> u64 {
        let report = self.json(["audit", "verify", "--json"]);
        assert!(report["first_broken"].is_null(), "audit chain broken: {report}");
        report["entries"].as_u64().expect("entries")
    }

    /// Imports the reconciliation fixture set (tests/fixtures/recon).
    pub fn import_recon_set(&self) {
        self.import("orders", "shop", &fixture("recon/orders.csv"));
        self.import("payments", "dlocal", &fixture("recon/dlocal.csv"));
        self.import("payments", "pagoefectivo", &fixture("recon/pagoefectivo.csv"));
        self.import("settlements", "dlocal-settlement", &fixture("recon/dlocal_settlement.tsv"));
        self.import("settlements", "pagoefectivo-settlement", &fixture("recon/pagoefectivo_settlement.csv"));
    }

    /// A scratch path inside this test's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn import_args<'a>(kind: &'a str, profile: &'a str, file: &'a Path) -> [&'a OsStr; 5] {
    [OsStr::new("import"), OsStr::new(kind), file.as_os_str(), OsStr::new("--profile"), OsStr::new(profile)]
}

/// A Peruvian payer with a DNI and a +51 phone.
pub fn pe_payer(
    email: &str,
    name: &str,
    last_name: &str,
    dni: &str,
    phone: &str,
) -> voucherdesk::psp::pagoefectivo::client::Payer {
    voucherdesk::psp::pagoefectivo::client::Payer {
        email: email.into(),
        name: name.into(),
        last_name: last_name.into(),
        document_type: "DNI".into(),
        document_number: dni.into(),
        phone: phone.into(),
        phone_country_code: "+51".into(),
        ubigeo: None,
        country: Some("PE".into()),
    }
}

/// Row counts of every table in the database file, read directly (read-only),
/// to prove that a refused command wrote nothing anywhere: batches, archived
/// files, status history, audit log, search index.
pub fn table_counts(db: &Path) -> std::collections::BTreeMap<String, i64> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open the database read-only");
    let names: Vec<String> = {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 AND coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert!(names.len() >= 5, "expected the ledger tables, found {names:?}");
    names
        .into_iter()
        .map(|name| {
            let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| r.get(0)).unwrap();
            (name, n)
        })
        .collect()
}

/// Counts of `stats --json` as (orders, payments, settlements, open_exceptions).
pub fn counts(stats: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| stats[k].as_i64().unwrap_or_else(|| panic!("stats has no {k}: {stats}"));
    (n("orders"), n("payments"), n("settlements"), n("open_exceptions"))
}

/// The per-kind counts of a reconcile summary, in KINDS order.
pub fn kind_counts(summary: &Value) -> Vec<(String, u64)> {
    KINDS
        .iter()
        .map(|k| {
            let n = summary["exceptions"][*k].as_u64().unwrap_or_else(|| panic!("summary lacks kind {k}: {summary}"));
            (k.to_string(), n)
        })
        .collect()
}

/// Expected per-kind counts written as pairs; every kind not named is zero.
pub fn expected_kinds(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    KINDS.iter().map(|k| (k.to_string(), pairs.iter().find(|(n, _)| n == k).map(|(_, c)| *c).unwrap_or(0))).collect()
}

/// The demo's expected `fee_mismatch` count assumes a dLocal account with the
/// demo's contracted fee rate: adds one (secrets in memory) and contracts it.
pub fn contract_demo_fee(db: &Path, fee_bps: i64) {
    let mut store = voucherdesk::store::Store::open(db).expect("open");
    let admin = voucherdesk::operators::act_as(&store, "admin").expect("admin");
    let secrets = voucherdesk::credentials::AccountSecrets::parse_json(
        voucherdesk::credentials::PspKind::Dlocal,
        r#"{"login":"demo-login","trans_key":"demo-trans-key","secret":"demo-secret"}"#,
    )
    .expect("secrets");
    let vault = voucherdesk::credentials::MemoryVault::default();
    voucherdesk::credentials::add(&mut store, &vault, &admin, "dlocal-demo", "https://sandbox.dlocal.com", &secrets)
        .expect("account");
    voucherdesk::credentials::set_fee_rate(&mut store, &admin, "dlocal-demo", Some(fee_bps)).expect("fee rate");
}

/// A PDF's text (`pdftotext` from poppler-utils, scripts/install-deps.sh),
/// words one space apart: column spacing is the extractor's guess.
pub fn pdf_text(path: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils, scripts/install-deps.sh) runs");
    assert!(out.status.success(), "pdftotext: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("UTF-8 text");
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

/// The header of dLocal's payments report, as the built-in `dlocal` profile reads it.
pub const DLOCAL_PAYMENTS_HEADER: &str = "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER";

/// Writes a dLocal payments report of `rows` (one line each, no header) as `name` in the test's folder.
pub fn dlocal_payments_file(ctx: &Ctx, name: &str, rows: &[&str]) -> PathBuf {
    let path = ctx.path(name);
    let text: String =
        std::iter::once(DLOCAL_PAYMENTS_HEADER).chain(rows.iter().copied()).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Demo files (seed, first order number, orders) written into the test's dir
/// by `voucherdesk demo` with no database (files only).
pub fn demo_files(ctx: &Ctx, name: &str, seed: u64, first_order: u64, orders: u64) -> (Vec<std::path::PathBuf>, Value) {
    let dir = ctx.path(name);
    let out = demo_without_db([
        "demo",
        "--out",
        dir.to_str().unwrap(),
        "--orders",
        &orders.to_string(),
        "--seed",
        &seed.to_string(),
        "--first-order",
        &first_order.to_string(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let manifest: Value = serde_json::from_str(&stdout(&out)).expect("the manifest");
    let files = manifest["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap().into()).collect();
    (files, manifest)
}

pub fn demo_without_db<const N: usize>(args: [&str; N]) -> std::process::Output {
    let mut cmd = assert_cmd::Command::cargo_bin("voucherdesk").expect("the voucherdesk binary");
    cmd.env_remove("VOUCHERDESK_DB").env_remove("VOUCHERDESK_OPERATOR").args(args);
    cmd.timeout(std::time::Duration::from_secs(60)).output().expect("run voucherdesk demo")
}
