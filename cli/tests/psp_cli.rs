//! The PSP wiring end to end, every piece a real process: `voucherdesk
//! sandbox` and `voucherdesk listen` run as child processes on loopback
//! ports (killed when the test ends), the CLI keeps the accounts' secrets in
//! a REAL Secret Service (a private D-Bus + gnome-keyring, see
//! tests/support/keyring.rs), and
//!
//! - `credentials test` says "connection OK" for the sandbox's keys and
//!   quotes the PSP's refusal code for wrong ones (dLocal 3001, PagoEfectivo 111);
//! - `sync --once` polls the sandbox through the configured accounts and
//!   records what it says (no account, or no keyring: a clear error);
//! - `listen --account` verifies the sandbox's signed notification with the
//!   secret from the keyring; `verify-notifications --account` likewise.

use crate::support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use support::keyring::KeyringSession;
use support::pe_payer;
use voucherdesk::market::Country;
use voucherdesk::money::Currency;
use voucherdesk::observations::{self, ObservationSource, Observed};
use voucherdesk::payments::{PaymentObservation, PaymentStatus, VoucherNetwork};
use voucherdesk::psp::dlocal::client::{CashPayer, CashPaymentRequest, DlocalClient, DlocalCredentials};
use voucherdesk::psp::dlocal::wire::DlocalCashMethod;
use voucherdesk::psp::pagoefectivo::client::{NewCip, PagoEfectivoClient, Payer, PeCredentials};
use voucherdesk::store::Store;
use voucherdesk_sandbox as sandbox;

/// How long a child process gets to say it is listening, and a notification to land.
const PROCESS_READY_TIMEOUT_MS: u64 = 20_000;

const SCENARIO: &str = r#"
[[dlocal.payments]]
order_prefix = "CLI-SYNC-"
outcome = "paid"
after_ms = 0

[[dlocal.payments]]
order_prefix = "CLI-HOOK-"
outcome = "paid"
# Later than the test takes to record the voucher pending, so the notification comes second.
after_ms = 1000

[[pagoefectivo.rules]]
transaction_code_prefix = "CLI-PE-"
outcome = "paid_after"
after_ms = 0
"#;

/// A child process whose output lines are collected as they come; killed on drop.
struct Proc {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    /// Starts `voucherdesk ARGS` and waits for a line containing `ready`, which it returns.
    fn start(cli: &Cli, args: &[&str], ready: &str) -> (Proc, String) {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("voucherdesk"));
        cli.env(&mut cmd, &cli.bus);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let streams: [Box<dyn std::io::Read + Send>; 2] =
            [Box::new(child.stdout.take().unwrap()), Box::new(child.stderr.take().unwrap())];
        for stream in streams {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let proc = Proc { child, lines };
        let line = proc.wait_for(ready);
        (proc, line)
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_millis(PROCESS_READY_TIMEOUT_MS);
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| l.contains(needle)) {
                return line.clone();
            }
            assert!(Instant::now() < deadline, "no line with {needle:?}; got {:?}", self.lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `http://127.0.0.1:PORT` from a line that ends with one (and maybe a path).
fn base_url_in(line: &str) -> String {
    let start = line.find("http://").unwrap_or_else(|| panic!("no URL in {line:?}"));
    let rest = &line[start..];
    let end = rest[7..].find('/').map(|i| i + 7).unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The CLI with its own HOME and XDG dirs, on the test's private bus.
struct Cli {
    home: PathBuf,
    db: PathBuf,
    bus: String,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn env(&self, cmd: &mut std::process::Command, bus: &str) {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("VOUCHERDESK_DB", &self.db);
    }

    fn run_on(&self, bus: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("voucherdesk"));
        self.env(&mut cmd, bus);
        cmd.args(args).envs(env.iter().copied()).stdin(Stdio::null());
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_on(&self.bus, args, env)
    }

    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let run = self.run(args, env);
        assert_eq!(run.code, 0, "{args:?} failed: {}{}", run.stdout, run.stderr);
        run.stdout
    }

    fn add_account(&self, name: &str, psp: &str, base_url: &str, env: &[(&str, &str)]) {
        let out = self.ok(
            &[
                "--operator",
                "root",
                "credentials",
                "add",
                name,
                "--psp",
                psp,
                "--base-url",
                base_url,
                "--from-env",
                "ACC",
            ],
            env,
        );
        assert_eq!(out, format!("added {name} ({psp}, {base_url}); secrets in the OS keyring\n"));
    }

    fn status_of(&self, payment_id: &str) -> String {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        conn.query_row("SELECT status FROM payments WHERE payment_id = ?1", [payment_id], |r| r.get(0)).unwrap()
    }

    fn history(&self, payment_id: &str) -> Vec<(String, String)> {
        let conn = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT h.source, h.status FROM payment_status_history h JOIN payments p ON p.id = h.payment
                 WHERE p.payment_id = ?1 ORDER BY h.id",
            )
            .unwrap();
        stmt.query_map([payment_id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
    }
}

fn dlocal_env<'a>(login: &'a str, trans_key: &'a str, secret: &'a str) -> [(&'static str, &'a str); 3] {
    [("ACC_LOGIN", login), ("ACC_TRANS_KEY", trans_key), ("ACC_SECRET", secret)]
}

fn pe_env<'a>(service_id: &'a str, access_key: &'a str, secret: &'a str) -> [(&'static str, &'a str); 3] {
    [("ACC_SERVICE_ID", service_id), ("ACC_ACCESS_KEY", access_key), ("ACC_SECRET", secret)]
}

/// Issues an Efecty ticket at the sandbox and records it as the API returned it (pending).
async fn issue_dlocal(db: &Path, base_url: &str, order_id: &str, notification_url: Option<String>) -> String {
    let credentials = DlocalCredentials {
        login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
        trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
        secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
    };
    let client = DlocalClient::new(base_url, credentials, Duration::from_secs(10)).unwrap();
    let request = CashPaymentRequest {
        order_id: order_id.into(),
        amount_minor: 8_500_000,
        currency: Currency::Cop,
        country: Country::Colombia,
        method: DlocalCashMethod::Efecty,
        payer: CashPayer { name: "Comprador".into(), email: "c@correo.example".into(), document: "1012345678".into() },
        description: None,
        notification_url,
    };
    let payment = client.create_cash_payment(&request).await.unwrap();
    assert_eq!(payment.reading.status, PaymentStatus::Pending);
    let mut store = Store::open(db).unwrap();
    let observed = Observed::Payment(payment.observation());
    observations::apply(&mut store, &observed, ObservationSource::Api, "{}", "root").unwrap();
    payment.payment_id
}

/// Issues a CIP at the sandbox and records it pending.
async fn issue_cip(db: &Path, base_url: &str, transaction_code: &str) -> String {
    let credentials = PeCredentials {
        service_id: sandbox::DEFAULT_PE_SERVICE_ID.into(),
        access_key: sandbox::DEFAULT_PE_ACCESS_KEY.into(),
        secret: sandbox::DEFAULT_PE_SECRET.into(),
    };
    let client = PagoEfectivoClient::new(base_url, credentials).unwrap();
    let created = client
        .create_cip(&NewCip {
            transaction_code: transaction_code.into(),
            currency: Currency::Pen,
            amount_minor: 8_990,
            expires_at: Utc::now() + chrono::Duration::hours(24),
            concept: "Pedido".into(),
            additional_data: None,
            payer: Payer {
                country: None,
                ..pe_payer("ana.quispe@example.pe", "Ana", "Quispe", "45678912", "987654321")
            },
        })
        .await
        .unwrap();
    let cip = created.cip.to_string();
    let observed = Observed::Payment(PaymentObservation {
        psp: "pagoefectivo".into(),
        payment_id: cip.clone(),
        order_id: transaction_code.into(),
        country: Country::Peru,
        network: VoucherNetwork::PagoEfectivo,
        currency: Currency::Pen,
        amount_minor: 8_990,
        status: PaymentStatus::Pending,
        psp_status: "Generado".into(),
        status_code: "22".into(),
        created_at: Some(Utc::now()),
        paid_at: None,
        expires_at: Some(created.expires_at),
        voucher_code: cip.clone(),
        status_at: None,
    });
    observations::apply(&mut Store::open(db).unwrap(), &observed, ObservationSource::Api, "{}", "root").unwrap();
    cip
}

#[test]
fn sandbox_listen_sync_and_credentials_as_processes_with_a_real_keyring() {
    let session = KeyringSession::start();
    let home = session.dir.path().join("app-home");
    let db = home.join("data/voucherdesk/voucherdesk.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let cli = Cli { home, db: db.clone(), bus: session.address.clone() };
    let scenario = session.dir.path().join("scenario.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();

    cli.ok(&["operators", "add", "root", "--role", "admin"], &[]);
    cli.ok(&["--operator", "root", "operators", "add", "fabio", "--role", "finance"], &[]);

    // No account yet: sync says so, and does nothing.
    let run = cli.run(&["--operator", "fabio", "sync", "--once"], &[]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: no PSP account configured (voucherdesk credentials add …)\n")
    );

    let (sandbox, line) = Proc::start(
        &cli,
        &["sandbox", "--port", "0", "--scenario", scenario.to_str().unwrap()],
        "sandbox listening on",
    );
    let sbx = base_url_in(&line);

    // ---- credentials test with the real clients: OK, and the PSP's refusal code
    use voucherdesk_sandbox::{
        DEFAULT_DLOCAL_LOGIN as DL, DEFAULT_DLOCAL_SECRET as DS, DEFAULT_DLOCAL_TRANS_KEY as DT,
        DEFAULT_PE_ACCESS_KEY as PA, DEFAULT_PE_SECRET as PS, DEFAULT_PE_SERVICE_ID as PI,
    };
    cli.add_account("co-sbx", "dlocal", &sbx, &dlocal_env(DL, DT, DS));
    cli.add_account("pe-sbx", "pagoefectivo", &sbx, &pe_env(PI, PA, PS));
    cli.add_account("zz-co-wrong", "dlocal", &sbx, &dlocal_env(DL, DT, "not-the-secret"));
    cli.add_account("zz-pe-wrong", "pagoefectivo", &sbx, &pe_env(PI, PA, "not-the-secret"));
    assert_eq!(cli.ok(&["--operator", "root", "credentials", "test", "co-sbx"], &[]), "co-sbx: connection OK\n");
    assert_eq!(cli.ok(&["--operator", "root", "credentials", "test", "pe-sbx"], &[]), "pe-sbx: connection OK\n");
    let run = cli.run(&["--operator", "root", "credentials", "test", "zz-co-wrong"], &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "zz-co-wrong: dLocal payment status: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials. [dlocal.credentials]\n"
    );
    assert_eq!(run.stderr, "error: the connection test of zz-co-wrong failed\n");
    let run = cli.run(&["--operator", "root", "credentials", "test", "zz-pe-wrong", "--json"], &[]);
    assert_eq!(run.code, 1);
    let result: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(result["ok"], false);
    let message = result["message"].as_str().unwrap();
    assert!(
        message.starts_with("PagoEfectivo token: refused (HTTP 401), code 112: Credenciales inválidas")
            && message.ends_with("[pagoefectivo.unauthorized]"),
        "{message}"
    );
    assert!(!message.contains("not-the-secret"), "{message}");
    for name in ["zz-co-wrong", "zz-pe-wrong"] {
        cli.ok(&["--operator", "root", "credentials", "remove", name], &[]);
    }

    // ---- listen with the dLocal secret from the keyring
    let (listen, line) = Proc::start(&cli, &["listen", "--port", "0", "--account", "co-sbx"], "listening on http://");
    let hook = format!("{}/notifications/dlocal", base_url_in(&line));

    // Vouchers issued at the sandbox process, recorded pending.
    let (sync_id, hook_id, cip) = runtime.block_on(async {
        let sync_id = issue_dlocal(&db, &sbx, "CLI-SYNC-1", None).await;
        let hook_id = issue_dlocal(&db, &sbx, "CLI-HOOK-1", Some(hook.clone())).await;
        let cip = issue_cip(&db, &sbx, "CLI-PE-1").await;
        (sync_id, hook_id, cip)
    });

    // The sandbox pays CLI-HOOK-1 and notifies listen, which verifies it with the keyring's secret.
    let deadline = Instant::now() + Duration::from_millis(PROCESS_READY_TIMEOUT_MS);
    while cli.status_of(&hook_id) != "paid" {
        assert!(Instant::now() < deadline, "listen did not apply the notification: {}", listen.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    // listen prints its line after the commit the loop above saw: wait for it too.
    let line = format!("order CLI-HOOK-1 payment {hook_id}");
    while !listen.output().contains(&line) {
        assert!(Instant::now() < deadline, "listen did not log the notification: {}", listen.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        cli.history(&hook_id),
        [("api".to_string(), "pending".to_string()), ("notification".into(), "paid".into())]
    );
    drop(listen);

    // ---- sync --once through the configured accounts
    let run = cli.run_on("unix:path=/nonexistent/voucherdesk-no-bus", &["--operator", "fabio", "sync", "--once"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: the OS credential store is unavailable ("), "{}", run.stderr);
    assert_eq!(cli.status_of(&sync_id), "pending", "nothing polled without the keyring");

    let out = cli.ok(&["--operator", "fabio", "sync", "--once", "--json"], &[]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["polled"].as_u64(), report["changed"].as_u64(), report["errors"].as_u64()),
        (Some(2), Some(2), Some(0)),
        "{out}"
    );
    assert_eq!(report["reconciled"], true, "{out}");
    assert_eq!(cli.status_of(&sync_id), "paid");
    assert_eq!(cli.status_of(&cip), "paid");
    assert_eq!(cli.history(&sync_id), [("api".to_string(), "pending".to_string()), ("api".into(), "paid".into())]);
    let status = cli.ok(&["sync", "--status", "--json"], &[]);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!((status["polls_total"].as_i64(), status["changes_total"].as_i64()), (Some(2), Some(2)), "{status}");

    // ---- verify-notifications: the secret from the keyring, by account
    let fixture = support::fixture("notifications/dlocal_all_good.jsonl");
    let file = fixture.to_str().unwrap();
    cli.add_account("co-fixture", "dlocal", &sbx, &dlocal_env("test-login", "tk", "test-dlocal-secret"));
    let run = cli.run(&["verify-notifications", file, "--psp", "dlocal", "--account", "co-fixture"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, format!("{file}: 3 notification(s): 3 verified, 0 forged, 0 malformed\n"));
    let run = cli.run(&["verify-notifications", file, "--psp", "dlocal", "--account", "co-sbx"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.starts_with(&format!("{file}: 3 notification(s): 0 verified, 3 forged, 0 malformed\n")),
        "{}",
        run.stdout
    );
    let run = cli.run(&["verify-notifications", file, "--psp", "dlocal", "--account", "pe-sbx"], &[]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: PSP account \"pe-sbx\" is a pagoefectivo account, not dlocal\n")
    );
    let run = cli.run(&["verify-notifications", file, "--psp", "dlocal"], &[]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: no dLocal secret: give --account NAME (its secret is in the OS keyring) or --secret-env VAR (an environment variable holding it)\n"
    );
    let run = cli.run(&["listen", "--port", "0", "--account", "ghost"], &[]);
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: no PSP account named \"ghost\"\n"));

    drop(sandbox);

    // No secret in the database (and its -wal) or the app's dirs, whatever ran above.
    for file in files_under(&cli.home) {
        let bytes = std::fs::read(&file).unwrap();
        for secret in [DS, DT, PS, PA, "not-the-secret", "test-dlocal-secret"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} leaked into {}",
                file.display()
            );
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
    }
    found
}
