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
                assert!(e.is_refusal(), "round {round}: {e}");
                assert!(!e.to_string().is_empty());
                assert_eq!(store.counts().unwrap(), before, "round {round}: a refused file wrote rows");
                assert!(store.import_history(10).unwrap().is_empty(), "round {round}: a refused file left a batch");
            }
        }
    }
    // Both outcomes happen: the damage is neither always fatal nor always harmless.
    assert!(refused > ROUNDS / 4 && imported >= 5, "refused {refused}, imported {imported}");
}

/// Seeds of the strictness property below; each picks one kind of damage.
const STRICT_SEEDS: u64 = 60;
/// Characters that hide or reorder text: refused in ids, dropped from names.
const HIDDEN_CHARS: [char; 10] =
    ['\u{1}', '\u{7}', '\u{1b}', '\u{7f}', '\u{85}', '\u{200e}', '\u{200f}', '\u{202e}', '\u{2066}', '\u{2069}'];
const ID_COLUMNS: [&str; 4] = ["order_id", "psp_payment_id", "voucher_code", "buyer_document"];
const NAME_COLUMNS: [&str; 2] = ["buyer_name", "store"];

/// What a damaged file must do.
enum Expect {
    /// Imported, every order's name and store as in the clean file.
    Imported,
    /// Refused: one line of the message is exactly `FILE:LINE: column: ` + a reason.
    Refused { line: u64, column: String },
}

/// The shop sample as records, with `padding` more orders (to push damage
/// past the first 64 KiB).
fn shop_records(padding: usize) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/samples/shop-orders.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    let mut rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let template = rows[0].clone();
    for i in 0..padding {
        let mut row: Vec<String> = template.iter().map(str::to_string).collect();
        row[0] = format!("PAD-{i}");
        rows.push(csv::StringRecord::from(row));
    }
    (header, rows)
}

fn write_csv(header: &csv::StringRecord, rows: &[csv::StringRecord]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    1 + bytes[..offset].iter().filter(|b| **b == b'\n').count() as u64
}

/// The header name of the field byte `offset` falls in (no quoted newlines in the sample).
fn column_of(bytes: &[u8], header: &csv::StringRecord, offset: usize) -> String {
    let start = bytes[..offset].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut index = 0;
    let mut quoted = false;
    for b in &bytes[start..offset] {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => index += 1,
            _ => {}
        }
    }
    header[index].to_string()
}

/// One damaged file and what it must do, from a seed.
fn damaged_file(seed: u64) -> (Vec<u8>, Expect, Vec<(String, String, String)>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let padding = if rng.gen_bool(0.4) { 600 } else { 0 };
    let (mut header, mut rows) = shop_records(padding);
    let expected_names: Vec<(String, String, String)> =
        rows.iter().map(|r| (r[0].to_string(), r[1].to_string(), r[3].to_string())).collect();
    let col = |header: &csv::StringRecord, name: &str| header.iter().position(|h| h == name).unwrap();
    match seed % 6 {
        // A NUL byte anywhere after the header.
        0 => {
            let mut bytes = write_csv(&header, &rows);
            let header_len = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
            let at = rng.gen_range(header_len..bytes.len());
            bytes.insert(at, 0);
            let (line, column) = (line_of(&bytes, at), column_of(&bytes, &header, at));
            (bytes, Expect::Refused { line, column }, expected_names)
        }
        // A byte that is not UTF-8 in a UTF-8 file.
        1 => {
            let mut bytes = write_csv(&header, &rows);
            let header_len = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
            let at = rng.gen_range(header_len..bytes.len());
            bytes.insert(at, rng.gen_range(0x80..=0xFF));
            match std::str::from_utf8(&bytes) {
                Ok(_) => (bytes, Expect::Imported, expected_names),
                Err(e) => {
                    let bad = e.valid_up_to();
                    let (line, column) = (line_of(&bytes, bad), column_of(&bytes, &header, bad));
                    (bytes, Expect::Refused { line, column }, expected_names)
                }
            }
        }
        // The whole file in Windows-1252: still read as such, accents intact.
        2 => {
            let text = String::from_utf8(write_csv(&header, &rows)).unwrap();
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
            assert!(!unmappable);
            (bytes.into_owned(), Expect::Imported, expected_names)
        }
        // A header naming a column twice (case and spaces differ).
        3 => {
            let first = rng.gen_range(0..header.len());
            let mut second = rng.gen_range(0..header.len() - 1);
            if second >= first {
                second += 1;
            }
            let renamed = format!(" {} ", header[first].to_uppercase());
            let mut cells: Vec<String> = header.iter().map(str::to_string).collect();
            cells[second] = renamed.clone();
            header = csv::StringRecord::from(cells);
            let column = if second > first { renamed.trim().to_string() } else { header[first].to_string() };
            (write_csv(&header, &rows), Expect::Refused { line: 1, column }, expected_names)
        }
        // A hidden character inside an id.
        4 => {
            let c = HIDDEN_CHARS[rng.gen_range(0..HIDDEN_CHARS.len())];
            // Inside the text (not at its ends, where trimming might take it): ids of 2+ characters.
            let (row, name, i) = loop {
                let row = rng.gen_range(0..rows.len());
                let name = ID_COLUMNS[rng.gen_range(0..ID_COLUMNS.len())];
                let i = col(&header, name);
                if rows[row][i].chars().count() >= 2 {
                    break (row, name, i);
                }
            };
            let mut cells: Vec<String> = rows[row].iter().map(str::to_string).collect();
            let at = cells[i].char_indices().map(|(p, _)| p).nth(rng.gen_range(1..cells[i].chars().count())).unwrap();
            cells[i].insert(at, c);
            rows[row] = csv::StringRecord::from(cells);
            (
                write_csv(&header, &rows),
                Expect::Refused { line: row as u64 + 2, column: name.to_string() },
                expected_names,
            )
        }
        // A hidden character inside a name: dropped, the rest kept.
        _ => {
            for _ in 0..rng.gen_range(1..4) {
                let row = rng.gen_range(0..rows.len());
                let i = col(&header, NAME_COLUMNS[rng.gen_range(0..NAME_COLUMNS.len())]);
                let c = HIDDEN_CHARS[rng.gen_range(0..HIDDEN_CHARS.len())];
                let mut cells: Vec<String> = rows[row].iter().map(str::to_string).collect();
                let chars = cells[i].chars().count();
                if chars < 2 {
                    continue;
                }
                let at = cells[i].char_indices().map(|(p, _)| p).nth(rng.gen_range(1..chars)).unwrap();
                cells[i].insert(at, c);
                rows[row] = csv::StringRecord::from(cells);
            }
            (write_csv(&header, &rows), Expect::Imported, expected_names)
        }
    }
}

#[test]
fn damaged_text_is_refused_with_its_line_or_imported_with_the_right_text() {
    let dir = tempfile::tempdir().unwrap();
    let profile = built_in("shop").unwrap();
    let (mut imported, mut refused) = (0, 0);
    for seed in 0..STRICT_SEEDS {
        let (bytes, expect, names) = damaged_file(seed);
        let path = dir.path().join(format!("strict-{seed}.csv"));
        std::fs::write(&path, &bytes).unwrap();
        let mut store = Store::open(&dir.path().join(format!("strict-{seed}.sqlite"))).unwrap();
        let admin =
            voucherdesk::operators::add(&mut store, None, "admin", voucherdesk::operators::Role::Admin, None).unwrap();
        let request = ImportRequest { kind: profile.kind, profile: &profile, path: &path, operator: &admin };
        let before = store.counts().unwrap();
        let outcome = import_file(&mut store, &request);
        match (expect, outcome) {
            (Expect::Imported, Ok(ImportOutcome::Imported(report))) => {
                imported += 1;
                assert_eq!(report.rows.total, names.len() as i64, "seed {seed}");
                for (order_id, shop, buyer) in &names {
                    let order = store.order(order_id).unwrap().unwrap_or_else(|| panic!("seed {seed}: {order_id}"));
                    assert_eq!((&order.store, &order.buyer_name), (shop, buyer), "seed {seed}: {order_id}");
                }
            }
            (Expect::Refused { line, column }, Err(e)) => {
                refused += 1;
                assert!(e.is_refusal(), "seed {seed}: {e}");
                let message = e.to_string();
                let prefix = format!("{}:{line}: {column}: ", path.display());
                assert!(
                    message.lines().any(|l| l.starts_with(&prefix) && l.len() > prefix.len()),
                    "seed {seed}: expected a line starting {prefix:?} in:\n{message}"
                );
                assert_eq!(store.counts().unwrap(), before, "seed {seed}: a refused file wrote rows");
                assert!(store.import_history(10).unwrap().is_empty(), "seed {seed}: a refused file left a batch");
            }
            (Expect::Imported, Err(e)) => panic!("seed {seed}: refused: {e}"),
            (Expect::Imported, Ok(o)) => panic!("seed {seed}: fresh database, got {o:?}"),
            (Expect::Refused { line, column }, Ok(o)) => panic!("seed {seed}: expected {line}: {column}, got {o:?}"),
        }
    }
    assert_eq!((imported, refused), (20, 40), "each kind of damage was tried");
}
