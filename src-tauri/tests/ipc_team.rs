//! The app on a team copy, through Tauri's IPC layer, against a REAL
//! PostgreSQL server on loopback (cli/tests/support/team.rs): every command is one
//! team write, `team_status` says where the copy stands, and with the server
//! stopped the app stays readable, refuses changes as `team.offline`, still
//! lets people sign in and out, and writes again once the server is back.

use crate::common;
use crate::team_support;

use common::MockApp;
use serde_json::{Value, json};
use std::sync::Arc;
use team_support::{PG_PASSWORD, PgServer};
use voucherdesk::credentials::MemoryVault;
use voucherdesk::operators::{self, Role};
use voucherdesk::store::Store;
use voucherdesk::store::team::TeamStore;
use voucherdesk::team;
use voucherdesk_desktop::state::AppState;

/// The audit entries on the team server, as `(operator, action)`.
fn server_audit(pg: &PgServer) -> Vec<(String, String)> {
    let mut conn = TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "test/audit").unwrap();
    let entries = conn.audit_entries(0, 1_000).unwrap();
    entries.into_iter().map(|e| (e.entry.operator, e.entry.action)).collect()
}

/// An operator's language as the team server has it (read through a fresh copy).
fn language_on_server(pg: &PgServer, dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(format!("reader-{}.sqlite", rand_suffix()));
    let mut copy = Store::open(&path).unwrap();
    team::join(&mut copy, &pg.url(), Some(PG_PASSWORD), &MemoryVault::default(), "test/reader").unwrap();
    operators::act_as(&copy, name).unwrap().language
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

fn ok(app: &MockApp, cmd: &str, args: Value) -> Value {
    common::ok(app.call(cmd, args), cmd)
}

fn err(app: &MockApp, cmd: &str, args: Value) -> Value {
    common::err(app.call(cmd, args), cmd)
}

/// A team seeded by desk A with admin and ana (support); the app runs on desk B's copy.
fn team_desk() -> (PgServer, tempfile::TempDir, MockApp) {
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    team::init(&mut TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "test/init").unwrap()).unwrap();

    // Desk A seeds the team with its operators; the app runs on desk B's copy.
    let mut seed = Store::open(&dir.path().join("a.sqlite")).unwrap();
    let admin = operators::add(&mut seed, None, "admin", Role::Admin, Some("admin-password")).unwrap();
    operators::add(&mut seed, Some(&admin), "ana", Role::Support, Some("ana-password")).unwrap();
    team::push(&mut seed, &pg.url(), Some(PG_PASSWORD), &MemoryVault::default(), "test/seed").unwrap();
    drop(seed);
    let vault = Arc::new(MemoryVault::default());
    let mut copy = Store::open(&dir.path().join("b.sqlite")).unwrap();
    team::join(&mut copy, &pg.url(), Some(PG_PASSWORD), &*vault, "test/desk-b").unwrap();
    let app = MockApp::new(AppState::with_vault(copy, vault));
    (pg, dir, app)
}

#[test]
fn a_team_desktop_writes_through_the_team_and_stays_readable_offline() {
    let (pg, dir, app) = team_desk();
    let server = format!("voucherdesk@127.0.0.1:{}/postgres", pg.port);

    // Online: the status, and a command that changes something lands on the server.
    let status = ok(&app, "team_status", json!({}));
    assert_eq!((&status["server"], &status["online"], &status["reason"]), (&json!(server), &json!(true), &Value::Null));
    let audit_before = server_audit(&pg).len();
    ok(&app, "sign_in", json!({ "name": "ana", "password": "ana-password" }));
    ok(&app, "set_language", json!({ "language": "es" }));
    assert_eq!(language_on_server(&pg, dir.path(), "ana"), "es");
    let audit = server_audit(&pg);
    assert_eq!(
        audit[audit_before..].iter().map(|(o, a)| (o.as_str(), a.as_str())).collect::<Vec<_>>(),
        vec![("ana", "operator.sign_in"), ("ana", "operator.set_language")]
    );

    // The server stops: changes are refused with the team's code.
    pg.stop();
    let refused = err(&app, "set_language", json!({ "language": "zh" }));
    assert_eq!(refused["code"], json!("team.offline"), "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("VoucherDesk is read-only while the team server cannot be reached"),
        "{refused}"
    );
    let status = ok(&app, "team_status", json!({}));
    assert_eq!(status["online"], json!(false));
    // Why: the connection the last write lost (or the refused reconnect).
    assert!(status["reason"].as_str().is_some_and(|r| r.contains("server")), "{status}");
    // Reads work from the copy; signing out and in again works (no audit entry can be kept).
    assert_eq!(ok(&app, "search_orders", json!({ "query": "nothing-like-this", "limit": 5 })), json!([]));
    ok(&app, "sign_out", json!({}));
    assert_eq!(err(&app, "sign_in", json!({ "name": "ana", "password": "wrong" }))["code"], json!("auth.denied"));
    let ana = ok(&app, "sign_in", json!({ "name": "ana", "password": "ana-password" }));
    assert_eq!((&ana["name"], &ana["language"]), (&json!("ana"), &json!("es")));

    // The server returns: the next change reconnects and lands; the offline sign-ins left no entry.
    pg.restart();
    ok(&app, "set_language", json!({ "language": "en" }));
    assert_eq!(ok(&app, "team_status", json!({}))["online"], json!(true));
    assert_eq!(language_on_server(&pg, dir.path(), "ana"), "en");
    let after = server_audit(&pg);
    assert_eq!(
        after[audit.len()..].iter().map(|(o, a)| (o.as_str(), a.as_str())).collect::<Vec<_>>(),
        vec![("ana", "operator.set_language")]
    );
    assert_eq!(
        team::verify_audit(&mut TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "test/verify").unwrap())
            .unwrap()
            .first_broken,
        None
    );
}

#[test]
fn team_status_is_null_on_a_local_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let app = MockApp::new(AppState::open(&dir.path().join("local.sqlite")).unwrap());
    assert_eq!(ok(&app, "team_status", json!({})), Value::Null);
}

/// The background tasks' lease: one desktop runs the round, the other skips
/// it and says who runs it; on a local workspace there is no lease at all.
#[test]
fn a_background_round_runs_on_one_desktop_of_the_team() {
    use voucherdesk::jobs::{LEASE_HELD, lease_for_round};
    use voucherdesk::team::LeaseName;
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    team::init(&mut TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "test/init").unwrap()).unwrap();
    let desk = |name: &str| {
        let mut copy = Store::open(&dir.path().join(format!("{name}.sqlite"))).unwrap();
        team::join(&mut copy, &pg.url(), Some(PG_PASSWORD), &MemoryVault::default(), name).unwrap();
        copy
    };
    let (mut a, mut b) = (desk("a"), desk("b"));
    assert_eq!(lease_for_round(&mut a, LeaseName::PspSync, "host-a/desktop#1"), Ok(()));
    let (code, message) = lease_for_round(&mut b, LeaseName::PspSync, "host-b/desktop#2").unwrap_err();
    assert_eq!(code, LEASE_HELD);
    assert_eq!(message, "the PSP sync runs on another desktop of the team: host-a/desktop#1");
    // Renewed by its holder; the other lease is free for B.
    assert_eq!(lease_for_round(&mut a, LeaseName::PspSync, "host-a/desktop#1"), Ok(()));
    assert_eq!(lease_for_round(&mut b, LeaseName::NotificationOutbox, "host-b/desktop#2"), Ok(()));
    assert_eq!(lease_for_round(&mut a, LeaseName::NotificationOutbox, "host-a/desktop#1").unwrap_err().0, LEASE_HELD);
    let mut local = Store::open(&dir.path().join("local.sqlite")).unwrap();
    assert_eq!(lease_for_round(&mut local, LeaseName::PspSync, "anyone"), Ok(()));
    // The server away: the round is skipped as offline, not run.
    pg.stop();
    let (code, message) = lease_for_round(&mut a, LeaseName::PspSync, "host-a/desktop#1").unwrap_err();
    assert_eq!(code, "team.offline", "{message}");
    assert_eq!(a.team_link_status().unwrap().map(|s| s.online), Some(false), "the store knows it too");
    // Still offline on the next round (no connection at all now).
    assert_eq!(lease_for_round(&mut a, LeaseName::PspSync, "host-a/desktop#1").unwrap_err().0, "team.offline");
}

#[test]
fn a_lookup_answers_while_another_desktop_holds_the_teams_write_lock() {
    let (pg, _dir, app) = team_desk();
    ok(&app, "sign_in", json!({ "name": "ana", "password": "ana-password" }));

    // Another desktop is in the middle of a long import: it holds the write lock.
    let mut other = TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "lima/importer").unwrap();
    other.lock_writes().unwrap();
    // A support agent's lookup is served from the copy at once (no wait, no team.busy).
    assert_eq!(ok(&app, "search_orders", json!({ "query": "nunez", "limit": 5 })), json!([]));
    other.unlock_writes().unwrap();
}

/// The team server's audit entries written by operator logins, as `(operator, action, login)`.
fn audit_by_login(pg: &PgServer) -> Vec<(String, String, String)> {
    let mut raw = postgres::Client::connect(&pg.url_with_password(), postgres::NoTls).unwrap();
    raw.query("SELECT operator, action, login FROM audit_log WHERE login <> $1 ORDER BY id", &[&team_support::PG_USER])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[test]
fn signing_in_on_a_team_desktop_connects_it_as_the_operators_own_login() {
    let pg = PgServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut owner = TeamStore::connect(&pg.url(), Some(PG_PASSWORD), "test/owner").unwrap();
    team::init(&mut owner).unwrap();
    let mut seed = Store::open(&dir.path().join("a.sqlite")).unwrap();
    let admin = operators::add(&mut seed, None, "admin", Role::Admin, Some("admin-password")).unwrap();
    operators::add(&mut seed, Some(&admin), "ana", Role::Support, Some("ana-password")).unwrap();
    team::push(&mut seed, &pg.url(), Some(PG_PASSWORD), &MemoryVault::default(), "test/seed").unwrap();
    drop(seed);
    owner.set_login("admin", "admin-password").unwrap();
    owner.set_login("ana", "ana-password").unwrap();

    // Desk B joined the team as ana (support).
    let vault = Arc::new(MemoryVault::default());
    let mut copy = Store::open(&dir.path().join("b.sqlite")).unwrap();
    let ana_url = format!("postgres://ana@127.0.0.1:{}/postgres", pg.port);
    team::join(&mut copy, &ana_url, Some("ana-password"), &*vault, "test/desk-b").unwrap();
    // The server showed ana's login her own password hash only.
    let hash_of = |s: &Store, name: &str| s.operator_by_name(name).unwrap().unwrap().password_hash;
    assert!(hash_of(&copy, "ana").is_some());
    assert_eq!(hash_of(&copy, "admin"), None);
    let app = MockApp::new(AppState::with_vault(copy, vault));

    // The admin signs in at ana's desk with her own password: the app now
    // writes as her login, so the server accepts an admin's change.
    ok(&app, "sign_in", json!({ "name": "admin", "password": "admin-password" }));
    ok(&app, "set_language", json!({ "language": "es" }));
    let status = ok(&app, "team_status", json!({}));
    assert_eq!(status["server"], json!(format!("admin@127.0.0.1:{}/postgres", pg.port)), "{status}");
    // Ana signs in again: the desk writes as ana.
    ok(&app, "sign_in", json!({ "name": "ana", "password": "ana-password" }));
    ok(&app, "set_language", json!({ "language": "zh" }));
    // A password the team server refuses is a refused sign-in, whatever the copy holds.
    let refused = err(&app, "sign_in", json!({ "name": "admin", "password": "not-her-password" }));
    assert_eq!(refused["code"], json!("auth.denied"), "{refused}");

    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        audit_by_login(&pg),
        vec![
            s("admin", "operator.sign_in", "admin"),
            s("admin", "operator.set_language", "admin"),
            s("ana", "operator.sign_in", "ana"),
            s("ana", "operator.set_language", "ana"),
        ]
    );
    assert_eq!(language_on_server(&pg, dir.path(), "admin"), "es");
    assert_eq!(language_on_server(&pg, dir.path(), "ana"), "zh");
}

fn sample(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/samples").join(name);
    path.canonicalize().unwrap().display().to_string()
}

/// What the team server holds, read through a fresh copy: (orders, payments).
fn ledger_on_server(pg: &PgServer, dir: &std::path::Path) -> (i64, i64) {
    let path = dir.join(format!("reader-{}.sqlite", rand_suffix()));
    let mut copy = Store::open(&path).unwrap();
    team::join(&mut copy, &pg.url(), Some(PG_PASSWORD), &MemoryVault::default(), "test/reader").unwrap();
    let counts = copy.counts().unwrap();
    (counts.orders, counts.payments)
}

/// Import all on a team desktop: one run under the team's write lock, each
/// file on the server once it ends (a bad one refuses itself); with the
/// server gone the run is refused whole and the files stay chosen.
#[test]
fn import_all_on_a_team_desktop_lands_each_file_on_the_server() {
    let (pg, dir, app) = team_desk();
    ok(&app, "sign_in", json!({ "name": "admin", "password": "admin-password" }));
    let bad = dir.path().join("bad-orders.csv");
    let good = std::fs::read_to_string(sample("shop-orders.csv")).unwrap();
    std::fs::write(&bad, good.replace("CO-1", "CO-9").replacen(",COP,", ",XXX,", 1)).unwrap();
    let chosen = [
        (sample("dlocal-payments.csv"), "payments", "dlocal"),
        (bad.display().to_string(), "orders", "shop"),
        (sample("shop-orders.csv"), "orders", "shop"),
    ];
    let request = |chosen: &[(String, &str, &str)]| -> (Vec<String>, Value) {
        let tokens: Vec<String> = chosen.iter().map(|(path, _, _)| app.chosen(path)).collect();
        let files: Vec<Value> = chosen
            .iter()
            .zip(&tokens)
            .map(|((_, kind, profile), token)| json!({ "token": token, "kind": kind, "profile": profile }))
            .collect();
        (tokens, json!({ "files": files }))
    };

    // The server gone: refused whole, nothing written, every file still chosen.
    pg.stop();
    let (tokens, files) = request(&chosen);
    assert_eq!(err(&app, "import_files", files.clone())["code"], json!("team.offline"));
    for token in &tokens {
        assert!(ok(&app, "suggest_profile", json!({ "token": token }))["kind"].is_string());
    }
    pg.restart();

    let ended = ok(&app, "import_files", files);
    let outcomes: Vec<Value> = ended.as_array().unwrap().iter().map(|e| e["outcome"]["outcome"].clone()).collect();
    assert_eq!(outcomes, [json!("imported"), Value::Null, json!("imported")], "{ended}");
    assert_eq!(ended[1]["error"]["code"], json!("import.bad_rows"), "{ended}");
    assert_eq!(ledger_on_server(&pg, dir.path()), (4, 2), "both good files are on the server, the bad one is not");
    let imports: Vec<String> =
        server_audit(&pg).into_iter().filter(|(_, action)| action == "import").map(|(operator, _)| operator).collect();
    assert_eq!(imports, ["admin", "admin"], "one audited change a file that went in");
}
