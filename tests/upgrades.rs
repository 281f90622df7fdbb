//! Upgrades: a database file of every earlier schema version
//! (tests/fixtures/schemas/, see its README) opens with today's code, which
//! migrates it, and keeps every row, its audit chain and its lookups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use voucherdesk::store::{Store, schema_version_latest, schema_versions};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

/// The schema versions that have a `vNN.sqlite` fixture.
fn fixture_versions() -> BTreeSet<u32> {
    std::fs::read_dir(fixtures_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_prefix('v')?.strip_suffix(".sqlite")?.parse().ok()
        })
        .collect()
}

struct Manifest {
    rows: BTreeMap<String, i64>,
    audit_entries: u64,
    order_id: String,
    payment_id: String,
    status: String,
}

fn manifest(version: u32) -> Manifest {
    let text = std::fs::read_to_string(fixtures_dir().join(format!("v{version:02}.json"))).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["schema_version"], version);
    let rows = json["rows"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap())).collect();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    Manifest {
        rows,
        audit_entries: json["audit_entries"].as_u64().unwrap(),
        order_id: text(&json["lookup"]["order_id"]),
        payment_id: text(&json["lookup"]["payment_id"]),
        status: text(&json["lookup"]["status"]),
    }
}

/// A fixture copied into a temporary folder (opening it migrates it in place).
fn copy_of(version: u32, dir: &Path) -> PathBuf {
    let path = dir.join(format!("v{version:02}.sqlite"));
    std::fs::copy(fixtures_dir().join(format!("v{version:02}.sqlite")), &path).unwrap();
    path
}

#[test]
fn every_schema_version_has_a_fixture() {
    let versions: BTreeSet<u32> = schema_versions().into_iter().collect();
    assert_eq!(
        fixture_versions(),
        versions,
        "each migration adds its fixture: tests/fixtures/schemas/README.md says how"
    );
    assert_eq!(fixture_versions().last().copied(), Some(schema_version_latest()));
    // 8 and 10 were handed out to work that shipped without a schema change.
    let gaps: Vec<u32> = (1..=schema_version_latest()).filter(|v| !versions.contains(v)).collect();
    assert_eq!(gaps, vec![8, 10]);
}

#[test]
fn every_earlier_schema_opens_migrated_with_its_rows_audit_chain_and_lookup() {
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = Store::open(&fresh_dir.path().join("fresh.sqlite")).unwrap();
    let fresh_rows = fresh.table_row_counts().unwrap();
    let versions = fixture_versions();
    assert_eq!(versions.len(), 22);
    for version in versions {
        let dir = tempfile::tempdir().unwrap();
        let path = copy_of(version, dir.path());
        let expected = manifest(version);
        let mut store = Store::open(&path).unwrap_or_else(|e| panic!("v{version:02}: {e}"));
        assert_eq!(store.schema_version().unwrap(), schema_version_latest(), "v{version:02}");

        // Every table of today's schema, nothing left over; the fixture's rows
        // all kept, and a table added since holds what a new file's holds.
        let rows = store.table_row_counts().unwrap();
        assert_eq!(rows.keys().collect::<Vec<_>>(), fresh_rows.keys().collect::<Vec<_>>(), "v{version:02}");
        for (table, count) in &rows {
            // The search index's settings are a new file's, whatever the old
            // file had (migration 23 adds one).
            let want = match table.as_str() {
                "order_search_config" => fresh_rows.get(table),
                _ => expected.rows.get(table).or(fresh_rows.get(table)),
            }
            .copied();
            assert_eq!(Some(*count), want, "v{version:02}: rows of {table}");
        }
        assert_eq!(rows["orders"], 24, "v{version:02}");
        assert_eq!(rows["payments"], 21, "v{version:02}");

        let report = voucherdesk::audit::verify(&store).unwrap();
        assert_eq!(report.first_broken, None, "v{version:02}");
        assert_eq!(report.entries, expected.audit_entries, "v{version:02}");

        let cases = voucherdesk::lookup::lookup(&mut store, &expected.order_id, None).unwrap();
        assert_eq!(cases.len(), 1, "v{version:02}");
        let payments: Vec<(&str, &str)> =
            cases[0].payments.iter().map(|p| (p.payment_id.as_str(), p.status.as_str())).collect();
        assert_eq!(payments, vec![(expected.payment_id.as_str(), expected.status.as_str())], "v{version:02}");
        assert_eq!(cases[0].buyer_name, "María José Pérez", "v{version:02}");
        drop(store);

        // Opened again, an upgraded file is simply today's.
        let again = Store::open(&path).unwrap();
        assert_eq!(again.table_row_counts().unwrap(), rows, "v{version:02}");
    }
}

#[test]
fn the_audit_entry_counts_grow_with_the_versions_that_added_audited_tables() {
    // Guards the manifests themselves: a fixture with an empty log would make the chain check vacuous.
    let counts: Vec<(u32, u64)> = fixture_versions().into_iter().map(|v| (v, manifest(v).audit_entries)).collect();
    assert_eq!(
        counts,
        vec![
            (1, 5),
            (2, 7),
            (3, 7),
            (4, 8),
            (5, 8),
            (6, 8),
            (7, 10),
            (9, 11),
            (11, 11),
            (12, 11),
            (13, 11),
            (14, 12),
            (15, 12),
            (16, 13),
            (17, 13),
            (18, 13),
            (19, 14),
            (20, 15),
            (21, 15),
            (22, 15),
            (23, 15),
            (24, 15)
        ]
    );
}
