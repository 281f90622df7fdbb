//! `voucherdesk listen`: receive PSP notifications over HTTP.

use crate::failure::Failure;
use crate::workspace::{acting, open};
use clap::Args;
use std::path::PathBuf;
use voucherdesk::{credentials, operators, webhooks};

#[derive(Args)]
pub(crate) struct ListenArgs {
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

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: ListenArgs) -> Result<(), Failure> {
    use webhooks::Psp;
    if !(1..=webhooks::STALE_AFTER_S_MAX).contains(&args.stale_after_s) {
        return Err(Failure::refusal(format!("--stale-after-s must be 1..={}", webhooks::STALE_AFTER_S_MAX)));
    }
    let store = open(db)?;
    let mut secrets = webhooks::NotificationSecrets::default();
    if !args.accounts.is_empty() {
        let vault = credentials::OsKeyring::new();
        for name in &args.accounts {
            let in_use = credentials::account_in_use(&store, &vault, name)?;
            secrets = secrets.with_account(&in_use)?;
        }
    }
    if let Some(var) = &args.dlocal_secret_env {
        secrets = secrets.with_env(Psp::Dlocal, var, args.dlocal_login.as_deref())?;
    }
    if let Some(var) = &args.pe_secret_env {
        secrets = secrets.with_env(Psp::PagoEfectivo, var, None)?;
    }
    if !Psp::ALL.iter().any(|p| secrets.has(*p)) {
        return Err(Failure::refusal(
            "no secret: give --account NAME (once per PSP; secrets from the OS keyring), or --dlocal-secret-env VAR and/or --pe-secret-env VAR",
        ));
    }
    let reconcile_as = match operator {
        Some(_) => {
            let op = acting(&store, operator)?;
            op.require(operators::Permission::Reconcile)?;
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
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::fault)?;
    runtime.block_on(async {
        let addr = std::net::SocketAddr::new(args.bind, args.port);
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| Failure::fault(format!("{addr}: {e}")))?;
        let addr = listener.local_addr().map_err(Failure::fault)?;
        eprintln!("listening on http://{addr}/notifications/{{dlocal,pagoefectivo}} (Ctrl-C stops)");
        match &reconcile_as {
            Some(op) => eprintln!("reconciling after changes as {}", op.name),
            None => eprintln!("not reconciling after changes (give --operator to do so)"),
        }
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        webhooks::server::serve(listener, store, config, shutdown).await.map_err(Failure::fault)
    })
}

pub(crate) fn print_listen_event(event: &webhooks::server::ListenEvent) {
    eprintln!("{}", event.log_line(chrono::Utc::now()));
}
