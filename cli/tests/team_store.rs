//! Team mode's store against a REAL PostgreSQL server on loopback (started by
//! each test, see tests/support/team.rs): the team schema, its refusal of a newer
//! one, the reconciliation lock and the leases, as two desktops meet them.
//! How desktops change the team's state together is in tests/team_replica.rs.

use crate::support;

use std::time::Duration;
use support::team::{PG_PASSWORD, PgServer};
use voucherdesk::store::team::{LeaseTake, TeamStore, team_schema_version_latest};
use voucherdesk::team::{self, LeaseName};

fn desk(server: &PgServer, name: &str) -> TeamStore {
    TeamStore::connect(&server.url(), Some(PG_PASSWORD), name).expect("connects")
}

#[test]
fn init_creates_the_schema_once_and_two_desktops_racing_it_both_succeed() {
    let server = PgServer::start();
    let url = server.url();
    let racers: Vec<_> = (0..2)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = TeamStore::connect(&url, Some(PG_PASSWORD), &format!("desk-{i}/admin")).unwrap();
                team::init(&mut store).unwrap()
            })
        })
        .collect();
    let mut reports: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    reports.sort_by_key(|r| r.from);
    let latest = team_schema_version_latest();
    // One created it; the other waited on the migration lock and found it done.
    assert_eq!((reports[0].from, reports[0].to), (0, latest));
    assert_eq!((reports[1].from, reports[1].to), (latest, latest));

    let mut a = desk(&server, "a/admin");
    assert_eq!(a.check_schema().unwrap(), latest);
    let again = team::init(&mut a).unwrap();
    assert_eq!((again.from, again.to), (latest, latest));
    let status = team::status(&mut a).unwrap();
    assert_eq!(status.schema_version, latest);
    assert!(status.leases.is_empty());
    assert_eq!(status.reconciling, None);
}

#[test]
fn a_server_without_the_schema_or_with_a_newer_one_is_refused_and_left_alone() {
    let server = PgServer::start();
    let mut a = desk(&server, "a/admin");
    let err = a.check_schema().err().expect("no schema yet");
    assert_eq!(err.code(), "team.not_initialised");
    assert!(err.to_string().contains("run `voucherdesk team init` first"), "{err}");

    team::init(&mut a).unwrap();
    // A newer VoucherDesk migrated the server.
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    raw.execute("INSERT INTO voucherdesk_schema(version, applied_at) VALUES (99, 0)", &[]).unwrap();
    let tables_before: i64 =
        raw.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap().get(0);

    for err in [a.check_schema().err().expect("refused"), team::init(&mut a).err().expect("refused")] {
        assert_eq!(err.code(), "team.schema_too_new");
        assert_eq!(
            err.to_string(),
            format!(
                "the team server voucherdesk@127.0.0.1:{}/postgres has schema version 99, newer than this VoucherDesk knows ({}); upgrade VoucherDesk to use it",
                server.port,
                team_schema_version_latest()
            )
        );
    }
    let versions: Vec<i32> = raw
        .query("SELECT version FROM voucherdesk_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut expected: Vec<i32> = (1..=team_schema_version_latest()).collect();
    expected.push(99);
    assert_eq!(versions, expected);
    let tables_after: i64 =
        raw.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap().get(0);
    assert_eq!(tables_after, tables_before);
}

#[test]
fn an_unreachable_server_or_a_wrong_password_is_a_clear_error_that_never_shows_the_password() {
    let server = PgServer::start();
    let wrong = TeamStore::connect(&server.url(), Some("not-the-password"), "a/admin").err().expect("refused");
    assert_eq!(wrong.code(), "team.denied");
    assert!(wrong.to_string().contains("refused the sign-in of voucherdesk: wrong password"), "{wrong}");
    assert!(wrong.to_string().contains("password authentication failed"), "{wrong}");
    assert!(!wrong.to_string().contains("not-the-password"), "{wrong}");

    let port = server.port;
    drop(server);
    let gone =
        TeamStore::connect(&format!("postgres://voucherdesk:{PG_PASSWORD}@127.0.0.1:{port}/postgres"), None, "a/admin")
            .err()
            .expect("nobody listens");
    assert_eq!(gone.code(), "team.unreachable");
    let text = gone.to_string();
    assert!(
        text.starts_with(&format!("cannot reach the team server voucherdesk@127.0.0.1:{port}/postgres: ")),
        "{text}"
    );
    assert!(!text.contains(PG_PASSWORD), "{text}");
}

#[test]
fn one_reconciliation_at_a_time_per_team_and_a_crashed_holder_releases_it() {
    let server = PgServer::start();
    let mut a = desk(&server, "shenzhen-01/marta");
    team::init(&mut a).unwrap();
    let mut b = desk(&server, "bogota-02/fabio");

    let lock = a.try_reconcile_lock().unwrap().expect("free");
    assert_eq!(lock.holder(), "shenzhen-01/marta");
    let refused = b.try_reconcile_lock().unwrap().err().expect("taken");
    assert_eq!(refused.holder, "shenzhen-01/marta");
    assert!(refused.since.is_some());
    drop(lock);
    drop(b.try_reconcile_lock().unwrap().expect("released when the run ends"));

    // A desktop that dies mid-run: its session ends, and the lock with it.
    let mut c = desk(&server, "lima-03/ana");
    let held = c.try_reconcile_lock().unwrap().expect("free");
    std::mem::forget(held); // never unlocked by us
    assert_eq!(b.try_reconcile_lock().unwrap().err().expect("taken").holder, "lima-03/ana");
    drop(c); // the connection closes
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match b.try_reconcile_lock().unwrap() {
            Ok(lock) => {
                assert_eq!(lock.holder(), "bogota-02/fabio");
                break;
            }
            Err(_) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(h) => panic!("still held by {h:?} after the holder disconnected"),
        }
    }
}

#[test]
fn a_lease_is_held_by_one_desktop_and_taken_over_once_its_holder_stops_renewing() {
    let server = PgServer::start();
    let mut a = desk(&server, "a");
    team::init(&mut a).unwrap();
    let mut b = desk(&server, "b");
    let name = LeaseName::PspSync.as_str();
    let ttl_seconds = 1;

    let LeaseTake::Acquired { lease } = a.take_lease(name, "shenzhen-01/marta", ttl_seconds).unwrap() else {
        panic!("a takes the free lease")
    };
    assert_eq!((lease.holder.as_str(), lease.generation), ("shenzhen-01/marta", 1));
    let LeaseTake::HeldBy { lease: seen } = b.take_lease(name, "bogota-02/fabio", ttl_seconds).unwrap() else {
        panic!("b must wait")
    };
    assert_eq!(seen.holder, "shenzhen-01/marta");
    assert!(matches!(a.take_lease(name, "shenzhen-01/marta", ttl_seconds).unwrap(), LeaseTake::Renewed { .. }));

    // a stops renewing (killed): once the lease has expired by the server's clock, b takes it over.
    let taken = loop {
        match b.take_lease(name, "bogota-02/fabio", ttl_seconds).unwrap() {
            LeaseTake::HeldBy { .. } => std::thread::sleep(Duration::from_millis(100)),
            other => break other,
        }
    };
    let LeaseTake::TakenOver { lease, from } = taken else { panic!("taken over, got {taken:?}") };
    assert_eq!(from, "shenzhen-01/marta");
    assert_eq!((lease.holder.as_str(), lease.generation), ("bogota-02/fabio", 2));
    // a comes back: the lease is not its any more, and it must not think so.
    assert!(matches!(a.take_lease(name, "shenzhen-01/marta", 30).unwrap(), LeaseTake::HeldBy { .. }));
    assert!(!a.release_lease(name, "shenzhen-01/marta").unwrap(), "only the holder can release it");
    assert!(b.release_lease(name, "bogota-02/fabio").unwrap());
    assert!(matches!(a.take_lease(name, "shenzhen-01/marta", 30).unwrap(), LeaseTake::Acquired { .. }));
    assert_eq!(a.leases().unwrap().len(), 1);
}

#[test]
fn two_desktops_asking_for_a_free_lease_at_once_get_it_exactly_once() {
    let server = PgServer::start();
    team::init(&mut desk(&server, "admin")).unwrap();
    for round in 0..5 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let askers: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let (url, barrier) = (server.url(), barrier.clone());
                std::thread::spawn(move || {
                    let mut store = TeamStore::connect(&url, Some(PG_PASSWORD), who).unwrap();
                    barrier.wait();
                    store.take_lease(LeaseName::NotificationOutbox.as_str(), who, 30).unwrap()
                })
            })
            .collect();
        let outcomes: Vec<_> = askers.into_iter().map(|t| t.join().unwrap()).collect();
        let won = outcomes.iter().filter(|o| matches!(o, LeaseTake::Acquired { .. })).count();
        let waiting = outcomes.iter().filter(|o| matches!(o, LeaseTake::HeldBy { .. })).count();
        assert_eq!((won, waiting), (1, 1), "round {round}: {outcomes:?}");
        let winner = outcomes
            .iter()
            .find_map(|o| match o {
                LeaseTake::Acquired { lease } => Some(lease.holder.clone()),
                _ => None,
            })
            .unwrap();
        assert!(desk(&server, "admin").release_lease(LeaseName::NotificationOutbox.as_str(), &winner).unwrap());
    }
}

#[test]
fn the_cli_creates_the_schema_says_when_it_is_up_to_date_and_shows_the_leases() {
    let server = PgServer::start();
    let cli_with = |args: &[&str], password_var: &str| {
        let out = assert_cmd::Command::cargo_bin("voucherdesk")
            .unwrap()
            .args(["team"])
            .args(args)
            .args(["--server", &server.url(), "--password-env", password_var])
            .env("VD_TEAM_TEST_PW", PG_PASSWORD)
            .env_remove("VOUCHERDESK_TEAM_SERVER")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stdout.contains(PG_PASSWORD) && !stderr.contains(PG_PASSWORD));
        (out.status.code(), stdout, stderr)
    };
    let cli = |args: &[&str]| cli_with(args, "VD_TEAM_TEST_PW");
    let at = format!("voucherdesk@127.0.0.1:{}/postgres", server.port);
    let latest = team_schema_version_latest();

    let (code, _, stderr) = cli(&["status"]);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        format!("error: the team server {at} has no VoucherDesk schema yet: run `voucherdesk team init` first\n")
    );

    assert_eq!(
        cli(&["init"]),
        (Some(0), format!("created the team schema on {at} (version {latest})\n"), String::new())
    );
    assert_eq!(
        cli(&["init"]),
        (Some(0), format!("team schema on {at} is up to date (version {latest})\n"), String::new())
    );

    let mut a = desk(&server, "a");
    a.take_lease(LeaseName::PspSync.as_str(), "shenzhen-01/marta", 300).unwrap();
    let (code, stdout, _) = cli(&["status"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("team server {at} · schema version {latest}"));
    assert!(lines[1].starts_with("lease psp_sync: held by shenzhen-01/marta (expires in "), "{stdout}");
    assert_eq!(lines[2], "reconciling: nobody");
    assert_eq!(lines.len(), 3);

    let (code, _, stderr) = cli_with(&["init"], "VD_NOT_SET_ANYWHERE");
    assert_eq!((code, stderr.as_str()), (Some(2), "error: the environment variable VD_NOT_SET_ANYWHERE is not set\n"));
}

#[test]
fn the_cli_joins_a_team_keeps_the_password_in_the_keyring_and_a_refused_join_leaves_no_file() {
    let server = PgServer::start();
    let keyring = support::keyring::KeyringSession::start();
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("voucherdesk")
            .unwrap()
            .args(args)
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .env("VD_TEAM_TEST_PW", PG_PASSWORD)
            .env_remove("VOUCHERDESK_TEAM_SERVER")
            .env_remove("VOUCHERDESK_TEAM_PASSWORD")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let join = |db: &std::path::Path, url: &str| {
        let db = db.display().to_string();
        run(&["--db", &db, "team", "join", "--server", url, "--password-env", "VD_TEAM_TEST_PW"])
    };
    // Not initialised yet: refused, and the new file is not left behind.
    let copy = dir.path().join("desk-b.sqlite");
    let at = format!("voucherdesk@127.0.0.1:{}/postgres", server.port);
    let (code, _, stderr) = join(&copy, &server.url());
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(
        stderr,
        format!("error: the team server {at} has no VoucherDesk schema yet: run `voucherdesk team init` first\n")
    );
    assert!(!copy.exists());
    // Initialised: the join makes the copy (an empty team: nothing to pull yet).
    team::init(&mut desk(&server, "admin")).unwrap();
    let (code, stdout, stderr) = join(&copy, &server.url());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout,
        format!("{} is now this desktop's copy of the team {at} (up to change 0; 0 shared rows)\n", copy.display())
    );
    // Later commands on the copy reach the server with the password from the keyring alone.
    let db = copy.display().to_string();
    let (code, stdout, stderr) = run(&["--db", &db, "operators", "add", "admin", "--role", "admin"]);
    assert_eq!((code, stdout.as_str()), (Some(0), "added admin (admin)\n"), "{stderr}");
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    let on_server: i64 = raw.query_one("SELECT count(*) FROM operators WHERE name = 'admin'", &[]).unwrap().get(0);
    assert_eq!(on_server, 1);
}
