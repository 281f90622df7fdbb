//! Import profiles: which header feeds which field, how dates and numbers are
//! written, and how the file's statuses map to ours. The built-in profiles are
//! values of the same type a merchant writes in TOML for a PayU or Kushki layout.

use crate::market::{Country, DAY_FIRST_DATE, DAY_FIRST_TIMESTAMP, TimestampFormat};
use crate::money::NumberFormat;
use crate::orders::ShopStatus;
use crate::payments::{PaymentStatus, VoucherNetwork};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Largest profile file we read.
const PROFILE_FILE_BYTES_MAX: u64 = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Orders,
    Payments,
    Settlements,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Orders => "orders",
            ImportKind::Payments => "payments",
            ImportKind::Settlements => "settlements",
        }
    }

    pub fn parse(text: &str) -> Option<ImportKind> {
        match text {
            "orders" => Some(ImportKind::Orders),
            "payments" => Some(ImportKind::Payments),
            "settlements" => Some(ImportKind::Settlements),
            _ => None,
        }
    }

    /// Fields a row of this kind must have, from a column or a constant.
    pub fn required_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            ImportKind::Orders => &[OrderId, CreatedAt, Country, Amount, Currency, Status],
            ImportKind::Payments => &[PaymentId, OrderId, Country, Currency, Amount, Status],
            ImportKind::Settlements => &[PaymentId, LocalAmount, LocalCurrency],
        }
    }

    pub fn allowed_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            ImportKind::Orders => &[
                OrderId,
                Store,
                CreatedAt,
                BuyerName,
                BuyerEmail,
                BuyerPhone,
                BuyerDocument,
                Country,
                Amount,
                Currency,
                Status,
                Psp,
                PspPaymentId,
                VoucherCode,
                VoucherExpiresAt,
            ],
            ImportKind::Payments => &[
                PaymentId,
                OrderId,
                Country,
                Method,
                Currency,
                Amount,
                Status,
                StatusCode,
                CreatedAt,
                PaidAt,
                ExpiresAt,
                VoucherCode,
                StatusAt,
            ],
            ImportKind::Settlements => &[
                OrderId,
                PaymentId,
                RowType,
                CreatedAt,
                SettledOn,
                LocalAmount,
                LocalCurrency,
                FxRate,
                SettlementCurrency,
                GrossAmount,
                NetAmount,
                FeeAmount,
            ],
        }
    }
}

/// A field of our model that a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    OrderId,
    Store,
    CreatedAt,
    BuyerName,
    BuyerEmail,
    BuyerPhone,
    BuyerDocument,
    Country,
    Amount,
    Currency,
    Status,
    Psp,
    PspPaymentId,
    VoucherCode,
    VoucherExpiresAt,
    PaymentId,
    Method,
    StatusCode,
    PaidAt,
    ExpiresAt,
    RowType,
    SettledOn,
    LocalAmount,
    LocalCurrency,
    FxRate,
    SettlementCurrency,
    GrossAmount,
    NetAmount,
    FeeAmount,
    /// When the row's status happened, for a status with no date column of
    /// its own (PagoEfectivo's reversal date).
    StatusAt,
}

/// What the importer may accept in a field's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// Looked up, matched and printed as is: a control or bidi character
    /// (which would hide or reorder what an operator sees) refuses the row.
    Identifier,
    /// A person's or shop's name: such characters are dropped.
    Name,
    /// Parsed into a number, date, code or status, whose parser refuses them.
    Parsed,
}

impl Field {
    pub fn text_kind(self) -> TextKind {
        use Field::*;
        match self {
            OrderId | PaymentId | PspPaymentId | VoucherCode | BuyerDocument | BuyerEmail | BuyerPhone | Psp
            | StatusCode => TextKind::Identifier,
            BuyerName | Store => TextKind::Name,
            CreatedAt | Country | Amount | Currency | Status | VoucherExpiresAt | Method | PaidAt | ExpiresAt
            | RowType | SettledOn | LocalAmount | LocalCurrency | FxRate | SettlementCurrency | GrossAmount
            | NetAmount | FeeAmount | StatusAt => TextKind::Parsed,
        }
    }

    pub fn name(self) -> &'static str {
        use Field::*;
        match self {
            OrderId => "order_id",
            Store => "store",
            CreatedAt => "created_at",
            BuyerName => "buyer_name",
            BuyerEmail => "buyer_email",
            BuyerPhone => "buyer_phone",
            BuyerDocument => "buyer_document",
            Country => "country",
            Amount => "amount",
            Currency => "currency",
            Status => "status",
            Psp => "psp",
            PspPaymentId => "psp_payment_id",
            VoucherCode => "voucher_code",
            VoucherExpiresAt => "voucher_expires_at",
            PaymentId => "payment_id",
            Method => "method",
            StatusCode => "status_code",
            PaidAt => "paid_at",
            ExpiresAt => "expires_at",
            RowType => "row_type",
            SettledOn => "settled_on",
            LocalAmount => "local_amount",
            LocalCurrency => "local_currency",
            FxRate => "fx_rate",
            SettlementCurrency => "settlement_currency",
            GrossAmount => "gross_amount",
            NetAmount => "net_amount",
            FeeAmount => "fee_amount",
            StatusAt => "status_at",
        }
    }
}

/// How the file's status words become ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMapping {
    /// The shop's own vocabulary (`pending_payment`, `paid`, ...).
    Shop,
    Dlocal,
    PagoEfectivo,
    /// From a custom profile: the file's word (case-insensitive) to ours.
    CustomOrders(BTreeMap<String, ShopStatus>),
    CustomPayments(BTreeMap<String, PaymentStatus>),
    /// Settlements have no status.
    None,
}

/// How the file's payment method becomes a voucher network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MethodMapping {
    Dlocal,
    Fixed(VoucherNetwork),
    Custom(BTreeMap<String, VoucherNetwork>),
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub kind: ImportKind,
    /// The PSP the file comes from (payments and settlements).
    pub psp: String,
    /// Field → header name, matched case-insensitively after trimming.
    pub columns: BTreeMap<Field, String>,
    /// Field → header name of columns a file may lack (older layouts): read
    /// when present, empty when not.
    pub optional_columns: BTreeMap<Field, String>,
    /// Field → constant value, for fields the layout does not carry (PagoEfectivo
    /// reports are all Peru, so `country = "PE"`).
    pub constants: BTreeMap<Field, String>,
    pub timestamps: TimestampFormat,
    pub dates: TimestampFormat,
    /// `None`: the row's country decides (Bogotá or Lima).
    pub zone: Option<Tz>,
    pub numbers: NumberFormat,
    pub statuses: StatusMapping,
    pub methods: MethodMapping,
}

impl Profile {
    pub fn zone_for(&self, country: Country) -> Tz {
        self.zone.unwrap_or_else(|| country.zone())
    }

    /// Every header this profile needs, in the order the profile lists them.
    pub fn required_headers(&self) -> Vec<&str> {
        let mut seen = Vec::new();
        for header in self.columns.values() {
            if !seen.contains(&header.as_str()) {
                seen.push(header.as_str());
            }
        }
        seen
    }
}

fn columns(pairs: &[(Field, &str)]) -> BTreeMap<Field, String> {
    pairs.iter().map(|(f, h)| (*f, h.to_string())).collect()
}

pub const BUILT_IN_PROFILE_NAMES: [&str; 5] =
    ["shop", "dlocal", "dlocal-settlement", "pagoefectivo", "pagoefectivo-settlement"];

/// A built-in profile by name.
pub fn built_in(name: &str) -> Option<Profile> {
    use Field::*;
    let iso = TimestampFormat::Iso;
    Some(match name {
        "shop" => Profile {
            name: name.into(),
            kind: ImportKind::Orders,
            psp: String::new(),
            columns: columns(&[
                (OrderId, "order_id"),
                (Store, "store"),
                (CreatedAt, "created_at"),
                (BuyerName, "buyer_name"),
                (BuyerEmail, "buyer_email"),
                (BuyerPhone, "buyer_phone"),
                (BuyerDocument, "buyer_document"),
                (Country, "country"),
                (Amount, "amount"),
                (Currency, "currency"),
                (Status, "status"),
                (Psp, "psp"),
                (PspPaymentId, "psp_payment_id"),
                (VoucherCode, "voucher_code"),
                (VoucherExpiresAt, "voucher_expires_at"),
            ]),
            constants: BTreeMap::new(),
            optional_columns: BTreeMap::new(),
            timestamps: iso.clone(),
            dates: iso,
            zone: None,
            numbers: NumberFormat::PLAIN,
            statuses: StatusMapping::Shop,
            methods: MethodMapping::Fixed(VoucherNetwork::Other),
        },
        "dlocal" => Profile {
            name: name.into(),
            kind: ImportKind::Payments,
            psp: crate::psp::dlocal::PSP_NAME.into(),
            columns: columns(&[
                (PaymentId, "PAYMENT_ID"),
                (OrderId, "ORDER_ID"),
                (Country, "COUNTRY"),
                (Method, "PAYMENT_METHOD_ID"),
                (Currency, "CURRENCY"),
                (Amount, "AMOUNT"),
                (Status, "STATUS"),
                (StatusCode, "STATUS_CODE"),
                (CreatedAt, "CREATED_DATE"),
                (PaidAt, "APPROVED_DATE"),
                (ExpiresAt, "EXPIRATION_DATE"),
                (VoucherCode, "TICKET_NUMBER"),
            ]),
            constants: BTreeMap::new(),
            optional_columns: BTreeMap::new(),
            timestamps: iso.clone(),
            dates: iso,
            zone: None,
            numbers: NumberFormat::PLAIN,
            statuses: StatusMapping::Dlocal,
            methods: MethodMapping::Dlocal,
        },
        "dlocal-settlement" => Profile {
            name: name.into(),
            kind: ImportKind::Settlements,
            psp: crate::psp::dlocal::PSP_NAME.into(),
            columns: columns(&[
                (OrderId, "TRANSACTION_ID"),
                (PaymentId, "DLOCAL_TRANSACTION_ID"),
                (RowType, "ROW_TYPE"),
                (CreatedAt, "CREATION_DATE"),
                (SettledOn, "TRANSFER_DATE"),
                (LocalAmount, "LOCAL_AMOUNT"),
                (LocalCurrency, "LOCAL_CURRENCY"),
                (FxRate, "FX_RATE"),
                (SettlementCurrency, "SETTLEMENT_CURRENCY"),
                (GrossAmount, "GROSS_AMOUNT"),
                (NetAmount, "NET_AMOUNT"),
                (FeeAmount, "FEE_AMOUNT"),
            ]),
            constants: BTreeMap::new(),
            optional_columns: BTreeMap::new(),
            timestamps: iso.clone(),
            dates: iso,
            // dLocal reports in UTC when it omits the offset.
            zone: Some(chrono_tz::UTC),
            numbers: NumberFormat::PLAIN,
            statuses: StatusMapping::None,
            methods: MethodMapping::Dlocal,
        },
        "pagoefectivo" => Profile {
            name: name.into(),
            kind: ImportKind::Payments,
            psp: crate::psp::pagoefectivo::PSP_NAME.into(),
            columns: columns(&[
                (PaymentId, "CIP"),
                (VoucherCode, "CIP"),
                (OrderId, "CODIGO_TRANSACCION"),
                (Currency, "MONEDA"),
                (Amount, "MONTO"),
                (Status, "ESTADO"),
                (CreatedAt, "FECHA_CREACION"),
                (ExpiresAt, "FECHA_EXPIRACION"),
                (PaidAt, "FECHA_PAGO"),
                (StatusCode, "NRO_OPERACION"),
            ]),
            constants: [(Country, "PE".to_string())].into_iter().collect(),
            // The reversal's own date; older reports do not have the column.
            optional_columns: columns(&[(StatusAt, "FECHA_EXTORNO")]),
            timestamps: TimestampFormat::Pattern(DAY_FIRST_TIMESTAMP.into()),
            dates: TimestampFormat::Pattern(DAY_FIRST_DATE.into()),
            zone: Some(chrono_tz::America::Lima),
            numbers: NumberFormat::WITH_THOUSANDS,
            statuses: StatusMapping::PagoEfectivo,
            methods: MethodMapping::Fixed(VoucherNetwork::PagoEfectivo),
        },
        "pagoefectivo-settlement" => Profile {
            name: name.into(),
            kind: ImportKind::Settlements,
            psp: crate::psp::pagoefectivo::PSP_NAME.into(),
            columns: columns(&[
                (PaymentId, "CIP"),
                (OrderId, "CODIGO_TRANSACCION"),
                (LocalCurrency, "MONEDA"),
                (SettlementCurrency, "MONEDA"),
                (LocalAmount, "MONTO_BRUTO"),
                (GrossAmount, "MONTO_BRUTO"),
                (FeeAmount, "COMISION"),
                (NetAmount, "MONTO_NETO"),
                (SettledOn, "FECHA_LIQUIDACION"),
            ]),
            constants: [(RowType, "PAYMENT".to_string())].into_iter().collect(),
            optional_columns: BTreeMap::new(),
            timestamps: TimestampFormat::Pattern(DAY_FIRST_TIMESTAMP.into()),
            dates: TimestampFormat::Pattern(DAY_FIRST_DATE.into()),
            zone: Some(chrono_tz::America::Lima),
            numbers: NumberFormat::WITH_THOUSANDS,
            statuses: StatusMapping::None,
            methods: MethodMapping::Fixed(VoucherNetwork::PagoEfectivo),
        },
        _ => return None,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile {name:?}; built-in profiles are: {}", BUILT_IN_PROFILE_NAMES.join(", "))]
    Unknown { name: String },
    #[error("profile {name:?} reads {actual}, not {requested}")]
    WrongKind { name: String, actual: &'static str, requested: &'static str },
    #[error("cannot read profile file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("profile file {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The TOML shape of a custom profile (see `assets/profiles/payu-colombia.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileToml {
    name: String,
    kind: ImportKind,
    #[serde(default)]
    psp: String,
    /// strftime pattern, or "iso" (the default).
    #[serde(default)]
    timestamp_format: Option<String>,
    #[serde(default)]
    date_format: Option<String>,
    /// IANA zone for timestamps without an offset; default: the row's market.
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    decimal_separator: Option<char>,
    #[serde(default)]
    thousands_separator: Option<char>,
    columns: BTreeMap<Field, String>,
    #[serde(default)]
    constants: BTreeMap<Field, String>,
    #[serde(default)]
    status_map: BTreeMap<String, String>,
    #[serde(default)]
    method_map: BTreeMap<String, String>,
}

pub fn load_profile_file(path: &Path) -> Result<Profile, ProfileError> {
    let shown = path.display().to_string();
    let read_err = |reason: String| ProfileError::Read { path: shown.clone(), reason };
    let size = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?.len();
    if size > PROFILE_FILE_BYTES_MAX {
        return Err(read_err(format!("{size} bytes, over the {PROFILE_FILE_BYTES_MAX}-byte limit")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
    parse_profile_toml(&text).map_err(|reason| ProfileError::Invalid { path: shown, reason })
}

fn format_from(text: Option<String>) -> TimestampFormat {
    match text {
        None => TimestampFormat::Iso,
        Some(t) if t.eq_ignore_ascii_case("iso") => TimestampFormat::Iso,
        Some(t) => TimestampFormat::Pattern(t),
    }
}

pub fn parse_profile_toml(text: &str) -> Result<Profile, String> {
    let raw: ProfileToml = toml::from_str(text).map_err(|e| e.to_string())?;
    let kind = raw.kind;
    for field in raw.columns.keys().chain(raw.constants.keys()) {
        if !kind.allowed_fields().contains(field) {
            return Err(format!("field {:?} does not belong to {} profiles", field.name(), kind.as_str()));
        }
    }
    for field in kind.required_fields() {
        if !raw.columns.contains_key(field) && !raw.constants.contains_key(field) {
            return Err(format!("field {:?} needs a column (or a constant)", field.name()));
        }
    }
    if kind != ImportKind::Orders && raw.psp.trim().is_empty() {
        return Err("psp is required for payments and settlements profiles".into());
    }
    let zone = match raw.time_zone {
        None => None,
        Some(name) => Some(name.parse::<Tz>().map_err(|_| format!("unknown time zone {name:?}"))?),
    };
    let decimal = raw.decimal_separator.unwrap_or('.');
    if raw.thousands_separator == Some(decimal) {
        return Err("decimal and thousands separators must differ".into());
    }
    let statuses = match kind {
        ImportKind::Settlements => StatusMapping::None,
        ImportKind::Orders if raw.status_map.is_empty() => StatusMapping::Shop,
        ImportKind::Orders => StatusMapping::CustomOrders(
            raw.status_map
                .iter()
                .map(|(theirs, ours)| {
                    ShopStatus::parse(ours)
                        .map(|s| (theirs.trim().to_lowercase(), s))
                        .ok_or_else(|| format!("status_map: {ours:?} is not a shop status"))
                })
                .collect::<Result<_, _>>()?,
        ),
        ImportKind::Payments if raw.status_map.is_empty() => {
            return Err("payments profiles need a status_map (their status → pending/paid/...)".into());
        }
        ImportKind::Payments => StatusMapping::CustomPayments(
            raw.status_map
                .iter()
                .map(|(theirs, ours)| {
                    PaymentStatus::parse(ours).map(|s| (theirs.trim().to_lowercase(), s)).ok_or_else(|| {
                        format!(
                            "status_map: {ours:?} is not a payment status (pending, rejected, cancelled, expired, paid, refunded, reversed, charged_back)"
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    let network = |text: &str| match text.trim().to_lowercase().as_str() {
        "efecty" => Ok(VoucherNetwork::Efecty),
        "pagoefectivo" => Ok(VoucherNetwork::PagoEfectivo),
        "other" => Ok(VoucherNetwork::Other),
        other => Err(format!("method_map: {other:?} is not efecty, pagoefectivo or other")),
    };
    let methods = if raw.method_map.is_empty() {
        MethodMapping::Fixed(VoucherNetwork::Other)
    } else {
        MethodMapping::Custom(
            raw.method_map
                .iter()
                .map(|(theirs, ours)| network(ours).map(|n| (theirs.trim().to_lowercase(), n)))
                .collect::<Result<_, _>>()?,
        )
    };
    Ok(Profile {
        name: raw.name,
        kind,
        psp: raw.psp.trim().to_lowercase(),
        columns: raw.columns,
        constants: raw.constants,
        optional_columns: BTreeMap::new(),
        timestamps: format_from(raw.timestamp_format),
        dates: format_from(raw.date_format),
        zone,
        numbers: NumberFormat { decimal_separator: decimal, thousands_separator: raw.thousands_separator },
        statuses,
        methods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_has_every_required_field() {
        for name in BUILT_IN_PROFILE_NAMES {
            let p = built_in(name).unwrap();
            for f in p.kind.required_fields() {
                assert!(p.columns.contains_key(f) || p.constants.contains_key(f), "{name}: {f:?}");
            }
        }
    }

    #[test]
    fn shipped_example_profile_parses() {
        let text = include_str!("../../assets/profiles/payu-colombia.toml");
        let p = parse_profile_toml(text).unwrap();
        assert_eq!(p.kind, ImportKind::Payments);
        assert_eq!(p.psp, "payu");
        assert!(
            matches!(p.statuses, StatusMapping::CustomPayments(ref m) if m.get("aprobada") == Some(&PaymentStatus::Paid))
        );
    }

    #[test]
    fn bad_custom_profiles_say_what_is_wrong() {
        let missing = "name='x'\nkind='payments'\npsp='payu'\n[columns]\npayment_id='Ref'\n[status_map]\nOK='paid'";
        assert!(parse_profile_toml(missing).unwrap_err().contains("\"order_id\" needs a column"));
        let bad_status = "name='x'\nkind='orders'\n[columns]\norder_id='a'\ncreated_at='b'\ncountry='c'\namount='d'\ncurrency='e'\nstatus='f'\n[status_map]\nOK='shipped'";
        assert!(parse_profile_toml(bad_status).unwrap_err().contains("not a shop status"));
        let unknown_field = "name='x'\nkind='orders'\n[columns]\nfoo='a'";
        assert!(parse_profile_toml(unknown_field).is_err());
    }
}
