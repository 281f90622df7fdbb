//! `voucherdesk sandbox`: a local dLocal + PagoEfectivo.

use crate::failure::Failure;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct SandboxArgs {
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

pub(crate) fn run(args: SandboxArgs) -> Result<(), Failure> {
    use voucherdesk_sandbox::{self as sandbox, DlocalAccount, PeAccount, SandboxConfig, Scenario};
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_file(path).map_err(Failure::refusal)?,
        None => Scenario::default(),
    };
    let preload = match &args.preload {
        Some(path) => sandbox::preload::Preload::from_file(path).map_err(Failure::refusal)?,
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
        .map_err(|e| Failure::fault(format!("sandbox: {e}")))
}
