//! `voucherdesk`: the command-line face of the VoucherDesk library. Each
//! subcommand parses its flags, calls the library, and prints; no rules here.
//! Exit codes (one mapping, in failure.rs): 0 done, 2 the input was refused
//! (nothing written), 3 a check found tampering (`audit verify`) or forged
//! notifications (`verify-notifications`), 1 anything else.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// `println!` that never panics: a closed pipe (`voucherdesk lookup x | head`)
/// ends the program quietly, any other write error with exit code 1.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe { 0 } else { 1 });
        }
    }};
}

// Declared after `out!` so they can use it: the shared helpers, then one file per command group.
mod failure;
mod flags;
mod output;
mod workspace;

mod audit;
mod backup;
mod credentials;
mod dashboard;
mod demo;
mod exceptions;
mod export;
mod fx;
mod import;
mod kpis;
mod listen;
mod lookup;
mod notifications;
mod operators;
mod profiles;
mod reconcile;
mod refunds;
mod report;
mod sandbox;
mod settings;
mod stats;
mod sync;
mod team;
mod verify_notifications;
mod vouchers;

use failure::Failure;

// mimalloc: the importer allocates on one thread and frees on another, which
// glibc's allocator handles poorly (it showed as the top cost in profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `0.1.0 (commit 1a2b3c4d5e6f, schema 17)`, made once for clap.
fn version_text() -> &'static str {
    Box::leak(voucherdesk::version::version_line(env!("VOUCHERDESK_COMMIT")).into_boxed_str())
}

#[derive(Parser)]
#[command(name = "voucherdesk", version = version_text(), about = "Cash-voucher reconciliation for Efecty and PagoEfectivo")]
struct Cli {
    /// The database file (default: voucherdesk.sqlite in the OS data directory).
    #[arg(long, global = true, env = "VOUCHERDESK_DB")]
    db: Option<PathBuf>,
    /// The operator a state-changing command acts as; must exist (see `operators`).
    #[arg(long, global = true, env = "VOUCHERDESK_OPERATOR")]
    operator: Option<String>,
    /// In team mode: read --operator's team password from the first line of standard input (else the OS keyring's
    /// entry from `team join`, else a prompt when standard input is a terminal). Local mode needs none: whoever
    /// holds the file may act.
    #[arg(long, global = true)]
    operator_password_stdin: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import shop orders, PSP payments or settlement reports (each file atomically; `auto`: a run of files of every kind).
    Import(import::ImportArgs),
    /// Match orders, payments and settlements and update the exception queue.
    Reconcile(reconcile::ReconcileArgs),
    /// List and resolve reconciliation exceptions.
    #[command(subcommand)]
    Exceptions(exceptions::ExceptionsCommand),
    /// Find case files by order id, payment id, voucher code/CIP, email, phone, document or name. With
    /// --operator, each names the exception its next step resolves and the action that operator may take.
    Lookup {
        query: String,
        /// Under each row from a file, the row as the file has it (from the import's archive).
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        #[arg(long)]
        json: bool,
    },
    /// Row counts of the ledger.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Write demo files (and import + reconcile them when --db is given).
    Demo(demo::DemoArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Match rate, open exceptions by kind and age, paid vs settled, 30-day trend.
    Dashboard {
        /// CO or PE (default: both markets).
        #[arg(long)]
        market: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List the built-in import profiles and the headers each needs.
    Profiles,
    /// Operators and their roles (support, finance, manager, admin).
    #[command(subcommand)]
    Operators(operators::OperatorsCommand),
    /// Poll the PSPs for every voucher that is not final (until Ctrl-C, or one round with --once).
    Sync(sync::SyncArgs),
    /// Receive PSP notifications over HTTP: verify, store, apply (reconciles after changes when --operator is given).
    Listen(listen::ListenArgs),
    /// Audit a captured log of PSP notifications (one JSON object per line); exit 3 when forged ones are found.
    VerifyNotifications(verify_notifications::VerifyNotificationsArgs),
    /// A local dLocal + PagoEfectivo on 127.0.0.1 (see docs/SANDBOX.md); runs until killed.
    Sandbox(sandbox::SandboxArgs),
    /// PSP credentials (admins only): secrets in the OS keyring, never on the command line.
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    // --- buyer notifications ---
    /// Buyer emails and SMS: preview, re-send, the delivery log, the outbox deliverer, settings.
    #[command(subcommand)]
    Notifications(notifications::NotificationsCommand),
    /// Refunds: request, approve (maker-checker by tier), submit to the PSP exactly once, follow.
    #[command(subcommand)]
    Refunds(refunds::RefundsCommand),
    /// Dated exchange rates (the rates refund approvals lock): add, import a bank's file, list.
    #[command(subcommand)]
    Fx(fx::FxCommand),
    /// CSV exports for finance: payments and settlement rows by market date, the queue, refunds.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Operations KPIs by voucher creation date: success rate, time to pay, sync delay, missed callbacks, refunds, settlement.
    Kpis(kpis::KpisArgs),
    /// The daily report: a market date's payments and settlement rows per market, and a PDF summary.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Team mode: the shared PostgreSQL server (schema, leases, status).
    #[command(subcommand)]
    Team(team::TeamCommand),
    /// Settings and payment terms per PSP and market (T+N, ship on paid or settled); admins change them.
    Settings(settings::SettingsArgs),
    /// Voucher actions at the order's PSP: issue a new voucher, extend a CIP, cancel an unpaid CIP.
    #[command(subcommand)]
    Vouchers(vouchers::VouchersCommand),
    /// One archive of the database (a consistent copy, while the app may run), its receipts and a manifest (admins).
    Backup(backup::BackupArgs),
    /// Restore an archive: everything is checked first; the database it replaces is kept aside. Close the app first.
    Restore(backup::RestoreArgs),
}

/// Transparent huge pages off for this process: the kernel zeroes them 2 MiB
/// at a time, and a run that builds large short-lived fact lists pays more
/// for that than it gains (reconcile at a million orders: 2.8 → 2.2 s, see
/// docs/BENCHMARKS.md). Best effort: an older kernel just keeps its default.
#[cfg(target_os = "linux")]
fn prefer_small_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag
    // on this process; its result is ignored on purpose.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(target_os = "linux"))]
fn prefer_small_pages() {}

fn main() -> ExitCode {
    prefer_small_pages();
    // A panic leaves a local report in the data directory's crash-reports/ (beside the default database).
    voucherdesk::crash::install(voucherdesk::crash::default_dir(), version_text().to_string());
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.class.exit_code())
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let password = if cli.operator_password_stdin { Some(operators::read_password()?) } else { None };
    workspace::set_sign_in(&cli.operator, password);
    match cli.command {
        Command::Import(args) => import::run(&cli.db, &cli.operator, args),
        Command::Reconcile(args) => reconcile::run(&cli.db, &cli.operator, args),
        Command::Exceptions(cmd) => exceptions::run(&cli.db, &cli.operator, cmd),
        Command::Operators(cmd) => operators::run(&cli.db, &cli.operator, cmd),
        Command::Sync(args) => sync::run(&cli.db, &cli.operator, args),
        Command::Credentials(cmd) => credentials::run(&cli.db, &cli.operator, cmd),
        Command::Notifications(cmd) => notifications::run(&cli.db, &cli.operator, cmd),
        Command::Refunds(cmd) => refunds::run(&cli.db, &cli.operator, cmd),
        Command::Fx(cmd) => fx::run(&cli.db, &cli.operator, cmd),
        Command::Export(cmd) => export::run(&cli.db, &cli.operator, cmd),
        Command::Kpis(args) => kpis::run(&cli.db, &cli.operator, args),
        Command::Report(cmd) => report::run(&cli.db, &cli.operator, cmd),
        Command::Vouchers(cmd) => vouchers::run(&cli.db, &cli.operator, cmd),
        Command::Backup(args) => backup::run(&cli.db, &cli.operator, args),
        Command::Restore(args) => backup::run_restore(&cli.db, args),
        Command::Team(cmd) => team::run(&cli.db, &cli.operator, cmd),
        Command::Settings(args) => settings::run(&cli.db, &cli.operator, args),
        Command::Lookup { query, raw, json } => lookup::run(&cli.db, &cli.operator, query, raw, json),
        Command::Stats { json } => stats::run(&cli.db, json),
        Command::Demo(args) => demo::run(&cli.db, &cli.operator, args),
        Command::Listen(args) => listen::run(&cli.db, &cli.operator, args),
        Command::VerifyNotifications(args) => verify_notifications::run(&cli.db, args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Dashboard { market, json } => dashboard::run(&cli.db, market, json),
        Command::Audit(cmd) => audit::run(&cli.db, cmd),
        Command::Profiles => profiles::run(),
    }
}
