//! The desktop's "Import all" two ways, on the same files, into fresh files:
//!   cargo run --release --example import_all_desktop -- DIR ROUNDS
//! - `file by file`: what the app did before `import_files`: one
//!   `import_file_with_progress` a file, in the order the operator chose (here
//!   by name, as a chooser lists them, and again in a run's order), then the
//!   search index brought level in the app's steps (on the same connection);
//! - `one run`: `import::import_run`, what `import_files` calls.
//! DIR holds the demo files (bench/data); each is imported with the built-in
//! profile its header carries. Prints one line a run: way, seconds until the
//! files were in, seconds until the index was level too.

use std::path::{Path, PathBuf};
use std::time::Instant;
use voucherdesk::import::{self, ImportRequest, RunFile};
use voucherdesk::operators::{self, Role};
use voucherdesk::store::Store;

fn fresh(db: &Path) -> Result<(Store, operators::Operator), Box<dyn std::error::Error>> {
    for suffix in ["", "-wal", "-shm", ".audit-anchor"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let mut store = Store::open(db)?;
    let admin = operators::add(&mut store, None, "bench", Role::Admin, None)?;
    Ok((store, admin))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: import_all_desktop DIR ROUNDS")?);
    let rounds: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    paths.retain(|p| p.extension().is_some_and(|x| x == "csv" || x == "tsv"));
    paths.sort();
    let planned: Vec<(PathBuf, import::profile::Profile)> = import::plan_run(&paths, &[])
        .into_iter()
        .filter_map(|p| p.profile.ok().map(|profile| (p.path, profile)))
        .collect();
    let db = dir.join("import-all-desktop.sqlite");
    for round in 1..=rounds {
        // File by file: in the order listed (a chooser's, by name), and in a run's order.
        let run_order: Vec<PathBuf> = planned.iter().map(|(path, _)| path.clone()).collect();
        for (way, order) in [("file-by-file-by-name", &paths), ("file-by-file-in-run-order", &run_order)] {
            let (mut store, admin) = fresh(&db)?;
            let started = Instant::now();
            for path in order {
                let Some((_, profile)) = planned.iter().find(|(p, _)| p == path) else { continue };
                let request = ImportRequest { kind: profile.kind, profile, path, operator: &admin };
                import::import_file_with_progress(&mut store, &request, &mut |_| {})?;
            }
            let files_in = started.elapsed();
            while !store.search_catch_up_step()?.level {}
            println!("{round} {way} {:.2} {:.2}", files_in.as_secs_f64(), started.elapsed().as_secs_f64());
        }

        let (mut store, admin) = fresh(&db)?;
        let started = Instant::now();
        let files: Vec<RunFile<'_>> =
            planned.iter().map(|(path, profile)| RunFile { path, kind: profile.kind, profile }).collect();
        let report = store.with_one_checkpoint(|s| import::import_run(s, &files, &admin, false, &mut |_| {}))??;
        assert_eq!(report.imported_files(), planned.len());
        println!("{round} one-run {:.2} {:.2}", report.files_time.as_secs_f64(), started.elapsed().as_secs_f64());
    }
    for suffix in ["", "-wal", "-shm", ".audit-anchor"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    Ok(())
}
