//! `voucherdesk credentials`: PSP accounts, their secrets in the OS keyring.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Subcommand;
use std::path::PathBuf;
use voucherdesk::credentials::{self, AccountSecrets};

#[derive(Subcommand)]
pub(crate) enum CredentialsCommand {
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

/// Secrets from `PREFIX_*` variables or as JSON on standard input (never argv: it shows in `ps`).
pub(crate) fn read_secrets(psp: credentials::PspKind, from_env: &Option<String>) -> Result<AccountSecrets, Failure> {
    match from_env {
        Some(prefix) => AccountSecrets::from_env(psp, prefix, |name| std::env::var(name).ok()),
        None => AccountSecrets::read_json(psp, &mut std::io::stdin().lock()),
    }
    .map_err(Failure::from)
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: CredentialsCommand) -> Result<(), Failure> {
    let vault = credentials::OsKeyring::new();
    let mut store = open(db)?;
    let acting_op = acting(&store, operator)?;
    match cmd {
        CredentialsCommand::Add { name, psp, base_url, from_env } => {
            let secrets = read_secrets(credentials::PspKind::parse(&psp)?, &from_env)?;
            let account = change(&mut store, |s| credentials::add(s, &vault, &acting_op, &name, &base_url, &secrets))??;
            out!("added {} ({}, {}); secrets in the OS keyring", account.name, account.psp, account.base_url);
        }
        CredentialsCommand::List { json } => {
            let list = credentials::list(&store, &vault, &acting_op)?;
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
            let psp = credentials::psp_of(&store, &acting_op, &name)?;
            let secrets = read_secrets(psp, &from_env)?;
            change(&mut store, |s| credentials::rotate(s, &vault, &acting_op, &name, &secrets))??;
            out!("rotated the secrets of {name}");
        }
        CredentialsCommand::Remove { name } => {
            change(&mut store, |s| credentials::remove(s, &vault, &acting_op, &name))??;
            out!("removed {name} and its keyring entry");
        }
        CredentialsCommand::Test { name, json } => {
            let tester = credentials::connection::PspClientTester;
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::fault)?;
            let result =
                change(&mut store, |s| runtime.block_on(credentials::test(s, &vault, &acting_op, &name, &tester)))??;
            if json {
                print_json(&result)?;
            } else {
                out!("{name}: {}", result.message);
            }
            if !result.ok {
                return Err(Failure::fault(format!("the connection test of {name} failed")));
            }
        }
        CredentialsCommand::FeeRate { name, bps, clear: _ } => {
            let set = change(&mut store, |s| credentials::set_fee_rate(s, &acting_op, &name, bps))??;
            match set {
                Some(bps) => out!("{name}: contracted fee {}.{:02} % ({bps} basis points)", bps / 100, bps % 100),
                None => out!("{name}: no contracted fee rate; its fees are not checked"),
            }
        }
    }
    Ok(())
}
