//! `voucherdesk import`: shop orders, PSP payments or settlement reports, each file atomically.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use voucherdesk::import::profile::{self, ImportKind, Profile};
use voucherdesk::import::{ImportOutcome, ImportRequest, import_file};
use voucherdesk::operators;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Orders,
    Payments,
    Settlements,
}

#[derive(Args)]
pub(crate) struct ImportArgs {
    #[arg(value_enum)]
    kind: KindArg,
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A built-in profile: shop, dlocal, dlocal-settlement, pagoefectivo, pagoefectivo-settlement.
    #[arg(long, conflicts_with = "profile_file", required_unless_present = "profile_file")]
    profile: Option<String>,
    /// A custom profile in TOML (see assets/profiles/payu-colombia.toml).
    #[arg(long)]
    profile_file: Option<PathBuf>,
    /// Leave the buyer search index for later (the first lookup builds it).
    #[arg(long)]
    no_index: bool,
    #[arg(long)]
    json: bool,
}

pub(crate) fn load_profile(args: &ImportArgs) -> Result<Profile, Failure> {
    match (&args.profile, &args.profile_file) {
        (_, Some(path)) => profile::load_profile_file(path).map_err(Failure::refusal),
        (Some(name), None) => profile::built_in(name)
            .ok_or_else(|| Failure::refusal(profile::ProfileError::Unknown { name: name.clone() })),
        (None, None) => Err(Failure::refusal("give --profile NAME or --profile-file PATH")),
    }
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: ImportArgs) -> Result<(), Failure> {
    let profile = load_profile(&args)?;
    let kind = match args.kind {
        KindArg::Orders => ImportKind::Orders,
        KindArg::Payments => ImportKind::Payments,
        KindArg::Settlements => ImportKind::Settlements,
    };
    let mut store = open(db)?;
    let operator = acting(&store, operator)?;
    operator.require(operators::Permission::Import)?;
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for path in &args.files {
        let request = ImportRequest { kind, profile: &profile, path, operator: &operator };
        match change(&mut store, |s| import_file(s, &request))? {
            Ok(outcome) => {
                if !args.json {
                    out!("{outcome}");
                }
                outcomes.push(outcome);
            }
            Err(e) => {
                eprintln!("{e}");
                failures.push(e);
            }
        }
    }
    if !args.no_index && outcomes.iter().any(|o| matches!(o, ImportOutcome::Imported(_))) {
        let started = std::time::Instant::now();
        let indexed = change(&mut store, |s| s.search_catch_up())?.map_err(Failure::fault)?;
        eprintln!("search index: {indexed} orders indexed in {} ms", started.elapsed().as_millis());
    }
    if args.json {
        let errors: Vec<_> =
            failures.iter().map(|e| serde_json::json!({"code": e.code(), "message": e.to_string()})).collect();
        print_json(&serde_json::json!({"imported": outcomes, "errors": errors}))?;
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
