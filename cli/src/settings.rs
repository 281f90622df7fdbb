//! `voucherdesk settings`: show the settings and the payment terms per PSP and
//! market, or change them (admins; audited). Flags in, library call, output.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Args;
use rust_decimal::Decimal;
use std::path::PathBuf;
use std::str::FromStr;
use voucherdesk::calendar::CALENDAR_YEARS;
use voucherdesk::market::Country;
use voucherdesk::terms::{self, ShipOn, TermsSettings};

#[derive(Args)]
pub(crate) struct SettingsArgs {
    /// Settlement terms, PSP:MARKET=N for T+N business days (e.g. dlocal:CO=2, pagoefectivo:PE=1).
    #[arg(long)]
    terms: Vec<String>,
    /// Ship policy, PSP:MARKET=paid|settled (e.g. pagoefectivo:PE=settled).
    #[arg(long)]
    ship_on: Vec<String>,
    /// Hours a shop order may stay pending_payment after its voucher expired before expired_unpaid.
    #[arg(long)]
    expired_unpaid_hours: Option<i64>,
    /// Days a PSP may still say pending after the voucher expired before stale_pending.
    #[arg(long)]
    stale_pending_days: Option<i64>,
    /// amount_mismatch tolerance as a percentage of the order (beside the absolute one), e.g. 1 or 0.5.
    #[arg(long)]
    amount_tolerance_percent: Option<String>,
    /// Validity of a voucher issued (or extended) from the console when none is given, 24 to 72 hours.
    #[arg(long)]
    voucher_hours: Option<u32>,
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    settings: voucherdesk::settings::Settings,
    terms: &'a TermsSettings,
    vouchers: voucherdesk::vouchers::VoucherSettings,
    calendar_years: [i32; 2],
}

/// `PSP:MARKET=VALUE` → (psp, market, value).
fn channel_spec<'a>(flag: &str, spec: &'a str, example: &str) -> Result<(String, Country, &'a str), Failure> {
    let bad = || Failure::refusal(format!("--{flag} {spec:?}: expected PSP:MARKET=VALUE, e.g. {example}"));
    let (channel, value) = spec.split_once('=').ok_or_else(bad)?;
    let (psp, market) = channel.split_once(':').ok_or_else(bad)?;
    let market = Country::parse(market).map_err(|e| Failure::refusal(format!("--{flag} {spec:?}: {e}")))?;
    let psp = psp.trim().to_ascii_lowercase();
    if psp.is_empty() {
        return Err(bad());
    }
    Ok((psp, market, value.trim()))
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, a: SettingsArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let mut t = terms::get(&store)?;
    let changing = !a.terms.is_empty()
        || !a.ship_on.is_empty()
        || a.expired_unpaid_hours.is_some()
        || a.stale_pending_days.is_some()
        || a.amount_tolerance_percent.is_some();
    if changing {
        let op = acting(&store, operator)?;
        for spec in &a.terms {
            let (psp, market, value) = channel_spec("terms", spec, "dlocal:CO=2")?;
            let days: u32 = value.trim_start_matches(['T', 't', '+']).parse().map_err(|_| {
                Failure::refusal(format!("--terms {spec:?}: {value:?} is not a number of business days"))
            })?;
            let mut channel = t.channel(&psp, market);
            channel.settle_business_days = days;
            t.put_channel(channel);
        }
        for spec in &a.ship_on {
            let (psp, market, value) = channel_spec("ship-on", spec, "pagoefectivo:PE=settled")?;
            let ship_on = ShipOn::parse(value).ok_or_else(|| {
                Failure::refusal(format!("--ship-on {spec:?}: expected paid or settled, not {value:?}"))
            })?;
            let mut channel = t.channel(&psp, market);
            channel.ship_on = ship_on;
            t.put_channel(channel);
        }
        if let Some(h) = a.expired_unpaid_hours {
            t.expired_unpaid_hours = h;
        }
        if let Some(d) = a.stale_pending_days {
            t.stale_pending_days = d;
        }
        if let Some(p) = &a.amount_tolerance_percent {
            t.amount_tolerance_percent = Decimal::from_str(p.trim().trim_end_matches('%'))
                .map_err(|_| Failure::refusal(format!("--amount-tolerance-percent {p:?} is not a number")))?;
        }
        t = change(&mut store, |s| terms::set(s, &op, &t))??;
    }
    if let Some(hours) = a.voucher_hours {
        let op = acting(&store, operator)?;
        let new = voucherdesk::vouchers::VoucherSettings { expiry_hours: hours };
        change(&mut store, |s| voucherdesk::vouchers::set_settings(s, &op, &new))??;
    }
    let vouchers = voucherdesk::vouchers::settings(&store).map_err(Failure::fault)?;
    let settings = voucherdesk::settings::get(&store).map_err(Failure::fault)?;
    if a.json {
        let years = [*CALENDAR_YEARS.start(), *CALENDAR_YEARS.end()];
        return print_json(&Shown { settings, terms: &t, vouchers, calendar_years: years });
    }
    for c in &t.channels {
        out!(
            "{} {}: settles T+{} business days; ship on {}",
            c.psp,
            c.market,
            c.settle_business_days,
            c.ship_on.as_str()
        );
    }
    out!(
        "not_settled {} business day(s) after the terms; amount_mismatch above {} minor units or {} % of the order",
        settings.settlement_lag_days,
        settings.amount_tolerance_minor,
        t.amount_tolerance_percent
    );
    out!(
        "expired_unpaid after {} h; stale_pending after {} days; holidays known for {}-{}",
        t.expired_unpaid_hours,
        t.stale_pending_days,
        CALENDAR_YEARS.start(),
        CALENDAR_YEARS.end()
    );
    out!("vouchers issued or extended from the console are valid {} h unless given", vouchers.expiry_hours);
    Ok(())
}
