//! Demo data: realistic files in the built-in layouts (Colombia and Peru,
//! Efecty and PagoEfectivo, Spanish names with accents, UTF-8 with and without
//! BOM, Windows-1252, comma, semicolon and tab) with a known share of every
//! exception kind, so the expected reconciliation counts are known exactly.

use crate::calendar;
use crate::exceptions::ExceptionKind;
use crate::market::Country;
use crate::money::{Currency, format_minor};
use crate::terms::{self, TermsSettings};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

mod formats;
mod names;

use formats::*;
use names::*;

/// Most orders one demo run writes.
pub const DEMO_ORDERS_MAX: u64 = 5_000_000;
/// The highest order number: payment ids are numbered in ranges 10 million
/// apart (`10_000_000 + n`, `50_000_000 + n`, ...), which must not meet.
pub const DEMO_ORDER_NUMBER_MAX: u64 = 9_999_999;
/// The reconciliation date the demo data is built for.
pub const DEMO_AS_OF: (i32, u32, u32) = (2026, 3, 20);
/// Business days of grace after the PSPs' settlement terms (`crate::terms`).
pub const DEMO_SETTLEMENT_LAG_DAYS: i64 = 1;
/// The fee every demo settlement row charges, in basis points of the gross:
/// the expected `fee_mismatch` count holds once a dLocal account has this
/// contracted rate (`credentials::set_fee_rate`); without one, fees are not checked.
pub const DEMO_FEE_BPS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("--orders must be between 1 and {DEMO_ORDERS_MAX}")]
    BadCount,
    #[error("--first-order must be at least 1, and the last order number at most {DEMO_ORDER_NUMBER_MAX}")]
    BadFirstOrder,
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// What the files contain and what reconciling them must find.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DemoManifest {
    pub seed: u64,
    pub as_of: String,
    pub settlement_lag_days: i64,
    pub files: Vec<DemoFile>,
    pub expected: ExpectedCounts,
    /// The contracted dLocal fee rate the expected counts assume.
    pub dlocal_fee_bps: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DemoFile {
    pub kind: &'static str,
    pub profile: &'static str,
    pub path: PathBuf,
    pub rows: u64,
    pub encoding: &'static str,
    pub delimiter: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ExpectedCounts {
    pub orders: u64,
    pub payments: u64,
    pub settlements: u64,
    pub matched: u64,
    pub exceptions: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    PaidSettled,
    PaidRecentUnsettled,
    PendingUnpaid,
    ExpiredUnpaid,
    Cancelled,
    Anomaly(ExceptionKind),
}

/// Scenario weights per 10,000 orders; the rest are paid and settled.
const SCENARIO_WEIGHTS: &[(Scenario, u32)] = &[
    (Scenario::PaidRecentUnsettled, 200),
    (Scenario::PendingUnpaid, 500),
    (Scenario::ExpiredUnpaid, 400),
    (Scenario::Cancelled, 100),
    (Scenario::Anomaly(ExceptionKind::PaidNotRecorded), 80),
    (Scenario::Anomaly(ExceptionKind::RecordedNotPaid), 60),
    (Scenario::Anomaly(ExceptionKind::DuplicatePayment), 40),
    (Scenario::Anomaly(ExceptionKind::CurrencyMismatch), 20),
    (Scenario::Anomaly(ExceptionKind::AmountMismatch), 50),
    (Scenario::Anomaly(ExceptionKind::PaidAfterExpiry), 50),
    (Scenario::Anomaly(ExceptionKind::UnknownOrder), 30),
    (Scenario::Anomaly(ExceptionKind::NotSettled), 60),
    (Scenario::Anomaly(ExceptionKind::SettlementMismatch), 40),
    (Scenario::Anomaly(ExceptionKind::UnknownSettlement), 30),
    (Scenario::Anomaly(ExceptionKind::ReversedAfterFulfilment), 30),
    (Scenario::Anomaly(ExceptionKind::Chargeback), 20),
    (Scenario::Anomaly(ExceptionKind::UnmatchedRefundSettlement), 20),
    (Scenario::Anomaly(ExceptionKind::SettlementFxMismatch), 20),
    (Scenario::Anomaly(ExceptionKind::FeeMismatch), 20),
    (Scenario::Anomaly(ExceptionKind::ExpiredUnpaid), 40),
    (Scenario::Anomaly(ExceptionKind::StalePending), 30),
    (Scenario::Anomaly(ExceptionKind::PaymentIdMismatch), 30),
];

struct Files {
    orders_co: csv::Writer<Vec<u8>>,
    orders_pe: csv::Writer<Vec<u8>>,
    dlocal: csv::Writer<Vec<u8>>,
    dlocal_early: csv::Writer<Vec<u8>>,
    pagoefectivo: csv::Writer<Vec<u8>>,
    dlocal_settlement: csv::Writer<Vec<u8>>,
    pagoefectivo_settlement: csv::Writer<Vec<u8>>,
}

#[derive(Clone)]
struct Payment<'a> {
    id: String,
    order_id: &'a str,
    country: &'a str,
    currency: Currency,
    amount_minor: i64,
    status_dlocal: &'a str,
    created: DateTime<Utc>,
    paid: Option<DateTime<Utc>>,
    expires: DateTime<Utc>,
    ticket: String,
}

/// Writes the demo files into `dir` and returns what they hold.
pub fn generate(dir: &Path, orders: u64, seed: u64) -> Result<DemoManifest, DemoError> {
    generate_numbered(dir, 1, orders, seed)
}

/// Like [`generate`], numbering the orders from `first_order`: a second set of
/// files with numbers of its own adds new orders, payments and settlement rows
/// to a ledger that holds the first (a day's files into a large ledger).
pub fn generate_numbered(dir: &Path, first_order: u64, orders: u64, seed: u64) -> Result<DemoManifest, DemoError> {
    if orders == 0 || orders > DEMO_ORDERS_MAX {
        return Err(DemoError::BadCount);
    }
    let last_order = first_order.checked_add(orders - 1).ok_or(DemoError::BadFirstOrder)?;
    if first_order == 0 || last_order > DEMO_ORDER_NUMBER_MAX {
        return Err(DemoError::BadFirstOrder);
    }
    let write_err = |path: &Path, e: &dyn std::fmt::Display| DemoError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, &e))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut files = Files {
        orders_co: writer(b','),
        orders_pe: writer(b';'),
        dlocal: writer(b','),
        dlocal_early: writer(b','),
        pagoefectivo: writer(b';'),
        dlocal_settlement: writer(b'\t'),
        pagoefectivo_settlement: writer(b';'),
    };
    let shop_header = [
        "order_id",
        "store",
        "created_at",
        "buyer_name",
        "buyer_email",
        "buyer_phone",
        "buyer_document",
        "country",
        "amount",
        "currency",
        "status",
        "psp",
        "psp_payment_id",
        "voucher_code",
        "voucher_expires_at",
    ];
    let dlocal_header = [
        "PAYMENT_ID",
        "ORDER_ID",
        "COUNTRY",
        "PAYMENT_METHOD_ID",
        "CURRENCY",
        "AMOUNT",
        "STATUS",
        "STATUS_CODE",
        "CREATED_DATE",
        "APPROVED_DATE",
        "EXPIRATION_DATE",
        "TICKET_NUMBER",
    ];
    let csv_err = |e: csv::Error| DemoError::Write { path: dir.display().to_string(), reason: e.to_string() };
    files.orders_co.write_record(shop_header).map_err(csv_err)?;
    // Peru's shop export puts columns in another order: headers are matched by name.
    let mut pe_header = shop_header;
    pe_header.reverse();
    files.orders_pe.write_record(pe_header).map_err(csv_err)?;
    files.dlocal.write_record(dlocal_header).map_err(csv_err)?;
    files.dlocal_early.write_record(dlocal_header).map_err(csv_err)?;
    files
        .pagoefectivo
        .write_record([
            "CIP",
            "CODIGO_TRANSACCION",
            "MONEDA",
            "MONTO",
            "ESTADO",
            "FECHA_CREACION",
            "FECHA_EXPIRACION",
            "FECHA_PAGO",
            "NRO_OPERACION",
            "FECHA_EXTORNO",
        ])
        .map_err(csv_err)?;
    files
        .dlocal_settlement
        .write_record([
            "TRANSACTION_ID",
            "DLOCAL_TRANSACTION_ID",
            "ROW_TYPE",
            "CREATION_DATE",
            "TRANSFER_DATE",
            "LOCAL_AMOUNT",
            "LOCAL_CURRENCY",
            "FX_RATE",
            "SETTLEMENT_CURRENCY",
            "GROSS_AMOUNT",
            "NET_AMOUNT",
            "FEE_AMOUNT",
        ])
        .map_err(csv_err)?;
    files
        .pagoefectivo_settlement
        .write_record([
            "CIP",
            "CODIGO_TRANSACCION",
            "MONEDA",
            "MONTO_BRUTO",
            "COMISION",
            "MONTO_NETO",
            "FECHA_LIQUIDACION",
        ])
        .map_err(csv_err)?;

    let (y, m, d) = DEMO_AS_OF;
    let as_of = NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
    let period_start = Utc.with_ymd_and_hms(2026, 3, 1, 5, 0, 0).single().unwrap_or_default();
    let mut expected = ExpectedCounts {
        exceptions: ExceptionKind::RECONCILED.iter().map(|k| (k.as_str(), 0)).collect(),
        ..ExpectedCounts::default()
    };
    let mut rows = BTreeMap::<&str, u64>::new();
    let total_weight = 10_000u32;

    for n in first_order..=last_order {
        let pick = rng.gen_range(0..total_weight);
        let mut acc = 0;
        let mut scenario = Scenario::PaidSettled;
        for (s, w) in SCENARIO_WEIGHTS {
            acc += w;
            if pick < acc {
                scenario = *s;
                break;
            }
        }
        // A reversal comes as PagoEfectivo's `Extornado`; the settlement-row
        // anomalies come in dLocal's report.
        let reversal = scenario == Scenario::Anomaly(ExceptionKind::ReversedAfterFulfilment);
        let dlocal_rows = matches!(
            scenario,
            Scenario::Anomaly(
                ExceptionKind::Chargeback
                    | ExceptionKind::UnmatchedRefundSettlement
                    | ExceptionKind::SettlementFxMismatch
                    | ExceptionKind::FeeMismatch
            )
        );
        let peru = rng.gen_bool(0.5) || reversal;
        let (country, currency, prefix) = if peru { ("PE", Currency::Pen, "PE") } else { ("CO", Currency::Cop, "CO") };
        // Peru: half through dLocal (EF), half PagoEfectivo directly.
        let via_pagoefectivo = peru && rng.gen_bool(0.5);
        // Currency mismatches need dLocal's USD option.
        let via_pagoefectivo =
            (via_pagoefectivo && scenario != Scenario::Anomaly(ExceptionKind::CurrencyMismatch) && !dlocal_rows)
                || reversal;
        let order_id = format!("{prefix}-{n:07}");
        let amount_minor = match currency {
            Currency::Cop => rng.gen_range(200..20_000) * 10_000,
            Currency::Pen | Currency::Usd => rng.gen_range(2_000..300_000),
        };
        let recent = scenario == Scenario::PaidRecentUnsettled;
        let not_settled = scenario == Scenario::Anomaly(ExceptionKind::NotSettled);
        // Vouchers still open on the as-of date: the voucher (24 h in Peru, 72 h in
        // Colombia) has not expired by its end, so no post-expiry rule applies.
        let open_voucher =
            matches!(scenario, Scenario::PendingUnpaid | Scenario::Anomaly(ExceptionKind::RecordedNotPaid));
        let created = if not_settled {
            // Paid early enough that the settlement terms have certainly passed by the as-of date.
            period_start + Duration::minutes(rng.gen_range(0..10 * 24 * 60))
        } else if recent {
            // Paid on the 19th (market date): within T+1 and T+2 on the 20th.
            Utc.with_ymd_and_hms(2026, 3, 19, 14, 0, 0).single().unwrap_or_default()
                + Duration::minutes(rng.gen_range(0..600))
        } else if open_voucher {
            Utc.with_ymd_and_hms(2026, 3, 20, 5, 0, 0).single().unwrap_or_default()
                + Duration::minutes(rng.gen_range(0..20 * 60))
        } else if scenario == Scenario::Anomaly(ExceptionKind::StalePending) {
            // Expired by the 13th at the latest: more than three days before the as-of date.
            period_start + Duration::minutes(rng.gen_range(0..9 * 24 * 60))
        } else {
            period_start + Duration::minutes(rng.gen_range(0..14 * 24 * 60))
        };
        let expires = created + Duration::hours(if peru { 24 } else { 72 });
        let paid_at = match scenario {
            Scenario::Anomaly(ExceptionKind::PaidAfterExpiry) => {
                Some(expires + Duration::minutes(rng.gen_range(5..600)))
            }
            Scenario::PendingUnpaid | Scenario::ExpiredUnpaid | Scenario::Cancelled => None,
            Scenario::Anomaly(
                ExceptionKind::RecordedNotPaid | ExceptionKind::ExpiredUnpaid | ExceptionKind::StalePending,
            ) => None,
            _ if recent => Some(created + Duration::minutes(rng.gen_range(10..600))),
            _ => Some(created + Duration::minutes(rng.gen_range(10..(if peru { 23 * 60 } else { 70 * 60 })))),
        };
        let first = FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())];
        let buyer_name = format!("{first} {last}");
        let email = format!("{}.{}{}@correo.example", ascii_fold(first), ascii_fold(last), n % 1000);
        let phone = if peru {
            format!("+51 9{:02} {:03} {:03}", rng.gen_range(0..100), rng.gen_range(0..1000), rng.gen_range(0..1000))
        } else {
            format!("+57 3{:02} {:03} {:04}", rng.gen_range(0..100), rng.gen_range(0..1000), rng.gen_range(0..10000))
        };
        let document = if peru {
            format!("{:08}", rng.gen_range(10_000_000..99_999_999u64))
        } else {
            format!("{}", rng.gen_range(10_000_000..1_999_999_999u64))
        };
        let store = STORES[rng.gen_range(0..STORES.len())];
        let shop_status = match scenario {
            Scenario::PaidSettled | Scenario::PaidRecentUnsettled => {
                if rng.gen_bool(0.5) {
                    "fulfilled"
                } else {
                    "paid"
                }
            }
            Scenario::PendingUnpaid => "pending_payment",
            Scenario::ExpiredUnpaid => "expired",
            Scenario::Cancelled => "cancelled",
            Scenario::Anomaly(ExceptionKind::PaidNotRecorded | ExceptionKind::ExpiredUnpaid) => "pending_payment",
            Scenario::Anomaly(ExceptionKind::ReversedAfterFulfilment) => "fulfilled",
            Scenario::Anomaly(ExceptionKind::StalePending) => "expired",
            Scenario::Anomaly(_) => "paid",
        };
        let psp = if via_pagoefectivo { "pagoefectivo" } else { "dlocal" };
        let payment_id = if via_pagoefectivo { format!("{}", 10_000_000 + n) } else { format!("D-{n:08}") };
        let ticket = if via_pagoefectivo { payment_id.clone() } else { format!("{}", 4_000_000_000u64 + n) };
        // The shop recorded some other payment id than the one that paid.
        let shop_payment_id = match (scenario, via_pagoefectivo) {
            (Scenario::Anomaly(ExceptionKind::PaymentIdMismatch), true) => format!("{}", 60_000_000 + n),
            (Scenario::Anomaly(ExceptionKind::PaymentIdMismatch), false) => format!("D-9{n:08}"),
            _ => payment_id.clone(),
        };
        let created_text =
            created.with_timezone(&chrono_tz::America::Bogota).format("%Y-%m-%dT%H:%M:%S-05:00").to_string();
        let expires_text =
            expires.with_timezone(&chrono_tz::America::Bogota).format("%Y-%m-%dT%H:%M:%S-05:00").to_string();
        let amount_text = format_minor(amount_minor, currency);
        let unknown_order = scenario == Scenario::Anomaly(ExceptionKind::UnknownOrder);
        if !unknown_order {
            let record = [
                order_id.as_str(),
                store,
                &created_text,
                &buyer_name,
                &email,
                &phone,
                &document,
                country,
                &amount_text,
                currency.code(),
                shop_status,
                psp,
                &shop_payment_id,
                &ticket,
                &expires_text,
            ];
            if peru {
                let mut reversed = record;
                reversed.reverse();
                files.orders_pe.write_record(reversed).map_err(csv_err)?;
                *rows.entry("orders_pe").or_default() += 1;
            } else {
                files.orders_co.write_record(record).map_err(csv_err)?;
                *rows.entry("orders_co").or_default() += 1;
            }
            expected.orders += 1;
        }
        let payment_order_id = if unknown_order { format!("{prefix}-X{n:07}") } else { order_id.clone() };
        let status_dlocal = match scenario {
            Scenario::PendingUnpaid
            | Scenario::Anomaly(ExceptionKind::RecordedNotPaid | ExceptionKind::StalePending) => "PENDING",
            Scenario::ExpiredUnpaid | Scenario::Anomaly(ExceptionKind::ExpiredUnpaid) => "EXPIRED",
            Scenario::Cancelled => "CANCELLED",
            Scenario::Anomaly(ExceptionKind::ReversedAfterFulfilment) => "REVERSED",
            _ => "PAID",
        };
        let (pay_currency, pay_amount) = match scenario {
            Scenario::Anomaly(ExceptionKind::CurrencyMismatch) => (Currency::Usd, rng.gen_range(1_000..50_000)),
            Scenario::Anomaly(ExceptionKind::AmountMismatch) => {
                (currency, amount_minor - if currency == Currency::Cop { 1_000_000 } else { 1_000 })
            }
            _ => (currency, amount_minor),
        };
        let payment = Payment {
            id: payment_id.clone(),
            order_id: &payment_order_id,
            country,
            currency: pay_currency,
            amount_minor: pay_amount,
            status_dlocal,
            created,
            paid: paid_at,
            expires,
            ticket: ticket.clone(),
        };
        let write_payment =
            |files: &mut Files, p: &Payment<'_>, rows: &mut BTreeMap<&str, u64>| -> Result<(), csv::Error> {
                if via_pagoefectivo {
                    let estado = match p.status_dlocal {
                        "PENDING" => "Pendiente",
                        "EXPIRED" => "Expirado",
                        "CANCELLED" => "Anulado",
                        "REVERSED" => "Extornado",
                        _ => "Pagado",
                    };
                    // The reversal's own date, three days after the payment.
                    let reversed_at = match (p.status_dlocal, p.paid) {
                        ("REVERSED", Some(paid)) => lima_time(paid + Duration::days(3)),
                        _ => String::new(),
                    };
                    files.pagoefectivo.write_record([
                        p.id.as_str(),
                        p.order_id,
                        p.currency.code(),
                        &grouped_amount(p.amount_minor, p.currency),
                        estado,
                        &lima_time(p.created),
                        &lima_time(p.expires),
                        &p.paid.map(lima_time).unwrap_or_default(),
                        &p.paid.map(|_| format!("OP{}", p.id)).unwrap_or_default(),
                        &reversed_at,
                    ])?;
                    *rows.entry("pagoefectivo").or_default() += 1;
                } else {
                    let code = match p.status_dlocal {
                        "PENDING" => "100",
                        "PAID" => "200",
                        "CANCELLED" => "400",
                        _ => "",
                    };
                    files.dlocal.write_record([
                        p.id.as_str(),
                        p.order_id,
                        p.country,
                        if p.country == "PE" { "EF" } else { "EY" },
                        p.currency.code(),
                        &dlocal_amount(p.amount_minor, p.currency),
                        p.status_dlocal,
                        code,
                        &dlocal_time(p.created),
                        &p.paid.map(dlocal_time).unwrap_or_default(),
                        &dlocal_time(p.expires),
                        &p.ticket,
                    ])?;
                    *rows.entry("dlocal").or_default() += 1;
                }
                Ok(())
            };
        write_payment(&mut files, &payment, &mut rows).map_err(csv_err)?;
        expected.payments += 1;
        // An earlier dLocal report saw some paid vouchers still pending: the
        // history keeps both, the status stays paid.
        if !via_pagoefectivo && payment.paid.is_some() && n % 50 == 0 {
            files
                .dlocal_early
                .write_record([
                    payment.id.as_str(),
                    payment.order_id,
                    country,
                    if peru { "EF" } else { "EY" },
                    pay_currency.code(),
                    &dlocal_amount(pay_amount, pay_currency),
                    "PENDING",
                    "100",
                    &dlocal_time(created),
                    "",
                    &dlocal_time(expires),
                    &ticket,
                ])
                .map_err(csv_err)?;
            *rows.entry("dlocal_early").or_default() += 1;
        }
        let settle = |files: &mut Files,
                      p: &Payment<'_>,
                      local_minor: i64,
                      rows: &mut BTreeMap<&str, u64>|
         -> Result<(), csv::Error> {
            let paid = p.paid.unwrap_or(p.created);
            // On the day the account's terms say (T+N business days), so that
            // every day a payment was due is in the PSP's report, as a PSP's
            // daily reports are; one payment in eight a business day late (the
            // settlement KPI has something to show), never past the as-of date.
            let market = if peru { Country::Peru } else { Country::Colombia };
            let psp = if via_pagoefectivo { crate::psp::pagoefectivo::PSP_NAME } else { crate::psp::dlocal::PSP_NAME };
            let due = terms::settlement_due(&TermsSettings::default().channel(psp, market), market.business_date(paid));
            let late = calendar::add_business_days(market, due, 1);
            let settled_on = if n % 8 == 0 && late <= as_of { late } else { due };
            if via_pagoefectivo {
                let fee = local_minor * 3 / 100;
                files.pagoefectivo_settlement.write_record([
                    p.id.as_str(),
                    p.order_id,
                    p.currency.code(),
                    &grouped_amount(local_minor, p.currency),
                    &grouped_amount(fee, p.currency),
                    &grouped_amount(local_minor - fee, p.currency),
                    &settled_on.format("%d/%m/%Y").to_string(),
                ])?;
                *rows.entry("pagoefectivo_settlement").or_default() += 1;
            } else {
                let rate = fx_rate(p.currency);
                let converted = (Decimal::new(local_minor, 2) / rate).round_dp(2);
                // Settled at half the converted amount: the wrong rate.
                let gross = if scenario == Scenario::Anomaly(ExceptionKind::SettlementFxMismatch) {
                    (converted / Decimal::TWO).round_dp(2)
                } else {
                    converted
                };
                // Charged 5 % instead of the contracted 3 %.
                let fee_bps =
                    if scenario == Scenario::Anomaly(ExceptionKind::FeeMismatch) { 500 } else { DEMO_FEE_BPS };
                let fee = (gross * Decimal::new(fee_bps, 4)).round_dp(2);
                files.dlocal_settlement.write_record([
                    p.order_id,
                    p.id.as_str(),
                    "PAYMENT",
                    &dlocal_time(paid + Duration::hours(1)),
                    &settled_on.to_string(),
                    &dlocal_amount(local_minor, p.currency),
                    p.currency.code(),
                    &rate.to_string(),
                    "USD",
                    &gross.to_string(),
                    &(gross - fee).to_string(),
                    &fee.to_string(),
                ])?;
                *rows.entry("dlocal_settlement").or_default() += 1;
            }
            Ok(())
        };
        let paid = payment.paid.is_some();
        let settled =
            paid && !matches!(scenario, Scenario::PaidRecentUnsettled | Scenario::Anomaly(ExceptionKind::NotSettled));
        if settled {
            let local = if scenario == Scenario::Anomaly(ExceptionKind::SettlementMismatch) {
                payment.amount_minor - if currency == Currency::Cop { 500_000 } else { 500 }
            } else {
                payment.amount_minor
            };
            settle(&mut files, &payment, local, &mut rows).map_err(csv_err)?;
            expected.settlements += 1;
        }
        // Money going out again, as dLocal's report writes it: minus signs.
        let money_out = match scenario {
            Scenario::Anomaly(ExceptionKind::Chargeback) => Some(("CHARGEBACK", payment.amount_minor)),
            // Half refunded at the PSP, by nobody here.
            Scenario::Anomaly(ExceptionKind::UnmatchedRefundSettlement) => Some((
                "REFUND",
                match payment.currency {
                    // dLocal quotes COP in whole pesos.
                    Currency::Cop => payment.amount_minor / 2 / 100 * 100,
                    Currency::Pen | Currency::Usd => payment.amount_minor / 2,
                },
            )),
            _ => None,
        };
        if let (Some((row_type, local_minor)), Some(paid)) = (money_out, payment.paid) {
            let rate = fx_rate(payment.currency);
            let gross = (Decimal::new(local_minor, 2) / rate).round_dp(2);
            let at = paid + Duration::days(4);
            files
                .dlocal_settlement
                .write_record([
                    payment.order_id,
                    payment.id.as_str(),
                    row_type,
                    &dlocal_time(at),
                    &(at + Duration::days(1)).with_timezone(&chrono_tz::America::Bogota).date_naive().to_string(),
                    &format!("-{}", dlocal_amount(local_minor, payment.currency)),
                    payment.currency.code(),
                    &rate.to_string(),
                    "USD",
                    &format!("-{gross}"),
                    &format!("-{gross}"),
                    "0",
                ])
                .map_err(csv_err)?;
            *rows.entry("dlocal_settlement").or_default() += 1;
            expected.settlements += 1;
        }
        if scenario == Scenario::Anomaly(ExceptionKind::DuplicatePayment) {
            let second =
                Payment { id: format!("{}-2", payment.id), ticket: format!("{}-2", payment.ticket), ..payment.clone() };
            let second = Payment { paid: second.paid.map(|t| t + Duration::minutes(30)), ..second };
            let second =
                if via_pagoefectivo { Payment { id: format!("{}", 50_000_000 + n), ..second } } else { second };
            write_payment(&mut files, &second, &mut rows).map_err(csv_err)?;
            settle(&mut files, &second, second.amount_minor, &mut rows).map_err(csv_err)?;
            expected.payments += 1;
            expected.settlements += 1;
        }
        if scenario == Scenario::Anomaly(ExceptionKind::UnknownSettlement) {
            // A settlement row for a payment (and order) nobody knows.
            let ghost_order = format!("{prefix}-Z{n:07}");
            let ghost = Payment {
                id: if via_pagoefectivo { format!("{}", 90_000_000 + n) } else { format!("D-X{n:08}") },
                order_id: &ghost_order,
                ..payment.clone()
            };
            settle(&mut files, &ghost, ghost.amount_minor, &mut rows).map_err(csv_err)?;
            expected.settlements += 1;
        }
        match scenario {
            Scenario::PaidSettled | Scenario::PaidRecentUnsettled => expected.matched += 1,
            // The stray settlement row refers to nobody's order: this one still matches.
            Scenario::Anomaly(ExceptionKind::UnknownSettlement) => {
                expected.matched += 1;
                *expected.exceptions.entry(ExceptionKind::UnknownSettlement.as_str()).or_default() += 1;
            }
            Scenario::Anomaly(kind) => *expected.exceptions.entry(kind.as_str()).or_default() += 1,
            Scenario::PendingUnpaid | Scenario::ExpiredUnpaid | Scenario::Cancelled => {}
        }
    }

    // The month's account fee: no counterpart, counted in the settled figures.
    files
        .dlocal_settlement
        .write_record([
            "",
            "FEE-2026-03",
            "FEE",
            &dlocal_time(Utc.with_ymd_and_hms(2026, 3, 16, 5, 0, 0).single().unwrap_or_default()),
            "2026-03-16",
            "-50000",
            "COP",
            &fx_rate(Currency::Cop).to_string(),
            "USD",
            "-12.12",
            "-12.12",
            "0",
        ])
        .map_err(csv_err)?;
    *rows.entry("dlocal_settlement").or_default() += 1;
    expected.settlements += 1;

    let specs: [(&str, &'static str, &'static str, &str, Vec<u8>, &'static str, &'static str); 7] = [
        ("orders_co", "orders", "shop", "orders-co.csv", take(files.orders_co), "UTF-8 (BOM)", "comma"),
        ("orders_pe", "orders", "shop", "orders-pe.csv", take(files.orders_pe), "Windows-1252", "semicolon"),
        ("dlocal_early", "payments", "dlocal", "dlocal-payments-early.csv", take(files.dlocal_early), "UTF-8", "comma"),
        ("dlocal", "payments", "dlocal", "dlocal-payments.csv", take(files.dlocal), "UTF-8", "comma"),
        (
            "pagoefectivo",
            "payments",
            "pagoefectivo",
            "pagoefectivo-payments.csv",
            take(files.pagoefectivo),
            "Windows-1252",
            "semicolon",
        ),
        (
            "dlocal_settlement",
            "settlements",
            "dlocal-settlement",
            "dlocal-settlement.tsv",
            take(files.dlocal_settlement),
            "UTF-8",
            "tab",
        ),
        (
            "pagoefectivo_settlement",
            "settlements",
            "pagoefectivo-settlement",
            "pagoefectivo-settlement.csv",
            take(files.pagoefectivo_settlement),
            "Windows-1252",
            "semicolon",
        ),
    ];
    let mut out_files = Vec::new();
    for (key, kind, profile, name, bytes, encoding, delimiter) in specs {
        let path = dir.join(name);
        let body: Vec<u8> = match encoding {
            "Windows-1252" => {
                let text = String::from_utf8_lossy(&bytes);
                encoding_rs::WINDOWS_1252.encode(&text).0.into_owned()
            }
            "UTF-8 (BOM)" => [&[0xEF, 0xBB, 0xBF][..], &bytes].concat(),
            _ => bytes,
        };
        let mut f = std::fs::File::create(&path).map_err(|e| write_err(&path, &e))?;
        f.write_all(&body).map_err(|e| write_err(&path, &e))?;
        out_files.push(DemoFile {
            kind,
            profile,
            path,
            rows: rows.get(key).copied().unwrap_or(0),
            encoding,
            delimiter,
        });
    }
    let manifest = DemoManifest {
        seed,
        as_of: as_of.to_string(),
        settlement_lag_days: DEMO_SETTLEMENT_LAG_DAYS,
        files: out_files,
        expected,
        dlocal_fee_bps: DEMO_FEE_BPS,
    };
    let manifest_path = dir.join("expected.json");
    std::fs::write(&manifest_path, serde_json::to_string_pretty(&manifest).unwrap_or_default())
        .map_err(|e| write_err(&manifest_path, &e))?;
    Ok(manifest)
}
