//! PSP credentials against a REAL Secret Service: a private D-Bus session bus
//! and gnome-keyring-daemon, started by this test and stopped when it ends.
//! If they cannot start, the test fails (it never skips). The CLI runs as a
//! subprocess pointed at that bus; the sandbox on 127.0.0.1 answers the
//! connection tests (made with the real dLocal and PagoEfectivo clients).
//!
//! Needs `dbus-daemon`, `dbus-send` and `gnome-keyring-daemon` (scripts/install-deps.sh).

mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::keyring::KeyringSession;
use voucherdesk::credentials::{self, AccountSecrets, OsKeyring, PspKind, SecretVault};
use voucherdesk::operators;
use voucherdesk::store::Store;
use voucherdesk_sandbox::{DlocalAccount, PeAccount, RunningSandbox, SandboxConfig};

// Distinctive values, so that finding one anywhere is a leak and nothing else.
const DL_LOGIN: &str = "dlLoginQ7v2xw";
const DL_TRANS_KEY: &str = "dlTransKey8HcXq";
const DL_SECRET: &str = "dlSecretZp41mK";
const DL_LOGIN_2: &str = "dlLoginRotR2aa";
const DL_TRANS_KEY_2: &str = "dlTransKeyRotT2";
const DL_SECRET_2: &str = "dlSecretRotS2zz";
const PE_SERVICE_ID: &str = "7319046";
const PE_ACCESS_KEY: &str = "peAccessKeyM3nb";
const PE_SECRET: &str = "peSecretK9trx";
const ALL_SECRETS: [&str; 9] = [
    DL_LOGIN,
    DL_TRANS_KEY,
    DL_SECRET,
    DL_LOGIN_2,
    DL_TRANS_KEY_2,
    DL_SECRET_2,
    PE_SERVICE_ID,
    PE_ACCESS_KEY,
    PE_SECRET,
];

fn dlocal_json(login: &str, trans_key: &str, secret: &str) -> String {
    serde_json::json!({"login": login, "trans_key": trans_key, "secret": secret}).to_string()
}

/// The CLI with its own HOME and XDG dirs (all under `app_home`), on `bus`.
struct Cli {
    app_home: PathBuf,
    db: PathBuf,
    bus: String,
    /// Every byte the CLI printed.
    output: Vec<u8>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Cli {
    fn new(root: &Path, bus: &str) -> Cli {
        let app_home = root.join("app-home");
        let db = app_home.join("data/voucherdesk/voucherdesk.sqlite");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        Cli { app_home, db, bus: bus.to_string(), output: Vec::new() }
    }

    fn run_on(&mut self, bus: &str, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut cmd = Command::cargo_bin("voucherdesk").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.app_home)
            .env("XDG_CONFIG_HOME", self.app_home.join("config"))
            .env("XDG_DATA_HOME", self.app_home.join("data"))
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("VOUCHERDESK_DB", &self.db)
            .args(args)
            .write_stdin(stdin.as_bytes().to_vec())
            .timeout(Duration::from_secs(60));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        self.output.extend_from_slice(&out.stdout);
        self.output.extend_from_slice(&out.stderr);
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&mut self, args: &[&str], stdin: &str) -> Run {
        let bus = self.bus.clone();
        self.run_on(&bus, args, stdin, &[])
    }

    fn ok(&mut self, args: &[&str], stdin: &str) -> String {
        let run = self.run(args, stdin);
        assert_eq!(run.code, 0, "{args:?} failed: {}", run.stderr);
        run.stdout
    }

    fn accounts_json(&mut self) -> Vec<serde_json::Value> {
        let out = self.ok(&["--operator", "root", "credentials", "list", "--json"], "");
        serde_json::from_str(&out).unwrap()
    }

    fn rows(&self) -> i64 {
        Store::open(&self.db).unwrap().psp_account_count().unwrap()
    }
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_no_secret_in(label: &str, bytes: &[u8]) {
    for secret in ALL_SECRETS {
        assert!(!contains(bytes, secret), "secret {secret:?} leaked into {label}");
    }
}

/// The app's data and config dirs (SQLite file and its -wal/-shm included).
fn assert_no_secret_on_disk(cli: &Cli) {
    for file in files_under(&cli.app_home) {
        assert_no_secret_in(&file.display().to_string(), &std::fs::read(&file).unwrap());
    }
}

/// The sandbox on 127.0.0.1, taking only the first set of test credentials
/// (it checks keys, signatures and token hashes as the PSPs do).
fn start_sandbox(runtime: &tokio::runtime::Runtime) -> RunningSandbox {
    let config = SandboxConfig {
        dlocal: DlocalAccount { login: DL_LOGIN.into(), trans_key: DL_TRANS_KEY.into(), secret: DL_SECRET.into() },
        pagoefectivo: PeAccount {
            service_id: PE_SERVICE_ID.into(),
            access_key: PE_ACCESS_KEY.into(),
            secret: PE_SECRET.into(),
        },
        ..SandboxConfig::default()
    };
    runtime.block_on(RunningSandbox::start(config)).unwrap()
}

#[test]
fn credentials_against_a_real_secret_service() {
    let session = KeyringSession::start();
    // SAFETY: set once, before this process makes any keyring call; this is the
    // only test in this binary, and the CLI processes get their own environment.
    unsafe { std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &session.address) };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let sandbox = start_sandbox(&runtime);
    let stub = sandbox.base_url();

    library_round_trip_and_rollback(session.dir.path());
    cli_round_trip_refusals_and_no_leaks(session.dir.path(), &session.address, &stub);
}

/// The library on the real keyring: add/list/rotate/remove, and a row that
/// cannot be written takes its keyring entry with it.
fn library_round_trip_and_rollback(root: &Path) {
    let vault = OsKeyring::new();
    let mut store = Store::open(&root.join("library.sqlite")).unwrap();
    let admin = operators::add(&mut store, None, "root", operators::Role::Admin, None).unwrap();
    let secrets = AccountSecrets::parse_json(PspKind::Dlocal, &dlocal_json(DL_LOGIN, DL_TRANS_KEY, DL_SECRET)).unwrap();
    credentials::add(&mut store, &vault, &admin, "lib-main", "https://api.dlocal.com", &secrets).unwrap();
    assert_eq!(
        vault.read("dlocal:lib-main").unwrap().unwrap().as_str(),
        format!(r#"{{"login":"{DL_LOGIN}","secret":"{DL_SECRET}","trans_key":"{DL_TRANS_KEY}"}}"#)
    );
    let listed = credentials::list(&store, &vault, &admin).unwrap();
    assert_eq!((listed.len(), listed[0].secret_present), (1, true));
    let rotated =
        AccountSecrets::parse_json(PspKind::Dlocal, &dlocal_json(DL_LOGIN_2, DL_TRANS_KEY_2, DL_SECRET_2)).unwrap();
    credentials::rotate(&mut store, &vault, &admin, "lib-main", &rotated).unwrap();
    assert!(vault.read("dlocal:lib-main").unwrap().unwrap().contains(DL_SECRET_2));
    credentials::remove(&mut store, &vault, &admin, "lib-main").unwrap();
    assert!(!vault.contains("dlocal:lib-main").unwrap());

    // A row that fails after the keyring write: the entry goes too.
    {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER refuse_accounts BEFORE INSERT ON psp_accounts BEGIN SELECT RAISE(ABORT, 'disk on fire'); END;",
        )
        .unwrap();
    }
    let e = credentials::add(&mut store, &vault, &admin, "lib-doomed", "https://api.dlocal.com", &secrets).unwrap_err();
    assert_eq!(e.code(), "store");
    assert!(e.to_string().contains("disk on fire"), "{e}");
    assert!(!vault.contains("dlocal:lib-doomed").unwrap(), "the keyring entry of a failed add was left behind");
    assert_eq!(store.psp_account_count().unwrap(), 0);
}

fn cli_round_trip_refusals_and_no_leaks(root: &Path, bus: &str, stub: &str) {
    let vault = OsKeyring::new();
    let mut cli = Cli::new(root, bus);
    cli.ok(&["operators", "add", "root", "--role", "admin"], "");
    cli.ok(&["--operator", "root", "operators", "add", "ana", "--role", "support"], "");
    // Held open to the end, so the -wal and -shm files stay on disk for the leak check.
    let _keeps_the_wal = Store::open(&cli.db).unwrap();

    // add, from stdin and from the environment
    let dl = dlocal_json(DL_LOGIN, DL_TRANS_KEY, DL_SECRET);
    let out =
        cli.ok(&["--operator", "root", "credentials", "add", "co-main", "--psp", "dlocal", "--base-url", stub], &dl);
    assert_eq!(out, format!("added co-main (dlocal, {stub}); secrets in the OS keyring\n"));
    let env = [("PE_SERVICE_ID", PE_SERVICE_ID), ("PE_ACCESS_KEY", PE_ACCESS_KEY), ("PE_SECRET", PE_SECRET)];
    let args = ["--operator", "root", "credentials", "add", "pe-main", "--psp", "pagoefectivo", "--base-url", stub];
    let run = cli.run_on(bus, &[&args[..], &["--from-env", "PE"]].concat(), "", &env);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(vault.read("pagoefectivo:pe-main").unwrap().unwrap().contains(PE_ACCESS_KEY));

    let listed = cli.accounts_json();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0]["name"].as_str(), listed[0]["psp"].as_str(), listed[0]["secret_present"].as_bool()),
        (Some("co-main"), Some("dlocal"), Some(true))
    );
    assert_eq!(listed[1]["name"], "pe-main");
    assert_eq!(listed[1]["last_test"], serde_json::Value::Null);

    // connection tests against the stub: both OK
    assert_eq!(cli.ok(&["--operator", "root", "credentials", "test", "co-main"], ""), "co-main: connection OK\n");
    assert_eq!(cli.ok(&["--operator", "root", "credentials", "test", "pe-main"], ""), "pe-main: connection OK\n");
    assert_eq!(cli.accounts_json()[0]["last_test"]["ok"], true);

    // a non-admin is refused, and nothing is written
    let run =
        cli.run(&["--operator", "ana", "credentials", "add", "co-ana", "--psp", "dlocal", "--base-url", stub], &dl);
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr, "error: ana (support) may not manage PSP credentials\n");
    let run = cli.run(&["--operator", "ana", "credentials", "list"], "");
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: ana (support) may not manage PSP credentials\n"));
    assert!(!vault.contains("dlocal:co-ana").unwrap());

    // bad input: a clear error, nothing written
    let missing =
        dlocal_json(DL_LOGIN, DL_TRANS_KEY, DL_SECRET).replace(&format!(r#","trans_key":"{DL_TRANS_KEY}""#), "");
    let run = cli
        .run(&["--operator", "root", "credentials", "add", "co-bad", "--psp", "dlocal", "--base-url", stub], &missing);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: bad secrets: missing field \"trans_key\" for dlocal (expected login, trans_key, secret)\n"
    );
    let run =
        cli.run(&["--operator", "root", "credentials", "add", "co-bad", "--psp", "paypal", "--base-url", stub], &dl);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (2, "error: unknown PSP \"paypal\" (expected dlocal or pagoefectivo)\n")
    );
    let run =
        cli.run(&["--operator", "root", "credentials", "add", "co-bad", "--psp", "dlocal", "--base-url", stub], "");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no secrets given: pass a JSON object with login, trans_key, secret"),
        "{}",
        run.stderr
    );
    assert_eq!(cli.rows(), 2);
    for user in ["dlocal:co-bad", "pagoefectivo:co-bad", "paypal:co-bad"] {
        assert!(!vault.contains(user).unwrap(), "{user} was written");
    }

    // keyring unavailable: the clear error, nothing written or changed
    let nowhere = format!("unix:path={}", root.join("no-bus-here").display());
    let run = cli.run_on(
        &nowhere,
        &["--operator", "root", "credentials", "add", "co-off", "--psp", "dlocal", "--base-url", stub],
        &dl,
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("error: the OS credential store is unavailable ("), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    let rotated = dlocal_json(DL_LOGIN_2, DL_TRANS_KEY_2, DL_SECRET_2);
    let run = cli.run_on(&nowhere, &["--operator", "root", "credentials", "rotate", "co-main"], &rotated, &[]);
    assert!(run.code == 1 && run.stderr.contains("the OS credential store is unavailable"), "{}", run.stderr);
    let run = cli.run_on(&nowhere, &["--operator", "root", "credentials", "remove", "co-main"], "", &[]);
    assert!(run.code == 1 && run.stderr.contains("the OS credential store is unavailable"), "{}", run.stderr);
    assert_eq!(cli.rows(), 2);
    assert!(vault.read("dlocal:co-main").unwrap().unwrap().contains(DL_SECRET), "secrets unchanged");
    let store = Store::open(&cli.db).unwrap();
    assert_eq!(store.psp_account("co-main").unwrap().unwrap().rotated_at, None);
    drop(store);

    // rotate to secrets the PSP refuses: the test fails and says so, without them
    assert_eq!(
        cli.ok(&["--operator", "root", "credentials", "rotate", "co-main"], &rotated),
        "rotated the secrets of co-main\n"
    );
    assert!(vault.read("dlocal:co-main").unwrap().unwrap().contains(DL_SECRET_2));
    let run = cli.run(&["--operator", "root", "credentials", "test", "co-main"], "");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "co-main: dLocal payment status: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials. [dlocal.credentials]\n"
    );
    assert_eq!(run.stderr, "error: the connection test of co-main failed\n");
    // a failing command that names an account
    let run = cli.run(&["--operator", "root", "credentials", "test", "ghost-account"], "");
    assert_eq!((run.code, run.stderr.as_str()), (2, "error: no PSP account named \"ghost-account\"\n"));

    // remove: keyring entry and row
    assert_eq!(
        cli.ok(&["--operator", "root", "credentials", "remove", "co-main"], ""),
        "removed co-main and its keyring entry\n"
    );
    assert_eq!(
        cli.ok(&["--operator", "root", "credentials", "remove", "pe-main"], ""),
        "removed pe-main and its keyring entry\n"
    );
    assert!(!vault.contains("dlocal:co-main").unwrap() && !vault.contains("pagoefectivo:pe-main").unwrap());
    assert!(cli.accounts_json().is_empty());
    let audit = cli.ok(&["audit", "list", "--action", "credentials.rotate"], "");
    assert_eq!(audit.lines().count(), 1, "{audit}");

    // the leak check: every byte printed, the database and its -wal/-shm, the app's dirs
    assert_no_secret_in("the CLI's output", &cli.output);
    assert_no_secret_on_disk(&cli);
    let names: Vec<String> = files_under(&cli.app_home).iter().map(|p| p.display().to_string()).collect();
    assert!(names.iter().any(|n| n.ends_with("voucherdesk.sqlite")), "{names:?}");
}
