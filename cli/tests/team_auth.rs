//! Team mode enforced by the server, against a REAL PostgreSQL server on
//! loopback (tests/support/team.rs). Each operator connects with their own
//! login; the logins read every table and write none but by adding new
//! ledger rows under the write lock (migration 0011), and every change
//! passes the team schema's checks of the caller's role and of maker-checker
//! (migration 0006). Each attack runs as an operator's login, through the
//! CLI, the library or plain SQL, and must be refused and leave the server's
//! tables exactly as they were.

use crate::support;

use assert_cmd::Command;
use chrono::Utc;
use std::path::{Path, PathBuf};
use support::refunds::{Ledger, ledger, psp_refund, sale};
use support::team::{PG_PASSWORD, PgServer};
use voucherdesk::credentials::MemoryVault;
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::refunds::{self, RefundStatus};
use voucherdesk::store::team::{Cell, TeamStore};
use voucherdesk::store::{SHARED_TABLES, Store};
use voucherdesk::team;

/// Each test operator's own team password.
fn pw(name: &str) -> String {
    format!("{name}-team-password")
}

/// A team seeded (by the server's owner) from a workspace with the refund
/// tests' operators and three paid 500,000 COP sales, where sam (support) asked
/// for refund 1 and fabio (finance) for refund 2 (300,000 each: tier 2, a
/// finance approval needed); then every operator gets their own login.
fn team() -> PgServer {
    let server = PgServer::start();
    let mut owner = TeamStore::connect(&server.url(), Some(PG_PASSWORD), "test/owner").unwrap();
    team::init(&mut owner).unwrap();
    let mut l: Ledger = ledger();
    l.add(&[
        sale("A-CO-0", "A-D-0", "CO", "500000"),
        sale("A-CO-1", "A-D-1", "CO", "500000"),
        sale("A-CO-2", "A-D-2", "CO", "500000"),
    ]);
    for (who, payment) in [("sam", "A-D-0"), ("fabio", "A-D-1")] {
        let op = operators::act_as(&l.store, who).unwrap();
        let r = refunds::request(&mut l.store, &op, &psp_refund(payment, "300000"), Utc::now()).unwrap();
        assert_eq!((r.tier, r.status), (2, RefundStatus::PendingApproval));
    }
    team::push(&mut l.store, &server.url(), Some(PG_PASSWORD), &MemoryVault::default(), "test/seed").unwrap();
    for name in ["admin", "ana", "luis", "fabio", "fiona", "sam", "sue"] {
        assert_eq!(owner.set_login(name, &pw(name)).unwrap(), name);
    }
    server
}

fn url_of(server: &PgServer, login: &str) -> String {
    format!("postgres://{login}@127.0.0.1:{}/postgres", server.port)
}

/// Plain SQL as `login`, the way `psql` would connect.
fn psql(server: &PgServer, login: &str) -> postgres::Client {
    let url = format!("postgres://{login}:{}@127.0.0.1:{}/postgres", pw(login), server.port);
    postgres::Client::connect(&url, postgres::NoTls).unwrap()
}

fn owner_sql(server: &PgServer) -> postgres::Client {
    postgres::Client::connect(&server.url_with_password(), postgres::NoTls).unwrap()
}

/// Every shared table's rows (and the deletions and leases), as one text per
/// table: equal before and after means nothing changed.
fn fingerprint(server: &PgServer) -> Vec<(String, i64, String)> {
    let mut pg = owner_sql(server);
    let mut tables: Vec<&str> = SHARED_TABLES.iter().map(|t| t.name).collect();
    tables.extend(["deletions", "leases", "team_origin"]);
    tables
        .iter()
        .map(|t| {
            let row = pg
                .query_one(
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {t} x"
                    ),
                    &[],
                )
                .unwrap();
            (t.to_string(), row.get(0), row.get(1))
        })
        .collect()
}

fn refused(result: Result<impl std::fmt::Debug, postgres::Error>, what: &str) -> String {
    let err = result.expect_err(what);
    let db = err.as_db_error().unwrap_or_else(|| panic!("{what}: not the server's refusal: {err}"));
    assert_eq!(db.code(), &postgres::error::SqlState::INSUFFICIENT_PRIVILEGE, "{what}: {}", db.message());
    db.message().to_string()
}

/// Stages `table`'s rows matching `filter` with some columns replaced, then
/// asks the server to upload them, as a crafted client would: under the write
/// lock, in one transaction, committed. Returns the server's answer.
fn crafted_upload(
    pg: &mut postgres::Client,
    table: &str,
    filter: &str,
    replace: &[(&str, &str)],
    mode: &str,
) -> Result<(), postgres::Error> {
    pg.execute("SELECT pg_advisory_lock($1::bigint)", &[&voucherdesk::store::team::TEAM_WRITE_LOCK_KEY])?;
    let cols: Vec<String> = pg.query_one("SELECT voucherdesk_shared_columns($1)", &[&table])?.get(0);
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| replace.iter().find(|(name, _)| name == c).map(|(_, v)| v.to_string()).unwrap_or(c.clone()))
        .collect();
    // A login reads operators through the view that hides others' password hashes.
    let source = if table == "operators" { "operators_seen" } else { table };
    let result = (|| {
        let mut tx = pg.transaction()?;
        tx.execute("SELECT voucherdesk_stage($1)", &[&table])?;
        tx.execute(
            &format!("INSERT INTO pg_temp.stage_{table} SELECT {} FROM {source} WHERE {filter}", exprs.join(", ")),
            &[],
        )?;
        tx.query_one("SELECT voucherdesk_upload($1, $2)", &[&table, &mode])?;
        tx.commit()
    })();
    pg.execute("SELECT pg_advisory_unlock($1::bigint)", &[&voucherdesk::store::team::TEAM_WRITE_LOCK_KEY])?;
    result
}

/// Stages one approval of `refund` and uploads it, as a crafted client would.
fn stage_approval(
    pg: &mut postgres::Client,
    id: i64,
    refund: i64,
    operator: &str,
    role: &str,
) -> Result<(), postgres::Error> {
    let lock = voucherdesk::store::team::TEAM_WRITE_LOCK_KEY;
    pg.execute("SELECT pg_advisory_lock($1::bigint)", &[&lock])?;
    let result = (|| {
        let mut tx = pg.transaction()?;
        tx.execute("SELECT voucherdesk_stage('refund_approvals')", &[])?;
        tx.execute(
            "INSERT INTO pg_temp.stage_refund_approvals(id, refund, operator, role, decision, comment, at, tier, amount_minor)
             VALUES ($1, $2, $3, $4, 'approve', '', 0, 2, 300000)",
            &[&id, &refund, &operator, &role],
        )?;
        tx.query_one("SELECT voucherdesk_upload('refund_approvals', 'new')", &[])?;
        tx.commit()
    })();
    pg.execute("SELECT pg_advisory_unlock($1::bigint)", &[&lock])?;
    result
}

#[test]
fn psql_level_writes_as_every_role_are_refused_and_change_nothing() {
    let server = team();
    let before = fingerprint(&server);
    for login in ["sam", "fabio", "ana", "admin"] {
        let mut pg = psql(&server, login);
        for sql in [
            "UPDATE refunds SET status = 'approved'",
            "UPDATE operators SET role = 'admin'",
            "INSERT INTO operators(name, role, created_at, created_by) VALUES ('felipe', 'admin', 0, 'x')",
            "DELETE FROM audit_log",
            "DELETE FROM refund_approvals",
            "TRUNCATE refunds",
            "TRUNCATE audit_log",
            "INSERT INTO refund_approvals(refund, operator, role, decision, comment, at, tier, amount_minor)
             VALUES (1, 'fiona', 'finance', 'approve', '', 0, 2, 300000)",
            "UPDATE leases SET holder = 'x'",
            "INSERT INTO deletions(change_seq, tbl, key) VALUES (999999, 'refunds', '1')",
        ] {
            refused(pg.batch_execute(sql), &format!("{login}: {sql}"));
        }
        // The upload function needs the write lock: without it, nothing.
        let message = refused(pg.query_one("SELECT voucherdesk_upload('refunds', 'change')", &[]), login);
        assert_eq!(message, "an upload needs the team's write lock");
    }

    // Through the server's own upload function, as a crafted client would.
    let mut sam = psql(&server, "sam");
    let message = refused(
        crafted_upload(&mut sam, "operators", "name = 'sam'", &[("role", "'admin'")], "change"),
        "support makes itself admin",
    );
    assert_eq!(message, "sam (support) may not manage operators");
    let message = refused(
        crafted_upload(&mut sam, "operators", "name = 'admin'", &[("id", "99"), ("name", "'felipe'")], "new"),
        "support adds an operator",
    );
    assert_eq!(message, "sam (support) may not manage operators");
    let message = refused(
        crafted_upload(&mut sam, "refunds", "id = 1", &[("status", "'approved'")], "change"),
        "support approves a refund by its status",
    );
    assert_eq!(message, "refund 1 cannot be approved without the approval of finance");
    let message = refused(
        crafted_upload(&mut sam, "refunds", "id = 1", &[("tier", "1"), ("status", "'approved'")], "change"),
        "support lowers its refund to tier 1 and approves it",
    );
    assert_eq!(message, "refund 1: 30000000 COP needs tier 2 (filed as tier 1)");
    let message = refused(
        crafted_upload(
            &mut sam,
            "refunds",
            "id = 1",
            &[("id", "77"), ("idempotency_key", "'crafted-77'"), ("tier", "1")],
            "new",
        ),
        "support files a new 300,000 COP refund as tier 1",
    );
    assert_eq!(message, "refund 77: 30000000 COP needs tier 2 (filed as tier 1)");
    let message = refused(
        crafted_upload(&mut sam, "refunds", "id = 1", &[("status", "'submitted'")], "change"),
        "support skips the approval by moving its refund to submitted, where the next round would send it",
    );
    assert_eq!(message, "refund 1 cannot be approved without the approval of finance");
    let message = refused(
        crafted_upload(
            &mut sam,
            "refunds",
            "id = 1",
            &[("method", "'bank_transfer'"), ("status", "'succeeded'"), ("psp_refund_id", "'BANK-1'")],
            "change",
        ),
        "support records a bank transfer itself",
    );
    assert_eq!(message, "sam (support) may not record bank transfers");
    // Approval rows need an approving role, the caller's own name, and not the requester.
    let message = refused(stage_approval(&mut sam, 50, 2, "sam", "support"), "support approves");
    assert_eq!(message, "sam (support) may not approve refunds");
    let message = refused(stage_approval(&mut sam, 51, 2, "fiona", "finance"), "support as fiona");
    assert_eq!(message, "sam (support) may not decide on refunds as fiona");
    // Maker = checker: fabio asked for refund 2 and may not approve it.
    let mut fabio = psql(&server, "fabio");
    let message = refused(stage_approval(&mut fabio, 52, 2, "fabio", "finance"), "maker = checker");
    assert_eq!(message, "refund 2: fabio requested it and may not decide on it too");
    // An audit entry in someone else's name.
    let message = refused(
        crafted_upload(
            &mut fabio,
            "audit_log",
            "id = (SELECT max(id) FROM audit_log)",
            &[
                ("id", "(SELECT max(id) + 1 FROM audit_log)"),
                ("operator", "'fiona'"),
                ("prev_hash", "'forged-prev'"),
                ("hash", "'forged'"),
            ],
            "new",
        ),
        "an audit entry as fiona",
    );
    assert_eq!(message, "fabio (finance) may not write audit entries as fiona");
    // Settings are an admin's; so is a manager's own role.
    let mut ana = psql(&server, "ana");
    let message = refused(
        crafted_upload(&mut ana, "operators", "name = 'ana'", &[("role", "'admin'")], "change"),
        "a manager makes herself admin",
    );
    assert_eq!(message, "ana (manager) may not manage operators");
    // Logins are an admin's to give: sam may not re-key fabio's.
    let message = refused(
        sam.query_one("SELECT voucherdesk_set_login('fabio', 'SCRAM-SHA-256$4096:AAAA$BBBB:CCCC')", &[]),
        "support re-keys finance",
    );
    assert_eq!(message, "sam (support) may not manage operators");

    assert_eq!(fingerprint(&server), before, "a refused attack changed the server");
}

/// `rows` (COPY's text format) into `table (columns)`, as `psql \copy` would.
fn copy_in(pg: &mut postgres::Client, table: &str, columns: &str, rows: &str) -> Result<u64, postgres::Error> {
    use std::io::Write;
    let mut writer = pg.copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))?;
    writer.write_all(rows.as_bytes()).expect("a COPY buffers its rows");
    writer.finish()
}

const ORDER_COLUMNS: &str = "id, order_id, store, created_at, buyer_name, buyer_email, buyer_phone, buyer_document, \
    country, amount_minor, currency, status, psp, psp_payment_id, voucher_code, voucher_expires_at, batch_id, line, \
    raw_offset, raw_len";
const HISTORY_COLUMNS: &str =
    "id, payment, status, psp_status, status_at, observed_at, source, batch_id, line, raw_offset, raw_len, raw_text";

/// An order row for ORDER_COLUMNS.
fn order_row(id: i64) -> String {
    format!(
        "{id}\tX-CO-{id}\tshop\t1764000000\tAna Pérez\tana@example.com\t3001234567\t1020304050\tCO\t5000000\tCOP\t\
         pending_payment\tdlocal\tX-D-{id}\t{id}77\t\\N\t1\t{id}\t0\t10\n"
    )
}

/// New ledger rows go straight into their tables by COPY (team schema 11),
/// the way an import's upload sends them: only under the write lock, each
/// row numbered by the server (never by the caller), a status history row
/// only for a payment the server has, each COPY logged under the login, and
/// nothing else of those tables writable.
#[test]
fn a_copy_of_new_ledger_rows_needs_the_write_lock_takes_the_servers_numbers_and_is_logged() {
    let server = team();
    let before = fingerprint(&server);
    let lock = voucherdesk::store::team::TEAM_WRITE_LOCK_KEY;
    // sam's own session holding the write lock.
    let locked = || {
        let mut sam = psql(&server, "sam");
        sam.execute("SELECT pg_advisory_lock($1::bigint)", &[&lock]).unwrap();
        sam
    };
    // The refused COPYs go through psql, each in a session of its own (see
    // `PgServer::psql_script` for why not through the postgres crate).
    let copy_as_sam = |take_lock: bool, table: &str, columns: &str, rows: &str| {
        let lock_first = if take_lock { format!("SELECT pg_advisory_lock({lock});\n") } else { String::new() };
        let script = format!("{lock_first}COPY {table} ({columns}) FROM STDIN;\n{rows}\\.\n");
        server.psql_script("sam", &pw("sam"), &script)
    };
    let insufficient_privilege = "42501".to_string();
    assert_eq!(
        copy_as_sam(false, "orders", ORDER_COLUMNS, &order_row(9001)),
        Some((insufficient_privilege.clone(), "an upload needs the team's write lock".into())),
        "a COPY without the lock"
    );
    assert_eq!(
        copy_as_sam(true, "orders", &format!("{ORDER_COLUMNS}, change_seq"), &order_row(9001).replace('\n', "\t1\n")),
        Some((insufficient_privilege, "permission denied for table orders".into())),
        "a COPY that numbers its own rows"
    );
    assert_eq!(
        copy_as_sam(
            true,
            "payment_status_history",
            HISTORY_COLUMNS,
            "9001\t987654\tpaid\tPAID\t\\N\t1764000000\tfile\t1\t1\t0\t10\t\\N\n",
        ),
        Some(("23503".into(), "a status history row names payment 987654, which the server does not have".into())),
        "a history row for a payment the server does not have"
    );
    // Through the library, as an upload sends them: without the lock, a
    // refusal, and the connection still answers.
    let mut desk = TeamStore::connect(&url_of(&server, "sam"), Some(&pw("sam")), "test/sam").unwrap();
    let columns: Vec<String> = ORDER_COLUMNS.split(", ").map(str::to_string).collect();
    let err = desk
        .copy_new_rows("orders", &columns, &mut |sink| {
            use voucherdesk::store::team::Cell::{Integer, Null, Text};
            let row = order_row(9001);
            let cells: Vec<Cell<'_>> = row
                .trim_end()
                .split('\t')
                .enumerate()
                .map(|(i, v)| match (i, v) {
                    (_, "\\N") => Null,
                    (0 | 3 | 9 | 16..=19, v) => Integer(v.parse().unwrap()),
                    (_, v) => Text(v),
                })
                .collect();
            sink.push(&cells)
        })
        .expect_err("an upload without the lock");
    assert_eq!(
        (err.code(), err.to_string().as_str()),
        ("team.refused", "the team server refused this change: an upload needs the team's write lock")
    );
    assert!(desk.is_owner().is_ok_and(|owner| !owner), "the connection is still sound");
    let mut sam = locked();
    for sql in [
        "UPDATE orders SET buyer_name = 'x'",
        "DELETE FROM payments",
        "INSERT INTO import_files(batch_id, text) VALUES (99, '')",
        "SELECT voucherdesk_ledger_inserted('orders', true)",
    ] {
        refused(sam.batch_execute(sql), sql);
    }
    assert_eq!(fingerprint(&server), before, "a refused COPY changed the server");

    let mut owner = owner_sql(&server);
    let last_before: i64 = owner.query_one("SELECT max(change_seq) FROM orders", &[]).unwrap().get(0);
    let rows = format!("{}{}", order_row(9001), order_row(9002));
    assert_eq!(copy_in(&mut sam, "orders", ORDER_COLUMNS, &rows).unwrap(), 2);
    let payment: i64 = owner.query_one("SELECT min(id) FROM payments", &[]).unwrap().get(0);
    let history = format!("9001\t{payment}\trefunded\tREFUNDED\t\\N\t1764000000\tfile\t1\t1\t0\t10\t\\N\n");
    assert_eq!(copy_in(&mut sam, "payment_status_history", HISTORY_COLUMNS, &history).unwrap(), 1);
    drop(sam);

    let numbers: Vec<i64> = owner
        .query("SELECT change_seq FROM orders WHERE id IN (9001, 9002) ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(numbers.len(), 2);
    assert!(numbers[0] > last_before && numbers[1] > numbers[0], "{numbers:?} after {last_before}");
    let logged: Vec<(String, String, String, i64, i64)> = owner
        .query("SELECT login, tbl, mode, rows, last_change FROM upload_log WHERE login = 'sam' ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    let history_number: i64 =
        owner.query_one("SELECT change_seq FROM payment_status_history WHERE id = 9001", &[]).unwrap().get(0);
    assert_eq!(
        logged,
        vec![
            ("sam".into(), "orders".into(), "new".into(), 2, numbers[1]),
            ("sam".into(), "payment_status_history".into(), "new".into(), 1, history_number),
        ]
    );
}

/// One desktop's copy of the team, joined as `login`.
struct Desk {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Store,
}

fn desk(server: &PgServer, login: &str) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.sqlite");
    let mut store = Store::open(&path).unwrap();
    team::join(&mut store, &url_of(server, login), Some(&pw(login)), &MemoryVault::default(), &format!("test/{login}"))
        .unwrap();
    Desk { _dir: dir, path, store }
}

/// The CLI on a team copy, with the joined login's password in the environment.
fn cli(copy: &Path, joined: &str) -> Command {
    let mut cmd = Command::cargo_bin("voucherdesk").unwrap();
    cmd.arg("--db").arg(copy);
    cmd.env_remove("VOUCHERDESK_OPERATOR");
    cmd.env("VOUCHERDESK_TEAM_PASSWORD", pw(joined));
    // No OS keyring here: the CLI finds no stored password but the one given.
    cmd.env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    cmd.timeout(std::time::Duration::from_secs(60));
    cmd
}

fn out(o: &std::process::Output) -> (Option<i32>, String, String) {
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn from_a_support_desktop_acting_as_the_admin_or_as_finance_is_refused_by_the_cli_and_by_the_server() {
    let server = team();
    let mut sam = desk(&server, "sam");
    let before = fingerprint(&server);

    // The reported attack, with the CLI: --operator admin without admin's password.
    let o = cli(&sam.path, "sam")
        .args(["--operator", "admin", "operators", "add", "felipe", "--role", "finance"])
        .output()
        .unwrap();
    let (code, _, err) = out(&o);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("this team copy is signed in as sam; to act as admin, give admin's team password"), "{err}");
    // With a password that is not admin's (sam's own): the server refuses the sign-in.
    let o = cli(&sam.path, "sam")
        .args(["--operator", "admin", "--operator-password-stdin", "operators", "add", "felipe", "--role", "finance"])
        .write_stdin(format!("{}\n", pw("sam")))
        .output()
        .unwrap();
    let (code, _, err) = out(&o);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("refused the sign-in of admin: wrong password"), "{err}");
    // Approving as finance from sam's desktop: refused the same way.
    let o = cli(&sam.path, "sam").args(["--operator", "fabio", "refunds", "approve", "1"]).output().unwrap();
    let (code, _, err) = out(&o);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("this team copy is signed in as sam; to act as fabio"), "{err}");

    // A crafted client skips the CLI's check and runs the library as the
    // admin, then as finance, on sam's connection: the server refuses both.
    let admin = Operator { name: "admin".into(), role: Role::Admin, language: "en".into() };
    let err = sam.store.write(|s| operators::add(s, Some(&admin), "felipe", Role::Finance, None)).unwrap_err();
    assert_eq!(err.code(), "team.refused", "{err}");
    assert_eq!(err.to_string(), "the team server refused this change: sam (support) may not manage operators");
    assert!(operators::act_as(&sam.store, "felipe").is_err(), "the copy took the refused change back");
    let fiona = Operator { name: "fiona".into(), role: Role::Finance, language: "en".into() };
    let err = sam.store.write(|s| refunds::approve(s, &fiona, 2, Some("ok"), Utc::now())).unwrap_err();
    assert_eq!(err.code(), "team.refused", "{err}");
    assert!(err.to_string().contains("sam (support) may not "), "{err}");

    assert_eq!(fingerprint(&server), before, "a refused attack changed the server");
}

#[test]
fn support_requests_finance_approves_an_admin_adds_an_operator_and_the_server_audit_shows_each_login() {
    let server = team();
    // Sam (support) asks for a refund from his desktop, signed in as himself.
    let mut sam = desk(&server, "sam");
    let me = operators::act_as(&sam.store, "sam").unwrap();
    let requested = sam.store.write(|s| refunds::request(s, &me, &psp_refund("A-D-2", "300000"), Utc::now())).unwrap();
    assert_eq!(requested.status, RefundStatus::PendingApproval);

    // The admin adds felipe (finance) with his own password, from her desktop.
    let admin = desk(&server, "admin");
    let o = cli(&admin.path, "admin")
        .args(["--operator", "admin", "operators", "add", "felipe", "--role", "finance", "--password-stdin"])
        .write_stdin(format!("{}\n", pw("felipe")))
        .output()
        .unwrap();
    let (code, stdout, err) = out(&o);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(stdout, "added felipe (finance)\nfelipe signs in to the team as felipe\n");

    // Felipe signs in on the admin's desktop with his own password and approves.
    let approve = |password: &str| {
        cli(&admin.path, "admin")
            .args(["--operator", "felipe", "--operator-password-stdin", "refunds", "approve"])
            .arg(requested.id.to_string())
            .write_stdin(format!("{password}\n"))
            .output()
            .unwrap()
    };
    let (code, _, err) = out(&approve("not-felipes-password"));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("refused the sign-in of felipe: wrong password"), "{err}");
    let (code, stdout, err) = out(&approve(&pw("felipe")));
    assert_eq!(code, Some(0), "{err}");
    assert!(stdout.contains("approved"), "{stdout}");

    // The server's audit names each real login.
    let rows: Vec<(String, String, Option<String>)> = owner_sql(&server)
        .query(
            "SELECT action, operator, login FROM audit_log
              WHERE action IN ('refund.request', 'refund.approve', 'operator.add') AND login <> $1 ORDER BY id",
            &[&support::team::PG_USER],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let login = |s: &str| Some(s.to_string());
    assert_eq!(
        rows,
        vec![
            ("refund.request".into(), "sam".into(), login("sam")),
            ("operator.add".into(), "admin".into(), login("admin")),
            ("refund.approve".into(), "felipe".into(), login("felipe")),
        ]
    );
    let status: String =
        owner_sql(&server).query_one("SELECT status FROM refunds WHERE id = $1", &[&requested.id]).unwrap().get(0);
    assert_eq!(status, "approved");
    // The server's own record of uploads names the same logins.
    let uploaders: Vec<(String, String)> = owner_sql(&server)
        .query("SELECT DISTINCT tbl, login FROM upload_log WHERE tbl IN ('refunds', 'refund_approvals', 'operators') ORDER BY 1, 2", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let pair = |t: &str, l: &str| (t.to_string(), l.to_string());
    assert_eq!(
        uploaders,
        vec![
            pair("operators", "admin"),
            pair("operators", "voucherdesk"),
            pair("refund_approvals", "felipe"),
            pair("refunds", "felipe"),
            pair("refunds", "sam"),
            pair("refunds", "voucherdesk")
        ]
    );

    // Disabled by the admin, felipe can no longer sign in to the team.
    let o = cli(&admin.path, "admin").args(["--operator", "admin", "operators", "disable", "felipe"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let connect = TeamStore::connect(&url_of(&server, "felipe"), Some(&pw("felipe")), "test/felipe");
    assert_eq!(connect.err().map(|e| e.code()), Some("team.denied"));

    // The whole chain still verifies.
    let report = team::verify_audit(&mut TeamStore::connect(&server.url(), Some(PG_PASSWORD), "v").unwrap()).unwrap();
    assert_eq!(report.first_broken, None);
}

/// The names whose password hash `copy` holds.
fn hashes_held(copy: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(copy, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = db.prepare("SELECT name FROM operators WHERE password_hash IS NOT NULL ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

#[test]
fn no_login_reads_another_operators_password_hash_and_an_admins_change_keeps_it() {
    let server = team();
    owner_sql(&server).batch_execute("UPDATE operators SET password_hash = 'argon2-of-' || name").unwrap();
    for login in ["sam", "fabio", "ana", "admin"] {
        let mut pg = psql(&server, login);
        refused(pg.query("SELECT password_hash FROM operators", &[]), login);
        refused(pg.query("SELECT * FROM operators", &[]), login);
        // Everything else of every operator stays readable: copies show who is who.
        let roles = pg.query("SELECT name, role FROM operators", &[]).unwrap();
        assert_eq!(roles.len(), 7, "{login}");
        let seen: Vec<(String, Option<String>)> = pg
            .query("SELECT name, password_hash FROM operators_seen WHERE password_hash IS NOT NULL", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(seen, vec![(login.to_string(), Some(format!("argon2-of-{login}")))], "{login}");
    }

    // A copy joined as sam holds sam's hash and nobody else's.
    let sam = desk(&server, "sam");
    assert_eq!(hashes_held(&sam.path), vec!["sam".to_string()]);

    // The admin's copy holds no hash of ana, and its upload of her changed
    // row (a new role, then disabled) leaves the server's hash as it was.
    let admin = desk(&server, "admin");
    assert_eq!(hashes_held(&admin.path), vec!["admin".to_string()]);
    for args in [["operators", "set-role", "ana", "finance"].as_slice(), &["operators", "disable", "ana"]] {
        let o = cli(&admin.path, "admin").args(["--operator", "admin"]).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let row = owner_sql(&server)
        .query_one("SELECT role, disabled, password_hash FROM operators WHERE name = 'ana'", &[])
        .unwrap();
    let ana: (String, bool, Option<String>) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(ana, ("finance".to_string(), true, Some("argon2-of-ana".to_string())));
    // The admin's copy still holds only her own.
    assert_eq!(hashes_held(&admin.path), vec!["admin".to_string()]);
}

/// The CLI on sam's team copy at a terminal (`script` gives it a
/// pseudo-terminal): once the prompt shows, the person types `typed`.
/// Returns the exit code and the screen.
fn at_terminal(copy: &Path, args: &str, typed: &str) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    let bin = assert_cmd::cargo::cargo_bin("voucherdesk");
    let line = format!("{} --db {} {args}", bin.display(), copy.display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("VOUCHERDESK_OPERATOR")
        .env("VOUCHERDESK_TEAM_PASSWORD", pw("sam"))
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Typed only after the prompt (echo is off by then), as a person would.
    let mut screen = Vec::new();
    let mut chunk = [0u8; 256];
    while !String::from_utf8_lossy(&screen).contains("team password: ") {
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&screen));
        screen.extend_from_slice(&chunk[..n]);
    }
    stdin.write_all(format!("{typed}\n").as_bytes()).unwrap();
    stdout.read_to_end(&mut screen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    (status.code(), String::from_utf8_lossy(&screen).into_owned())
}

#[test]
fn at_a_terminal_the_cli_asks_for_the_operators_team_password_without_echoing_it() {
    let server = team();
    let sam = desk(&server, "sam");
    // Fiona (finance) approves at sam's desktop, typing her password at the prompt.
    let (code, screen) = at_terminal(&sam.path, "--operator fiona refunds approve 1", "not-fionas-password");
    assert_eq!(code, Some(2), "{screen}");
    assert!(screen.contains("fiona's team password: "), "{screen}");
    assert!(screen.contains("refused the sign-in of fiona: wrong password"), "{screen}");
    assert!(!screen.contains("not-fionas-password"), "the typed password was echoed: {screen}");
    let (code, screen) = at_terminal(&sam.path, "--operator fiona refunds approve 1", &pw("fiona"));
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("approved"), "{screen}");
    assert!(!screen.contains(&pw("fiona")), "the typed password was echoed: {screen}");
    let row = owner_sql(&server).query_one("SELECT status FROM refunds WHERE id = 1", &[]).unwrap();
    assert_eq!(row.get::<_, String>(0), "approved");
    let by: String = owner_sql(&server)
        .query_one("SELECT login FROM audit_log WHERE action = 'refund.approve' ORDER BY id DESC LIMIT 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(by, "fiona");
}

#[test]
fn a_refund_past_the_window_needs_finance_on_the_server_too() {
    let server = team();
    let forty_days_ago = Utc::now().timestamp() - 40 * 86_400;
    let mut owner = owner_sql(&server);
    owner.execute("UPDATE payments SET paid_at = $1 WHERE payment_id = 'A-D-2'", &[&forty_days_ago]).unwrap();
    owner.batch_execute("UPDATE refunds SET finance_required = TRUE WHERE id = 1").unwrap();
    let before = fingerprint(&server);

    // Crafted uploads that drop what the desktop adds past the window.
    let mut sam = psql(&server, "sam");
    let new_refund_of_late_payment = |id: i64, tier: &str, finance: &str, method: &str, amount: &str| {
        vec![
            ("id", id.to_string()),
            ("idempotency_key", format!("'crafted-{id}'")),
            ("payment_id", "'A-D-2'".to_string()),
            ("order_id", "'A-CO-2'".to_string()),
            ("tier", tier.to_string()),
            ("finance_required", finance.to_string()),
            ("method", format!("'{method}'")),
            ("amount_minor", amount.to_string()),
        ]
    };
    for (id, tier, finance, method, amount, expected) in [
        (
            78,
            "2",
            "FALSE",
            "bank_transfer",
            "30000000",
            "refund 78: payment A-D-2 is past the refund window, so it needs tier 2 and finance (filed as tier 2, finance not required)",
        ),
        (
            79,
            "1",
            "TRUE",
            "bank_transfer",
            "100000",
            "refund 79: payment A-D-2 is past the refund window, so it needs tier 2 and finance (filed as tier 1, finance required)",
        ),
        (
            80,
            "2",
            "TRUE",
            "psp_refund",
            "30000000",
            "refund 80: payment A-D-2 is past the refund window; the PSP refuses a psp_refund",
        ),
    ] {
        let cells = new_refund_of_late_payment(id, tier, finance, method, amount);
        let cells: Vec<(&str, &str)> = cells.iter().map(|(c, v)| (*c, v.as_str())).collect();
        let message = refused(crafted_upload(&mut sam, "refunds", "id = 1", &cells, "new"), &format!("refund {id}"));
        assert_eq!(message, expected);
    }
    let message = refused(
        crafted_upload(&mut sam, "refunds", "id = 1", &[("finance_required", "FALSE")], "change"),
        "support lifts the finance approval its refund needs",
    );
    assert_eq!(message, "sam (support) may not lift the finance approval refund 1 needs");
    assert_eq!(fingerprint(&server), before, "a refused upload changed the server");

    // The desktop's own request past the window passes the server's check.
    let mut desk = desk(&server, "sam");
    let me = operators::act_as(&desk.store, "sam").unwrap();
    let mut input = psp_refund("A-D-2", "100000");
    input.method = "bank_transfer".into();
    let refund = desk.store.write(|s| refunds::request(s, &me, &input, Utc::now())).unwrap();
    assert_eq!((refund.tier, refund.status), (2, RefundStatus::PendingApproval));
    let row = owner.query_one("SELECT tier, finance_required FROM refunds WHERE id = $1", &[&refund.id]).unwrap();
    assert_eq!((row.get::<_, i16>(0), row.get::<_, bool>(1)), (2, true));
}

#[test]
fn a_manager_sets_the_daily_report_schedule_on_the_server_and_no_other_setting() {
    use voucherdesk::daily_report::{DataFormat, schedule};
    use voucherdesk::market::Country;
    let server = team();
    let mut ana = desk(&server, "ana");
    let me = operators::act_as(&ana.store, "ana").unwrap();
    let to = vec!["finanzas@tienda.example".to_string()];
    let set = ana.store.write(|s| schedule::set(s, &me, "07:00", &[Country::Peru], &to, DataFormat::Csv)).unwrap();
    assert_eq!(set.set_by, "ana");
    let mut owner = owner_sql(&server);
    let stored: String =
        owner.query_one("SELECT value FROM settings WHERE key = 'daily_report_schedule'", &[]).unwrap().get(0);
    assert_eq!(serde_json::from_str::<schedule::ReportSchedule>(&stored).unwrap(), set);
    let before = fingerprint(&server);

    // The same manager may write no other setting.
    let mut pg = psql(&server, "ana");
    let message = refused(
        crafted_upload(&mut pg, "settings", "key = 'daily_report_schedule'", &[("key", "'payout_limits'")], "new"),
        "a manager writes another setting",
    );
    assert_eq!(message, "ana (manager) may not change settings");
    // Finance, crafting the schedule on its own connection: refused.
    let mut fabio = psql(&server, "fabio");
    let message = refused(
        crafted_upload(&mut fabio, "settings", "key = 'daily_report_schedule'", &[("value", "'null'")], "change"),
        "finance changes the schedule",
    );
    assert_eq!(message, "fabio (finance) may not change settings");
    assert_eq!(fingerprint(&server), before, "a refused change changed the server");
}
