//! Team mode as desktops meet it, against a REAL PostgreSQL server on
//! loopback (tests/support/team.rs): each desktop is its own SQLite copy and its
//! own connection, changing the team's state with the domain's own rules
//! (`Store::write`). Two desktops racing the same approval, resolution,
//! import or refund submission: exactly one wins, the other is told who and
//! when. `team push` twice adds nothing. A stopped server leaves the copies
//! readable and refuses changes; they catch up when it returns.

use crate::support;

use chrono::Utc;
use std::path::PathBuf;
use std::sync::Barrier;
use support::refunds::{Ledger, SandboxPsp, ledger, psp_refund, sale};
use support::team::{PG_PASSWORD, PgServer};
use voucherdesk::credentials::MemoryVault;
use voucherdesk::import::profile::built_in;

use voucherdesk::import::{ImportOutcome, ImportRequest, import_file};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::refunds::{self, RefundStatus};
use voucherdesk::store::team::TeamStore;
use voucherdesk::store::{SHARED_TABLES, Store, StoreError};
use voucherdesk::team;

/// One desktop: its own copy file, attached to the team server.
struct Desk {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
}

fn desk(server: &PgServer, name: &str) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.sqlite");
    let mut store = Store::open(&path).unwrap();
    store.attach_team(&server.url(), Some(PG_PASSWORD), name).unwrap();
    Desk { _dir: dir, path, store }
}

fn raw(server: &PgServer) -> postgres::Client {
    postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap()
}

fn server_count(server: &PgServer, sql: &str) -> i64 {
    raw(server).query_one(sql, &[]).unwrap().get(0)
}

fn started() -> PgServer {
    let server = PgServer::start();
    team::init(&mut TeamStore::connect(&server.url(), Some(PG_PASSWORD), "admin").unwrap()).unwrap();
    server
}

fn act_as(store: &Store, name: &str) -> Operator {
    operators::act_as(store, name).unwrap()
}

/// A local workspace with the refund tests' operators and `n` paid Colombian
/// sales of 500,000 COP (a 300,000 refund of one is tier 2: finance approves).
fn workspace(n: usize, prefix: &str) -> Ledger {
    let mut l = ledger();
    let sales: Vec<_> = (0..n)
        .map(|i| {
            let order: &'static str = Box::leak(format!("{prefix}-CO-{i}").into_boxed_str());
            let payment: &'static str = Box::leak(format!("{prefix}-D-{i}").into_boxed_str());
            sale(order, payment, "CO", "500000")
        })
        .collect();
    l.add(&sales);
    l
}

#[test]
fn every_shared_table_has_the_same_columns_on_the_server_as_in_the_local_copy() {
    let server = started();
    let local = rusqlite::Connection::open_in_memory().unwrap();
    drop(local);
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("v.sqlite");
    drop(Store::open(&store_path).unwrap());
    let local = rusqlite::Connection::open(&store_path).unwrap();
    let mut pg = raw(&server);
    for t in SHARED_TABLES {
        let mut stmt =
            local.prepare(&format!("SELECT name FROM pragma_table_info('{}') ORDER BY cid", t.name)).unwrap();
        let mine: Vec<String> = stmt.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
        let theirs: Vec<String> = pg
            .query(
                // The server's own columns: the change number, and the login that wrote an audit entry.
                "SELECT column_name::text FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name = $1
                    AND column_name NOT IN ('change_seq', 'login')
                  ORDER BY ordinal_position",
                &[&t.name],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(mine, theirs, "table {}", t.name);
    }
}

#[test]
fn team_push_uploads_a_workspace_once_and_a_second_push_adds_nothing() {
    let server = started();
    let mut l = workspace(3, "P");
    let sam = act_as(&l.store, "sam");
    refunds::request(&mut l.store, &sam, &psp_refund("P-D-0", "300000"), Utc::now()).unwrap();
    let local_rows = l.store.shared_row_count().unwrap();
    let vault = MemoryVault::default();

    let first = team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &vault, "seed/admin").unwrap();
    assert_eq!(first.added, local_rows as u64);
    let on_server: i64 = first.tables.iter().map(|(_, n)| n).sum();
    assert_eq!(on_server, local_rows);
    let second = team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &vault, "seed/admin").unwrap();
    assert_eq!(second.added, 0);
    assert_eq!(second.tables, first.tables);
    assert_eq!(server_count(&server, "SELECT count(*) FROM orders"), 3);
    assert_eq!(server_count(&server, "SELECT count(*) FROM refunds"), 1);
    assert_eq!(vault.users(), vec![team::password_entry(&TeamStore::describe_url(&server.url()).unwrap())]);

    // Another desktop joins with a new file and holds the same rows; one audit chain.
    let mut b = desk(&server, "bogota/fabio");
    assert_eq!(b.store.shared_row_count().unwrap(), local_rows);
    assert_eq!(voucherdesk::audit::verify(&b.store).unwrap().first_broken, None);
    let report = team::verify_audit(&mut TeamStore::connect(&server.url(), Some(PG_PASSWORD), "a").unwrap()).unwrap();
    assert_eq!(report.first_broken, None);
    assert!(report.entries > 0);

    // A different workspace cannot be pushed over it, and nothing changes.
    let mut other = workspace(1, "Q");
    let err = team::push(&mut other.store, &server.url(), Some(PG_PASSWORD), &vault, "other/admin").unwrap_err();
    assert_eq!(err.code(), "team.refused");
    assert!(err.to_string().contains("was seeded from another workspace (by seed/admin at "), "{err}");
    assert_eq!(server_count(&server, "SELECT count(*) FROM orders"), 3);
    // Nor can a local workspace join as if it were a new copy.
    let err = other.store.attach_team(&server.url(), Some(PG_PASSWORD), "x").unwrap_err();
    assert!(err.to_string().contains("holds a local workspace; upload it with `voucherdesk team push`"), "{err}");
    // A team copy refuses a change made outside `write` (it would never reach the server).
    let sue = act_as(&b.store, "sue");
    let err = refunds::request(&mut b.store, &sue, &psp_refund("P-D-1", "1000"), Utc::now()).unwrap_err();
    assert_eq!(err.code(), "team.offline");
    b.store.write(|s| refunds::request(s, &sue, &psp_refund("P-D-1", "1000"), Utc::now())).unwrap();
    assert_eq!(server_count(&server, "SELECT count(*) FROM refunds"), 2);
}

/// Runs `f` on two desktops at once (a barrier lines them up): desk 0 and desk 1.
fn race<T: Send>(a: &mut Store, b: &mut Store, f: impl Fn(&mut Store, usize) -> T + Send + Sync) -> [T; 2] {
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        let (f, barrier) = (&f, &barrier);
        let ta = scope.spawn(move || {
            barrier.wait();
            f(a, 0)
        });
        let tb = scope.spawn(move || {
            barrier.wait();
            f(b, 1)
        });
        [ta.join().unwrap(), tb.join().unwrap()]
    })
}

#[test]
fn two_desktops_approving_the_same_refund_at_once_one_wins_and_the_other_is_told_who_and_when() {
    const ROUNDS: usize = 6;
    let server = started();
    let mut l = workspace(ROUNDS, "R");
    let sam = act_as(&l.store, "sam");
    let ids: Vec<i64> = (0..ROUNDS)
        .map(|i| refunds::request(&mut l.store, &sam, &psp_refund(&format!("R-D-{i}"), "300000"), Utc::now()).unwrap())
        .inspect(|r| assert_eq!((r.tier, r.status), (2, RefundStatus::PendingApproval)))
        .map(|r| r.id)
        .collect();
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "seed").unwrap();
    let mut a = desk(&server, "shenzhen/fabio");
    let mut b = desk(&server, "bogota/fiona");
    for id in ids.iter().copied() {
        let results = race(&mut a.store, &mut b.store, |store, desk| {
            let approver = ["fabio", "fiona"][desk];
            let op = act_as(store, approver);
            store
                .write(|s| refunds::approve(s, &op, id, Some("ok"), Utc::now()))
                .map(|r| (approver, r.status))
                .map_err(|e| (approver, e.code(), e.to_string()))
        });
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "refund {id}: {results:?}");
        assert_eq!(winners[0].1, RefundStatus::Approved);
        let (_, code, message) = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(*code, "refunds.already_decided");
        let prefix = format!("refund {id} is already approved by {} at ", winners[0].0);
        assert!(message.starts_with(&prefix) && message.ends_with(" UTC"), "{message}");
    }
    // One approval each on the server; both copies see the same; one audit chain.
    assert_eq!(server_count(&server, "SELECT count(*) FROM refund_approvals"), ROUNDS as i64);
    assert_eq!(server_count(&server, "SELECT count(*) FROM refunds WHERE status = 'approved'"), ROUNDS as i64);
    for d in [&mut a, &mut b] {
        d.store.team_pull().unwrap();
        assert_eq!(refunds::list(&d.store, Some(RefundStatus::Approved), 0, 100).unwrap().len(), ROUNDS);
        assert_eq!(voucherdesk::audit::verify(&d.store).unwrap().first_broken, None);
    }
    let report = team::verify_audit(&mut TeamStore::connect(&server.url(), Some(PG_PASSWORD), "a").unwrap()).unwrap();
    assert_eq!(report.first_broken, None);
}

/// A team seeded from a demo ledger of `orders` orders (imported and reconciled
/// by desk A in team mode), and a second desk B that joined.
struct DemoTeam {
    server: PgServer,
    files: voucherdesk::demo::DemoManifest,
    _files_dir: tempfile::TempDir,
    a: Desk,
    b: Desk,
}

fn demo_team(orders: u64) -> DemoTeam {
    use voucherdesk::reconcile::{ReconcileOptions, reconcile};
    let server = started();
    let files_dir = tempfile::tempdir().unwrap();
    let files = voucherdesk::demo::generate(files_dir.path(), orders, 7).unwrap();
    let mut a = desk(&server, "shenzhen/marta");
    a.store
        .write(|s| -> Result<(), voucherdesk::operators::OperatorError> {
            let admin = operators::add(s, None, "admin", Role::Admin, None)?;
            for (name, role) in [("marta", Role::Manager), ("lucia", Role::Manager), ("ana", Role::Support)] {
                operators::add(s, Some(&admin), name, role, None)?;
            }
            Ok(())
        })
        .unwrap();
    let admin = act_as(&a.store, "admin");
    for f in &files.files {
        let profile = built_in(f.profile).unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &admin };
        let outcome = a.store.write(|s| Ok::<_, StoreError>(import_file(s, &request))).unwrap().unwrap();
        assert!(matches!(outcome, ImportOutcome::Imported(_)), "{outcome}");
    }
    let options = ReconcileOptions {
        settlement_lag_days: files.settlement_lag_days,
        ..ReconcileOptions::on(files.as_of.parse().unwrap())
    };
    a.store.write(|s| reconcile(s, &options, &admin)).unwrap();
    let b = desk(&server, "bogota/lucia");
    DemoTeam { server, files, _files_dir: files_dir, a, b }
}

/// A manager's write-off of exception `id`.
fn write_off<'a>(id: &'a str, note: &'a str, by: &'a Operator) -> voucherdesk::exceptions::Resolution<'a> {
    use voucherdesk::exceptions::{Resolution, ResolutionAction};
    Resolution { exception_id: id, action: ResolutionAction::WriteOff, note, operator: by, link: None }
}

fn open_exception_ids(store: &Store) -> Vec<String> {
    let filter = voucherdesk::store::ExceptionFilter {
        status: Some(voucherdesk::exceptions::ExceptionStatus::Open),
        limit: 10_000,
        ..Default::default()
    };
    store.exceptions(&filter).unwrap().into_iter().map(|e| e.id).collect()
}

#[test]
fn a_demo_ledger_imported_and_reconciled_in_team_mode_is_the_same_on_both_desks_and_the_server() {
    let t = demo_team(300);
    let (a, b) = (t.a.store.counts().unwrap(), t.b.store.counts().unwrap());
    assert_eq!(a, b);
    assert_eq!(a.orders as u64, t.files.expected.orders);
    assert_eq!(server_count(&t.server, "SELECT count(*) FROM orders"), a.orders);
    assert_eq!(server_count(&t.server, "SELECT count(*) FROM exceptions WHERE status = 'open'"), a.open_exceptions);
    assert_eq!(open_exception_ids(&t.a.store), open_exception_ids(&t.b.store));
    // Lookups on desk B are served from its copy (the search index was filled by the pull).
    let order =
        t.a.store
            .exceptions(&voucherdesk::store::ExceptionFilter { limit: 1, ..Default::default() })
            .unwrap()
            .remove(0)
            .order_id;
    let hits = voucherdesk::lookup::lookup(&mut Store::open(&t.b.path).unwrap(), &order, None).unwrap();
    assert!(!hits.is_empty(), "{order}");
    let email = {
        let c = rusqlite::Connection::open(&t.b.path).unwrap();
        c.query_row("SELECT buyer_email FROM orders ORDER BY id LIMIT 1", [], |r| r.get::<_, String>(0)).unwrap()
    };
    let by_email = voucherdesk::lookup::lookup(&mut Store::open(&t.b.path).unwrap(), &email, None).unwrap();
    assert!(!by_email.is_empty(), "{email} (the search index of the copy)");
}

#[test]
fn two_desktops_resolving_the_same_exception_at_once_one_wins_and_the_other_is_told_who() {
    use voucherdesk::exceptions;
    let mut t = demo_team(300);
    let ids: Vec<String> = open_exception_ids(&t.a.store).into_iter().take(5).collect();
    assert_eq!(ids.len(), 5);
    for id in &ids {
        let results = race(&mut t.a.store, &mut t.b.store, |store, desk| {
            let name = ["marta", "lucia"][desk];
            let operator = act_as(store, name);
            let resolution = write_off(id, "cash counted twice at the counter", &operator);
            store
                .write(|s| exceptions::resolve(s, &resolution))
                .map(|e| e.resolved_by.unwrap_or_default())
                .map_err(|e| (e.code(), e.to_string()))
        });
        let winners: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{id}: {results:?}");
        let (code, message) = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert_eq!(*code, "exceptions.already_closed");
        let prefix = format!("exception {id} is already resolved (by {} at ", winners[0]);
        assert!(message.starts_with(&prefix) && message.ends_with(" UTC)"), "{message}");
    }
    let resolved_history = server_count(
        &t.server,
        "SELECT count(*) FROM exception_history WHERE note = 'cash counted twice at the counter'",
    );
    assert_eq!(resolved_history, 5);
    let report = team::verify_audit(&mut TeamStore::connect(&t.server.url(), Some(PG_PASSWORD), "x").unwrap()).unwrap();
    assert_eq!(report.first_broken, None);
}

#[test]
fn two_desktops_importing_the_same_file_at_once_import_it_once_and_the_other_is_told_by_whom() {
    let mut t = demo_team(200);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late-orders.csv");
    std::fs::write(
        &file,
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n\
         CO-LATE-1,Tienda,2026-03-10T10:00:00.000+0000,\"Pérez Gómez\",late1@example.com,+57 300 000 0001,1010,CO,90000,COP,pending_payment,dlocal,D-LATE-1,77001,2026-03-13T10:00:00.000+0000\n\
         CO-LATE-2,Tienda,2026-03-10T11:00:00.000+0000,\"Núñez\",late2@example.com,+57 300 000 0002,1011,CO,120000,COP,pending_payment,dlocal,D-LATE-2,77002,2026-03-13T11:00:00.000+0000\n",
    )
    .unwrap();
    let orders_before = server_count(&t.server, "SELECT count(*) FROM orders");
    let results = race(&mut t.a.store, &mut t.b.store, |store, desk| {
        let admin = act_as(store, ["admin", "admin"][desk]);
        let profile = built_in("shop").unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &file, operator: &admin };
        store.write(|s| Ok::<_, StoreError>(import_file(s, &request))).unwrap().unwrap().to_string()
    });
    let imported = results.iter().filter(|r| !r.contains("already imported")).count();
    assert_eq!(imported, 1, "{results:?}");
    let again = results.iter().find(|r| r.contains("already imported")).unwrap();
    assert!(again.contains("already imported as batch ") && again.ends_with(" by admin; nothing changed"), "{again}");
    assert_eq!(server_count(&t.server, "SELECT count(*) FROM orders"), orders_before + 2);
    assert_eq!(
        server_count(&t.server, "SELECT count(*) FROM import_batches WHERE file_name LIKE '%late-orders.csv'"),
        1
    );
}

#[test]
fn two_desktops_submitting_the_same_refund_at_once_reach_the_psp_once() {
    use voucherdesk::refunds::submission::{SubmitConfig, submit_and_follow};
    let psp = SandboxPsp::start("", 5_000);
    let payment_id = psp.paid_payment("CO-SUB-1", 5_000_000);
    let mut l = ledger();
    l.add(&[sale("CO-SUB-1", &payment_id, "CO", "50000")]);
    let sam = act_as(&l.store, "sam");
    let r = refunds::request(&mut l.store, &sam, &psp_refund(&payment_id, "20000"), Utc::now()).unwrap();
    assert_eq!(r.status, RefundStatus::Approved);
    let server = started();
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "seed").unwrap();
    let mut a = desk(&server, "shenzhen/sam");
    let mut b = desk(&server, "bogota/sue");
    let client = psp.client();
    let reports = race(&mut a.store, &mut b.store, |store, desk| {
        let op = act_as(store, ["sam", "sue"][desk]);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        store
            .write(|s| rt.block_on(submit_and_follow(s, &client, &op, &SubmitConfig::default(), Utc::now(), &|_| {})))
            .unwrap()
    });
    assert_eq!(reports.iter().map(|r| r.submitted + r.resent).sum::<u32>(), 1, "{reports:?}");
    let url = format!("{}/sandbox/stats", psp.url());
    let stats: serde_json::Value = psp.rt.block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
    assert_eq!((stats["refund_requests"].as_u64(), stats["refunds_created"].as_u64()), (Some(1), Some(1)));
    let row: (String, i32) = {
        let r = raw(&server).query_one("SELECT status, submit_attempts FROM refunds WHERE id = $1", &[&r.id]).unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(row.1, 1, "one attempt on the server ({row:?})");
    assert_ne!(row.0, "approved");
}

#[test]
fn with_the_server_stopped_a_desk_reads_its_copy_refuses_changes_and_catches_up_when_it_returns() {
    use voucherdesk::exceptions;
    let mut t = demo_team(200);
    let ids = open_exception_ids(&t.a.store);
    let open_before = ids.len();
    t.server.stop();
    // Lists and lookups still work from the copy; the banner's status says offline.
    assert_eq!(open_exception_ids(&t.a.store).len(), open_before);
    assert!(t.a.store.team_pull().is_err());
    let status = t.a.store.team_link_status().unwrap().unwrap();
    assert!(!status.online && status.reason.is_some(), "{status:?}");
    let marta = act_as(&t.a.store, "marta");
    let err = t.a.store.write(|s| exceptions::resolve(s, &write_off(&ids[0], "counted", &marta))).unwrap_err();
    assert_eq!(err.code(), "team.offline");
    assert!(err.to_string().contains("cannot be reached, so VoucherDesk is read-only"), "{err}");
    // Read-only work still runs through write_or_read_only; a change inside it is refused.
    let listed = t.a.store.write_or_read_only(|s| Ok::<_, StoreError>(open_exception_ids(s))).unwrap();
    assert_eq!(listed.len(), open_before);
    let err =
        t.a.store.write_or_read_only(|s| exceptions::resolve(s, &write_off(&ids[0], "counted", &marta))).unwrap_err();
    assert_eq!(err.code(), "team.offline");
    assert_eq!(open_exception_ids(&t.a.store).len(), open_before, "nothing changed locally");
    // The CLI on the same copy lists from it too, and says on stderr that it is the copy, as of which change.
    let out = assert_cmd::Command::cargo_bin("voucherdesk")
        .unwrap()
        .arg("--db")
        .arg(&t.a.path)
        .args(["exceptions", "list", "--json"])
        .env("VOUCHERDESK_TEAM_PASSWORD", PG_PASSWORD)
        .env_remove("VOUCHERDESK_DB")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), open_before);
    let offline_warning = format!("warning: the team server {} cannot be reached (", status.server);
    assert!(stderr.starts_with(&offline_warning), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "this is the desktop's copy as it was at change {}, and changes are refused",
            status.cursor
        )),
        "{stderr}"
    );

    // The server returns: B resolves one, A catches up and is online again.
    t.server.restart();
    let lucia = act_as(&t.b.store, "lucia");
    t.b.store.write(|s| exceptions::resolve(s, &write_off(&ids[1], "counted", &lucia))).unwrap();
    let pulled = t.a.store.team_pull().unwrap();
    assert!(pulled.rows >= 2, "{pulled:?}");
    assert!(t.a.store.team_link_status().unwrap().unwrap().online);
    assert_eq!(open_exception_ids(&t.a.store).len(), open_before - 1);
    assert!(!open_exception_ids(&t.a.store).contains(&ids[1]));
}

#[test]
fn a_pull_cut_short_leaves_the_copy_as_it_was_never_half_of_a_change() {
    use voucherdesk::exceptions;
    let mut t = demo_team(200);
    let id = open_exception_ids(&t.a.store)[0].clone();
    let history_before = exceptions::history(&t.b.store, &id).unwrap().len();
    let marta = act_as(&t.a.store, "marta");
    t.a.store.write(|s| exceptions::resolve(s, &write_off(&id, "counted at the till", &marta))).unwrap();
    // The change's rows are the exception, its history entry and an audit entry;
    // B's pull fails at the last shared table, after reading all of them.
    let last = SHARED_TABLES.last().unwrap().name;
    raw(&t.server).batch_execute(&format!("ALTER TABLE {last} RENAME TO {last}_away")).unwrap();
    let cursor_before = t.b.store.team_link_status().unwrap().unwrap().cursor;
    let err = t.b.store.team_pull().unwrap_err();
    assert!(err.to_string().contains(&format!("\"{last}\" does not exist")), "{err}");
    assert!(open_exception_ids(&t.b.store).contains(&id), "the exception stays open on B's copy");
    assert_eq!(exceptions::history(&t.b.store, &id).unwrap().len(), history_before);
    assert_eq!(t.b.store.team_link_status().unwrap().unwrap().cursor, cursor_before);
    // The next pull takes the whole change.
    raw(&t.server).batch_execute(&format!("ALTER TABLE {last}_away RENAME TO {last}")).unwrap();
    t.b.store.team_pull().unwrap();
    assert!(!open_exception_ids(&t.b.store).contains(&id));
    let history = exceptions::history(&t.b.store, &id).unwrap();
    assert_eq!(history.len(), history_before + 1);
    assert_eq!(history.last().unwrap().note, "counted at the till");
}

#[test]
fn a_change_whose_upload_never_committed_is_put_back_from_the_server() {
    use voucherdesk::exceptions;
    let mut t = demo_team(200);
    let id = open_exception_ids(&t.a.store)[0].clone();
    let marta = act_as(&t.a.store, "marta");
    // The server goes away after the rule ran on the copy and before the upload.
    let server = &t.server;
    let err =
        t.a.store
            .write(|s| {
                let done = exceptions::resolve(s, &write_off(&id, "lost on the way", &marta));
                server.stop();
                done
            })
            .unwrap_err();
    assert_eq!(err.code(), "team.offline", "{err}");
    // Locally the rule's change is there for now, but it never reached the team.
    assert!(!open_exception_ids(&t.a.store).contains(&id));
    t.server.restart();
    t.a.store.team_pull().unwrap();
    assert!(open_exception_ids(&t.a.store).contains(&id), "put back as the server has it");
    assert_eq!(server_count(&t.server, "SELECT count(*) FROM exception_history WHERE note = 'lost on the way'"), 0);
    assert_eq!(voucherdesk::audit::verify(&t.a.store).unwrap().first_broken, None);
}

#[test]
fn a_copy_catches_up_on_100000_changed_rows_then_pulls_only_what_changed_and_a_listener_is_woken() {
    let server = started();
    let mut listener = TeamStore::connect(&server.url(), Some(PG_PASSWORD), "listener").unwrap();
    listener.listen_for_changes().unwrap();
    let mut b = desk(&server, "bogota/lucia");
    // Another desktop's upload, as the server holds it: 100,000 open exceptions.
    let mut pg = raw(&server);
    pg.batch_execute(
        "SELECT pg_advisory_lock(8530943594146562052);
         INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, settlement, country, store, amount_minor,
                                currency, facts, detail, detected_at, updated_at, last_run, change_seq)
         SELECT 'x-' || g, 'not_settled', 'open', 'CO-' || g, 'dlocal', 'D-' || g, NULL, 'CO', 'tienda', 125000000 + g,
                'COP', '{}', 'paid, not in any settlement', 1773000000 + g, 1773000000 + g, 1,
                nextval('voucherdesk_change_seq')
           FROM generate_series(1, 100000) AS g;
         SELECT pg_notify('voucherdesk_changes', '');
         SELECT pg_advisory_unlock(8530943594146562052);",
    )
    .unwrap();
    assert!(listener.wait_for_change(std::time::Duration::from_secs(10)).unwrap());
    let started = std::time::Instant::now();
    let first = b.store.team_pull().unwrap();
    // The figure docs/BENCHMARKS.md quotes (run with --release --nocapture); not a timed assertion.
    eprintln!("caught up on {} changed rows in {} ms", first.rows, started.elapsed().as_millis());
    assert_eq!((first.rows, first.cursor), (100_000, 100_000));
    assert_eq!(b.store.counts().unwrap().open_exceptions, 100_000);
    assert_eq!(b.store.team_pull().unwrap().rows, 0);
    pg.batch_execute(
        "UPDATE exceptions SET status = 'resolved', change_seq = nextval('voucherdesk_change_seq')
          WHERE id IN ('x-1', 'x-2', 'x-3', 'x-4', 'x-5', 'x-6', 'x-7')",
    )
    .unwrap();
    let second = b.store.team_pull().unwrap();
    assert_eq!((second.rows, second.cursor), (7, 100_007));
    assert_eq!(b.store.counts().unwrap().open_exceptions, 99_993);
}

#[test]
fn the_psp_sync_and_the_outbox_run_on_one_desk_at_a_time() {
    use team::LeaseName;
    let server = started();
    let mut a = desk(&server, "shenzhen/ana");
    let mut b = desk(&server, "bogota/fabio");
    for lease in LeaseName::ALL {
        assert_eq!(team::claim_round(&mut a.store, lease, "shenzhen/ana").unwrap(), None);
        assert_eq!(team::claim_round(&mut b.store, lease, "bogota/fabio").unwrap().as_deref(), Some("shenzhen/ana"));
        assert_eq!(team::claim_round(&mut a.store, lease, "shenzhen/ana").unwrap(), None, "renewed");
    }
    // A local workspace has no lease to take.
    let dir = tempfile::tempdir().unwrap();
    let mut local = Store::open(&dir.path().join("local.sqlite")).unwrap();
    assert_eq!(team::claim_round(&mut local, LeaseName::PspSync, "me").unwrap(), None);
}

#[test]
fn a_change_the_server_refuses_is_undone_on_the_copy_at_once() {
    let server = started();
    let mut l = workspace(1, "U");
    let sam = act_as(&l.store, "sam");
    let r = refunds::request(&mut l.store, &sam, &psp_refund("U-D-0", "300000"), Utc::now()).unwrap();
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "seed").unwrap();
    let mut a = desk(&server, "bogota/fabio");
    // The server turns approvals away (as a constraint would).
    raw(&server)
        .batch_execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'approvals are frozen for the audit'; END $$;
             CREATE TRIGGER frozen BEFORE INSERT ON refund_approvals FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .unwrap();
    let fabio = act_as(&a.store, "fabio");
    let err = a.store.write(|s| refunds::approve(s, &fabio, r.id, None, Utc::now())).unwrap_err();
    assert_eq!(err.code(), "team.sql");
    assert!(err.to_string().contains("approvals are frozen for the audit"), "{err}");
    // Nothing of it stays, on the server or in the copy.
    assert_eq!(refunds::show(&a.store, r.id).unwrap().status, RefundStatus::PendingApproval);
    assert!(refunds::show(&a.store, r.id).unwrap().approvals.is_empty());
    assert_eq!(server_count(&server, "SELECT count(*) FROM refund_approvals"), 0);
    assert_eq!(voucherdesk::audit::verify(&a.store).unwrap().first_broken, None);
}

#[test]
fn operators_are_team_wide_and_maker_checker_holds_across_desks() {
    let server = started();
    let mut l = workspace(1, "M");
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "seed").unwrap();
    let mut a = desk(&server, "shenzhen/admin");
    let mut b = desk(&server, "bogota/fabio");
    // An operator added on one desk signs in on the other.
    let admin = act_as(&a.store, "admin");
    a.store.write(|s| operators::add(s, Some(&admin), "nina", Role::Finance, Some("correct horse battery"))).unwrap();
    let nina = b.store.write(|s| operators::sign_in(s, "nina", "correct horse battery")).unwrap();
    assert_eq!(nina.role, Role::Finance);
    // fabio requests a refund on desk B; at desk A he still cannot approve it himself.
    let fabio = act_as(&b.store, "fabio");
    let r = b.store.write(|s| refunds::request(s, &fabio, &psp_refund("M-D-0", "300000"), Utc::now())).unwrap();
    let fabio_at_a = act_as(&a.store, "fabio");
    let err = a.store.write(|s| refunds::approve(s, &fabio_at_a, r.id, None, Utc::now())).unwrap_err();
    assert_eq!(err.code(), "refunds.self_approval");
    // nina is disabled at desk A: desk B refuses her from its next change on.
    a.store.write(|s| operators::disable(s, &admin, "nina")).unwrap();
    let err = b.store.write(|s| operators::sign_in(s, "nina", "correct horse battery")).unwrap_err();
    assert_eq!(err.code(), "auth.denied", "{err}");
    assert_eq!(server_count(&server, "SELECT count(*) FROM operators WHERE name = 'nina' AND disabled"), 1);
}

#[test]
fn exchange_and_fee_rates_set_on_one_desk_are_the_rates_of_every_desk() {
    use voucherdesk::credentials::{self, AccountSecrets, PspKind};
    let server = started();
    let mut l = workspace(1, "R");
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "seed").unwrap();
    let mut a = desk(&server, "shenzhen/admin");
    let mut b = desk(&server, "bogota/fabio");
    let admin = act_as(&a.store, "admin");
    let at = Utc::now();
    a.store.write(|s| voucherdesk::fx::add(s, &admin, "USD/COP", "2026-03-04", "4125.5", Some("banrep"), at)).unwrap();
    let secrets = AccountSecrets::parse_json(
        PspKind::Dlocal,
        r#"{"login":"test-login","trans_key":"test-trans-key","secret":"test-secret"}"#,
    )
    .unwrap();
    let vault = MemoryVault::default();
    a.store
        .write(|s| credentials::add(s, &vault, &admin, "dlocal-co", "https://sandbox.dlocal.com", &secrets))
        .unwrap();
    a.store.write(|s| credentials::set_fee_rate(s, &admin, "dlocal-co", Some(300))).unwrap();
    assert_eq!(server_count(&server, "SELECT count(*) FROM fx_rates"), 1);
    assert_eq!(server_count(&server, "SELECT fee_bps FROM psp_fee_rates WHERE account = 'dlocal-co'"), 300);

    b.store.team_pull().unwrap();
    let rates = voucherdesk::fx::list(&b.store, Some("USD/COP"), 10).unwrap();
    assert_eq!(rates.len(), 1, "{rates:?}");
    assert_eq!(rates[0].rate.to_string(), "4125.5");
    assert_eq!(credentials::fee_rate(&b.store, "dlocal-co").unwrap(), Some(300));
    // A change of the fee on desk B reaches desk A.
    let admin_b = act_as(&b.store, "admin");
    b.store.write(|s| credentials::set_fee_rate(s, &admin_b, "dlocal-co", Some(290))).unwrap();
    a.store.team_pull().unwrap();
    assert_eq!(credentials::fee_rate(&a.store, "dlocal-co").unwrap(), Some(290));
}

/// The settlement lag desk `store`'s settings hold.
fn lag_days(store: &Store) -> i64 {
    voucherdesk::settings::get(store).unwrap().settlement_lag_days
}

/// A team with one desk and its admin, and a demo's files (300 orders) not imported yet.
struct RunSetup {
    server: PgServer,
    _files_dir: tempfile::TempDir,
    files: voucherdesk::demo::DemoManifest,
    a: Desk,
}

fn run_setup(seed: u64) -> RunSetup {
    let server = started();
    let files_dir = tempfile::tempdir().unwrap();
    let files = voucherdesk::demo::generate(files_dir.path(), 300, seed).unwrap();
    let mut a = desk(&server, "shenzhen/marta");
    a.store.write(|s| operators::add(s, None, "admin", Role::Admin, None)).unwrap();
    RunSetup { server, _files_dir: files_dir, files, a }
}

#[test]
fn a_run_of_changes_uploads_each_beside_the_next_and_the_team_ends_as_the_run_left_the_copy() {
    use voucherdesk::settings::{self, Settings};
    let RunSetup { server, _files_dir, files, mut a } = run_setup(11);
    let admin = act_as(&a.store, "admin");
    let set_lag = |s: &mut Store, days: i64| {
        let now = settings::get(s)?;
        settings::set(s, &admin, &Settings { settlement_lag_days: days, ..now })
    };
    let ran = a
        .store
        .write_run(|s| -> Result<(), Box<dyn std::error::Error>> {
            // Two changes in a row to one row: the second is made while the
            // first is on its way up, and must reach the server too.
            s.write(|s| set_lag(s, 3))?;
            s.write(|s| set_lag(s, 5))?;
            for f in &files.files {
                let profile = built_in(f.profile).unwrap();
                let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &admin };
                let outcome = s.write(|s| Ok::<_, StoreError>(import_file(s, &request)))??;
                assert!(matches!(outcome, ImportOutcome::Imported(_)), "{outcome}");
            }
            Ok(())
        })
        .unwrap();
    ran.unwrap();
    let on_server: String =
        raw(&server).query_one("SELECT value FROM settings WHERE key = 'settings'", &[]).unwrap().get(0);
    assert_eq!(serde_json::from_str::<Settings>(&on_server).unwrap().settlement_lag_days, 5, "{on_server}");
    let counts = a.store.counts().unwrap();
    assert_eq!(counts.orders as u64, files.expected.orders);
    assert_eq!(server_count(&server, "SELECT count(*) FROM orders"), counts.orders);
    assert_eq!(server_count(&server, "SELECT count(*) FROM payments"), counts.payments);
    assert_eq!(server_count(&server, "SELECT count(*) FROM settlements"), counts.settlements);
    assert_eq!(server_count(&server, "SELECT count(*) FROM import_batches"), files.files.len() as i64);
    // Nothing waits for upload, and the copy's cursor is the server's last change.
    let copy = rusqlite::Connection::open(&a.path).unwrap();
    let left: i64 = copy
        .query_row("SELECT (SELECT count(*) FROM team_pending) + (SELECT count(*) FROM store_meta WHERE key = 'team_watermarks')", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(a.store.team_cursor().unwrap(), server_count(&server, "SELECT last_value FROM voucherdesk_change_seq"));
    // A second desk pulls the same ledger, and may write at once: the run let the lock go.
    let mut b = desk(&server, "bogota/lucia");
    assert_eq!(b.store.counts().unwrap(), counts);
    assert_eq!(lag_days(&b.store), 5);
    let admin_b = act_as(&b.store, "admin");
    b.store.write(|s| settings::set(s, &admin_b, &Settings { settlement_lag_days: 6, ..settings::get(s)? })).unwrap();
    a.store.team_pull().unwrap();
    assert_eq!(lag_days(&a.store), 6);
    assert_eq!(voucherdesk::audit::verify(&a.store).unwrap().first_broken, None);
    assert_eq!(voucherdesk::audit::verify(&b.store).unwrap().first_broken, None);
}

/// The one team copy (`team-….sqlite`) a desktop keeps below `data_home`.
fn team_copy_under(data_home: &std::path::Path) -> PathBuf {
    let mut found = Vec::new();
    let mut dirs = vec![data_home.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() {
                dirs.push(path);
            } else if name.starts_with("team-") && name.ends_with(".sqlite") {
                found.push(path);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.remove(0)
}

/// `voucherdesk` on the team copy `--db postgres://…` keeps under `data_home`.
fn team_cli(server: &PgServer, data_home: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = assert_cmd::Command::cargo_bin("voucherdesk")
        .unwrap()
        .arg("--db")
        .arg(server.url())
        .args(args)
        .env("XDG_DATA_HOME", data_home)
        .env("VOUCHERDESK_TEAM_PASSWORD", PG_PASSWORD)
        .env("VOUCHERDESK_OPERATOR", "admin")
        .env_remove("VOUCHERDESK_DB")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn import_auto_on_a_team_reports_a_file_once_the_team_has_it_and_a_refused_upload_takes_the_next_file_back_too() {
    let server = started();
    let files_dir = tempfile::tempdir().unwrap();
    let files = voucherdesk::demo::generate(files_dir.path(), 200, 5).unwrap();
    let home = tempfile::tempdir().unwrap();
    let (code, _, stderr) = team_cli(&server, home.path(), &["operators", "add", "admin", "--role", "admin"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The server turns dLocal's settlement rows away. `import auto` takes the
    // settlement reports last, dLocal's (the larger) first: its upload fails
    // while PagoEfectivo's report is written on the copy.
    raw(&server)
        .batch_execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN IF NEW.psp = 'dlocal' THEN RAISE EXCEPTION 'dLocal settlements are frozen'; END IF; RETURN NEW; END $$;
             CREATE TRIGGER frozen BEFORE INSERT ON settlements FOR EACH ROW EXECUTE FUNCTION refuse();",
        )
        .unwrap();
    let paths: Vec<String> = files.files.iter().map(|f| f.path.display().to_string()).collect();
    let mut args = vec!["import", "auto"];
    args.extend(paths.iter().map(String::as_str));
    let (code, stdout, stderr) = team_cli(&server, home.path(), &args);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("dLocal settlements are frozen"), "{stderr}");
    let reported: Vec<&str> = stdout.lines().collect();
    assert_eq!(reported.len(), 5, "{stdout}");
    assert!(reported.iter().all(|l| l.contains(": imported ") && !l.contains("settlement")), "{stdout}");
    // The server and the copy hold the same five files, and no settlement row.
    assert_eq!(server_count(&server, "SELECT count(*) FROM import_batches"), 5);
    assert_eq!(server_count(&server, "SELECT count(*) FROM settlements"), 0);
    let copy = rusqlite::Connection::open(team_copy_under(home.path())).unwrap();
    let local = |sql: &str| copy.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(local("SELECT count(*) FROM import_batches"), 5);
    assert_eq!(local("SELECT count(*) FROM settlements"), 0);
    assert_eq!(local("SELECT count(*) FROM orders"), server_count(&server, "SELECT count(*) FROM orders"));
    assert_eq!(local("SELECT count(*) FROM payments"), server_count(&server, "SELECT count(*) FROM payments"));
    assert_eq!(local("SELECT count(*) FROM team_pending"), 0);
    // Once the server takes them, the same call brings in the two reports only.
    raw(&server).batch_execute("DROP TRIGGER frozen ON settlements").unwrap();
    let (code, stdout, stderr) = team_cli(&server, home.path(), &args);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.contains(": imported ")).count(), 2, "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.contains("already imported")).count(), 5, "{stdout}");
    assert_eq!(server_count(&server, "SELECT count(*) FROM settlements") as u64, files.expected.settlements);
    assert_eq!(local("SELECT count(*) FROM settlements"), server_count(&server, "SELECT count(*) FROM settlements"));
}

#[test]
fn a_server_lost_in_the_middle_of_a_run_leaves_the_copy_as_the_server_has_it_once_it_returns() {
    let RunSetup { server, _files_dir, files, mut a } = run_setup(13);
    let admin = act_as(&a.store, "admin");
    let import = |s: &mut Store, i: usize| {
        let f = &files.files[i];
        let profile = built_in(f.profile).unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &admin };
        import_file(s, &request)
    };
    // The first file's upload may or may not be in when the server goes; the
    // second file is written on the copy and never reaches it.
    let ran = a.store.write_run(|s| -> Result<(), StoreError> {
        s.write(|s| Ok::<_, StoreError>(import(s, 0)))?.unwrap();
        s.write(|s| {
            let done = import(s, 1);
            server.stop();
            Ok::<_, StoreError>(done)
        })?
        .unwrap();
        Ok(())
    });
    let err = match ran {
        Ok(Ok(())) => panic!("a run whose server stopped cannot succeed"),
        Ok(Err(e)) | Err(e) => e,
    };
    assert_eq!(err.code(), "team.offline", "{err}");
    server.restart();
    a.store.team_pull().unwrap();
    let on_server = server_count(&server, "SELECT count(*) FROM import_batches");
    assert!(on_server <= 1, "{on_server}");
    let counts = a.store.counts().unwrap();
    assert_eq!(counts.orders, server_count(&server, "SELECT count(*) FROM orders"));
    let copy = rusqlite::Connection::open(&a.path).unwrap();
    let local = |sql: &str| copy.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(local("SELECT count(*) FROM import_batches"), on_server);
    assert_eq!(local("SELECT count(*) FROM team_pending"), 0);
    assert_eq!(voucherdesk::audit::verify(&a.store).unwrap().first_broken, None);
    // The run let the lock go with its connection: the copy writes again.
    let outcome = a.store.write(|s| Ok::<_, StoreError>(import(s, 1))).unwrap().unwrap();
    assert!(matches!(outcome, ImportOutcome::Imported(_)), "{outcome}");
    assert_eq!(server_count(&server, "SELECT count(*) FROM import_batches"), on_server + 1);
}
