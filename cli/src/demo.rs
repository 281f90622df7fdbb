//! `voucherdesk demo`: demo files, and with --db the demo workspace.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Args;
use std::path::{Path, PathBuf};
use voucherdesk::credentials::{self, AccountSecrets};
use voucherdesk::demo;
use voucherdesk::import::profile;
use voucherdesk::import::{ImportRequest, import_file};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::reconcile::{ReconcileOptions, reconcile};
use voucherdesk::store::Store;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Where to write the files (default: demo-files next to the database).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 2000)]
    orders: u64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The number of the first order (CO-0000001 is 1): files numbered past an
    /// earlier set add new orders to its ledger.
    #[arg(long, default_value_t = 1)]
    first_order: u64,
    /// With --db: add PSP accounts (demo-dlocal, demo-pagoefectivo) pointing at a sandbox
    /// here, its documented default secrets in the OS keyring.
    #[arg(long)]
    sandbox_url: Option<String>,
    #[arg(long)]
    json: bool,
}

/// The demo team, created in an empty demo database (passwords in the README).
pub(crate) const DEMO_OPERATORS: [(&str, Role, &str); 4] = [
    ("admin", Role::Admin, "voucherdesk-admin"),
    ("ana", Role::Support, "voucherdesk-ana"),
    ("fabio", Role::Finance, "voucherdesk-fabio"),
    ("marta", Role::Manager, "voucherdesk-marta"),
];

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: DemoArgs) -> Result<(), Failure> {
    let out = match (&args.out, db) {
        (Some(out), _) => out.clone(),
        (None, Some(db)) => db.parent().unwrap_or(Path::new(".")).join("demo-files"),
        (None, None) => return Err(Failure::refusal("give --out DIR (files only) or --db PATH (files, imported)")),
    };
    // Who acts is settled before any file is written: a refusal is bad input (exit 2), nothing written.
    let opened = match db {
        Some(_) => {
            let store = open(db)?;
            let named = match store.operator_count().map_err(Failure::fault)? {
                0 => None,
                _ => Some(demo_operator(&store, operator, args.sandbox_url.is_some())?),
            };
            Some((store, named))
        }
        None => None,
    };
    let manifest = demo::generate_numbered(&out, args.first_order, args.orders, args.seed)?;
    for f in &manifest.files {
        eprintln!("wrote {} ({} rows, {}, {})", f.path.display(), f.rows, f.encoding, f.delimiter);
    }
    if let Some((mut store, named)) = opened {
        let acting = if let Some(named) = named {
            named
        } else {
            let admin = change(&mut store, |s| {
                operators::add(s, None, DEMO_OPERATORS[0].0, DEMO_OPERATORS[0].1, Some(DEMO_OPERATORS[0].2))
            })??;
            for (name, role, password) in &DEMO_OPERATORS[1..] {
                change(&mut store, |s| operators::add(s, Some(&admin), name, *role, Some(password)))??;
            }
            eprintln!("created the demo operators: admin, ana (support), fabio (finance), marta (manager)");
            admin
        };
        for f in &manifest.files {
            let profile = profile::built_in(f.profile).ok_or_else(|| Failure::fault("demo profile missing"))?;
            let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &acting };
            let outcome = change(&mut store, |s| import_file(s, &request))?.map_err(Failure::fault)?;
            eprintln!("{outcome}");
        }
        change(&mut store, |s| s.search_catch_up())?.map_err(Failure::fault)?;
        // The PSP accounts (and the dLocal account's contracted fee) before reconciling, so the
        // run finds what the demo expects, fee mismatches included.
        change(&mut store, |s| demo_psp(s, &acting, &out, args.sandbox_url.as_deref()))??;
        let options = ReconcileOptions {
            settlement_lag_days: manifest.settlement_lag_days,
            ..ReconcileOptions::on(manifest.as_of.parse().map_err(Failure::fault)?)
        };
        let summary = change(&mut store, |s| reconcile(s, &options, &acting))?.map_err(Failure::fault)?;
        eprintln!("reconciled: {} matched, {} open exceptions", summary.matched, summary.open_exceptions);
    } else if args.sandbox_url.is_some() {
        return Err(Failure::refusal("--sandbox-url needs --db (the accounts go into the demo database)"));
    }
    if args.json {
        return print_json(&manifest);
    }
    out!("expected (as of {}, settlement lag {} days):", manifest.as_of, manifest.settlement_lag_days);
    out!("{}", serde_json::to_string_pretty(&manifest.expected).map_err(Failure::fault)?);
    out!(
        "(fee_mismatch assumes a dLocal account with a contracted fee of {} basis points: voucherdesk credentials fee-rate NAME --bps {})",
        manifest.dlocal_fee_bps,
        manifest.dlocal_fee_bps
    );
    Ok(())
}

/// The operator `demo` acts as in a database that has operators: one who may
/// import and reconcile (and, for `--sandbox-url`, manage PSP credentials).
pub(crate) fn demo_operator(
    store: &Store,
    operator: &Option<String>,
    adds_accounts: bool,
) -> Result<Operator, Failure> {
    let named = acting(store, operator)?;
    named.require(operators::Permission::Import)?;
    named.require(operators::Permission::Reconcile)?;
    if adds_accounts {
        named.require(operators::Permission::ManageCredentials)?;
    }
    Ok(named)
}

/// The demo's live PSP: the sandbox preload (the ledger's pending
/// vouchers, some to be paid soon after the sandbox starts) and, with
/// `--sandbox-url`, PSP accounts pointing at the sandbox. A keyring that is
/// not there is reported, not fatal: the demo data is still good.
pub(crate) fn demo_psp(
    store: &mut Store,
    acting: &Operator,
    out: &Path,
    sandbox_url: Option<&str>,
) -> Result<(), Failure> {
    use voucherdesk_sandbox::{self as sandbox, preload};
    let pending = store.sync_pending_vouchers(preload::PRELOAD_ENTRIES_MAX as u32).map_err(Failure::fault)?;
    let plan = preload::plan_for_demo(&pending);
    let path = out.join("sandbox-preload.json");
    plan.write(&path).map_err(|e| Failure::fault(format!("{}: {e}", path.display())))?;
    let paid_soon = |ms: &Option<u64>| ms.is_some();
    eprintln!(
        "wrote {} ({} dLocal and {} PagoEfectivo pending vouchers; {} to be paid by the sandbox)",
        path.display(),
        plan.dlocal.len(),
        plan.pagoefectivo.len(),
        plan.dlocal.iter().filter(|p| paid_soon(&p.pay_after_ms)).count()
            + plan.pagoefectivo.iter().filter(|c| paid_soon(&c.pay_after_ms)).count()
    );
    let Some(url) = sandbox_url else { return Ok(()) };
    let vault = credentials::OsKeyring::new();
    let accounts = [
        (
            "demo-dlocal",
            AccountSecrets::Dlocal(credentials::DlocalSecrets {
                login: sandbox::DEFAULT_DLOCAL_LOGIN.into(),
                trans_key: sandbox::DEFAULT_DLOCAL_TRANS_KEY.into(),
                secret: sandbox::DEFAULT_DLOCAL_SECRET.into(),
            }),
        ),
        (
            "demo-pagoefectivo",
            AccountSecrets::PagoEfectivo(credentials::PagoEfectivoSecrets {
                service_id: sandbox::DEFAULT_PE_SERVICE_ID.into(),
                access_key: sandbox::DEFAULT_PE_ACCESS_KEY.into(),
                secret: sandbox::DEFAULT_PE_SECRET.into(),
            }),
        ),
    ];
    for (name, secrets) in &accounts {
        match credentials::add(store, &vault, acting, name, url, secrets) {
            Ok(account) => eprintln!("added PSP account {} ({}, {})", account.name, account.psp, account.base_url),
            Err(credentials::CredentialError::Conflict(_)) => eprintln!("PSP account {name} already exists"),
            Err(e @ credentials::CredentialError::KeyringUnavailable(_)) => {
                eprintln!("warning: PSP account {name} not added: {e}");
                return Ok(());
            }
            Err(e) => return Err(Failure::from(e)),
        }
    }
    let fee = credentials::set_fee_rate(store, acting, "demo-dlocal", Some(voucherdesk::demo::DEMO_FEE_BPS))?;
    eprintln!("demo-dlocal's contracted fee: {} basis points", fee.unwrap_or_default());
    Ok(())
}
