//! One CSV record → one validated domain record, or the list of what is wrong
//! with it (every bad column, not just the first).

use super::profile::{Field, ImportKind, MethodMapping, Profile, StatusMapping, TextKind};
use crate::market::{Country, TimestampFormat, parse_date, parse_timestamp};
use crate::money::{Currency, parse_decimal, parse_minor};
use crate::orders::{Order, ShopStatus};
use crate::payments::{PaymentObservation, PaymentStatus};
use crate::psp::{dlocal, pagoefectivo};
use crate::settlements::SettlementRow;
use chrono::{DateTime, NaiveDate, Utc};
use csv::StringRecord;

/// Longest text we keep in one field; longer is a broken file, not a name.
const FIELD_CHARS_MAX: usize = 4_096;

const FIELD_COUNT: usize = Field::StatusAt as usize + 1;

/// Where each field's column sits in this file.
pub struct ColumnIndex {
    slots: [Option<usize>; FIELD_COUNT],
    headers: Vec<String>,
}

impl ColumnIndex {
    /// Finds the profile's headers (case-insensitive, trimmed); refuses a
    /// header that names a column twice (which copy would be meant?), and
    /// returns the missing ones as an error.
    pub fn locate(profile: &Profile, header: &StringRecord) -> Result<ColumnIndex, LocateError> {
        let headers: Vec<String> = header.iter().map(|h| h.trim().to_string()).collect();
        let folded: Vec<String> = headers.iter().map(|h| fold_header(h)).collect();
        let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (second_at, name) in folded.iter().enumerate().filter(|(_, h)| !h.is_empty()) {
            if let Some(&first_at) = seen.get(name.as_str()) {
                return Err(LocateError::Duplicate {
                    first: headers[first_at].clone(),
                    first_at: first_at + 1,
                    second: headers[second_at].clone(),
                    second_at: second_at + 1,
                });
            }
            seen.insert(name, second_at);
        }
        let mut slots = [None; FIELD_COUNT];
        let mut missing: Vec<String> = Vec::new();
        for (field, name) in &profile.columns {
            let wanted = fold_header(name);
            match folded.iter().position(|h| *h == wanted) {
                Some(i) => slots[*field as usize] = Some(i),
                None if !missing.contains(name) => missing.push(name.clone()),
                None => {}
            }
        }
        for (field, name) in &profile.optional_columns {
            let wanted = fold_header(name);
            if let Some(i) = folded.iter().position(|h| *h == wanted) {
                slots[*field as usize] = Some(i);
            }
        }
        if missing.is_empty() { Ok(ColumnIndex { slots, headers }) } else { Err(LocateError::Missing(missing)) }
    }

    pub fn width(&self) -> usize {
        self.headers.len()
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }
}

/// Characters that change what is shown without being seen: C0 and C1
/// controls, DEL, and the Unicode bidi marks, embeddings, overrides and isolates.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Why a header does not fit a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocateError {
    /// The profile's required headers the file lacks.
    Missing(Vec<String>),
    /// Two cells fold to the same name (columns counted from 1).
    Duplicate { first: String, first_at: usize, second: String, second_at: usize },
}

/// Header comparison key: trimmed, Unicode-lowercased, NFC (so "CÓDIGO" in a
/// file written with a combining accent still matches "Código").
fn fold_header(header: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    header.trim().nfc().collect::<String>().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnProblem {
    pub column: String,
    pub reason: String,
}

pub enum Parsed {
    Order(Order),
    Payment(PaymentObservation),
    Settlement(SettlementRow),
}

impl Parsed {
    /// The identity of the row's subject, to spot repeats within a file.
    pub fn key(&self) -> (&str, &str, &str) {
        match self {
            Parsed::Order(o) => (&o.order_id, "", ""),
            Parsed::Payment(p) => (&p.payment_id, &p.psp, ""),
            Parsed::Settlement(s) => (&s.payment_id, &s.psp, s.row_type.as_str()),
        }
    }
}

struct Row<'a> {
    profile: &'a Profile,
    columns: &'a ColumnIndex,
    record: &'a StringRecord,
    problems: Vec<ColumnProblem>,
}

impl<'a> Row<'a> {
    fn column_name(&self, field: Field) -> String {
        match self.columns.slots[field as usize] {
            Some(i) => self.columns.headers[i].clone(),
            None => field.name().to_string(),
        }
    }

    fn problem(&mut self, field: Field, reason: impl Into<String>) {
        let column = self.column_name(field);
        self.problems.push(ColumnProblem { column, reason: reason.into() });
    }

    /// The trimmed value of a field: its column, else its constant, else "".
    fn text(&mut self, field: Field) -> &'a str {
        let value = match self.columns.slots[field as usize] {
            Some(i) => self.record.get(i).unwrap_or("").trim(),
            None => self.profile.constants.get(&field).map(|s| s.trim()).unwrap_or(""),
        };
        if value.len() > FIELD_CHARS_MAX && value.chars().count() > FIELD_CHARS_MAX {
            self.problem(field, format!("longer than {FIELD_CHARS_MAX} characters"));
            return "";
        }
        match field.text_kind() {
            TextKind::Identifier => {
                if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| is_hidden_char(*c)) {
                    self.problem(
                        field,
                        format!(
                            "contains the control character U+{:04X} at character {}; ids must be printable",
                            u32::from(c),
                            at + 1
                        ),
                    );
                    return "";
                }
            }
            TextKind::Name | TextKind::Parsed => {}
        }
        value
    }

    /// A name with its control and bidi characters dropped.
    /// Line breaks a quoted cell holds (`\n`, `\r\n`) are layout, and stay.
    fn name_text(&mut self, field: Field) -> String {
        let value = self.text(field);
        let mut kept = String::with_capacity(value.len());
        let mut chars = value.chars().peekable();
        while let Some(c) = chars.next() {
            let line_break = c == '\n' || (c == '\r' && chars.peek() == Some(&'\n'));
            if line_break || !is_hidden_char(c) {
                kept.push(c);
            }
        }
        kept
    }

    fn required(&mut self, field: Field) -> Option<&'a str> {
        let problems_before = self.problems.len();
        let value = self.text(field);
        if value.is_empty() && self.problems.len() == problems_before {
            self.problem(field, "is required but empty");
            return None;
        }
        Some(value).filter(|v| !v.is_empty())
    }

    fn country(&mut self) -> Option<Country> {
        let text = self.required(Field::Country)?;
        Country::parse(text).map_err(|e| self.problem(Field::Country, e.to_string())).ok()
    }

    fn currency(&mut self, field: Field) -> Option<Currency> {
        let text = self.required(field)?;
        Currency::parse(text).map_err(|e| self.problem(field, e.to_string())).ok()
    }

    fn amount(&mut self, field: Field, currency: Option<Currency>) -> Option<i64> {
        let text = self.required(field)?;
        match currency {
            Some(c) => parse_minor(text, c, self.profile.numbers).map_err(|e| self.problem(field, e.to_string())).ok(),
            // The currency's own problem is already reported; still check the number.
            None => {
                let _ = parse_decimal(text, self.profile.numbers).map_err(|e| self.problem(field, e.to_string()));
                None
            }
        }
    }

    /// An amount that may be negative when `money_out`: a settlement row for
    /// money leaving the merchant (refund, chargeback, fee) is written with a
    /// minus sign. Kept as written; matching compares magnitudes.
    fn signed_amount(&mut self, field: Field, currency: Option<Currency>, money_out: bool) -> Option<i64> {
        let text = self.text(field);
        match text.strip_prefix('-') {
            Some(magnitude) if money_out => {
                let (Some(c), false) = (currency, magnitude.trim_start().starts_with(['-', '+'])) else {
                    return self.amount(field, currency);
                };
                parse_minor(magnitude, c, self.profile.numbers)
                    .map(|m| -m)
                    .map_err(|e| self.problem(field, e.to_string()))
                    .ok()
            }
            Some(_) | None => self.amount(field, currency),
        }
    }

    fn optional_signed_amount(
        &mut self,
        field: Field,
        currency: Option<Currency>,
        money_out: bool,
    ) -> Option<Option<i64>> {
        if self.text(field).is_empty() {
            return Some(None);
        }
        self.signed_amount(field, currency, money_out).map(Some)
    }

    fn timestamp(&mut self, field: Field, country: Option<Country>) -> Option<Option<DateTime<Utc>>> {
        let text = self.text(field);
        if text.is_empty() {
            return Some(None);
        }
        let zone = self.profile.zone_for(country.unwrap_or(Country::Colombia));
        match parse_timestamp(text, &self.profile.timestamps, zone) {
            Ok(t) => Some(Some(t)),
            Err(e) => {
                self.problem(field, e.to_string());
                None
            }
        }
    }

    fn required_timestamp(&mut self, field: Field, country: Option<Country>) -> Option<DateTime<Utc>> {
        match self.timestamp(field, country)? {
            Some(t) => Some(t),
            None => {
                self.problem(field, "is required but empty");
                None
            }
        }
    }

    fn date(&mut self, field: Field) -> Option<Option<NaiveDate>> {
        let text = self.text(field);
        if text.is_empty() {
            return Some(None);
        }
        let format = match (&self.profile.dates, &self.profile.timestamps) {
            (TimestampFormat::Iso, TimestampFormat::Pattern(p)) => TimestampFormat::Pattern(p.clone()),
            (d, _) => d.clone(),
        };
        parse_date(text, &format).map(Some).map_err(|e| self.problem(field, e.to_string())).ok()
    }
}

/// Validates one record against the profile.
pub fn parse_record(
    profile: &Profile,
    columns: &ColumnIndex,
    record: &StringRecord,
) -> Result<Parsed, Vec<ColumnProblem>> {
    if record.len() != columns.width() {
        return Err(vec![ColumnProblem {
            column: "(row)".into(),
            reason: format!(
                "has {} fields but the header has {} (a stray delimiter or an unclosed quote?)",
                record.len(),
                columns.width()
            ),
        }]);
    }
    let mut row = Row { profile, columns, record, problems: Vec::new() };
    let parsed = match profile.kind {
        ImportKind::Orders => order(&mut row).map(Parsed::Order),
        ImportKind::Payments => payment(&mut row).map(Parsed::Payment),
        ImportKind::Settlements => settlement(&mut row).map(Parsed::Settlement),
    };
    match parsed {
        Some(p) if row.problems.is_empty() => Ok(p),
        _ => Err(row.problems),
    }
}

fn order(row: &mut Row<'_>) -> Option<Order> {
    use Field::*;
    let order_id = row.required(OrderId);
    let country = row.country();
    let currency = row.currency(Currency);
    let amount = row.amount(Amount, currency);
    let created_at = row.required_timestamp(CreatedAt, country);
    let expires = row.timestamp(VoucherExpiresAt, country);
    let status_text = row.required(Status);
    let status = status_text.and_then(|text| {
        let mapped = match &row.profile.statuses {
            StatusMapping::CustomOrders(map) => map.get(&text.to_lowercase()).copied(),
            StatusMapping::Shop
            | StatusMapping::Dlocal
            | StatusMapping::PagoEfectivo
            | StatusMapping::CustomPayments(_)
            | StatusMapping::None => ShopStatus::parse(text),
        };
        if mapped.is_none() {
            row.problem(
                Status,
                format!(
                    "unknown status {text:?} (expected one of {})",
                    ShopStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        mapped
    });
    let store = row.name_text(Store);
    let buyer_name = row.name_text(BuyerName);
    let buyer_email = row.text(BuyerEmail);
    let buyer_phone = row.text(BuyerPhone);
    let buyer_document = row.text(BuyerDocument);
    let psp = row.text(Psp);
    let psp_payment_id = row.text(PspPaymentId);
    let voucher_code = row.text(VoucherCode);
    let order = Order {
        order_id: order_id?.to_string(),
        store,
        created_at: created_at?,
        buyer_name,
        buyer_email: buyer_email.to_lowercase(),
        buyer_phone: buyer_phone.to_string(),
        buyer_document: buyer_document.to_string(),
        country: country?,
        amount_minor: amount?,
        currency: currency?,
        status: status?,
        psp: psp.to_lowercase(),
        psp_payment_id: psp_payment_id.to_string(),
        voucher_code: voucher_code.to_string(),
        voucher_expires_at: expires?,
    };
    Some(order)
}

fn payment(row: &mut Row<'_>) -> Option<PaymentObservation> {
    use Field::*;
    let payment_id = row.required(PaymentId);
    let order_id = row.required(OrderId);
    let country = row.country();
    let currency = row.currency(Currency);
    let amount = row.amount(Amount, currency);
    let status_text = row.required(Status);
    let status = status_text.and_then(|text| {
        let mapped = match &row.profile.statuses {
            StatusMapping::Dlocal => dlocal::transformers::payment_status(text).map_err(|e| e.to_string()),
            StatusMapping::PagoEfectivo => pagoefectivo::transformers::payment_status(text).map_err(|e| e.to_string()),
            StatusMapping::CustomPayments(map) => map.get(&text.to_lowercase()).copied().ok_or_else(|| {
                format!(
                    "unknown status {text:?} (the profile maps: {})",
                    map.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            }),
            StatusMapping::Shop | StatusMapping::CustomOrders(_) | StatusMapping::None => {
                PaymentStatus::parse(text).ok_or_else(|| format!("unknown status {text:?}"))
            }
        };
        mapped.map_err(|reason| row.problem(Status, reason)).ok()
    });
    let method_text = row.text(Method);
    let network = match &row.profile.methods {
        MethodMapping::Fixed(n) => Some(*n),
        MethodMapping::Dlocal => {
            dlocal::transformers::network(method_text).map_err(|e| row.problem(Method, e.to_string())).ok()
        }
        MethodMapping::Custom(map) => match map.get(&method_text.to_lowercase()) {
            Some(n) => Some(*n),
            None => Some(crate::payments::VoucherNetwork::Other),
        },
    };
    let created_at = row.timestamp(CreatedAt, country);
    let paid_at = row.timestamp(PaidAt, country);
    let expires_at = row.timestamp(ExpiresAt, country);
    let status_at = row.timestamp(StatusAt, country);
    if status == Some(PaymentStatus::Paid) && matches!(paid_at, Some(None)) {
        row.problem(PaidAt, "is required when the status is paid");
    }
    let status_code = row.text(StatusCode);
    let voucher_code = row.text(VoucherCode);
    Some(PaymentObservation {
        psp: row.profile.psp.clone(),
        payment_id: payment_id?.to_string(),
        order_id: order_id?.to_string(),
        country: country?,
        network: network?,
        currency: currency?,
        amount_minor: amount?,
        status: status?,
        psp_status: status_text?.to_string(),
        status_code: status_code.to_string(),
        created_at: created_at?,
        paid_at: paid_at?,
        expires_at: expires_at?,
        voucher_code: voucher_code.to_string(),
        status_at: status_at?,
    })
}

fn settlement(row: &mut Row<'_>) -> Option<SettlementRow> {
    use Field::*;
    let payment_id = row.required(PaymentId);
    let row_type_text = row.text(RowType);
    let row_type = if row_type_text.is_empty() {
        Some(crate::settlements::RowType::Payment)
    } else {
        let parsed = crate::settlements::RowType::parse(row_type_text);
        if parsed.is_none() {
            row.problem(
                RowType,
                format!("unknown row type {row_type_text:?} (expected PAYMENT, REFUND, CHARGEBACK or FEE)"),
            );
        }
        parsed
    };
    let money_out = row_type.is_some_and(crate::settlements::RowType::is_money_out);
    let local_currency = row.currency(LocalCurrency);
    let local_amount = row.signed_amount(LocalAmount, local_currency, money_out);
    let settlement_currency =
        if row.text(SettlementCurrency).is_empty() { local_currency } else { row.currency(SettlementCurrency) };
    let gross = row.optional_signed_amount(GrossAmount, settlement_currency, money_out);
    let fee = row.optional_signed_amount(FeeAmount, settlement_currency, money_out);
    let net = row.optional_signed_amount(NetAmount, settlement_currency, money_out);
    let fx_rate = row.text(FxRate);
    if !fx_rate.is_empty() {
        match parse_decimal(fx_rate, row.profile.numbers) {
            Ok(rate) if rate.is_sign_positive() && !rate.is_zero() => {}
            Ok(_) => row.problem(FxRate, format!("exchange rate {fx_rate:?} must be positive")),
            Err(e) => row.problem(FxRate, e.to_string()),
        }
    }
    let created_at = row.timestamp(CreatedAt, None);
    let settled_on = row.date(SettledOn);
    let order_id = row.text(OrderId);
    let same_currency = settlement_currency == local_currency;
    let gross = match gross? {
        Some(g) => g,
        None if same_currency => local_amount?,
        None => {
            row.problem(GrossAmount, "is required when the settlement currency differs from the local one");
            return None;
        }
    };
    let fee = fee?.unwrap_or(0);
    let net = match net? {
        Some(n) => n,
        None => gross - fee,
    };
    Some(SettlementRow {
        psp: row.profile.psp.clone(),
        order_id: order_id.to_string(),
        payment_id: payment_id?.to_string(),
        row_type: row_type.unwrap_or(crate::settlements::RowType::Payment),
        created_at: created_at?,
        settled_on: settled_on?,
        local_amount_minor: local_amount?,
        local_currency: local_currency?,
        fx_rate: fx_rate.to_string(),
        settlement_currency: settlement_currency?,
        gross_minor: gross,
        net_minor: net,
        fee_minor: fee,
    })
    .filter(|_| row_type.is_some())
}
