//! Team mode as desktops meet it, against a REAL PostgreSQL server on
//! loopback (tests/team_support): each desktop is its own SQLite copy and its
//! own connection, changing the team's state with the domain's own rules
//! (`Store::write`). Two desktops racing the same approval, resolution,
//! import or refund submission: exactly one wins, the other is told who and
//! when. `team push` twice adds nothing. A stopped server leaves the copies
//! readable and refuses changes; they catch up when it returns.

mod refund_support;
mod team_support;

use chrono::Utc;
use refund_support::{Ledger, SandboxPsp, ledger, psp_refund, sale};
use std::path::PathBuf;
use std::sync::Barrier;
use team_support::{PG_PASSWORD, PgServer};
use voucherdesk::credentials::MemoryVault;
use voucherdesk::import::profile::built_in;
use voucherdesk::import::{ImportOutcome, ImportRequest, import_file};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::refunds::{self, RefundStatus};
use voucherdesk::store::team::TeamStore;
use voucherdesk::store::{SHARED_TABLES, Store};
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
                "SELECT column_name::text FROM information_schema.columns
                  WHERE table_schema = 'public' AND table_name = $1 AND column_name <> 'change_seq'
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
    assert_eq!((first.inserted, first.updated), (local_rows as u64, 0));
    let on_server: i64 = first.tables.iter().map(|(_, n)| n).sum();
    assert_eq!(on_server, local_rows);
    let second = team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &vault, "seed/admin").unwrap();
    assert_eq!((second.inserted, second.updated), (0, 0));
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
