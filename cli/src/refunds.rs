//! `voucherdesk refunds …`: flags in, library call, output. No rules here.

use crate::failure::Failure;
use crate::flags::url_secret;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use voucherdesk::money::format_minor;
use voucherdesk::operators::Operator;
use voucherdesk::refunds::receipt;
use voucherdesk::refunds::submission::{self, SubmitConfig, SubmitReport};
use voucherdesk::refunds::{
    self, BeneficiaryInput, PayeeInput, Refund, RefundError, RefundRequestInput, RefundStatus, limits, tiers,
};
use voucherdesk::store::Store;

/// `refunds submit` without --once: seconds between rounds.
pub(crate) const SUBMIT_INTERVAL_S_DEFAULT: u64 = 30;
pub(crate) const SUBMIT_INTERVAL_S_MAX: u64 = 3_600;
/// Test hook (debug builds only): abort between the PSP's answer and its recording.
pub(crate) const CRASH_ENV: &str = "VOUCHERDESK_TEST_CRASH_AFTER_SEND";

#[derive(Subcommand)]
pub(crate) enum RefundsCommand {
    /// Request a refund of a paid payment (acts as --operator).
    Request(RequestArgs),
    /// Approve a pending refund (finance / manager; never the requester).
    Approve {
        id: i64,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reject a pending refund (it is cancelled); a comment is required.
    Reject {
        id: i64,
        #[arg(long)]
        comment: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a refund before it is submitted.
    Cancel {
        id: i64,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change the amount before submission: approval restarts (a new refund replaces this one).
    Amend {
        id: i64,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        json: bool,
    },
    /// Send a failed or PSP-rejected refund again (new idempotency key).
    Retry {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Flag a failed, rejected or unconfirmed refund for attention.
    Escalate {
        id: i64,
        #[arg(long)]
        note: String,
        #[arg(long)]
        json: bool,
    },
    /// Submit approved refunds to the PSP (exactly once) and follow the submitted ones.
    Submit(SubmitArgs),
    /// Record the bank transfer finance made for an approved bank_transfer refund (finance): the
    /// bank's reference, its date and a proof file; the refund then counts as succeeded.
    RecordTransfer {
        id: i64,
        /// The bank's reference of the transfer.
        #[arg(long)]
        reference: String,
        /// The day the bank made it, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// The bank's proof: a PDF, PNG or JPEG file (kept beside the receipts with its SHA-256).
        #[arg(long)]
        proof: PathBuf,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        status: Option<String>,
        /// psp_refund, cash_withdrawal or bank_transfer.
        #[arg(long)]
        method: Option<String>,
        /// A reason code.
        #[arg(long)]
        reason: Option<String>,
        /// 1, 2 or 3.
        #[arg(long)]
        tier: Option<i64>,
        #[arg(long)]
        psp: Option<String>,
        /// Only ids after this one (the last id of the previous page).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One refund: status, tier, approvals, PSP reference.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// What a payment can still give back (paid − succeeded − in flight).
    Refundable {
        #[arg(long)]
        payment: String,
        #[arg(long)]
        psp: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The PDF receipt of a succeeded refund (archived in `receipts/` beside the database).
    Receipt {
        id: i64,
        /// Copy it here as well; otherwise the archived file's path is printed.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Delete archived receipts older than the retention setting (never younger than 6 months).
    ReceiptsCleanup {
        #[arg(long)]
        json: bool,
    },
    /// Show the refund settings, or change them (admins).
    Settings(SettingsArgs),
    /// Show the payout limits per PSP account and currency, or set one account's (admins): ACCOUNT
    /// --currency C with --per-payout and/or --per-day in major units; neither removes its limits in C.
    Limits(LimitsArgs),
}

#[derive(Args)]
pub(crate) struct LimitsArgs {
    /// The PSP account to set (see `credentials list`); without it the limits are shown.
    account: Option<String>,
    #[arg(long, requires = "account")]
    currency: Option<String>,
    /// Most one payout may be, major units ("2000000", "1500.00").
    #[arg(long, requires = "currency")]
    per_payout: Option<String>,
    /// Most the account may pay out in one market day, major units.
    #[arg(long, requires = "currency")]
    per_day: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct RequestArgs {
    #[arg(long)]
    payment: String,
    /// Only when the payment id is known at several PSPs.
    #[arg(long)]
    psp: Option<String>,
    /// Major units of the payment's currency ("150000", "89.90").
    #[arg(long)]
    amount: String,
    /// Optional check: must be the payment's currency.
    #[arg(long)]
    currency: Option<String>,
    /// buyer_cancelled, out_of_stock, product_return, duplicate_payment, overpayment, paid_after_expiry, fraud, other.
    #[arg(long)]
    reason: String,
    /// psp_refund (the PSP pays back), cash_withdrawal (alias outlet_cash: collected at an
    /// outlet) or bank_transfer (finance pays the buyer's account and records it; any PSP).
    #[arg(long)]
    method: String,
    #[arg(long)]
    note: Option<String>,
    /// Another partial refund while one of the same payment awaits approval.
    #[arg(long)]
    additional: bool,
    /// psp_refund and bank_transfer: the beneficiary's bank details.
    #[arg(long)]
    beneficiary_name: Option<String>,
    #[arg(long)]
    bank: Option<String>,
    #[arg(long)]
    bank_account: Option<String>,
    /// C (current) or S (savings).
    #[arg(long)]
    account_type: Option<String>,
    #[arg(long)]
    beneficiary_document: Option<String>,
    /// cash_withdrawal: who collects the cash (checked against the order's buyer).
    #[arg(long)]
    payee_name: Option<String>,
    /// CC, CE, DNI or PP.
    #[arg(long)]
    doc_type: Option<String>,
    #[arg(long)]
    doc_number: Option<String>,
    /// +57… (Colombia) or +51… (Peru).
    #[arg(long)]
    phone: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct SubmitArgs {
    /// One round, then exit.
    #[arg(long)]
    once: bool,
    /// Use this dLocal base URL and the flag/env credentials instead of the
    /// configured account (scripts and tests; by default the first dLocal
    /// account of `psp accounts`, its secrets from the OS keyring).
    #[arg(long, env = "VOUCHERDESK_DLOCAL_URL")]
    dlocal_url: Option<String>,
    /// With --dlocal-url: the merchant's X-Login; the keys come from
    /// VOUCHERDESK_DLOCAL_TRANS_KEY / VOUCHERDESK_DLOCAL_SECRET. Only a URL on
    /// this machine (the sandbox) falls back to the sandbox's values.
    #[arg(long)]
    dlocal_login: Option<String>,
    /// Where the PSP posts refund and payout outcomes (a `voucherdesk listen` URL).
    #[arg(long)]
    notification_url: Option<String>,
    /// Per-request time-out; a time-out leaves the refund submitted, resent next round with its key.
    #[arg(long, default_value_t = voucherdesk::psp::http::REQUEST_TIMEOUT_MS)]
    timeout_ms: u64,
    #[arg(long, default_value_t = SUBMIT_INTERVAL_S_DEFAULT)]
    interval_s: u64,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct SettingsArgs {
    /// Today's exchange rate, FROM:TO=RATE (e.g. USD:COP=3950.25): 1 FROM = RATE TO, recorded
    /// in the dated FX table for today's market date (as `fx add`).
    #[arg(long)]
    fx: Vec<String>,
    /// Days after payment a psp_refund is accepted.
    #[arg(long)]
    window_days: Option<i64>,
    /// Business days (payment's market) pending at the PSP before refund_unconfirmed is raised.
    #[arg(long)]
    unconfirmed_days: Option<i64>,
    /// Days archived PDF receipts are kept (at least 183: 6 months).
    #[arg(long)]
    receipt_retention_days: Option<i64>,
    /// Tier limits in major units, CUR=TIER1:TIER2 (e.g. COP=200000:2000000).
    #[arg(long)]
    tier: Vec<String>,
    #[arg(long)]
    json: bool,
}

fn or_empty(v: Option<String>) -> String {
    v.unwrap_or_default()
}

fn print_refund(r: &Refund) {
    out!(
        "refund {} [{}] {} {} of payment {} ({}, order {}) — tier {}, {}, reason {}",
        r.id,
        r.status.as_str(),
        r.amount,
        r.currency,
        r.payment_id,
        r.psp,
        r.order_id,
        r.tier,
        r.method.as_str(),
        r.reason.as_str()
    );
    out!("   requested by {} at {}", r.requested_by, r.requested_at.format("%Y-%m-%d %H:%M UTC"));
    let required: Vec<&str> = r.required_approvals.iter().map(|a| a.as_str()).collect();
    let awaiting: Vec<&str> = r.awaiting.iter().map(|a| a.as_str()).collect();
    out!(
        "   approvals needed: {}; awaiting: {}",
        if required.is_empty() { "none".into() } else { required.join(" + ") },
        if awaiting.is_empty() { "nobody".into() } else { awaiting.join(" + ") }
    );
    for a in &r.approvals {
        let decision = if a.decision == "approve" { "approved" } else { "rejected" };
        let comment = if a.comment.is_empty() { String::new() } else { format!(": {}", a.comment) };
        out!("   {decision} by {} ({}) at {}{comment}", a.operator, a.role, a.at.format("%Y-%m-%d %H:%M UTC"));
    }
    for (when, fx) in [("locked", &r.fx), ("if approved now", &r.fx_quote)] {
        if let Some(fx) = fx {
            let (rate, source, amount) = (&fx.rate, &fx.source, &fx.order_amount);
            let order_currency = &fx.order_currency;
            out!(
                "   exchange rate {when}: 1 {order_currency} = {rate} {} ({source}) → {amount} {order_currency}",
                r.currency
            );
        }
    }
    match &r.details {
        refunds::RefundDetails::BankTransfer { transfer: Some(t), .. } => {
            out!("   transferred on {} (bank reference {}), recorded by {}", t.date, t.reference, t.recorded_by);
            out!("   proof {} ({} bytes, SHA-256 {})", t.proof_file, t.proof_bytes, t.proof_sha256);
        }
        refunds::RefundDetails::BankTransfer { transfer: None, .. } | refunds::RefundDetails::CashPickup { .. } => {
            if let Some(id) = &r.psp_refund_id {
                out!("   PSP reference {id} ({})", r.psp_status.clone().unwrap_or_default());
            }
        }
    }
    if let Some(code) = &r.withdrawal_code {
        out!("   withdrawal code {code}");
    }
    if let Some(e) = &r.last_error {
        out!("   last error: {e}");
    }
}

fn emit(r: &Refund, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(r);
    }
    print_refund(r);
    Ok(())
}

/// One refund changed as the acting operator (see [`change`]), printed as it then stands.
fn act_on_refund<E>(
    db: &Option<PathBuf>,
    operator: &Option<String>,
    json: bool,
    act: impl FnOnce(&mut Store, &Operator) -> Result<Refund, E>,
) -> Result<(), Failure>
where
    Failure: From<E>,
{
    let mut store = open(db)?;
    let op = acting(&store, operator)?;
    emit(&change(&mut store, |s| act(s, &op))??, json)
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: RefundsCommand) -> Result<(), Failure> {
    let now = chrono::Utc::now();
    match cmd {
        RefundsCommand::Request(a) => {
            let input = RefundRequestInput {
                payment_id: a.payment,
                psp: a.psp,
                amount: a.amount,
                currency: a.currency,
                reason: a.reason,
                note: a.note,
                method: a.method,
                beneficiary: BeneficiaryInput {
                    name: or_empty(a.beneficiary_name),
                    bank: or_empty(a.bank),
                    account: or_empty(a.bank_account),
                    account_type: or_empty(a.account_type),
                    document: or_empty(a.beneficiary_document),
                },
                payee: PayeeInput {
                    name: or_empty(a.payee_name),
                    document_type: or_empty(a.doc_type),
                    document_number: or_empty(a.doc_number),
                    phone: or_empty(a.phone),
                },
                additional: a.additional,
            };
            act_on_refund(db, operator, a.json, |s, op| refunds::request(s, op, &input, now))
        }
        RefundsCommand::Approve { id, comment, json } => {
            act_on_refund(db, operator, json, |s, op| refunds::approve(s, op, id, comment.as_deref(), now))
        }
        RefundsCommand::Reject { id, comment, json } => {
            act_on_refund(db, operator, json, |s, op| refunds::reject(s, op, id, &comment, now))
        }
        RefundsCommand::Cancel { id, note, json } => {
            act_on_refund(db, operator, json, |s, op| refunds::cancel(s, op, id, note.as_deref(), now))
        }
        RefundsCommand::Amend { id, amount, json } => {
            act_on_refund(db, operator, json, |s, op| refunds::amend(s, op, id, &amount, now))
        }
        RefundsCommand::Retry { id, json } => act_on_refund(db, operator, json, |s, op| refunds::retry(s, op, id, now)),
        RefundsCommand::Escalate { id, note, json } => {
            act_on_refund(db, operator, json, |s, op| refunds::escalate(s, op, id, &note, now))
        }
        RefundsCommand::RecordTransfer { id, reference, date, proof, json } => {
            let input = refunds::transfer::TransferInput { reference, date };
            act_on_refund(db, operator, json, |s, op| {
                refunds::transfer::record_transfer(s, op, id, &input, &proof, now)
            })
        }
        RefundsCommand::Show { id, json } => emit(&refunds::show(&open(db)?, id)?, json),
        RefundsCommand::List { status, method, reason, tier, psp, after, limit, json } => {
            let status = status
                .map(|s| {
                    RefundStatus::parse(&s).ok_or_else(|| {
                        Failure::refusal(format!(
                            "unknown refund status {s:?} (expected requested, pending_approval, approved, submitted, succeeded, failed, rejected_by_psp or cancelled)"
                        ))
                    })
                })
                .transpose()?;
            let method =
                method.map(|m| refunds::RefundMethod::parse(&m).ok_or(RefundError::UnknownMethod(m))).transpose()?;
            let reason =
                reason.map(|r| refunds::ReasonCode::parse(&r).ok_or(RefundError::UnknownReason(r))).transpose()?;
            let query = refunds::RefundQuery { status, method, reason, tier, psp, order_id: None };
            let list = refunds::page(&open(db)?, &query, after, limit)?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                out!("no refunds");
            }
            for r in &list {
                out!(
                    "{:>6}  {:<16} tier {}  {:>14} {}  {:<15} {}  by {}",
                    r.id,
                    r.status.as_str(),
                    r.tier,
                    r.amount,
                    r.currency,
                    r.method.as_str(),
                    r.payment_id,
                    r.requested_by
                );
            }
            Ok(())
        }
        RefundsCommand::Refundable { payment, psp, json } => {
            let r = refunds::refundable(&open(db)?, &payment, psp.as_deref())?;
            if json {
                return print_json(&r);
            }
            out!(
                "paid {} {c}, refunded {} {c}, in flight {} {c}: {} {c} refundable",
                format_minor(r.paid_minor, r.currency),
                format_minor(r.succeeded_minor, r.currency),
                format_minor(r.in_flight_minor, r.currency),
                format_minor(r.refundable_minor, r.currency),
                c = r.currency
            );
            Ok(())
        }
        RefundsCommand::Receipt { id, out } => {
            let store = open(db)?;
            let path = receipt::receipt(&store, id)?;
            match out {
                Some(out) => {
                    let bytes = receipt::receipt_bytes(&store, id)?;
                    std::fs::write(&out, bytes)
                        .map_err(|e| Failure::fault(format!("writing {}: {e}", out.display())))?;
                    out!("{}", out.display());
                }
                None => out!("{}", path.display()),
            }
            Ok(())
        }
        RefundsCommand::ReceiptsCleanup { json } => {
            let deleted = receipt::cleanup(&open(db)?, chrono::Utc::now())?;
            if json {
                return print_json(&deleted);
            }
            out!("deleted {} receipt(s)", deleted.len());
            for p in &deleted {
                out!("{}", p.display());
            }
            Ok(())
        }
        RefundsCommand::Settings(a) => run_settings(db, operator, a),
        RefundsCommand::Limits(a) => run_limits(db, operator, a),
        RefundsCommand::Submit(a) => run_submit(db, operator, a),
    }
}

fn run_limits(db: &Option<PathBuf>, operator: &Option<String>, a: LimitsArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let all = match (&a.account, &a.currency) {
        (Some(account), Some(currency)) => {
            let op = acting(&store, operator)?;
            let (payout, day) = (a.per_payout.as_deref(), a.per_day.as_deref());
            change(&mut store, |s| limits::set(s, &op, account, currency, payout, day))??
        }
        (Some(_), None) => return Err(Failure::refusal("give --currency with the account whose limits change")),
        (None, _) => limits::get(&store)?,
    };
    if a.json {
        return print_json(&all);
    }
    if all.accounts.is_empty() {
        out!("no payout limits: refunds are held to none");
    }
    for (account, by_currency) in &all.accounts {
        for (currency, l) in by_currency {
            let show = |minor: Option<i64>| {
                minor.map(|m| format!("{} {currency}", format_minor(m, *currency))).unwrap_or_else(|| "no limit".into())
            };
            out!(
                "{account} {currency}: per payout {}, per market day {}",
                show(l.per_payout_max_minor),
                show(l.per_day_max_minor)
            );
        }
    }
    Ok(())
}

fn run_settings(db: &Option<PathBuf>, operator: &Option<String>, a: SettingsArgs) -> Result<(), Failure> {
    use voucherdesk::money::{Currency, NumberFormat, parse_minor};
    let mut store = open(db)?;
    let mut settings = tiers::get(&store)?;
    let changing = !a.fx.is_empty()
        || !a.tier.is_empty()
        || a.window_days.is_some()
        || a.unconfirmed_days.is_some()
        || a.receipt_retention_days.is_some();
    if changing {
        let op = acting(&store, operator)?;
        let mut rates = Vec::new();
        for spec in &a.fx {
            let bad = || Failure::refusal(format!("--fx {spec:?}: expected FROM:TO=RATE, e.g. USD:COP=3950.25"));
            let (pair, rate) = spec.split_once('=').ok_or_else(bad)?;
            let (from, to) = pair.split_once(':').ok_or_else(bad)?;
            let pair = voucherdesk::fx::FxPair::parse(&format!("{from}/{to}"))?;
            rates.push((pair, rate.trim().to_string()));
        }
        for spec in &a.tier {
            let bad =
                || Failure::refusal(format!("--tier {spec:?}: expected CUR=TIER1:TIER2, e.g. COP=200000:2000000"));
            let (cur, limits) = spec.split_once('=').ok_or_else(bad)?;
            let (t1, t2) = limits.split_once(':').ok_or_else(bad)?;
            let currency = Currency::parse(cur).map_err(Failure::refusal)?;
            let t1 = parse_minor(t1, currency, NumberFormat::PLAIN).map_err(Failure::refusal)?;
            let t2 = parse_minor(t2, currency, NumberFormat::PLAIN).map_err(Failure::refusal)?;
            settings.tiers.insert(currency, tiers::TierLimits { tier1_max_minor: t1, tier2_max_minor: t2 });
        }
        if let Some(d) = a.window_days {
            settings.window_days = d;
        }
        if let Some(d) = a.unconfirmed_days {
            settings.unconfirmed_after_days = d;
        }
        if let Some(d) = a.receipt_retention_days {
            settings.receipt_retention_days = d;
        }
        let now = chrono::Utc::now();
        for (pair, rate) in &rates {
            let today = pair.market().map(|m| m.business_date(now).to_string()).unwrap_or_default();
            let added = change(&mut store, |s| {
                voucherdesk::fx::add(s, &op, &pair.name(), &today, rate, Some("refunds settings --fx"), now)
            })??;
            if !a.json {
                out!("{} {} on {} recorded", pair.name(), added.rate, added.market_date);
            }
        }
        let others = !a.tier.is_empty()
            || a.window_days.is_some()
            || a.unconfirmed_days.is_some()
            || a.receipt_retention_days.is_some();
        if others {
            settings = change(&mut store, |s| tiers::set(s, &op, &settings))??;
        }
    }
    if a.json {
        return print_json(&settings);
    }
    for (currency, limits) in &settings.tiers {
        out!(
            "{currency}: tier 1 up to {}, tier 2 up to {}, tier 3 above",
            format_minor(limits.tier1_max_minor, *currency),
            format_minor(limits.tier2_max_minor, *currency)
        );
    }
    out!(
        "psp_refund window {} days; refund_unconfirmed after {} business days; receipts kept {} days",
        settings.window_days,
        settings.unconfirmed_after_days,
        settings.receipt_retention_days
    );
    Ok(())
}

fn print_report(report: &SubmitReport, json: bool) -> Result<(), Failure> {
    if json {
        return print_json(report);
    }
    out!(
        "submitted {}, resent {}, polled {}: succeeded {}, failed {}, rejected by PSP {}, pending {}",
        report.submitted,
        report.resent,
        report.polled,
        report.succeeded,
        report.failed,
        report.rejected_by_psp,
        report.pending
    );
    for i in &report.issues {
        out!(
            "refund {}: {} ({}){}",
            i.refund,
            i.message,
            i.code,
            if i.retryable { " — will be resent with the same idempotency key" } else { "" }
        );
    }
    for id in &report.unconfirmed {
        out!("refund {id}: pending at the PSP for too long (refund_unconfirmed)");
    }
    Ok(())
}

fn run_submit(db: &Option<PathBuf>, operator: &Option<String>, a: SubmitArgs) -> Result<(), Failure> {
    use voucherdesk::psp::dlocal::client::{DlocalClient, DlocalCredentials};
    let mut store = open(db)?;
    let op = acting(&store, operator)?;
    let timeout = std::time::Duration::from_millis(a.timeout_ms);
    let client: Box<dyn voucherdesk::psp::RefundRail> = match &a.dlocal_url {
        Some(url) => {
            let login = match &a.dlocal_login {
                Some(login) => login.clone(),
                None => url_secret("VOUCHERDESK_DLOCAL_LOGIN", voucherdesk_sandbox::DEFAULT_DLOCAL_LOGIN, url)?,
            };
            let credentials = DlocalCredentials {
                login,
                trans_key: url_secret(
                    "VOUCHERDESK_DLOCAL_TRANS_KEY",
                    voucherdesk_sandbox::DEFAULT_DLOCAL_TRANS_KEY,
                    url,
                )?,
                secret: url_secret("VOUCHERDESK_DLOCAL_SECRET", voucherdesk_sandbox::DEFAULT_DLOCAL_SECRET, url)?,
            };
            Box::new(DlocalClient::new(url, credentials, timeout).map_err(Failure::refusal)?)
        }
        None => submission::client_from_config(&store, &voucherdesk::credentials::OsKeyring::new(), timeout)?,
    };
    let config = SubmitConfig { notification_url: a.notification_url.clone(), ..SubmitConfig::default() };
    let crash = cfg!(debug_assertions) && std::env::var_os(CRASH_ENV).is_some();
    let after_send = move |_id: i64| {
        if crash {
            // The PSP has acted and answered; nothing is recorded yet.
            std::process::abort();
        }
    };
    let interval = std::time::Duration::from_secs(a.interval_s.clamp(1, SUBMIT_INTERVAL_S_MAX));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::fault)?;
    loop {
        // One round is one change: in team mode it holds the team's write lock,
        // and "submitted" reaches the server before each PSP call (store.barrier).
        let report = change(&mut store, |s| {
            runtime.block_on(submission::submit_and_follow(s, &client, &op, &config, chrono::Utc::now(), &after_send))
        })??;
        print_report(&report, a.json)?;
        if a.once {
            return Ok(());
        }
        let interrupted = runtime.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep(interval) => false,
                _ = tokio::signal::ctrl_c() => true,
            }
        });
        if interrupted {
            return Ok(());
        }
    }
}
