//! Team mode's store against a REAL PostgreSQL server on loopback (started by
//! each test, see tests/team_support): the team schema, its refusal of a newer
//! one, the reconciliation lock and the leases, as two desktops meet them.

mod team_support;

use std::time::Duration;
use team_support::{PG_PASSWORD, PgServer};
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
    assert_eq!(wrong.code(), "team.unreachable");
    assert!(wrong.to_string().contains("password authentication failed"), "{wrong}");

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
fn desktops_appending_to_the_audit_log_at_once_make_one_unbroken_chain() {
    let server = PgServer::start();
    team::init(&mut desk(&server, "admin")).unwrap();
    const ENTRIES_PER_DESKTOP: usize = 40;
    let writers: Vec<_> = ["shenzhen-01/ana", "bogota-02/fabio", "lima-03/marta"]
        .into_iter()
        .map(|who| {
            let url = server.url();
            std::thread::spawn(move || {
                let mut store = TeamStore::connect(&url, Some(PG_PASSWORD), who).unwrap();
                for i in 0..ENTRIES_PER_DESKTOP {
                    let entry = voucherdesk::audit::audit_entry(who, "test.append", &format!("{who}#{i}"), "", "");
                    store.append_audit(&entry).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let mut a = desk(&server, "auditor");
    let report = team::verify_audit(&mut a).unwrap();
    assert_eq!(report.entries, 3 * ENTRIES_PER_DESKTOP as u64);
    assert_eq!(report.first_broken, None);

    // An edit on the server is found by the same rule as in the local file.
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    raw.batch_execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only; UPDATE audit_log SET subject = 'forged' WHERE id = 7")
        .unwrap();
    let report = team::verify_audit(&mut a).unwrap();
    assert_eq!(
        report.first_broken.map(|b| (b.id, b.reason)),
        Some((7, "entry 7 was altered after it was written".into()))
    );
}

#[test]
fn the_team_audit_log_refuses_updates_and_deletes() {
    let server = PgServer::start();
    let mut a = desk(&server, "admin");
    team::init(&mut a).unwrap();
    a.append_audit(&voucherdesk::audit::audit_entry("ana", "test.append", "x", "", "")).unwrap();
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    for sql in ["UPDATE audit_log SET operator = 'mallory'", "DELETE FROM audit_log"] {
        let err = raw.execute(sql, &[]).err().expect("refused");
        assert_eq!(err.as_db_error().map(|d| d.message()), Some("audit_log is append-only"), "{sql}");
    }
    assert_eq!(a.audit_entries(0, 10).unwrap()[0].entry.operator, "ana");
}

/// `n` open exceptions written on the team server as a reconciliation run would (test data only).
fn seed_team_exceptions(server: &PgServer, n: i64) {
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    raw.execute(
        "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store, amount_minor,
                                currency, facts, detail, detected_at, updated_at, last_run)
         SELECT 'x-' || g, 'not_settled', 'open', 'CO-' || g, 'dlocal', 'D-' || g, NULL, 'CO', 'tienda', 125000000 + g,
                'COP', '{}', 'paid, not in any settlement', 1773000000 + g, 1773000000 + g, 1
           FROM generate_series(1, $1::bigint) AS g",
        &[&n],
    )
    .unwrap();
}

#[test]
fn a_local_copy_catches_up_on_100000_changed_exceptions_then_pulls_only_what_changed() {
    let server = PgServer::start();
    let mut team = desk(&server, "bogota-02/fabio");
    team::init(&mut team).unwrap();
    const ROWS: i64 = 100_000;
    seed_team_exceptions(&server, ROWS);
    let dir = tempfile::tempdir().unwrap();
    let mut local = voucherdesk::store::Store::open(&dir.path().join("copy.sqlite")).unwrap();

    let started = std::time::Instant::now();
    let first = team::catch_up_exceptions(&mut team, &mut local).unwrap();
    // The figure docs/BENCHMARKS.md quotes (run with --release --nocapture).
    println!("catch-up of {ROWS} changed exceptions: {} ms", started.elapsed().as_millis());
    assert_eq!(first.rows, ROWS as u64);
    assert_eq!(first.pages, (ROWS as u32).div_ceil(team::TEAM_COPY_PAGE_ROWS));
    assert_eq!(local.counts().unwrap().open_exceptions, ROWS);
    let e = local.exception("x-4242").unwrap().expect("copied");
    assert_eq!(
        (e.order_id.as_str(), e.amount_minor, e.detected_at.timestamp()),
        ("CO-4242", Some(125_004_242), 1_773_004_242)
    );
    assert_eq!(team::catch_up_exceptions(&mut team, &mut local).unwrap().rows, 0);

    // Another desktop resolves seven of them: the next catch-up brings those seven, nothing else.
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    let changed = raw
        .execute(
            "UPDATE exceptions SET status = 'resolved', resolution = 'accept', resolved_by = 'marta', resolved_at = 1773100000
              WHERE id IN ('x-1', 'x-2', 'x-3', 'x-50000', 'x-77777', 'x-99999', 'x-100000')",
            &[],
        )
        .unwrap();
    assert_eq!(changed, 7);
    let second = team::catch_up_exceptions(&mut team, &mut local).unwrap();
    assert_eq!((second.rows, second.pages), (7, 1));
    assert_eq!(local.counts().unwrap().open_exceptions, ROWS - 7);
    let resolved = local.exception("x-77777").unwrap().unwrap();
    assert_eq!((resolved.resolution.as_deref(), resolved.resolved_by.as_deref()), (Some("accept"), Some("marta")));
    assert_eq!(local.team_cursor("exceptions").unwrap(), second.cursor);
}

#[test]
fn a_change_still_uncommitted_while_the_copy_reads_is_not_skipped_once_it_commits() {
    let server = PgServer::start();
    let mut team = desk(&server, "reader");
    team::init(&mut team).unwrap();
    seed_team_exceptions(&server, 3);
    let dir = tempfile::tempdir().unwrap();
    let mut local = voucherdesk::store::Store::open(&dir.path().join("copy.sqlite")).unwrap();
    assert_eq!(team::catch_up_exceptions(&mut team, &mut local).unwrap().rows, 3);

    // Desktop 1 changes x-1 and has not committed; desktop 2 changes x-2 meanwhile.
    let mut first = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    let mut slow = first.transaction().unwrap();
    slow.execute("UPDATE exceptions SET assignee = 'ana' WHERE id = 'x-1'", &[]).unwrap();
    let url = server.url_with_password();
    let second = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.execute("UPDATE exceptions SET assignee = 'fabio' WHERE id = 'x-2'", &[]).unwrap();
    });
    std::thread::sleep(Duration::from_millis(300)); // desktop 2 is now waiting on desktop 1
    assert_eq!(team::catch_up_exceptions(&mut team, &mut local).unwrap().rows, 0, "nothing committed yet");
    slow.commit().unwrap();
    second.join().unwrap();
    let after = team::catch_up_exceptions(&mut team, &mut local).unwrap();
    assert_eq!(after.rows, 2);
    assert_eq!(local.exception("x-1").unwrap().unwrap().assignee.as_deref(), Some("ana"));
    assert_eq!(local.exception("x-2").unwrap().unwrap().assignee.as_deref(), Some("fabio"));
}

#[test]
fn a_listening_desktop_is_woken_by_another_desktops_change() {
    let server = PgServer::start();
    let mut listener = desk(&server, "shenzhen-01/ana");
    team::init(&mut listener).unwrap();
    listener.listen_for_changes().unwrap();
    assert!(!listener.wait_for_change(Duration::from_millis(200)).unwrap(), "no change, no wake-up");
    seed_team_exceptions(&server, 2);
    assert!(listener.wait_for_change(Duration::from_secs(10)).unwrap());
    assert!(!listener.wait_for_change(Duration::from_millis(200)).unwrap(), "the announcement was consumed");
}

#[test]
fn two_desktops_resolving_the_same_exception_at_once_one_wins_and_the_other_is_told_who() {
    use voucherdesk::exceptions::{self, Resolution, ResolutionAction};
    use voucherdesk::operators::{Operator, Role};
    const ROUNDS: i64 = 8;
    let server = PgServer::start();
    team::init(&mut desk(&server, "admin")).unwrap();
    seed_team_exceptions(&server, ROUNDS);
    for round in 1..=ROUNDS {
        let id = format!("x-{round}");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = [("shenzhen-01", "marta"), ("bogota-02", "lucia")]
            .into_iter()
            .map(|(host, name)| {
                let (url, barrier, id) = (server.url(), barrier.clone(), id.clone());
                std::thread::spawn(move || {
                    let mut store =
                        TeamStore::connect(&url, Some(PG_PASSWORD), &team::desktop_name(host, name)).unwrap();
                    let operator = Operator { name: name.into(), role: Role::Manager, language: "en".into() };
                    let resolution = Resolution {
                        exception_id: &id,
                        action: ResolutionAction::WriteOff,
                        note: "cash counted twice at the counter",
                        operator: &operator,
                        link: None,
                    };
                    barrier.wait();
                    exceptions::resolve(&mut store, &resolution)
                        .map(|e| e.resolved_by)
                        .map_err(|e| (e.code(), e.to_string()))
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<String> = results.iter().filter_map(|r| r.as_ref().ok().cloned().flatten()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let (code, message) = results.iter().find_map(|r| r.as_ref().err()).expect("one loses").clone();
        assert_eq!(code, "exceptions.already_closed", "round {round}");
        let prefix = format!("exception {id} is already resolved (by {} at ", winners[0]);
        assert!(message.starts_with(&prefix) && message.ends_with(" UTC)"), "round {round}: {message}");
    }
    // One resolution each on the server: one history entry and one audit entry per exception, one chain.
    let mut raw = postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap();
    let history: i64 = raw.query_one("SELECT count(*) FROM exception_history", &[]).unwrap().get(0);
    let resolved: i64 = raw.query_one("SELECT count(*) FROM exceptions WHERE status = 'resolved'", &[]).unwrap().get(0);
    assert_eq!((history, resolved), (ROUNDS, ROUNDS));
    let report = team::verify_audit(&mut desk(&server, "auditor")).unwrap();
    assert_eq!((report.entries, report.first_broken), (ROUNDS as u64, None));
}
