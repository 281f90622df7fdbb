//! `voucherdesk vouchers …`: issue a new voucher for an order, extend a CIP's
//! deadline, cancel an unpaid CIP, at the order's PSP. Flags in, library
//! call, output. No rules here.

use crate::failure::Failure;
use crate::flags::url_secret;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use voucherdesk::money::format_minor;
use voucherdesk::psp::dlocal::client::{DlocalClient, DlocalCredentials};
use voucherdesk::psp::pagoefectivo::client::{PagoEfectivoClient, PeCredentials};
use voucherdesk::vouchers::{
    self, CancelRequest, ExtendRequest, IssueRequest, VOUCHER_REQUEST_TIMEOUT_MS, VoucherClients, VoucherOutcome,
};
use voucherdesk_sandbox as sandbox;

#[derive(Subcommand)]
pub(crate) enum VouchersCommand {
    /// Issue a new voucher for an order pending payment or expired (dLocal ticket or PagoEfectivo CIP);
    /// support and above. Run again after a time-out: it never creates a second voucher.
    Issue {
        #[arg(long)]
        order: String,
        /// Validity in hours, 24 to 72 (default: `settings --voucher-hours`, 48 unless changed).
        /// dLocal sets its tickets' lifetime itself.
        #[arg(long)]
        hours: Option<u32>,
        #[command(flatten)]
        psp: PspArgs,
        #[arg(long)]
        json: bool,
    },
    /// Move a pending PagoEfectivo CIP's deadline to N hours from now (24 to 72); support and above.
    Extend {
        #[arg(long)]
        order: String,
        /// The voucher (payment id or CIP); default: the order's pending one.
        #[arg(long)]
        payment: Option<String>,
        #[arg(long)]
        hours: u32,
        #[command(flatten)]
        psp: PspArgs,
        #[arg(long)]
        json: bool,
    },
    /// Which actions the operator may take on the order now, and why not (no PSP is called).
    Available {
        #[arg(long)]
        order: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel an unpaid PagoEfectivo CIP (the PSP first, then the ledger); finance and above.
    Cancel {
        #[arg(long)]
        order: String,
        /// The voucher (payment id or CIP); default: the order's pending one.
        #[arg(long)]
        payment: Option<String>,
        #[command(flatten)]
        psp: PspArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub(crate) struct PspArgs {
    /// Use this dLocal base URL and the env credentials (VOUCHERDESK_DLOCAL_LOGIN, _TRANS_KEY,
    /// _SECRET; the sandbox's only for a URL on this machine) instead of the configured account.
    #[arg(long, env = "VOUCHERDESK_DLOCAL_URL")]
    dlocal_url: Option<String>,
    /// Use this PagoEfectivo base URL and the env credentials (VOUCHERDESK_PAGOEFECTIVO_SERVICE_ID,
    /// _ACCESS_KEY, _SECRET; the sandbox's only for a URL on this machine) instead of the configured account.
    #[arg(long, env = "VOUCHERDESK_PAGOEFECTIVO_URL")]
    pagoefectivo_url: Option<String>,
    /// Where dLocal posts the new ticket's notifications (a `voucherdesk listen` URL).
    #[arg(long)]
    notification_url: Option<String>,
    /// Per-request time-out; after a time-out nothing is recorded as done and the command can be run again.
    #[arg(long, default_value_t = VOUCHER_REQUEST_TIMEOUT_MS)]
    timeout_ms: u64,
}

/// The flags' PSPs, or the configured accounts when no URL is given.
fn clients(store: &voucherdesk::store::Store, a: &PspArgs) -> Result<VoucherClients, Failure> {
    let timeout = Duration::from_millis(a.timeout_ms);
    let mut clients = if a.dlocal_url.is_none() && a.pagoefectivo_url.is_none() {
        VoucherClients::from_config(store, &voucherdesk::credentials::OsKeyring::new(), timeout)?
    } else {
        VoucherClients::default()
    };
    if let Some(url) = &a.dlocal_url {
        let credentials = DlocalCredentials {
            login: url_secret("VOUCHERDESK_DLOCAL_LOGIN", sandbox::DEFAULT_DLOCAL_LOGIN, url)?,
            trans_key: url_secret("VOUCHERDESK_DLOCAL_TRANS_KEY", sandbox::DEFAULT_DLOCAL_TRANS_KEY, url)?,
            secret: url_secret("VOUCHERDESK_DLOCAL_SECRET", sandbox::DEFAULT_DLOCAL_SECRET, url)?,
        };
        clients.dlocal = Some(DlocalClient::new(url, credentials, timeout).map_err(Failure::refusal)?);
    }
    if let Some(url) = &a.pagoefectivo_url {
        let credentials = PeCredentials {
            service_id: url_secret("VOUCHERDESK_PAGOEFECTIVO_SERVICE_ID", sandbox::DEFAULT_PE_SERVICE_ID, url)?,
            access_key: url_secret("VOUCHERDESK_PAGOEFECTIVO_ACCESS_KEY", sandbox::DEFAULT_PE_ACCESS_KEY, url)?,
            secret: url_secret("VOUCHERDESK_PAGOEFECTIVO_SECRET", sandbox::DEFAULT_PE_SECRET, url)?,
        };
        clients.pagoefectivo =
            Some(PagoEfectivoClient::with_timeout(url, credentials, timeout).map_err(Failure::refusal)?);
    }
    clients.notification_url = a.notification_url.clone();
    Ok(clients)
}

fn print_outcome(o: &VoucherOutcome, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(o);
    }
    let amount = format!("{} {}", format_minor(o.amount_minor, o.currency), o.currency);
    let until = o.expires_at.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()).unwrap_or_else(|| "-".into());
    let what = match (o.action, o.replayed) {
        (vouchers::VoucherAction::Issue, false) => "issued",
        (vouchers::VoucherAction::Issue, true) => "already issued (nothing new at the PSP)",
        (vouchers::VoucherAction::Extend, _) => "extended",
        (vouchers::VoucherAction::Cancel, false) => "cancelled",
        (vouchers::VoucherAction::Cancel, true) => "already cancelled at the PSP, now recorded",
    };
    out!(
        "order {}: voucher {} ({}:{}) {what}; {amount}, status {}, expires {until}{}",
        o.order_id,
        o.voucher_code,
        o.psp,
        o.payment_id,
        o.status.as_str(),
        o.reference.as_ref().map(|r| format!(", PSP reference {r}")).unwrap_or_default()
    );
    match (&o.message_error, o.replayed && o.messages_queued.is_empty()) {
        (Some(reason), _) => out!("no buyer message queued: {reason}"),
        (None, true) => out!("no new buyer message: the buyer was told when it happened"),
        (None, false) => out!("{} buyer message(s) queued", o.messages_queued.len()),
    }
    Ok(())
}

fn show_available(
    store: &voucherdesk::store::Store,
    op: &voucherdesk::operators::Operator,
    order: &str,
    json: bool,
) -> Result<(), Failure> {
    let actions = vouchers::available(store, op, order, chrono::Utc::now())?;
    if json {
        return print_json(&actions);
    }
    for a in [&actions.issue, &actions.extend, &actions.cancel] {
        match (&a.reason, &a.code) {
            (Some(reason), Some(code)) => out!("{:<6} no: {reason} [{code}]", a.action.as_str()),
            _ => out!("{:<6} yes", a.action.as_str()),
        }
    }
    out!("a new voucher is valid {} h unless given ({})", actions.default_hours, actions.psp);
    Ok(())
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: VouchersCommand) -> Result<(), Failure> {
    let mut store = open(db)?;
    let op = acting(&store, operator)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::fault)?;
    let now = chrono::Utc::now();
    // One action is one change: in team mode it holds the team's write lock, and the
    // recorded attempt reaches the server before the PSP is called (store.barrier).
    let (outcome, json) = match cmd {
        VouchersCommand::Available { order, json } => return show_available(&store, &op, &order, json),
        VouchersCommand::Issue { order, hours, psp, json } => {
            let clients = clients(&store, &psp)?;
            let request = IssueRequest { order_id: order, hours };
            let done = change(&mut store, |s| runtime.block_on(vouchers::issue(s, &clients, &op, &request, now)))?;
            (done?, json)
        }
        VouchersCommand::Extend { order, payment, hours, psp, json } => {
            let clients = clients(&store, &psp)?;
            let request = ExtendRequest { order_id: order, payment_id: payment, hours };
            let done = change(&mut store, |s| runtime.block_on(vouchers::extend(s, &clients, &op, &request, now)))?;
            (done?, json)
        }
        VouchersCommand::Cancel { order, payment, psp, json } => {
            let clients = clients(&store, &psp)?;
            let request = CancelRequest { order_id: order, payment_id: payment };
            let done = change(&mut store, |s| runtime.block_on(vouchers::cancel(s, &clients, &op, &request, now)))?;
            (done?, json)
        }
    };
    print_outcome(&outcome, json)
}
