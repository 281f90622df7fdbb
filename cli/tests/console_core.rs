//! The library calls behind the desktop console: queue pages and counts,
//! assignment and bulk resolution by role, CSV export, dashboard, settings,
//! profile suggestion and link candidates — on a known demo data set.

use voucherdesk::demo;
use voucherdesk::exceptions::{self, AgeBucket, ExceptionQuery, ExceptionStatus, ResolutionAction};
use voucherdesk::import::profile::built_in;
use voucherdesk::import::{ImportRequest, import_file_with_progress, suggest_profile};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::reconcile::{ReconcileOptions, reconcile};
use voucherdesk::store::{ExceptionSort, Store};

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    admin: Operator,
    manager: Operator,
    support: Operator,
    manifest: demo::DemoManifest,
}

fn world() -> World {
    world_of(3000)
}

/// The demo's `orders` orders from seed 5, imported and reconciled as of the demo date.
fn world_of(orders: u64) -> World {
    let dir = tempfile::tempdir().unwrap();
    let manifest = demo::generate(&dir.path().join("files"), orders, 5).unwrap();
    let mut store = Store::open(&dir.path().join("vd.sqlite")).unwrap();
    let admin = operators::add(&mut store, None, "admin", Role::Admin, None).unwrap();
    let manager = operators::add(&mut store, Some(&admin), "marta", Role::Manager, None).unwrap();
    let support = operators::add(&mut store, Some(&admin), "ana", Role::Support, None).unwrap();
    // The demo's expected fee mismatches assume its contracted dLocal rate.
    let secrets = voucherdesk::credentials::AccountSecrets::parse_json(
        voucherdesk::credentials::PspKind::Dlocal,
        r#"{"login":"demo-login","trans_key":"demo-trans-key","secret":"demo-secret"}"#,
    )
    .unwrap();
    let vault = voucherdesk::credentials::MemoryVault::default();
    voucherdesk::credentials::add(&mut store, &vault, &admin, "dlocal-demo", "https://sandbox.dlocal.com", &secrets)
        .unwrap();
    voucherdesk::credentials::set_fee_rate(&mut store, &admin, "dlocal-demo", Some(manifest.dlocal_fee_bps)).unwrap();
    let mut progress_calls = 0;
    for f in &manifest.files {
        let profile = built_in(f.profile).unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &admin };
        import_file_with_progress(&mut store, &request, &mut |p| {
            assert!(p.rows > 0);
            progress_calls += 1;
        })
        .unwrap();
    }
    assert!(progress_calls >= manifest.files.len(), "progress is reported for every file");
    let options =
        ReconcileOptions { settlement_lag_days: manifest.settlement_lag_days, ..ReconcileOptions::on(demo_as_of()) };
    reconcile(&mut store, &options, &admin).unwrap();
    World { _dir: dir, store, admin, manager, support, manifest }
}

fn demo_as_of() -> chrono::NaiveDate {
    let (y, m, d) = demo::DEMO_AS_OF;
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn total_expected(m: &demo::DemoManifest) -> i64 {
    m.expected.exceptions.values().map(|v| *v as i64).sum()
}

/// The indexes of the exception tables as a file's schema has them.
fn exception_indexes(path: &std::path::Path) -> Vec<(String, String)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('exceptions', 'exception_history')
             ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<String>>(1)?.unwrap_or_default())))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A first run into an empty queue with more than a thousand findings writes
/// them in bulk, its indexes set aside and built again: the queue holds the
/// generator's exceptions kind for kind, the indexes are the migrations' own,
/// the file is sound, and the next full run finds every exception again as it was.
#[test]
fn a_first_run_written_in_bulk_leaves_the_queue_and_its_indexes_as_a_plain_run_would() {
    let mut w = world_of(20_000);
    let open = ExceptionQuery { status: Some(ExceptionStatus::Open), ..ExceptionQuery::default() };
    let counts = exceptions::counts_at(&w.store, &open, reconciled_at()).unwrap();
    assert!(counts.total >= 1_000, "the run must be large enough to be written in bulk: {}", counts.total);
    assert_eq!(counts.total, total_expected(&w.manifest));
    for (kind, n) in &w.manifest.expected.exceptions {
        assert_eq!(counts.by_kind.get(*kind).copied().unwrap_or(0), *n as i64, "{kind}");
    }
    let fresh = w._dir.path().join("fresh.sqlite");
    drop(Store::open(&fresh).unwrap());
    let path = w._dir.path().join("vd.sqlite");
    assert_eq!(exception_indexes(&path), exception_indexes(&fresh));
    assert_eq!(exception_indexes(&path).len(), 7, "the six exceptions indexes and the history's");
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert_eq!(conn.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
    let history: i64 = conn.query_row("SELECT count(*) FROM exception_history", [], |r| r.get(0)).unwrap();
    assert_eq!(history, counts.total, "one 'detected' entry per exception");
    let options =
        ReconcileOptions { settlement_lag_days: w.manifest.settlement_lag_days, ..ReconcileOptions::on(demo_as_of()) };
    let again =
        voucherdesk::reconcile::reconcile_with(&mut w.store, &options, &w.admin, voucherdesk::reconcile::RunMode::Full)
            .unwrap();
    assert_eq!((again.newly_opened, again.cleared, again.open_exceptions), (0, 0, counts.total as u64));
}

#[test]
fn queue_pages_walk_every_open_exception_once_in_each_sort() {
    let w = world();
    let open = ExceptionQuery { status: Some(ExceptionStatus::Open), ..ExceptionQuery::default() };
    let counts = exceptions::counts_at(&w.store, &open, reconciled_at()).unwrap();
    assert_eq!(counts.total, total_expected(&w.manifest));
    assert_eq!(counts.by_age.values().sum::<i64>(), counts.total, "every exception is in one age bucket");
    for (kind, n) in &w.manifest.expected.exceptions {
        assert_eq!(counts.by_kind.get(*kind).copied().unwrap_or(0), *n as i64, "{kind}");
    }
    for sort in [
        ExceptionSort::Id,
        ExceptionSort::AgeDesc,
        ExceptionSort::AgeAsc,
        ExceptionSort::AmountDesc,
        ExceptionSort::AmountAsc,
    ] {
        let mut seen = std::collections::HashSet::new();
        let mut after = None;
        let mut previous_amount: Option<i64> = None;
        let mut previous_occurred = None;
        loop {
            let page = exceptions::page(&w.store, &open, sort, after.as_ref(), 17).unwrap();
            for row in &page.rows {
                assert!(seen.insert(row.id.clone()), "{sort:?}: {} twice", row.id);
                let amount = row.amount_minor.unwrap_or(0);
                if let Some(prev) = previous_amount {
                    match sort {
                        ExceptionSort::AmountDesc => assert!(amount <= prev, "{sort:?} order"),
                        ExceptionSort::AmountAsc => assert!(amount >= prev, "{sort:?} order"),
                        _ => {}
                    }
                }
                previous_amount = Some(amount);
                if let Some(prev) = previous_occurred {
                    match sort {
                        ExceptionSort::AgeDesc => assert!(row.occurred_at >= prev, "{sort:?} order"),
                        ExceptionSort::AgeAsc => assert!(row.occurred_at <= prev, "{sort:?} order"),
                        _ => {}
                    }
                }
                previous_occurred = Some(row.occurred_at);
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len() as i64, counts.total, "{sort:?} pages cover the queue exactly once");
    }
    let filtered = ExceptionQuery { kind: Some("not_settled".into()), age: Some(AgeBucket::D2To7), ..open.clone() };
    let not_settled_2_7 = exceptions::counts_at(&w.store, &filtered, reconciled_at()).unwrap();
    assert_eq!(not_settled_2_7.total, not_settled_2_7.by_kind.get("not_settled").copied().unwrap_or(0));
    assert_eq!(
        not_settled_2_7.by_age["d2_7"],
        counts_by_kind_age(&w, reconciled_at(), "not_settled", AgeBucket::D2To7)
    );
}

/// Noon (UTC) of the day the demo ledger is reconciled as of: a fixed clock.
fn reconciled_at() -> chrono::DateTime<chrono::Utc> {
    "2026-03-20T12:00:00Z".parse().unwrap()
}

/// Every open exception, in id order.
fn open_rows(w: &World) -> Vec<voucherdesk::store::ExceptionRecord> {
    let open = ExceptionQuery { status: Some(ExceptionStatus::Open), ..ExceptionQuery::default() };
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = exceptions::page(&w.store, &open, ExceptionSort::Id, after.as_ref(), 500).unwrap();
        rows.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => break rows,
        }
    }
}

/// The bucket of an exception whose business event is `occurred`, seen at `now`: whole days.
fn bucket_of(occurred: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> AgeBucket {
    match (now - occurred).num_seconds().div_euclid(86_400) {
        ..=1 => AgeBucket::D0To1,
        2..=7 => AgeBucket::D2To7,
        8..=30 => AgeBucket::D8To30,
        _ => AgeBucket::Over30,
    }
}

fn counts_by_kind_age(w: &World, now: chrono::DateTime<chrono::Utc>, kind: &str, age: AgeBucket) -> i64 {
    open_rows(w).iter().filter(|r| r.kind == kind && bucket_of(r.occurred_at, now) == age).count() as i64
}

#[test]
fn exception_age_counts_from_the_payment_or_the_order_not_from_detection() {
    let w = world();
    let now = reconciled_at();
    let rows = open_rows(&w);
    assert_eq!(rows.len() as i64, total_expected(&w.manifest));
    // The event behind each exception: its payment (paid, else created), else its order.
    let (mut from_payment, mut from_order) = (0, 0);
    for row in &rows {
        let payment = if row.payment_id.is_empty() {
            None
        } else {
            w.store
                .payments_of_order(&row.order_id)
                .unwrap()
                .into_iter()
                .find(|p| p.payment_id == row.payment_id && p.psp == row.psp)
        };
        if let Some(p) = payment {
            assert_eq!(Some(row.occurred_at), p.paid_at.or(p.created_at), "{} {}", row.id, row.kind);
            from_payment += 1;
        } else if row.payment_id.is_empty() && !row.order_id.is_empty() {
            let order = w.store.order(&row.order_id).unwrap().unwrap();
            assert_eq!(row.occurred_at, order.created_at, "{} {}", row.id, row.kind);
            from_order += 1;
        }
        assert!(row.occurred_at < row.detected_at, "{}: the event comes before its detection", row.id);
    }
    assert!(from_payment > 0 && from_order > 0, "both kinds of event are covered ({from_payment}, {from_order})");

    let mut expected: std::collections::BTreeMap<&str, i64> = AgeBucket::ALL.iter().map(|b| (b.as_str(), 0)).collect();
    for row in &rows {
        *expected.get_mut(bucket_of(row.occurred_at, now).as_str()).unwrap() += 1;
    }
    let open = ExceptionQuery { status: Some(ExceptionStatus::Open), ..ExceptionQuery::default() };
    let counts = exceptions::counts_at(&w.store, &open, now).unwrap();
    assert_eq!(counts.by_age.iter().map(|(k, v)| (*k, *v)).collect::<std::collections::BTreeMap<_, _>>(), expected);
    assert!(expected["d0_1"] < counts.total, "a month of payments is not all 0-1 d old: {expected:?}");
    assert!(expected["d2_7"] > 0 && expected["d8_30"] > 0, "{expected:?}");
    for bucket in AgeBucket::ALL {
        let one = ExceptionQuery { age: Some(bucket), ..open.clone() };
        assert_eq!(exceptions::counts_at(&w.store, &one, now).unwrap().total, expected[bucket.as_str()], "{bucket:?}");
    }
    let dashboard = voucherdesk::dashboard::summary_at(&w.store, None, None, now).unwrap();
    assert_eq!(dashboard.open_by_age, counts.by_age);
    // A week later the same exceptions have aged: nothing is 0-1 d any more.
    let later = exceptions::counts_at(&w.store, &open, now + chrono::Duration::days(7)).unwrap();
    assert_eq!(later.by_age["d0_1"], 0);
    assert_eq!(later.total, counts.total);
}

#[test]
fn assignment_and_bulk_resolution_follow_roles() {
    let mut w = world();
    let open = ExceptionQuery {
        status: Some(ExceptionStatus::Open),
        kind: Some("amount_mismatch".into()),
        ..Default::default()
    };
    let ids: Vec<String> = exceptions::page(&w.store, &open, ExceptionSort::AgeDesc, None, 500)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(ids.len() >= 3);
    let refused = exceptions::assign(&mut w.store, &w.support, &ids, Some("marta")).unwrap_err();
    assert_eq!(refused.code(), "auth.forbidden");
    assert_eq!(exceptions::assign(&mut w.store, &w.manager, &ids, Some("marta")).unwrap(), ids.len() as u64);
    assert_eq!(exceptions::assign(&mut w.store, &w.manager, &ids, Some("marta")).unwrap(), 0, "already assigned");
    let mine = ExceptionQuery { assignee: Some("marta".into()), ..open.clone() };
    assert_eq!(exceptions::counts(&w.store, &mine).unwrap().total, ids.len() as i64);
    assert!(exceptions::assign(&mut w.store, &w.manager, &ids, Some("nobody")).is_err());

    let refused = exceptions::resolve_many(&mut w.store, &w.support, &ids, ResolutionAction::WriteOff, "x", None);
    assert_eq!(refused.unwrap_err().code(), "auth.forbidden");
    let first_two = &ids[..2];
    let done = exceptions::resolve_many(&mut w.store, &w.manager, first_two, ResolutionAction::WriteOff, "small", None)
        .unwrap();
    assert_eq!((done.resolved, done.failed.len()), (2, 0));
    let again = exceptions::resolve_many(&mut w.store, &w.manager, &ids, ResolutionAction::Accept, "ok", None).unwrap();
    assert_eq!(again.resolved, ids.len() as u64 - 2);
    assert_eq!(again.failed.len(), 2);
    assert!(again.failed.iter().all(|f| f.code == "exceptions.already_closed"));
    let history = exceptions::history(&w.store, &ids[0]).unwrap();
    let events: Vec<&str> = history.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(events, vec!["detected", "assigned to marta", "resolved: write_off"]);
}

#[test]
fn csv_export_is_safe_for_spreadsheets_and_complete() {
    let w = world();
    let path = w._dir.path().join("queue.csv");
    let open = ExceptionQuery { status: Some(ExceptionStatus::Open), ..Default::default() };
    let rows = exceptions::export_csv(&w.store, &open, &path).unwrap();
    assert_eq!(rows as i64, total_expected(&w.manifest));
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for spreadsheet programs");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(reader.records().count() as u64, rows);
    assert_eq!(exceptions::spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    assert_eq!(exceptions::spreadsheet_safe("+57 300"), "'+57 300");
    assert_eq!(exceptions::spreadsheet_safe("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(exceptions::spreadsheet_safe("Núñez"), "Núñez");
}

#[test]
fn dashboard_matches_the_reconciliation() {
    let w = world();
    let all = voucherdesk::dashboard::summary(&w.store, None, None).unwrap();
    assert_eq!(all.as_of.as_deref(), Some("2026-03-20"));
    assert_eq!(all.orders, w.manifest.expected.orders);
    assert_eq!(all.matched, w.manifest.expected.matched);
    assert_eq!(all.open_total, total_expected(&w.manifest));
    let co = voucherdesk::dashboard::summary(&w.store, Some(voucherdesk::market::Country::Colombia), None).unwrap();
    let pe = voucherdesk::dashboard::summary(&w.store, Some(voucherdesk::market::Country::Peru), None).unwrap();
    assert_eq!(co.orders + pe.orders, all.orders);
    assert_eq!(co.matched + pe.matched, all.matched);
    assert!(co.paid.iter().all(|t| t.currency != "PEN") && pe.paid.iter().all(|t| t.currency != "COP"));
    let rate = all.match_rate_bp.unwrap();
    assert_eq!(rate, all.matched * 10_000 / all.paid_orders);
    assert!(
        !all.trend.is_empty()
            && all.trend.iter().all(|d| d.day.as_str() <= "2026-03-20" && d.day.as_str() >= "2026-02-19")
    );
}

#[test]
fn settings_are_admin_only_validated_and_audited() {
    let mut w = world();
    let defaults = voucherdesk::settings::get(&w.store).unwrap();
    assert_eq!((defaults.settlement_lag_days, defaults.amount_tolerance_minor, defaults.idle_lock_minutes), (1, 0, 15));
    let wanted =
        voucherdesk::settings::Settings { settlement_lag_days: 5, amount_tolerance_minor: 100, idle_lock_minutes: 10 };
    assert_eq!(voucherdesk::settings::set(&mut w.store, &w.manager, &wanted).unwrap_err().code(), "auth.forbidden");
    let bad = voucherdesk::settings::Settings { settlement_lag_days: -1, ..wanted };
    assert_eq!(voucherdesk::settings::set(&mut w.store, &w.admin, &bad).unwrap_err().code(), "errors.validation");
    voucherdesk::settings::set(&mut w.store, &w.admin, &wanted).unwrap();
    assert_eq!(voucherdesk::settings::get(&w.store).unwrap(), wanted);
    let log = voucherdesk::audit::page(
        &w.store,
        &voucherdesk::audit::AuditQuery { action: Some("settings.change".into()), limit: 10, ..Default::default() },
    )
    .unwrap();
    assert_eq!(log.len(), 1);
    assert!(log[0].entry.after.contains("\"settlement_lag_days\":5"));
}

#[test]
fn profiles_are_suggested_from_headers() {
    let w = world();
    for f in &w.manifest.files {
        let s = suggest_profile(&f.path).unwrap();
        assert_eq!(s.profile.as_deref(), Some(f.profile), "{}", f.path.display());
    }
    let odd = w._dir.path().join("odd.csv");
    std::fs::write(&odd, "a,b,c\n1,2,3\n").unwrap();
    let s = suggest_profile(&odd).unwrap();
    assert_eq!((s.profile, s.headers), (None, vec!["a".to_string(), "b".into(), "c".into()]));
}

#[test]
fn link_candidates_rank_the_closest_amount_first() {
    let w = world();
    let q = ExceptionQuery { kind: Some("unknown_order".into()), ..Default::default() };
    let unknown = exceptions::page(&w.store, &q, ExceptionSort::AgeDesc, None, 1).unwrap().rows.remove(0);
    let candidates = exceptions::link_candidates(&w.store, &unknown.id).unwrap();
    let amount = unknown.amount_minor.unwrap();
    assert!(!candidates.is_empty() && candidates.len() <= 20, "{}", candidates.len());
    let gaps: Vec<i64> = candidates.iter().map(|c| (c.amount_minor - amount).abs()).collect();
    assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "ranked by amount gap: {gaps:?}");
    assert!(candidates.iter().all(|c| c.currency == unknown.currency && c.order_id != unknown.order_id));
}

/// The app keeps one connection open for hours: a refused import must leave it
/// out of any transaction, so the next change is committed and seen by others
/// (a CLI, another desktop) at once, and survives the app closing.
#[test]
fn a_refused_import_leaves_the_long_lived_connection_ready_for_the_next_change() {
    let mut w = world();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("shop-bad.csv");
    std::fs::write(
        &bad,
        "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n\
         X-1,Tienda,2026-03-01T10:00:00-05:00,Ana,a@example.com,+57 300 000 0000,1,CO,1000,COP,pending_payment,dlocal,,,\n\
         X-2,Tienda,2026-03-01T10:00:00-05:00,Bea,b@example.com,+57 300 000 0001,2,CO,1000,XXX,pending_payment,dlocal,,,\n",
    )
    .unwrap();
    let profile = built_in("shop").unwrap();
    let request = ImportRequest { kind: profile.kind, profile: &profile, path: &bad, operator: &w.admin };
    let refused = voucherdesk::import::import_file(&mut w.store, &request);
    assert!(matches!(refused, Err(voucherdesk::import::ImportError::Rejected { .. })), "{refused:?}");
    assert!(w.store.is_autocommit(), "the refused import left its transaction open");

    // The next change on the same connection is visible to a second connection.
    operators::add(&mut w.store, Some(&w.admin), "nico", Role::Support, Some("nico-password-1")).unwrap();
    let other = Store::open(w.store.path()).unwrap();
    let names: Vec<String> = operators::list(&other).unwrap().into_iter().map(|o| o.name).collect();
    assert!(names.contains(&"nico".to_string()), "another connection does not see the change: {names:?}");
}

#[test]
fn the_version_names_the_release_the_commit_and_the_schema() {
    let out = assert_cmd::Command::cargo_bin("voucherdesk").unwrap().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let schema = voucherdesk::store::schema_version_latest();
    let pattern = format!("voucherdesk {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&pattern), "{text}");
    assert!(text.trim_end().ends_with(&format!(", schema {schema})")), "{text}");
    let commit = text.split("(commit ").nth(1).unwrap().split(',').next().unwrap();
    assert!(commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{commit}");
}
