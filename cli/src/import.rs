//! `voucherdesk import`: shop orders, PSP payments or settlement reports, each file atomically;
//! `import auto` takes a morning's files of every kind in one run.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use voucherdesk::import::profile::{self, ImportKind, Profile};
use voucherdesk::import::{ImportError, ImportOutcome, PlannedFile, RunEvent, RunFile, import_run, plan_run};
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
    let files: Vec<RunFile<'_>> = args.files.iter().map(|path| RunFile { path, kind, profile: &profile }).collect();
    run_files(&mut store, &args, &operator, &files, Vec::new())
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
    let mut unknown = Vec::new();
    let mut planned = Vec::new();
    for PlannedFile { path, profile } in plan_run(&args.files, &custom) {
        match profile {
            Ok(profile) => planned.push((path, profile)),
            Err(e) => {
                eprintln!("{e}");
                unknown.push(e);
            }
        }
    }
    let files: Vec<RunFile<'_>> =
        planned.iter().map(|(path, profile)| RunFile { path, kind: profile.kind, profile }).collect();
    run_files(&mut store, &args, &operator, &files, unknown)
}

/// The files of one call as one run, each file told as it ends; then with
/// --reconcile a reconciliation, inside the call's one checkpoint, on the
/// pages the files just brought into the cache. `refused` are files refused
/// before the run (no profile fits them).
fn run_files(
    store: &mut voucherdesk::store::Store,
    args: &ImportArgs,
    operator: &Operator,
    files: &[RunFile<'_>],
    refused: Vec<ImportError>,
) -> Result<(), Failure> {
    let json = args.json;
    let (ran, reconciled) = store
        .with_one_checkpoint(|store| {
            let ran = import_run(store, files, operator, args.no_index, &mut |event| match event {
                RunEvent::Ended { result: Ok(outcome), .. } if !json => out!("{outcome}"),
                RunEvent::Ended { result: Err(e), .. } => eprintln!("{e}"),
                RunEvent::Ended { .. } | RunEvent::Started { .. } | RunEvent::Progress { .. } => {}
            })
            .map_err(Failure::from)?;
            if matches!(args.kind, KindArg::Auto) {
                eprintln!(
                    "{} file(s): {} imported ({} rows), {} already imported, {} refused, in {} ms",
                    args.files.len(),
                    ran.imported_files(),
                    ran.imported_rows(),
                    ran.outcomes().count() - ran.imported_files(),
                    ran.failures().count() + refused.len(),
                    ran.files_time.as_millis()
                );
            }
            if let Some((indexed, took)) = ran.search {
                let beside = match indexed.from_image {
                    0 => String::new(),
                    n => format!(" ({n} built beside the import)"),
                };
                eprintln!(
                    "search index: {} orders indexed{beside} in {} ms",
                    indexed.from_image + indexed.caught_up,
                    took.as_millis()
                );
            }
            let reconciled = match args.reconcile && !ran.has_fault() {
                true => Some(reconcile_after(store, args, operator)?),
                false => None,
            };
            Ok::<_, Failure>((ran, reconciled))
        })
        .map_err(Failure::fault)??;
    let outcomes: Vec<ImportOutcome> = ran.ended.iter().filter_map(|(_, r)| r.as_ref().ok().cloned()).collect();
    let failures: Vec<ImportError> =
        refused.into_iter().chain(ran.ended.into_iter().filter_map(|(_, r)| r.err())).collect();
    report(args, outcomes, failures, reconciled)
}

/// --reconcile: what `voucherdesk reconcile` does, once the files are in.
fn reconcile_after(
    store: &mut voucherdesk::store::Store,
    args: &ImportArgs,
    operator: &Operator,
) -> Result<ReconcileSummary, Failure> {
    let options = ReconcileOptions::load(store, args.as_of).map_err(Failure::fault)?;
    let summary = change(store, |s| reconcile_with(s, &options, operator, RunMode::Changes))??;
    crate::reconcile::say_how(&summary);
    Ok(summary)
}

/// The JSON report (or the reconciled counts) and the exit status of one call.
fn report(
    args: &ImportArgs,
    outcomes: Vec<ImportOutcome>,
    failures: Vec<ImportError>,
    reconciled: Option<ReconcileSummary>,
) -> Result<(), Failure> {
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
