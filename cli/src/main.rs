//! `voucherdesk`: the command-line face of the VoucherDesk library. Each
//! subcommand parses its flags, calls the library, and prints; no rules here.
//! Exit codes: 0 done, 2 the input was refused (nothing written), 3 a check found
//! tampering (`audit verify`) or forged notifications (`verify-notifications`),
//! 1 anything else.

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use voucherdesk::credentials::{self, AccountSecrets};
use voucherdesk::exceptions::{self, ExceptionKind, ExceptionStatus, LinkTarget, Resolution, ResolutionAction};
use voucherdesk::import::profile::{self, ImportKind, Profile};
use voucherdesk::import::{ImportOutcome, ImportRequest, import_file};
use voucherdesk::money::{Currency, format_minor};
use voucherdesk::operators::{self, Operator, Role};
use voucherdesk::reconcile::{ReconcileOptions, reconcile};
use voucherdesk::store::{ExceptionFilter, Store};
use voucherdesk::{audit, demo, lookup, sync, webhooks};

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

// Subcommand groups in their own files, declared after `out!` so they can use it.
mod backup;
mod export;
mod fx;
mod kpis;
mod notifications;
mod refunds;
mod settings;
mod team;
mod vouchers;

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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Import shop orders, PSP payments or settlement reports (each file atomically).
    Import(ImportArgs),
    /// Match orders, payments and settlements and update the exception queue.
    Reconcile(ReconcileArgs),
    /// List and resolve reconciliation exceptions.
    #[command(subcommand)]
    Exceptions(ExceptionsCommand),
    /// Find case files by order id, payment id, voucher code/CIP, email, phone, document or name. With
    /// --operator, each names the exception its next step resolves and the action that operator may take.
    Lookup {
        query: String,
        #[arg(long)]
        json: bool,
    },
    /// Row counts of the ledger.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Write demo files (and import + reconcile them when --db is given).
    Demo(DemoArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
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
    Operators(OperatorsCommand),
    /// Poll the PSPs for every voucher that is not final (until Ctrl-C, or one round with --once).
    Sync(SyncArgs),
    /// Receive PSP notifications over HTTP: verify, store, apply (reconciles after changes when --operator is given).
    Listen(ListenArgs),
    /// Audit a captured log of PSP notifications (one JSON object per line); exit 3 when forged ones are found.
    VerifyNotifications(VerifyNotificationsArgs),
    /// A local dLocal + PagoEfectivo on 127.0.0.1 (see docs/SANDBOX.md); runs until killed.
    Sandbox(SandboxArgs),
    /// PSP credentials (admins only): secrets in the OS keyring, never on the command line.
    #[command(subcommand)]
    Credentials(CredentialsCommand),
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

#[derive(Clone, Copy, ValueEnum)]
enum PspArg {
    Dlocal,
    Pagoefectivo,
}

impl PspArg {
    fn psp(self) -> webhooks::Psp {
        match self {
            PspArg::Dlocal => webhooks::Psp::Dlocal,
            PspArg::Pagoefectivo => webhooks::Psp::PagoEfectivo,
        }
    }
}

#[derive(Args)]
struct ListenArgs {
    #[arg(long, default_value_t = webhooks::server::LISTEN_PORT_DEFAULT)]
    port: u16,
    /// The address to listen on (a tunnel or reverse proxy forwards to it).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Refuse dLocal notifications whose X-Date is older than this many seconds.
    #[arg(long, default_value_t = webhooks::STALE_AFTER_S_DEFAULT)]
    stale_after_s: i64,
    /// A PSP account whose secret (and dLocal login) comes from the OS keyring;
    /// once per PSP (`credentials add` makes them).
    #[arg(long = "account", value_name = "NAME", conflicts_with_all = ["dlocal_secret_env", "pe_secret_env"])]
    accounts: Vec<String>,
    /// The environment variable holding dLocal's secret key (scripted runs).
    #[arg(long)]
    dlocal_secret_env: Option<String>,
    /// The merchant's dLocal X-Login; notifications for another login are refused.
    #[arg(long, requires = "dlocal_secret_env")]
    dlocal_login: Option<String>,
    /// The environment variable holding PagoEfectivo's secret key (scripted runs).
    #[arg(long)]
    pe_secret_env: Option<String>,
}

#[derive(Args)]
struct VerifyNotificationsArgs {
    file: PathBuf,
    #[arg(long, value_enum)]
    psp: PspArg,
    /// The PSP account whose secret (and dLocal login) comes from the OS keyring.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["secret_env", "login"])]
    account: Option<String>,
    /// The environment variable holding the PSP's secret key (for scripted runs).
    #[arg(long)]
    secret_env: Option<String>,
    /// dLocal: the merchant's X-Login; notifications for another login count as forged.
    #[arg(long, requires = "secret_env")]
    login: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SyncArgs {
    /// One round, then exit.
    #[arg(long, conflicts_with_all = ["pause", "resume", "status"])]
    once: bool,
    /// Pause the background sync (manager or admin).
    #[arg(long, conflicts_with_all = ["resume", "status"])]
    pause: bool,
    /// Resume a paused sync (manager or admin).
    #[arg(long, conflicts_with = "status")]
    resume: bool,
    /// Last success, errors, queue size.
    #[arg(long)]
    status: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct SandboxArgs {
    #[arg(long, default_value_t = voucherdesk_sandbox::DEFAULT_PORT)]
    port: u16,
    /// A scenario file (TOML): payment outcomes, notification quirks, faults.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Where notifications go when a request names no notification URL.
    #[arg(long)]
    notification_url: Option<String>,
    /// Payments known from the start (JSON; `demo --db` writes sandbox-preload.json).
    #[arg(long)]
    preload: Option<PathBuf>,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_DLOCAL_LOGIN)]
    dlocal_login: String,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_DLOCAL_TRANS_KEY)]
    dlocal_trans_key: String,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_DLOCAL_SECRET)]
    dlocal_secret: String,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_PE_SERVICE_ID)]
    pe_service_id: String,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_PE_ACCESS_KEY)]
    pe_access_key: String,
    #[arg(long, default_value = voucherdesk_sandbox::DEFAULT_PE_SECRET)]
    pe_secret: String,
}

#[derive(Subcommand)]
enum CredentialsCommand {
    /// Add a PSP account; its secrets come as JSON on standard input (or from --from-env).
    Add {
        name: String,
        /// dlocal or pagoefectivo.
        #[arg(long)]
        psp: String,
        #[arg(long)]
        base_url: String,
        /// Read PREFIX_LOGIN/PREFIX_TRANS_KEY/PREFIX_SECRET (dLocal) or
        /// PREFIX_SERVICE_ID/PREFIX_ACCESS_KEY/PREFIX_SECRET (PagoEfectivo) instead of stdin.
        #[arg(long)]
        from_env: Option<String>,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace an account's secrets (JSON on standard input, or --from-env).
    Rotate {
        name: String,
        #[arg(long)]
        from_env: Option<String>,
    },
    Remove {
        name: String,
    },
    /// Check that the PSP accepts the account's credentials.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Set the account's contracted fee rate, in basis points of the gross
    /// amount (290 = 2.90 %), against which settlement rows' fees are checked.
    FeeRate {
        name: String,
        #[arg(long, conflicts_with = "clear", required_unless_present = "clear")]
        bps: Option<i64>,
        /// Remove the rate: the account's fees are no longer checked.
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Subcommand)]
enum OperatorsCommand {
    /// Add an operator. Needs an admin --operator, except for the first one (which must be an admin).
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Read the app sign-in password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    SetRole {
        name: String,
        role: String,
    },
    Disable {
        name: String,
    },
    SetPassword {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Orders,
    Payments,
    Settlements,
}

#[derive(Args)]
struct ImportArgs {
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

#[derive(Args)]
struct ReconcileArgs {
    /// Business date to reconcile as of (market calendar); default today in Bogotá/Lima.
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Business days of grace after a payment's settlement is due under its PSP's T+N terms
    /// (default: the setting, 1; terms: `voucherdesk settings`).
    #[arg(long)]
    settlement_lag_days: Option<i64>,
    /// Largest amount difference, in minor units (cents), still counted as equal (default: the setting, 0).
    #[arg(long)]
    amount_tolerance_minor: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Open,
    Resolved,
    Cleared,
    All,
}

#[derive(Subcommand)]
enum ExceptionsCommand {
    /// List exceptions (ordered by id; page with --after).
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, value_enum, default_value = "open")]
        status: StatusArg,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Only ids after this one (the last id of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One exception with its history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Resolve an open exception by hand.
    Resolve {
        id: String,
        /// mark_received, accept, write_off, link or escalate.
        #[arg(long)]
        action: String,
        #[arg(long)]
        note: String,
        /// With link: the order this payment belongs to.
        #[arg(long, conflicts_with = "payment")]
        order: Option<String>,
        /// With link: the payment (id or voucher code) that paid this order.
        #[arg(long)]
        payment: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
struct DemoArgs {
    /// Where to write the files (default: demo-files next to the database).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 2000)]
    orders: u64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// With --db: add PSP accounts (demo-dlocal, demo-pagoefectivo) pointing at a sandbox
    /// here, its documented default secrets in the OS keyring.
    #[arg(long)]
    sandbox_url: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// The newest entries first.
    List {
        /// Only the entries of this operator. (Not `--operator`: that global
        /// flag names who is acting, and would silently filter.)
        #[arg(long, value_name = "OPERATOR")]
        by: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain and the anchor beside the database, report the
    /// first broken link, and print the head hash to keep.
    Verify {
        /// A head hash printed by an earlier `audit verify` and kept elsewhere:
        /// the log must still hold it.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// An error with its exit code.
struct Failure {
    message: String,
    exit: u8,
}

impl Failure {
    fn input(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), exit: 2 }
    }
    fn other(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), exit: 1 }
    }
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
            ExitCode::from(f.exit)
        }
    }
}

/// Opens what `--db` names: a file, a team copy (reconnected to its team), or
/// `postgres://…` (this desktop's copy of that team).
fn open(db: &Option<PathBuf>) -> Result<Store, Failure> {
    let path = db.clone().unwrap_or_else(voucherdesk::store::default_path);
    let me = voucherdesk::team::desktop_name(&voucherdesk::team::this_host(), "cli");
    voucherdesk::team::open_workspace(&path, &credentials::OsKeyring::new(), &me).map_err(|e| match e {
        voucherdesk::team::TeamError::Local(voucherdesk::store::StoreError::TooNew { .. })
        | voucherdesk::team::TeamError::Local(voucherdesk::store::StoreError::Invalid(_))
        | voucherdesk::team::TeamError::Team(voucherdesk::store::team::TeamStoreError::BadAddress(_)) => {
            Failure::input(e)
        }
        _ => Failure::other(e),
    })
}

/// Runs one state change. In team mode it runs under the team's write lock,
/// on a copy brought level first, and reaches the server before this returns
/// (the outer error: the team could not take it). Locally it simply runs.
pub(crate) fn change<T, E>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<T, E>,
) -> Result<Result<T, E>, Failure> {
    store.write(|s| Ok::<_, voucherdesk::store::StoreError>(f(s))).map_err(|e| match e {
        voucherdesk::store::StoreError::Team(voucherdesk::store::team::TeamStoreError::Refused(_)) => Failure::input(e),
        _ => Failure::other(e),
    })
}

/// The operator a state-changing command acts as.
fn acting(store: &Store, given: &Option<String>) -> Result<Operator, Failure> {
    acting_for(store, given, "this command changes data")
}

/// The operator a read that depends on the role (exports, KPIs) acts as.
pub(crate) fn reading(store: &Store, given: &Option<String>) -> Result<Operator, Failure> {
    acting_for(store, given, "this command reads as an operator")
}

fn acting_for(store: &Store, given: &Option<String>, why: &str) -> Result<Operator, Failure> {
    let name = given.as_deref().map(str::trim).filter(|n| !n.is_empty()).ok_or_else(|| {
        Failure::input(format!("{why}: name the operator with --operator NAME (or VOUCHERDESK_OPERATOR)"))
    })?;
    operators::act_as(store, name).map_err(operator_failure)
}

fn operator_failure(e: operators::OperatorError) -> Failure {
    match e {
        operators::OperatorError::Store(_) => Failure::other(e),
        _ => Failure::input(e),
    }
}

fn run_sandbox(args: SandboxArgs) -> Result<(), Failure> {
    use voucherdesk_sandbox::{self as sandbox, DlocalAccount, PeAccount, SandboxConfig, Scenario};
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_file(path).map_err(Failure::input)?,
        None => Scenario::default(),
    };
    let preload = match &args.preload {
        Some(path) => sandbox::preload::Preload::from_file(path).map_err(Failure::input)?,
        None => sandbox::preload::Preload::default(),
    };
    let config = SandboxConfig {
        dlocal: DlocalAccount {
            login: args.dlocal_login,
            trans_key: args.dlocal_trans_key,
            secret: args.dlocal_secret,
        },
        pagoefectivo: PeAccount {
            service_id: args.pe_service_id,
            access_key: args.pe_access_key,
            secret: args.pe_secret,
        },
        notification_url: args.notification_url,
        scenario,
        preload,
    };
    sandbox::run_until_stopped(args.port, config, |addr| out!("sandbox listening on http://{addr}"))
        .map_err(|e| Failure::other(format!("sandbox: {e}")))
}

/// A `--from`/`--to` market date flag.
pub(crate) fn date_flag(flag: &str, text: &str) -> Result<chrono::NaiveDate, Failure> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| Failure::input(format!("--{flag} {text:?}: expected a date as YYYY-MM-DD")))
}

/// A `--market` flag: CO or PE.
pub(crate) fn market_flag(text: Option<&str>) -> Result<Option<voucherdesk::market::Country>, Failure> {
    text.map(|m| {
        voucherdesk::market::Country::parse(m).map_err(|_| Failure::input(format!("--market {m:?}: expected CO or PE")))
    })
    .transpose()
}

/// A PSP credential for a base URL given on the command line: from its
/// environment variable, else the sandbox's own value, but only when the URL
/// is this machine (where the sandbox runs). A real PSP never gets the
/// sandbox's keys because a variable was forgotten.
pub(crate) fn url_secret(var: &str, sandbox_value: &str, url: &str) -> Result<String, Failure> {
    if let Ok(value) = std::env::var(var) {
        return Ok(value);
    }
    if is_loopback_url(url) {
        return Ok(sandbox_value.to_string());
    }
    Err(Failure::input(format!(
        "{url} is not a sandbox on this machine: set {var} (the sandbox's keys are used only on loopback)"
    )))
}

/// `http(s)://127.x.x.x`, `localhost` or `[::1]`, with any port and path.
fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim().split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost" || host == "::1" || host.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    out!("{}", serde_json::to_string(value).map_err(Failure::other)?);
    Ok(())
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Import(args) => run_import(&cli.db, &cli.operator, args),
        Command::Reconcile(args) => run_reconcile(&cli.db, &cli.operator, args),
        Command::Exceptions(cmd) => run_exceptions(&cli.db, &cli.operator, cmd),
        Command::Operators(cmd) => run_operators(&cli.db, &cli.operator, cmd),
        Command::Sync(args) => run_sync(&cli.db, &cli.operator, args),
        Command::Credentials(cmd) => run_credentials(&cli.db, &cli.operator, cmd),
        Command::Notifications(cmd) => notifications::run(&cli.db, &cli.operator, cmd),
        Command::Refunds(cmd) => refunds::run(&cli.db, &cli.operator, cmd),
        Command::Fx(cmd) => fx::run(&cli.db, &cli.operator, cmd),
        Command::Export(cmd) => export::run(&cli.db, &cli.operator, cmd),
        Command::Kpis(args) => kpis::run(&cli.db, &cli.operator, args),
        Command::Vouchers(cmd) => vouchers::run(&cli.db, &cli.operator, cmd),
        Command::Backup(args) => backup::run_backup(&cli.db, &cli.operator, args),
        Command::Restore(args) => backup::run_restore(&cli.db, args),
        Command::Team(cmd) => team::run(&cli.db, &cli.operator, cmd),
        Command::Settings(args) => settings::run(&cli.db, &cli.operator, args),
        Command::Lookup { query, json } => {
            let mut store = open(&cli.db)?;
            // Looking up changes nothing: without --operator the case files carry no step action.
            let reader = match cli.operator.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                Some(name) => Some(operators::act_as(&store, name).map_err(operator_failure)?),
                None => None,
            };
            let cases = lookup::lookup(&mut store, &query, reader.as_ref()).map_err(|e| match e {
                lookup::LookupError::Store(_) => Failure::other(e),
                _ => Failure::input(e),
            })?;
            if json {
                return print_json(&cases);
            }
            if cases.is_empty() {
                out!("nothing found for {query:?}");
            }
            for case in &cases {
                print_case(case);
            }
            Ok(())
        }
        Command::Stats { json } => {
            let counts = open(&cli.db)?.counts().map_err(Failure::other)?;
            if json {
                return print_json(&counts);
            }
            out!(
                "orders {}  payments {}  settlements {}  open exceptions {}",
                counts.orders,
                counts.payments,
                counts.settlements,
                counts.open_exceptions
            );
            Ok(())
        }
        Command::Demo(args) => run_demo(&cli.db, &cli.operator, args),
        Command::Listen(args) => run_listen(&cli.db, &cli.operator, args),
        Command::VerifyNotifications(args) => run_verify_notifications(&cli.db, args),
        Command::Sandbox(args) => run_sandbox(args),
        Command::Dashboard { market, json } => {
            let market = market.map(|m| voucherdesk::market::Country::parse(&m).map_err(Failure::input)).transpose()?;
            let store = open(&cli.db)?;
            let board = voucherdesk::dashboard::summary(&store, market, None).map_err(Failure::other)?;
            if json {
                return print_json(&board);
            }
            let rate = board.match_rate_bp.map(|bp| format!("{}.{:02} %", bp / 100, bp % 100)).unwrap_or("—".into());
            out!(
                "as of {}: {} orders, {} paid, {} matched (match rate {rate}); {} open exceptions",
                board.as_of.as_deref().unwrap_or("(never reconciled)"),
                board.orders,
                board.paid_orders,
                board.matched,
                board.open_total
            );
            for (kind, n) in &board.open_by_kind {
                out!("  {kind:<20} {n}");
            }
            for t in &board.paid {
                let settled =
                    board.settled.iter().find(|s| s.currency == t.currency).map(|s| s.amount_minor).unwrap_or(0);
                out!(
                    "  paid {} / settled {}",
                    amount_text(Some(t.amount_minor), &t.currency),
                    amount_text(Some(settled), &t.currency)
                );
            }
            Ok(())
        }
        Command::Audit(AuditCommand::List { by, action, limit, json }) => {
            let store = open(&cli.db)?;
            let q = audit::AuditQuery { operator: by, action, limit, ..audit::AuditQuery::default() };
            let rows = audit::page(&store, &q).map_err(Failure::other)?;
            if json {
                return print_json(&rows);
            }
            for r in rows {
                out!(
                    "{:>6} {} {:<12} {:<20} {}",
                    r.id,
                    r.entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.entry.operator,
                    r.entry.action,
                    r.entry.subject
                );
            }
            Ok(())
        }
        Command::Audit(AuditCommand::Verify { expect_head, json }) => {
            let store = open(&cli.db)?;
            let report = audit::verify_anchored(&store, expect_head.as_deref()).map_err(Failure::other)?;
            if json {
                print_json(&report)?;
            } else {
                match &report.first_broken {
                    None => out!("audit log intact: {} entries verified", report.entries),
                    Some(b) => out!("audit log BROKEN at entry {}: {}", b.id, b.reason),
                }
                out!("head: entry {} hash {}", report.head_id, report.head_hash);
            }
            match report.first_broken {
                None => Ok(()),
                Some(_) => Err(Failure { message: "the audit log has been tampered with".into(), exit: 3 }),
            }
        }
        Command::Profiles => {
            for name in profile::BUILT_IN_PROFILE_NAMES {
                if let Some(p) = profile::built_in(name) {
                    out!("{name:<24} {:<12} {}", p.kind.as_str(), p.required_headers().join(", "));
                }
            }
            Ok(())
        }
    }
}

fn load_profile(args: &ImportArgs) -> Result<Profile, Failure> {
    match (&args.profile, &args.profile_file) {
        (_, Some(path)) => profile::load_profile_file(path).map_err(Failure::input),
        (Some(name), None) => {
            profile::built_in(name).ok_or_else(|| Failure::input(profile::ProfileError::Unknown { name: name.clone() }))
        }
        (None, None) => Err(Failure::input("give --profile NAME or --profile-file PATH")),
    }
}

fn run_import(db: &Option<PathBuf>, operator: &Option<String>, args: ImportArgs) -> Result<(), Failure> {
    let profile = load_profile(&args)?;
    let kind = match args.kind {
        KindArg::Orders => ImportKind::Orders,
        KindArg::Payments => ImportKind::Payments,
        KindArg::Settlements => ImportKind::Settlements,
    };
    let mut store = open(db)?;
    let operator = acting(&store, operator)?;
    operator.require(operators::Permission::Import).map_err(operator_failure)?;
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
        let indexed = change(&mut store, |s| s.search_catch_up())?.map_err(Failure::other)?;
        eprintln!("search index: {indexed} orders indexed in {} ms", started.elapsed().as_millis());
    }
    if args.json {
        let errors: Vec<_> =
            failures.iter().map(|e| serde_json::json!({"code": e.code(), "message": e.to_string()})).collect();
        print_json(&serde_json::json!({"imported": outcomes, "errors": errors}))?;
    }
    match failures.iter().find(|e| !e.is_bad_input()) {
        Some(e) => Err(Failure::other(format!("import failed: {}", e.code()))),
        None if !failures.is_empty() => Err(Failure::input(format!(
            "{} of {} file(s) refused; those files imported nothing",
            failures.len(),
            args.files.len()
        ))),
        None => Ok(()),
    }
}

fn run_reconcile(db: &Option<PathBuf>, operator: &Option<String>, args: ReconcileArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let operator = acting(&store, operator)?;
    let settings = voucherdesk::settings::get(&store).map_err(Failure::other)?;
    let mut options = ReconcileOptions::load(&store, args.as_of).map_err(Failure::other)?;
    options.settlement_lag_days = args.settlement_lag_days.unwrap_or(settings.settlement_lag_days);
    options.amount_tolerance_minor = args.amount_tolerance_minor.unwrap_or(settings.amount_tolerance_minor);
    let summary = change(&mut store, |s| reconcile(s, &options, &operator))?.map_err(|e| match e {
        voucherdesk::reconcile::ReconcileError::Store(_) => Failure::other(e),
        _ => Failure::input(e),
    })?;
    eprintln!(
        "reconciled in {} ms: {} new or reopened, {} cleared by data",
        summary.elapsed_ms, summary.newly_opened, summary.cleared
    );
    if args.json {
        return print_json(&summary);
    }
    out!(
        "as of {}: {} orders, {} payments, {} settlement rows; {} matched",
        summary.as_of,
        summary.orders,
        summary.payments,
        summary.settlements,
        summary.matched
    );
    for (kind, count) in &summary.exceptions {
        out!("  {kind:<20} {count}");
    }
    out!("open exceptions: {}", summary.open_exceptions);
    Ok(())
}

fn sync_failure(e: sync::SyncError) -> Failure {
    match e {
        sync::SyncError::Credentials(e) => credential_failure(e),
        sync::SyncError::Store(_) | sync::SyncError::Internal(_) | sync::SyncError::Reconcile(_) => Failure::other(e),
        _ => Failure::input(e),
    }
}

fn run_sync(db: &Option<PathBuf>, operator: &Option<String>, args: SyncArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    if args.pause || args.resume {
        let acting_op = acting(&store, operator)?;
        let changed = match args.pause {
            true => change(&mut store, |s| sync::pause(s, &acting_op))?,
            false => change(&mut store, |s| sync::resume(s, &acting_op))?,
        }
        .map_err(sync_failure)?;
        let state = if args.pause { "paused" } else { "running" };
        out!("sync {}{state}", if changed { "" } else { "was already " });
        return Ok(());
    }
    if args.status {
        let status = sync::status(&store, chrono::Utc::now()).map_err(sync_failure)?;
        if args.json {
            return print_json(&status);
        }
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "never".into())
        };
        out!(
            "sync {}: {} queued, {} due now; last success {}; {} failed in the last hour",
            if status.paused { "paused" } else { "running" },
            status.queue_size,
            status.due_now,
            when(status.last_success_at),
            status.errors_last_hour
        );
        if let Some(code) = &status.last_error_code {
            out!(
                "last error at {}: {code}: {}",
                when(status.last_error_at),
                status.last_error_message.as_deref().unwrap_or("")
            );
        }
        for hold in &status.holds {
            out!("{} asked us to wait until {}", hold.psp, when(Some(hold.until)));
        }
        return Ok(());
    }
    let acting_op = acting(&store, operator)?;
    let sources = sync::sources_from_config(&store, &credentials::OsKeyring::new()).map_err(sync_failure)?;
    let path = store.path().to_path_buf();
    drop(store);
    let engine = sync::SyncEngine::new(acting_op, sync::SyncConfig::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::other)?;
    let json = args.json;
    let print_round = move |report: &sync::SyncReport| -> Result<(), Failure> {
        if json {
            return print_json(report);
        }
        out!(
            "polled {}, changed {}, errors {}, rate limited {}, deferred {}{}{}{}",
            report.polled,
            report.changed,
            report.errors,
            report.rate_limited,
            report.deferred,
            match report.chargebacks_read {
                0 => String::new(),
                read => format!(", chargebacks read {read} ({} new status)", report.chargebacks_changed),
            },
            if report.paused {
                " (paused)"
            } else if report.reconciled {
                "; reconciled"
            } else {
                ""
            },
            report.running_on.as_ref().map(|d| format!(" (the PSP sync runs on {d})")).unwrap_or_default()
        );
        Ok(())
    };
    runtime.block_on(async {
        if args.once {
            let report = engine.run_once(&path, &sources, chrono::Utc::now()).await.map_err(sync_failure)?;
            return print_round(&report);
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        });
        engine
            .run(&path, &sources, stop_rx, |round| match round {
                Ok(report) => {
                    let _ = print_round(report);
                }
                Err(e) => eprintln!("sync round failed: {} ({})", e, e.code()),
            })
            .await
            .map_err(sync_failure)
    })
}

fn notification_failure(e: webhooks::NotificationError) -> Failure {
    if e.is_bad_input() { Failure::input(e) } else { Failure::other(e) }
}

fn run_verify_notifications(db: &Option<PathBuf>, args: VerifyNotificationsArgs) -> Result<(), Failure> {
    let psp = args.psp.psp();
    let mut store = open(db)?;
    let secrets = match (&args.account, &args.secret_env) {
        (Some(name), _) => {
            let in_use = credentials::account_in_use(&store, &credentials::OsKeyring::new(), name)
                .map_err(credential_failure)?;
            if in_use.account.psp.as_str() != psp.as_str() {
                return Err(Failure::input(format!(
                    "PSP account {:?} is a {} account, not {}",
                    in_use.account.name,
                    in_use.account.psp,
                    psp.as_str()
                )));
            }
            webhooks::NotificationSecrets::default().with_account(&in_use).map_err(notification_failure)?
        }
        (None, Some(var)) => webhooks::NotificationSecrets::default()
            .with_env(psp, var, args.login.as_deref())
            .map_err(notification_failure)?,
        (None, None) => {
            return Err(Failure::input(format!(
                "no {} secret: give --account NAME (its secret is in the OS keyring) or --secret-env VAR (an environment variable holding it)",
                psp.label()
            )));
        }
    };
    let report = change(&mut store, |s| webhooks::log::verify_log(s, &args.file, psp, &secrets))?
        .map_err(notification_failure)?;
    if args.json {
        print_json(&report)?;
    } else {
        out!(
            "{}: {} notification(s): {} verified, {} forged, {} malformed",
            report.file,
            report.notifications,
            report.verified,
            report.forged,
            report.malformed
        );
        // What the log's bodies and headers say is printed escaped, as `listen` prints it.
        let field = webhooks::server::log_field;
        for f in &report.forged_items {
            out!(
                "  FORGED line {}: order {} claims {} (X-Date {}): {}{}",
                f.line,
                if f.order_id.is_empty() { "?".into() } else { field(&f.order_id) },
                if f.claimed_status.is_empty() { "?".into() } else { field(&f.claimed_status) },
                if f.x_date.is_empty() { "-".into() } else { field(&f.x_date) },
                field(&f.reason),
                f.exception.as_deref().map(|id| format!(" → exception {id}")).unwrap_or_default()
            );
        }
        for m in &report.malformed_items {
            out!("  MALFORMED line {}: {}", m.line, field(&m.reason));
        }
    }
    if report.all_verified() {
        Ok(())
    } else {
        Err(Failure { message: format!("{} forged notification(s) in {}", report.forged, report.file), exit: 3 })
    }
}

fn run_listen(db: &Option<PathBuf>, operator: &Option<String>, args: ListenArgs) -> Result<(), Failure> {
    use webhooks::Psp;
    if !(1..=webhooks::STALE_AFTER_S_MAX).contains(&args.stale_after_s) {
        return Err(Failure::input(format!("--stale-after-s must be 1..={}", webhooks::STALE_AFTER_S_MAX)));
    }
    let store = open(db)?;
    let mut secrets = webhooks::NotificationSecrets::default();
    if !args.accounts.is_empty() {
        let vault = credentials::OsKeyring::new();
        for name in &args.accounts {
            let in_use = credentials::account_in_use(&store, &vault, name).map_err(credential_failure)?;
            secrets = secrets.with_account(&in_use).map_err(notification_failure)?;
        }
    }
    if let Some(var) = &args.dlocal_secret_env {
        secrets = secrets.with_env(Psp::Dlocal, var, args.dlocal_login.as_deref()).map_err(notification_failure)?;
    }
    if let Some(var) = &args.pe_secret_env {
        secrets = secrets.with_env(Psp::PagoEfectivo, var, None).map_err(notification_failure)?;
    }
    if !Psp::ALL.iter().any(|p| secrets.has(*p)) {
        return Err(Failure::input(
            "no secret: give --account NAME (once per PSP; secrets from the OS keyring), or --dlocal-secret-env VAR and/or --pe-secret-env VAR",
        ));
    }
    let reconcile_as = match operator {
        Some(_) => {
            let op = acting(&store, operator)?;
            op.require(operators::Permission::Reconcile).map_err(operator_failure)?;
            Some(op)
        }
        None => None,
    };
    let config = webhooks::server::ListenConfig {
        secrets,
        stale_after_s: args.stale_after_s,
        reconcile_as: reconcile_as.clone(),
        on_event: Some(std::sync::Arc::new(print_listen_event)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::other)?;
    runtime.block_on(async {
        let addr = std::net::SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure::other(format!("{addr}: {e}")))?;
        let addr = listener.local_addr().map_err(Failure::other)?;
        eprintln!("listening on http://{addr}/notifications/{{dlocal,pagoefectivo}} (Ctrl-C stops)");
        match &reconcile_as {
            Some(op) => eprintln!("reconciling after changes as {}", op.name),
            None => eprintln!("not reconciling after changes (give --operator to do so)"),
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        webhooks::server::serve(listener, store, config, shutdown).await.map_err(Failure::other)
    })
}

fn print_listen_event(event: &webhooks::server::ListenEvent) {
    eprintln!("{}", event.log_line(chrono::Utc::now()));
}

fn amount_text(minor: Option<i64>, currency: &str) -> String {
    match (minor, Currency::parse(currency)) {
        (Some(m), Ok(c)) => format!("{} {}", format_minor(m, c), c),
        _ => String::new(),
    }
}

fn run_exceptions(db: &Option<PathBuf>, operator: &Option<String>, cmd: ExceptionsCommand) -> Result<(), Failure> {
    match cmd {
        ExceptionsCommand::List { kind, status, limit, after, json } => {
            if let Some(k) = &kind
                && ExceptionKind::parse(k).is_none()
            {
                let known: Vec<_> = ExceptionKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(Failure::input(format!("unknown kind {k:?} (expected one of {})", known.join(", "))));
            }
            if limit == 0 || limit > exceptions::EXCEPTIONS_PAGE_ROWS_MAX {
                return Err(Failure::input(format!("--limit must be 1..={}", exceptions::EXCEPTIONS_PAGE_ROWS_MAX)));
            }
            let store = open(db)?;
            let filter = ExceptionFilter {
                kind,
                status: match status {
                    StatusArg::Open => Some(ExceptionStatus::Open),
                    StatusArg::Resolved => Some(ExceptionStatus::Resolved),
                    StatusArg::Cleared => Some(ExceptionStatus::Cleared),
                    StatusArg::All => None,
                },
                after_id: after,
                limit,
                ..ExceptionFilter::default()
            };
            let rows = exceptions::list(&store, &filter).map_err(Failure::other)?;
            if json {
                return print_json(&rows);
            }
            for e in &rows {
                out!(
                    "{}  {:<8} {:<19} {:<14} {:<18} {:>20}  {}d  {}",
                    e.id,
                    e.status.as_str(),
                    e.kind,
                    e.order_id,
                    e.payment_id,
                    amount_text(e.amount_minor, &e.currency),
                    e.age_days,
                    e.detail
                );
            }
            eprintln!("{} exception(s)", rows.len());
            Ok(())
        }
        ExceptionsCommand::Show { id, json } => {
            let store = open(db)?;
            let record = store
                .exception(&id)
                .map_err(Failure::other)?
                .ok_or_else(|| Failure::input(exceptions::ExceptionError::NotFound(id.clone())))?;
            let history = exceptions::history(&store, &id).map_err(Failure::other)?;
            if json {
                return print_json(&serde_json::json!({"exception": record, "history": history}));
            }
            out!(
                "{} {} ({}) order {} payment {}",
                record.id,
                record.kind,
                record.status.as_str(),
                record.order_id,
                record.payment_id
            );
            out!("  {}", record.detail);
            for h in history {
                out!(
                    "  {} {:<24} {} → {}  by {}: {}",
                    h.at.format("%Y-%m-%d %H:%M UTC"),
                    h.event,
                    h.from_status.unwrap_or_default(),
                    h.to_status,
                    h.operator,
                    h.note
                );
            }
            Ok(())
        }
        ExceptionsCommand::Resolve { id, action, note, order, payment, json } => {
            let action = ResolutionAction::parse(&action)
                .ok_or_else(|| Failure::input(exceptions::ExceptionError::UnknownAction(action.clone())))?;
            let link = order.map(LinkTarget::Order).or(payment.map(LinkTarget::Payment));
            let mut store = open(db)?;
            let operator = acting(&store, operator)?;
            let resolution = Resolution { exception_id: &id, action, note: &note, operator: &operator, link };
            let record = change(&mut store, |s| exceptions::resolve(s, &resolution))?.map_err(|e| match e.code() {
                "store" => Failure::other(e),
                _ => Failure::input(e),
            })?;
            if json {
                return print_json(&record);
            }
            out!("{} resolved ({}) by {}", record.id, action.as_str(), operator.name);
            Ok(())
        }
    }
}

/// The demo team, created in an empty demo database (passwords in the README).
const DEMO_OPERATORS: [(&str, Role, &str); 4] = [
    ("admin", Role::Admin, "voucherdesk-admin"),
    ("ana", Role::Support, "voucherdesk-ana"),
    ("fabio", Role::Finance, "voucherdesk-fabio"),
    ("marta", Role::Manager, "voucherdesk-marta"),
];

fn run_demo(db: &Option<PathBuf>, operator: &Option<String>, args: DemoArgs) -> Result<(), Failure> {
    let out = match (&args.out, db) {
        (Some(out), _) => out.clone(),
        (None, Some(db)) => db.parent().unwrap_or(Path::new(".")).join("demo-files"),
        (None, None) => return Err(Failure::input("give --out DIR (files only) or --db PATH (files, imported)")),
    };
    // Who acts is settled before any file is written: a refusal is bad input (exit 2), nothing written.
    let opened = match db {
        Some(_) => {
            let store = open(db)?;
            let named = match store.operator_count().map_err(Failure::other)? {
                0 => None,
                _ => Some(demo_operator(&store, operator, args.sandbox_url.is_some())?),
            };
            Some((store, named))
        }
        None => None,
    };
    let manifest = demo::generate(&out, args.orders, args.seed).map_err(|e| match e {
        demo::DemoError::BadCount => Failure::input(e),
        demo::DemoError::Write { .. } => Failure::other(e),
    })?;
    for f in &manifest.files {
        eprintln!("wrote {} ({} rows, {}, {})", f.path.display(), f.rows, f.encoding, f.delimiter);
    }
    if let Some((mut store, named)) = opened {
        let acting = if let Some(named) = named {
            named
        } else {
            let admin = change(&mut store, |s| {
                operators::add(s, None, DEMO_OPERATORS[0].0, DEMO_OPERATORS[0].1, Some(DEMO_OPERATORS[0].2))
            })?
            .map_err(operator_failure)?;
            for (name, role, password) in &DEMO_OPERATORS[1..] {
                change(&mut store, |s| operators::add(s, Some(&admin), name, *role, Some(password)))?
                    .map_err(operator_failure)?;
            }
            eprintln!("created the demo operators: admin, ana (support), fabio (finance), marta (manager)");
            admin
        };
        for f in &manifest.files {
            let profile = profile::built_in(f.profile).ok_or_else(|| Failure::other("demo profile missing"))?;
            let request = ImportRequest { kind: profile.kind, profile: &profile, path: &f.path, operator: &acting };
            let outcome = change(&mut store, |s| import_file(s, &request))?.map_err(Failure::other)?;
            eprintln!("{outcome}");
        }
        change(&mut store, |s| s.search_catch_up())?.map_err(Failure::other)?;
        // The PSP accounts (and the dLocal account's contracted fee) before reconciling, so the
        // run finds what the demo expects, fee mismatches included.
        change(&mut store, |s| demo_psp(s, &acting, &out, args.sandbox_url.as_deref()))??;
        let options = ReconcileOptions {
            settlement_lag_days: manifest.settlement_lag_days,
            ..ReconcileOptions::on(manifest.as_of.parse().map_err(Failure::other)?)
        };
        let summary = change(&mut store, |s| reconcile(s, &options, &acting))?.map_err(Failure::other)?;
        eprintln!("reconciled: {} matched, {} open exceptions", summary.matched, summary.open_exceptions);
    } else if args.sandbox_url.is_some() {
        return Err(Failure::input("--sandbox-url needs --db (the accounts go into the demo database)"));
    }
    if args.json {
        return print_json(&manifest);
    }
    out!("expected (as of {}, settlement lag {} days):", manifest.as_of, manifest.settlement_lag_days);
    out!("{}", serde_json::to_string_pretty(&manifest.expected).map_err(Failure::other)?);
    out!(
        "(fee_mismatch assumes a dLocal account with a contracted fee of {} basis points: voucherdesk credentials fee-rate NAME --bps {})",
        manifest.dlocal_fee_bps,
        manifest.dlocal_fee_bps
    );
    Ok(())
}

/// The operator `demo` acts as in a database that has operators: one who may
/// import and reconcile (and, for `--sandbox-url`, manage PSP credentials).
fn demo_operator(store: &Store, operator: &Option<String>, adds_accounts: bool) -> Result<Operator, Failure> {
    let named = acting(store, operator)?;
    named.require(operators::Permission::Import).map_err(operator_failure)?;
    named.require(operators::Permission::Reconcile).map_err(operator_failure)?;
    if adds_accounts {
        named.require(operators::Permission::ManageCredentials).map_err(operator_failure)?;
    }
    Ok(named)
}

/// The demo's live PSP: the sandbox preload (the ledger's pending
/// vouchers, some to be paid soon after the sandbox starts) and, with
/// `--sandbox-url`, PSP accounts pointing at the sandbox. A keyring that is
/// not there is reported, not fatal: the demo data is still good.
fn demo_psp(store: &mut Store, acting: &Operator, out: &Path, sandbox_url: Option<&str>) -> Result<(), Failure> {
    use voucherdesk_sandbox::{self as sandbox, preload};
    let pending = store.sync_pending_vouchers(preload::PRELOAD_ENTRIES_MAX as u32).map_err(Failure::other)?;
    let plan = preload::plan_for_demo(&pending);
    let path = out.join("sandbox-preload.json");
    plan.write(&path).map_err(|e| Failure::other(format!("{}: {e}", path.display())))?;
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
            Err(e) => return Err(credential_failure(e)),
        }
    }
    let fee = credentials::set_fee_rate(store, acting, "demo-dlocal", Some(voucherdesk::demo::DEMO_FEE_BPS))
        .map_err(credential_failure)?;
    eprintln!("demo-dlocal's contracted fee: {} basis points", fee.unwrap_or_default());
    Ok(())
}

fn read_password() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(Failure::other)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn run_operators(db: &Option<PathBuf>, operator: &Option<String>, cmd: OperatorsCommand) -> Result<(), Failure> {
    let mut store = open(db)?;
    let role = |text: &str| {
        Role::parse(text).ok_or_else(|| operator_failure(operators::OperatorError::UnknownRole(text.into())))
    };
    match cmd {
        OperatorsCommand::Add { name, role: role_text, password_stdin } => {
            let role = role(&role_text)?;
            let password = if password_stdin { Some(read_password()?) } else { None };
            let acting_op = match store.operator_count().map_err(Failure::other)? {
                0 => None,
                _ => Some(acting(&store, operator)?),
            };
            let added =
                change(&mut store, |s| operators::add(s, acting_op.as_ref(), &name, role, password.as_deref()))?
                    .map_err(operator_failure)?;
            out!("added {} ({})", added.name, added.role.as_str());
        }
        OperatorsCommand::List { json } => {
            let list = operators::list(&store).map_err(operator_failure)?;
            if json {
                return print_json(&list);
            }
            for o in list {
                out!(
                    "{:<20} {:<8} {:<3} {}{}",
                    o.name,
                    o.role,
                    o.language,
                    if o.can_sign_in { "can sign in" } else { "CLI only" },
                    if o.disabled { " (disabled)" } else { "" }
                );
            }
        }
        OperatorsCommand::SetRole { name, role: role_text } => {
            let role = role(&role_text)?;
            let acting_op = acting(&store, operator)?;
            change(&mut store, |s| operators::set_role(s, &acting_op, &name, role))?.map_err(operator_failure)?;
            out!("{name} is now {}", role.as_str());
        }
        OperatorsCommand::Disable { name } => {
            let acting_op = acting(&store, operator)?;
            change(&mut store, |s| operators::disable(s, &acting_op, &name))?.map_err(operator_failure)?;
            out!("{name} is disabled");
        }
        OperatorsCommand::SetPassword { name, .. } => {
            let acting_op = acting(&store, operator)?;
            let password = read_password()?;
            change(&mut store, |s| operators::set_password(s, &acting_op, &name, &password))?
                .map_err(operator_failure)?;
            out!("password changed for {name}");
        }
    }
    Ok(())
}

fn credential_failure(e: credentials::CredentialError) -> Failure {
    if e.is_bad_input() { Failure::input(e) } else { Failure::other(e) }
}

/// Secrets from `PREFIX_*` variables or as JSON on standard input (never argv: it shows in `ps`).
fn read_secrets(psp: credentials::PspKind, from_env: &Option<String>) -> Result<AccountSecrets, Failure> {
    match from_env {
        Some(prefix) => AccountSecrets::from_env(psp, prefix, |name| std::env::var(name).ok()),
        None => AccountSecrets::read_json(psp, &mut std::io::stdin().lock()),
    }
    .map_err(credential_failure)
}

fn run_credentials(db: &Option<PathBuf>, operator: &Option<String>, cmd: CredentialsCommand) -> Result<(), Failure> {
    let vault = credentials::OsKeyring::new();
    let mut store = open(db)?;
    let acting_op = acting(&store, operator)?;
    match cmd {
        CredentialsCommand::Add { name, psp, base_url, from_env } => {
            let secrets = read_secrets(credentials::PspKind::parse(&psp).map_err(credential_failure)?, &from_env)?;
            let account = change(&mut store, |s| credentials::add(s, &vault, &acting_op, &name, &base_url, &secrets))?
                .map_err(credential_failure)?;
            out!("added {} ({}, {}); secrets in the OS keyring", account.name, account.psp, account.base_url);
        }
        CredentialsCommand::List { json } => {
            let list = credentials::list(&store, &vault, &acting_op).map_err(credential_failure)?;
            if json {
                return print_json(&list);
            }
            for l in list {
                let test = l.account.last_test.as_ref().map(|t| t.message.as_str()).unwrap_or("never tested");
                let present = if l.secret_present { "secret in keyring" } else { "SECRET MISSING" };
                out!("{:<24} {:<13} {:<40} {present:<17} {test}", l.account.name, l.account.psp, l.account.base_url);
            }
        }
        CredentialsCommand::Rotate { name, from_env } => {
            let psp = credentials::psp_of(&store, &acting_op, &name).map_err(credential_failure)?;
            let secrets = read_secrets(psp, &from_env)?;
            change(&mut store, |s| credentials::rotate(s, &vault, &acting_op, &name, &secrets))?
                .map_err(credential_failure)?;
            out!("rotated the secrets of {name}");
        }
        CredentialsCommand::Remove { name } => {
            change(&mut store, |s| credentials::remove(s, &vault, &acting_op, &name))?.map_err(credential_failure)?;
            out!("removed {name} and its keyring entry");
        }
        CredentialsCommand::Test { name, json } => {
            let tester = credentials::connection::PspClientTester;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::other)?;
            let result =
                change(&mut store, |s| runtime.block_on(credentials::test(s, &vault, &acting_op, &name, &tester)))?
                    .map_err(credential_failure)?;
            if json {
                print_json(&result)?;
            } else {
                out!("{name}: {}", result.message);
            }
            if !result.ok {
                return Err(Failure::other(format!("the connection test of {name} failed")));
            }
        }
        CredentialsCommand::FeeRate { name, bps, clear: _ } => {
            let set = change(&mut store, |s| credentials::set_fee_rate(s, &acting_op, &name, bps))?
                .map_err(credential_failure)?;
            match set {
                Some(bps) => out!("{name}: contracted fee {}.{:02} % ({bps} basis points)", bps / 100, bps % 100),
                None => out!("{name}: no contracted fee rate; its fees are not checked"),
            }
        }
    }
    Ok(())
}

fn print_case(case: &lookup::CaseFile) {
    out!(
        "── order {} ─ {}",
        case.order_id,
        if case.buyer_name.is_empty() { "(not in the shop's files)" } else { &case.buyer_name }
    );
    out!("   verdict: {}", case.verdict.text);
    let step = case.verdict.next_step;
    if step != lookup::NextStep::NothingToDo {
        match &case.step_action {
            Some(a) => out!(
                "   next step: {} — resolve exception {} ({}): {}",
                step.as_str(),
                a.exception_id,
                a.kind.as_str(),
                a.action.as_str()
            ),
            None => out!("   next step: {}", step.as_str()),
        }
    }
    if let Some(o) = &case.order {
        out!(
            "   shop: {} {} | {} | {} {} {} | created {} | from {}",
            o.status,
            amount_text(Some(o.amount_minor), &o.currency),
            o.store,
            o.buyer_email,
            o.buyer_phone,
            o.buyer_document,
            o.created_at.format("%Y-%m-%d %H:%M UTC"),
            o.source
        );
    }
    for p in &case.payments {
        out!(
            "   payment {} {} ({}) {} {} voucher {}",
            p.psp,
            p.payment_id,
            p.network,
            p.status,
            amount_text(Some(p.amount_minor), &p.currency),
            p.voucher_code
        );
        for h in &p.history {
            out!(
                "      {:<9} ({}) at {} — {} {}:{}",
                h.status,
                h.psp_status,
                h.status_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "?".into()),
                h.source,
                h.file.clone().unwrap_or_default(),
                h.line.unwrap_or_default()
            );
        }
    }
    for s in &case.settlements {
        out!(
            "   settlement {} {} on {} ({})",
            s.row_type,
            amount_text(Some(s.local_amount_minor), &s.local_currency),
            s.settled_on.clone().unwrap_or_default(),
            s.source
        );
    }
    for e in &case.exceptions {
        out!("   exception {} {} [{}]: {}", e.id, e.kind, e.status.as_str(), e.detail);
    }
}

#[cfg(test)]
mod url_secret_tests {
    use super::is_loopback_url;

    #[test]
    fn only_this_machine_is_a_sandbox() {
        for url in [
            "http://127.0.0.1:8717",
            "http://localhost:9/x",
            "http://[::1]:80/",
            "https://127.9.9.9",
            "http://u:p@127.0.0.1:1",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "https://api.dlocal.com",
            "https://127.0.0.1.attacker.example",
            "http://localhost.example:80",
            "http://10.0.0.1",
            "https://[2001:db8::1]/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }
}
