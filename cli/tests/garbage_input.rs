//! No input may make the importer panic or leave a half-written file behind:
//! random bytes, and valid files with random damage, through every profile.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use voucherdesk::import::profile::{BUILT_IN_PROFILE_NAMES, built_in};
use voucherdesk::import::{ImportOutcome, ImportRequest, import_file};
use voucherdesk::store::Store;

const ROUNDS: usize = 150;

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests/fixtures/samples");
    [
        ("shop", "shop-orders.csv"),
        ("dlocal", "dlocal-payments.csv"),
        ("pagoefectivo", "pagoefectivo-payments.csv"),
        ("dlocal-settlement", "dlocal-settlement.tsv"),
        ("pagoefectivo-settlement", "pagoefectivo-settlement.csv"),
    ]
    .into_iter()
    .map(|(profile, file)| (profile, std::fs::read(dir.join(file)).expect("sample")))
    .collect()
}

fn damage(rng: &mut ChaCha8Rng, bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for _ in 0..rng.gen_range(1..3) {
        if out.is_empty() {
            break;
        }
        let at = rng.gen_range(0..out.len());
        match rng.gen_range(0..5) {
            0 => out[at] = rng.r#gen(),
            1 => {
                out.remove(at);
            }
            2 => out.insert(at, *b",;\t\"\r\n\xc3\xff0-9.".get(rng.gen_range(0..14)).unwrap_or(&b'x')),
            3 => out.truncate(at),
            _ => {
                let end = (at + rng.gen_range(1..20)).min(out.len());
                let chunk = out[at..end].to_vec();
                out.splice(at..at, chunk);
            }
        }
    }
    out
}

#[test]
fn random_and_damaged_files_are_refused_cleanly_or_imported_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let samples = samples();
    let mut refused = 0;
    let mut imported = 0;
    for round in 0..ROUNDS {
        let (profile_name, bytes) = if round % 5 == 0 {
            let name = BUILT_IN_PROFILE_NAMES[rng.gen_range(0..BUILT_IN_PROFILE_NAMES.len())];
            let len = rng.gen_range(0..400);
            (name, (0..len).map(|_| rng.r#gen::<u8>()).collect::<Vec<u8>>())
        } else {
            let (name, sample) = &samples[rng.gen_range(0..samples.len())];
            (*name, damage(&mut rng, sample))
        };
        let path = dir.path().join(format!("round-{round}.csv"));
        std::fs::write(&path, &bytes).unwrap();
        let mut store = Store::open(&dir.path().join(format!("db-{round}.sqlite"))).unwrap();
        let profile = built_in(profile_name).unwrap();
        let admin =
            voucherdesk::operators::add(&mut store, None, "admin", voucherdesk::operators::Role::Admin, None).unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &path, operator: &admin };
        let before = store.counts().unwrap();
        match import_file(&mut store, &request) {
            Ok(ImportOutcome::Imported(report)) => {
                imported += 1;
                let after = store.counts().unwrap();
                let added = (after.orders - before.orders)
                    + (after.payments - before.payments)
                    + (after.settlements - before.settlements);
                assert!(added >= 1 && added <= report.rows.total, "round {round}: {added} rows for {report:?}");
            }
            Ok(ImportOutcome::AlreadyImported { .. }) => panic!("round {round}: fresh database"),
            Err(e) => {
                refused += 1;
                assert!(e.is_bad_input(), "round {round}: {e}");
                assert!(!e.to_string().is_empty());
                assert_eq!(store.counts().unwrap(), before, "round {round}: a refused file wrote rows");
                assert!(store.import_history(10).unwrap().is_empty(), "round {round}: a refused file left a batch");
            }
        }
    }
    // Both outcomes happen: the damage is neither always fatal nor always harmless.
    assert!(refused > ROUNDS / 4 && imported >= 5, "refused {refused}, imported {imported}");
}
