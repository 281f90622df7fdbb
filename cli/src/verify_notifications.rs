//! `voucherdesk verify-notifications`: audit a captured log of PSP notifications.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{change, open};
use clap::{Args, ValueEnum};
use std::path::PathBuf;
use voucherdesk::{credentials, webhooks};

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PspArg {
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
pub(crate) struct VerifyNotificationsArgs {
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

pub(crate) fn run(db: &Option<PathBuf>, args: VerifyNotificationsArgs) -> Result<(), Failure> {
    let psp = args.psp.psp();
    let mut store = open(db)?;
    let secrets = match (&args.account, &args.secret_env) {
        (Some(name), _) => {
            let in_use = credentials::account_in_use(&store, &credentials::OsKeyring::new(), name)?;
            if in_use.account.psp.as_str() != psp.as_str() {
                return Err(Failure::refusal(format!(
                    "PSP account {:?} is a {} account, not {}",
                    in_use.account.name,
                    in_use.account.psp,
                    psp.as_str()
                )));
            }
            webhooks::NotificationSecrets::default().with_account(&in_use)?
        }
        (None, Some(var)) => webhooks::NotificationSecrets::default().with_env(psp, var, args.login.as_deref())?,
        (None, None) => {
            return Err(Failure::refusal(format!(
                "no {} secret: give --account NAME (its secret is in the OS keyring) or --secret-env VAR (an environment variable holding it)",
                psp.label()
            )));
        }
    };
    let report = change(&mut store, |s| webhooks::log::verify_log(s, &args.file, psp, &secrets))??;
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
        Err(Failure::tampering(format!("{} forged notification(s) in {}", report.forged, report.file)))
    }
}
