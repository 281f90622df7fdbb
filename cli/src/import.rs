//! `voucherdesk import`: shop orders, PSP payments or settlement reports, each file atomically;
//! `import auto` takes a morning's files of every kind in one run.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use voucherdesk::import::profile::{self, ImportKind, Profile};
use voucherdesk::import::{
    ImportError, ImportOutcome, ImportRequest, PlannedFile, import_file, import_prepared, plan_run, prepare_each,
};
use voucherdesk::operators::{self, Operator};
use voucherdesk::reconcile::{ReconcileOptions, ReconcileSummary, RunMode, reconcile_with};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Orders,
    Payments,
    Settlements,
    /// Files of any kind, each with the built-in profile its header carries.
    Auto,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[arg(value_enum)]
    kind: KindArg,
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A built-in profile: shop, dlocal, dlocal-settlement, pagoefectivo, pagoefectivo-settlement.
    #[arg(long, conflicts_with = "profile_file")]
    profile: Option<String>,
    /// A custom profile in TOML (see assets/profiles/payu-colombia.toml); with
    /// `auto`, one or more, recognised beside the built-in ones.
    #[arg(long)]
    profile_file: Vec<PathBuf>,
    /// Leave the buyer search index for later (the first lookup builds it).
    #[arg(long)]
    no_index: bool,
    /// Reconcile once the files are in, in the same run: what `voucherdesk reconcile` does
    /// (only what changed since the last run, the settings' lag and tolerance).
    #[arg(long)]
    reconcile: bool,
    /// With --reconcile: the business date to reconcile as of (default today in Bogotá/Lima).
    #[arg(long, requires = "reconcile")]
    as_of: Option<NaiveDate>,
    #[arg(long)]
    json: bool,
}

pub(crate) fn load_profile(args: &ImportArgs) -> Result<Profile, Failure> {
    match (&args.profile, args.profile_file.as_slice()) {
        (_, [path]) => profile::load_profile_file(path).map_err(Failure::refusal),
        (_, [_, _, ..]) => Err(Failure::refusal("one --profile-file for one kind of file (import auto takes several)")),
        (Some(name), []) => profile::built_in(name)
            .ok_or_else(|| Failure::refusal(profile::ProfileError::Unknown { name: name.clone() })),
        (None, []) => Err(Failure::refusal("give --profile NAME or --profile-file PATH (or import auto FILE...)")),
    }
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: ImportArgs) -> Result<(), Failure> {
    let kind = match args.kind {
        KindArg::Orders => ImportKind::Orders,
        KindArg::Payments => ImportKind::Payments,
        KindArg::Settlements => ImportKind::Settlements,
        KindArg::Auto => return run_auto(db, operator, args),
    };
    let profile = load_profile(&args)?;
    let mut store = open(db)?;
    let operator = may_import(&store, operator, &args)?;
    let mut done = Done::new(&store, args.json);
    let reconciled = store
        .with_one_checkpoint(|store| {
            let ran = store.write_run(|store| {
                for path in &args.files {
                    let request = ImportRequest { kind, profile: &profile, path, operator: &operator };
                    done.written(change(store, |s| import_file(s, &request)))?;
                }
                Ok(())
            });
            done.run_ended(ran)?;
            index_and_reconcile(store, &args, &operator, &done, None)
        })
        .map_err(Failure::fault)??;
    report(&args, done, reconciled)
}

/// The operator this call acts as, refused before any file is read unless they
/// may import (and reconcile, with --reconcile).
fn may_import(
    store: &voucherdesk::store::Store,
    given: &Option<String>,
    args: &ImportArgs,
) -> Result<Operator, Failure> {
    let operator = acting(store, given)?;
    operator.require(operators::Permission::Import)?;
    if args.reconcile {
        operator.require(operators::Permission::Reconcile)?;
    }
    Ok(operator)
}

/// `import auto`: every file's profile from its header, orders before payments
/// before settlement reports, the next file read while one is written.
fn run_auto(db: &Option<PathBuf>, operator: &Option<String>, args: ImportArgs) -> Result<(), Failure> {
    if args.profile.is_some() {
        return Err(Failure::refusal(
            "import auto recognises each file's profile from its header; to name one, use import orders|payments|settlements",
        ));
    }
    let custom = args
        .profile_file
        .iter()
        .map(|path| profile::load_profile_file(path).map_err(Failure::refusal))
        .collect::<Result<Vec<_>, _>>()?;
    let mut store = open(db)?;
    let operator = may_import(&store, operator, &args)?;
    let started = std::time::Instant::now();
    let mut done = Done::new(&store, args.json);
    let mut planned = Vec::new();
    for PlannedFile { path, profile } in plan_run(&args.files, &custom) {
        match profile {
            Ok(profile) => planned.push((path, profile)),
            Err(e) => done.record(Err(e)),
        }
    }
    let paths: Vec<&std::path::Path> = planned.iter().map(|(path, _)| path.as_path()).collect();
    let mut search_image = None;
    let reconciled = store
        .with_one_checkpoint(|store| {
            let ran = store.write_run(|store| {
                let mut stopped = Ok(());
                prepare_each(&paths, &mut |index, prepared| {
                    if stopped.is_err() {
                        return;
                    }
                    let (path, profile) = &planned[index];
                    let request = ImportRequest { kind: profile.kind, profile, path, operator: &operator };
                    let written = match prepared {
                        Ok(file) => change(store, |s| import_prepared(s, &request, file, &mut |_| {})),
                        Err(e) => Ok(Err(e)),
                    };
                    stopped = done.written(written);
                    // Orders come first: once the last is in, a first load's search
                    // index is built beside the payments and settlements.
                    let orders_end = profile.kind == ImportKind::Orders
                        && planned.get(index + 1).is_none_or(|(_, next)| next.kind != ImportKind::Orders);
                    if stopped.is_ok() && orders_end && !args.no_index {
                        match change(store, |s| s.search_image_start()) {
                            Ok(Ok(image)) => search_image = image,
                            Ok(Err(e)) => stopped = Err(Failure::fault(e)),
                            Err(failure) => stopped = Err(failure),
                        }
                    }
                });
                stopped
            });
            done.run_ended(ran)?;
            eprintln!(
                "{} file(s): {} imported ({} rows), {} already imported, {} refused, in {} ms",
                args.files.len(),
                done.imported_files(),
                done.imported_rows(),
                done.outcomes.len() - done.imported_files(),
                done.failures.len(),
                started.elapsed().as_millis()
            );
            index_and_reconcile(store, &args, &operator, &done, search_image.take())
        })
        .map_err(Failure::fault)??;
    report(&args, done, reconciled)
}

/// What the files of one call came to.
struct Done {
    outcomes: Vec<ImportOutcome>,
    failures: Vec<ImportError>,
    json: bool,
    /// In a team copy, the last file's outcome until its upload is confirmed
    /// (by the next file's write, or the run's end): a file is reported
    /// imported only once the team has it.
    unconfirmed: Option<Result<ImportOutcome, ImportError>>,
    confirms_later: bool,
}

impl Done {
    fn new(store: &voucherdesk::store::Store, json: bool) -> Done {
        Done {
            outcomes: Vec::new(),
            failures: Vec::new(),
            json,
            unconfirmed: None,
            confirms_later: store.is_team_copy(),
        }
    }

    /// One file's write: its outcome, or the fault that stops the run (the
    /// file before it, still unconfirmed, was put back with it).
    fn written(&mut self, written: Result<Result<ImportOutcome, ImportError>, Failure>) -> Result<(), Failure> {
        match written {
            Ok(result) if self.confirms_later => {
                if let Some(confirmed) = self.unconfirmed.replace(result) {
                    self.record(confirmed);
                }
                Ok(())
            }
            Ok(result) => {
                self.record(result);
                Ok(())
            }
            Err(failure) => {
                self.unconfirmed = None;
                Err(failure)
            }
        }
    }

    /// The write run's end: the last file confirmed, or the fault that stopped it.
    fn run_ended(&mut self, ran: Result<Result<(), Failure>, voucherdesk::store::StoreError>) -> Result<(), Failure> {
        match ran {
            Ok(Ok(())) => {
                if let Some(confirmed) = self.unconfirmed.take() {
                    self.record(confirmed);
                }
                Ok(())
            }
            Ok(Err(failure)) => Err(failure),
            Err(e) => {
                self.unconfirmed = None;
                Err(Failure::from(e))
            }
        }
    }

    fn record(&mut self, result: Result<ImportOutcome, ImportError>) {
        match result {
            Ok(outcome) => {
                if !self.json {
                    out!("{outcome}");
                }
                self.outcomes.push(outcome);
            }
            Err(e) => {
                eprintln!("{e}");
                self.failures.push(e);
            }
        }
    }

    fn imported_files(&self) -> usize {
        self.outcomes.iter().filter(|o| matches!(o, ImportOutcome::Imported(_))).count()
    }

    fn imported_rows(&self) -> i64 {
        self.outcomes
            .iter()
            .map(|o| match o {
                ImportOutcome::Imported(report) => report.rows.total,
                ImportOutcome::AlreadyImported { .. } => 0,
            })
            .sum()
    }
}

/// The search index (from the image built beside the run, on a first load),
/// then with --reconcile a reconciliation run: both inside the call's one
/// checkpoint, on the pages the files just brought into the cache.
/// A file that failed for a fault (not a refusal) leaves the reconciliation to a
/// later run.
fn index_and_reconcile(
    store: &mut voucherdesk::store::Store,
    args: &ImportArgs,
    operator: &Operator,
    done: &Done,
    search_image: Option<voucherdesk::store::SearchImage>,
) -> Result<Option<ReconcileSummary>, Failure> {
    if !args.no_index && (done.imported_files() > 0 || search_image.is_some()) {
        let started = std::time::Instant::now();
        let indexed = change(store, |s| s.search_catch_up_from(search_image))?.map_err(Failure::fault)?;
        let beside = match indexed.from_image {
            0 => String::new(),
            n => format!(" ({n} built beside the import)"),
        };
        eprintln!(
            "search index: {} orders indexed{beside} in {} ms",
            indexed.from_image + indexed.caught_up,
            started.elapsed().as_millis()
        );
    }
    if !args.reconcile || done.failures.iter().any(|e| !e.is_refusal()) {
        return Ok(None);
    }
    let options = ReconcileOptions::load(store, args.as_of).map_err(Failure::fault)?;
    let summary = change(store, |s| reconcile_with(s, &options, operator, RunMode::Changes))??;
    crate::reconcile::say_how(&summary);
    Ok(Some(summary))
}

/// The JSON report (or the reconciled counts) and the exit status of one call.
fn report(args: &ImportArgs, done: Done, reconciled: Option<ReconcileSummary>) -> Result<(), Failure> {
    let Done { outcomes, failures, .. } = done;
    if args.json {
        let errors: Vec<_> =
            failures.iter().map(|e| serde_json::json!({"code": e.code(), "message": e.to_string()})).collect();
        let mut json = serde_json::json!({"imported": outcomes, "errors": errors});
        if let Some(summary) = &reconciled {
            json["reconciled"] = serde_json::to_value(summary).map_err(Failure::fault)?;
        }
        print_json(&json)?;
    } else if let Some(summary) = &reconciled {
        crate::reconcile::print_summary(summary);
    }
    match failures.iter().find(|e| !e.is_refusal()) {
        Some(e) => Err(Failure::fault(format!("import failed: {}", e.code()))),
        None if !failures.is_empty() => Err(Failure::refusal(format!(
            "{} of {} file(s) refused; those files imported nothing",
            failures.len(),
            args.files.len()
        ))),
        None => Ok(()),
    }
}
