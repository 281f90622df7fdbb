//! Support's question, "I paid but my order never came": find the order by
//! whatever the buyer quotes, and lay out its case file with a verdict.

mod verdict_text;

use crate::exceptions::{ExceptionKind, ExceptionStatus, ResolutionAction};
use crate::market::Country;
use crate::model::contact::national_number;
use crate::operators::{Operator, Permission};
use crate::orders::ShopStatus;
use crate::store::{
    ExceptionFilter, ExceptionRecord, OrderHit, OrderRecord, PaymentRecord, SettlementRecord, Store, StoreError,
};
use crate::terms::{ShipOn, TermsSettings, settlement_due};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
pub use verdict_text::*;

/// Case files returned for one query.
pub const LOOKUP_RESULTS_MAX: u32 = 20;
/// Longest query accepted.
pub const QUERY_CHARS_MAX: usize = 200;
/// Exceptions shown in one case file.
const CASE_EXCEPTIONS_MAX: u32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("the search text is empty")]
    Empty,
    #[error("the search text is longer than {QUERY_CHARS_MAX} characters")]
    TooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl LookupError {
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::Empty | LookupError::TooLong => "errors.validation",
            LookupError::Store(e) => e.code(),
        }
    }
}

/// What support should do, in one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum VerdictCode {
    DeliverOrder,
    AllGood,
    AwaitingPayment,
    ExpiredUnpaid,
    NotPaidDoNotShip,
    PaidTwice,
    CheckAmounts,
    UnknownOrder,
    NoPayment,
    /// The PSP reversed the payment: the money is gone.
    Reversed,
    /// The payment was charged back.
    ChargedBack,
    /// Paid, but the ship policy of its PSP and market waits for settlement.
    HoldUntilSettled,
    /// Paid after the voucher expired: the stock may be gone.
    PaidAfterExpiry,
    /// Paid, but the shop recorded another payment id.
    CheckPaymentId,
}

/// The one step a verdict asks for: the case file's primary button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Paid, and the shop has not recorded it: confirm the payment so the order ships.
    ReleaseOrder,
    /// Do not ship yet: the money is paid but not settled, as the ship policy asks.
    HoldShipment,
    /// The money was taken back: stop the shipment or recover the goods.
    StopShipment,
    /// The voucher is still valid: remind the buyer how to pay.
    RemindBuyer,
    /// The voucher expired and the shop no longer waits: a new one if the buyer still wants it.
    OfferNewVoucher,
    /// The voucher expired while the shop still holds stock for it.
    ReleaseStock,
    /// Paid more than once: ship once, refund the rest.
    RefundExtraPayment,
    /// Paid after the voucher expired: is the stock still there?
    CheckStock,
    CheckPaymentId,
    CheckAmounts,
    /// A payment for an order the shop does not know: find and link its order.
    LinkOrder,
    /// Dispute or accept the chargeback.
    AnswerChargeback,
    /// The shop says paid and no PSP does: ask the PSP before shipping.
    AskPsp,
    NothingToDo,
}

impl NextStep {
    pub fn as_str(self) -> &'static str {
        match self {
            NextStep::ReleaseOrder => "release_order",
            NextStep::HoldShipment => "hold_shipment",
            NextStep::StopShipment => "stop_shipment",
            NextStep::RemindBuyer => "remind_buyer",
            NextStep::OfferNewVoucher => "offer_new_voucher",
            NextStep::ReleaseStock => "release_stock",
            NextStep::RefundExtraPayment => "refund_extra_payment",
            NextStep::CheckStock => "check_stock",
            NextStep::CheckPaymentId => "check_payment_id",
            NextStep::CheckAmounts => "check_amounts",
            NextStep::LinkOrder => "link_order",
            NextStep::AnswerChargeback => "answer_chargeback",
            NextStep::AskPsp => "ask_psp",
            NextStep::NothingToDo => "nothing_to_do",
        }
    }

    /// The exception kinds a step is about: its open exception of one of
    /// these kinds is the one the step's button resolves. A step about the
    /// buyer or about nothing has none.
    pub fn exception_kinds(self) -> &'static [ExceptionKind] {
        match self {
            NextStep::ReleaseOrder => &[ExceptionKind::PaidNotRecorded],
            NextStep::HoldShipment => &[ExceptionKind::NotSettled],
            NextStep::StopShipment => &[ExceptionKind::ReversedAfterFulfilment],
            NextStep::RemindBuyer => &[],
            NextStep::OfferNewVoucher | NextStep::ReleaseStock => &[ExceptionKind::ExpiredUnpaid],
            NextStep::RefundExtraPayment => &[ExceptionKind::DuplicatePayment],
            NextStep::CheckStock => &[ExceptionKind::PaidAfterExpiry],
            NextStep::CheckPaymentId => &[ExceptionKind::PaymentIdMismatch],
            NextStep::CheckAmounts => &[ExceptionKind::AmountMismatch, ExceptionKind::CurrencyMismatch],
            NextStep::LinkOrder => &[ExceptionKind::UnknownOrder],
            NextStep::AnswerChargeback => &[ExceptionKind::Chargeback],
            NextStep::AskPsp => &[ExceptionKind::RecordedNotPaid],
            NextStep::NothingToDo => &[],
        }
    }

    /// The resolution that settles the step's exception: the money confirmed
    /// by hand, the payment linked to its order, or the exception acknowledged
    /// (moot for a step about no exception: it never offers one).
    pub fn resolution(self) -> ResolutionAction {
        match self {
            NextStep::ReleaseOrder => ResolutionAction::MarkReceived,
            NextStep::LinkOrder => ResolutionAction::Link,
            NextStep::HoldShipment
            | NextStep::StopShipment
            | NextStep::RemindBuyer
            | NextStep::OfferNewVoucher
            | NextStep::ReleaseStock
            | NextStep::RefundExtraPayment
            | NextStep::CheckStock
            | NextStep::CheckPaymentId
            | NextStep::CheckAmounts
            | NextStep::AnswerChargeback
            | NextStep::AskPsp
            | NextStep::NothingToDo => ResolutionAction::Accept,
        }
    }
}

/// The resolution a step offers this operator: the step's own when the
/// operator's role may resolve with it (the check `exceptions::resolve`
/// makes), else `escalate`, which hands it to someone who may. Accepting
/// closes a money alarm (a chargeback, a reversal, a missing settlement) for
/// good, so from the verdict it is the queue owners' call: whoever may not
/// assign exceptions hands it on instead, as they would with a link.
pub fn step_resolution(step: NextStep, operator: &Operator) -> ResolutionAction {
    let settles = step.resolution();
    let owns_the_call = match settles {
        ResolutionAction::Accept => operator.require(Permission::AssignException).is_ok(),
        ResolutionAction::Escalate
        | ResolutionAction::WriteOff
        | ResolutionAction::Link
        | ResolutionAction::MarkReceived => true,
    };
    match operator.require(Permission::Resolve(settles)) {
        Ok(()) if owns_the_call => settles,
        Ok(()) | Err(_) => ResolutionAction::Escalate,
    }
}

/// The case file's primary button: which open exception the verdict's step
/// resolves, and with which action for the operator who reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StepAction {
    pub exception_id: String,
    pub kind: ExceptionKind,
    pub action: ResolutionAction,
}

/// The first open exception (in the case file's order) of a kind the step is
/// about, with the resolution it offers `operator`; none when no such
/// exception is open.
pub fn step_action(step: NextStep, exceptions: &[ExceptionRecord], operator: &Operator) -> Option<StepAction> {
    let kinds = step.exception_kinds();
    exceptions.iter().find_map(|e| {
        let kind = Some(e.kind).filter(|k| kinds.contains(k))?;
        match e.status {
            ExceptionStatus::Open => {
                Some(StepAction { exception_id: e.id.clone(), kind, action: step_resolution(step, operator) })
            }
            ExceptionStatus::Resolved | ExceptionStatus::Cleared => None,
        }
    })
}

/// What a verdict's sentence is made of, so that every language can say it
/// (`text` is the English sentence the CLI prints). Times are UTC; `country`
/// is the market whose clock the buyer and the PSP read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VerdictFacts {
    pub country: Option<String>,
    pub psp: Option<String>,
    /// `efecty`, `pagoefectivo`.
    pub network: Option<String>,
    pub payment_id: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    /// When the money was taken back (reversal, chargeback).
    pub taken_back_at: Option<DateTime<Utc>>,
    pub voucher_expires_at: Option<DateTime<Utc>>,
    /// The shop's own status of the order.
    pub shop_status: Option<String>,
    pub times_paid: Option<u32>,
    /// The market date a settlement is due by, and the account's T+N.
    pub settle_by: Option<NaiveDate>,
    pub settle_business_days: Option<u32>,
    /// The payment id the shop recorded, when it differs from the PSP's.
    pub recorded_payment_id: Option<String>,
    /// The PSP still says pending although the voucher expired.
    pub psp_still_pending: bool,
}

/// What support should do: the verdict, its primary step and the buyer
/// message that fits the order now (never "pay your voucher" to a buyer who
/// paid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Verdict {
    pub code: VerdictCode,
    /// The sentence in English.
    pub text: String,
    pub facts: VerdictFacts,
    pub next_step: NextStep,
    pub buyer_message: Option<crate::notifications::Kind>,
}

impl Verdict {
    fn new(code: VerdictCode, text: String, facts: VerdictFacts) -> Verdict {
        // The step and the message are filled in by `verdict` from the code and the order.
        Verdict { code, text, facts, next_step: NextStep::NothingToDo, buyer_message: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaseFile {
    pub order_id: String,
    /// Empty when the order is unknown to the shop.
    pub buyer_name: String,
    pub order: Option<OrderRecord>,
    pub payments: Vec<PaymentRecord>,
    pub settlements: Vec<SettlementRecord>,
    pub exceptions: Vec<ExceptionRecord>,
    pub verdict: Verdict,
    /// What the verdict's step asks of the operator the case file was read
    /// for; none when no open exception fits the step, or nobody was named.
    pub step_action: Option<StepAction>,
}

/// Characters that stay inside a search token (so an email is one token);
/// must match the `tokenchars` of the `order_search` table.
const TOKEN_CHARS: &str = "@._-+";
/// Shortest word searched as a prefix: shorter prefixes match too much to be useful.
const PREFIX_CHARS_MIN: usize = 2;

/// Turns free text into an FTS5 query: every word must match; the last one
/// also as a prefix (results as you type). Phone-like input (digits, spaces,
/// `+`, `-`, parentheses) becomes one national number.
pub fn fts_query(query: &str) -> Option<String> {
    let phone_like = query.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    let digits: String = query.chars().filter(char::is_ascii_digit).collect();
    if phone_like && digits.len() >= 6 {
        return Some(format!("\"{}\"*", national_number(&digits)));
    }
    let words: Vec<&str> = query
        .split(|c: char| !(c.is_alphanumeric() || TOKEN_CHARS.contains(c)))
        .map(|w| w.trim_matches(|c: char| TOKEN_CHARS.contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    let last = words.len().checked_sub(1)?;
    let terms: Vec<String> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let prefix = i == last && w.chars().count() >= PREFIX_CHARS_MIN;
            format!("\"{}\"{}", w.replace('"', ""), if prefix { "*" } else { "" })
        })
        .collect();
    Some(terms.join(" "))
}

/// The order ids a query finds: exact ids and codes first, then words.
fn find_order_ids(store: &mut Store, query: &str, limit: u32) -> Result<Vec<String>, LookupError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(LookupError::Empty);
    }
    if query.chars().count() > QUERY_CHARS_MAX {
        return Err(LookupError::TooLong);
    }
    let limit = limit.clamp(1, LOOKUP_RESULTS_MAX);
    let mut order_ids = store.order_ids_by_code(query, limit)?;
    if order_ids.is_empty()
        && let Some(fts) = fts_query(query)
    {
        order_ids = store.order_ids_by_terms(&fts, limit)?;
    }
    Ok(order_ids)
}

/// Search results as the operator types: one short line per order, newest
/// first, at most `limit` (≤ LOOKUP_RESULTS_MAX).
pub fn search_hits(store: &mut Store, query: &str, limit: u32) -> Result<Vec<OrderHit>, LookupError> {
    let ids = find_order_ids(store, query, limit)?;
    Ok(store.order_hits(&ids)?)
}

/// Finds case files by order id, payment id, voucher code/CIP, email, phone,
/// document or name (accent- and case-insensitive), each read for `operator`.
pub fn lookup(store: &mut Store, query: &str, operator: Option<&Operator>) -> Result<Vec<CaseFile>, LookupError> {
    let order_ids = find_order_ids(store, query, LOOKUP_RESULTS_MAX)?;
    order_ids.into_iter().map(|id| case_file(store, &id, operator)).collect()
}

/// One order's case file. Its `step_action` is `operator`'s: the app passes
/// the signed-in operator, the CLI the one it names (none without `--operator`).
pub fn case_file(store: &Store, order_id: &str, operator: Option<&Operator>) -> Result<CaseFile, LookupError> {
    let order = store.order(order_id)?;
    let payments = store.payments_of_order(order_id)?;
    let mut settlements = Vec::new();
    for p in &payments {
        settlements.extend(store.settlements_of_payment(&p.psp, &p.payment_id)?);
    }
    let exceptions = store.exceptions(&ExceptionFilter {
        order_id: Some(order_id.to_string()),
        limit: CASE_EXCEPTIONS_MAX,
        ..ExceptionFilter::default()
    })?;
    let terms = crate::terms::get(store).map_err(|e| match e {
        crate::terms::TermsError::Store(s) => LookupError::Store(s),
        other => LookupError::Store(StoreError::Invalid(other.to_string())),
    })?;
    let verdict = verdict(order.as_ref(), &payments, &settlements, &exceptions, &terms, Utc::now());
    let action = operator.and_then(|op| step_action(verdict.next_step, &exceptions, op));
    Ok(CaseFile {
        order_id: order_id.to_string(),
        buyer_name: order.as_ref().map(|o| o.buyer_name.clone()).unwrap_or_default(),
        order,
        payments,
        settlements,
        exceptions,
        verdict,
        step_action: action,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::Role;

    #[test]
    fn builds_prefix_queries_and_phone_numbers() {
        assert_eq!(fts_query("Núñez").as_deref(), Some("\"Núñez\"*"));
        assert_eq!(fts_query("maria pe").as_deref(), Some("\"maria\" \"pe\"*"));
        assert_eq!(fts_query("ana.nunez@mail.com").as_deref(), Some("\"ana.nunez@mail.com\"*"));
        assert_eq!(fts_query("+57 300 123 4567").as_deref(), Some("\"3001234567\"*"));
        assert_eq!(fts_query("\"*()").as_deref(), None);
        assert_eq!(national_number("51987654321"), "987654321");
    }

    const ALL_STEPS: [NextStep; 14] = [
        NextStep::ReleaseOrder,
        NextStep::HoldShipment,
        NextStep::StopShipment,
        NextStep::RemindBuyer,
        NextStep::OfferNewVoucher,
        NextStep::ReleaseStock,
        NextStep::RefundExtraPayment,
        NextStep::CheckStock,
        NextStep::CheckPaymentId,
        NextStep::CheckAmounts,
        NextStep::LinkOrder,
        NextStep::AnswerChargeback,
        NextStep::AskPsp,
        NextStep::NothingToDo,
    ];

    fn operator(role: Role) -> Operator {
        Operator { name: role.as_str().to_string(), role, language: "en".into() }
    }

    fn exception(id: &str, kind: ExceptionKind, status: ExceptionStatus) -> ExceptionRecord {
        let at = DateTime::<Utc>::from_timestamp(1_772_600_000, 0).unwrap();
        ExceptionRecord {
            id: id.into(),
            kind,
            status,
            order_id: "CO-1001".into(),
            psp: "dlocal".into(),
            payment_id: "D-1".into(),
            country: "CO".into(),
            store: "main".into(),
            amount_minor: Some(5_000_000),
            currency: "COP".into(),
            detail: String::new(),
            detected_at: at,
            occurred_at: at,
            updated_at: at,
            age_days: 0,
            assignee: None,
            resolution: None,
            resolved_by: None,
            resolved_at: None,
            note: None,
        }
    }

    #[test]
    fn each_step_is_about_its_exception_kinds() {
        let table: Vec<(&str, Vec<&str>)> =
            ALL_STEPS.iter().map(|s| (s.as_str(), s.exception_kinds().iter().map(|k| k.as_str()).collect())).collect();
        assert_eq!(
            table,
            vec![
                ("release_order", vec!["paid_not_recorded"]),
                ("hold_shipment", vec!["not_settled"]),
                ("stop_shipment", vec!["reversed_after_fulfilment"]),
                ("remind_buyer", vec![]),
                ("offer_new_voucher", vec!["expired_unpaid"]),
                ("release_stock", vec!["expired_unpaid"]),
                ("refund_extra_payment", vec!["duplicate_payment"]),
                ("check_stock", vec!["paid_after_expiry"]),
                ("check_payment_id", vec!["payment_id_mismatch"]),
                ("check_amounts", vec!["amount_mismatch", "currency_mismatch"]),
                ("link_order", vec!["unknown_order"]),
                ("answer_chargeback", vec!["chargeback"]),
                ("ask_psp", vec!["recorded_not_paid"]),
                ("nothing_to_do", vec![]),
            ]
        );
        // `as_str` is the serde name the UI and the CLI's --json see.
        for step in ALL_STEPS {
            assert_eq!(serde_json::to_value(step).unwrap(), step.as_str());
        }
    }

    #[test]
    fn each_role_gets_the_resolution_its_permissions_allow() {
        use ResolutionAction::*;
        let by_role = |step: NextStep| -> Vec<(&str, ResolutionAction)> {
            Role::ALL.into_iter().map(|r| (r.as_str(), step_resolution(step, &operator(r)))).collect()
        };
        assert_eq!(
            by_role(NextStep::ReleaseOrder),
            [("support", Escalate), ("finance", Escalate), ("manager", MarkReceived), ("admin", MarkReceived)]
        );
        assert_eq!(
            by_role(NextStep::LinkOrder),
            [("support", Escalate), ("finance", Escalate), ("manager", Link), ("admin", Link)]
        );
        // Every role may accept, but from the verdict only the queue owners
        // close a money alarm; support and finance hand it on.
        for step in ALL_STEPS.into_iter().filter(|s| !matches!(s, NextStep::ReleaseOrder | NextStep::LinkOrder)) {
            assert_eq!(
                by_role(step),
                [("support", Escalate), ("finance", Escalate), ("manager", Accept), ("admin", Accept)],
                "{step:?}"
            );
        }
    }

    #[test]
    fn the_step_action_is_the_first_open_exception_of_the_steps_kinds() {
        use ExceptionKind as K;
        use ExceptionStatus::*;
        let list = [
            exception("EX-resolved", K::PaidNotRecorded, Resolved),
            exception("EX-other", K::NotSettled, Open),
            exception("EX-open", K::PaidNotRecorded, Open),
            exception("EX-later", K::PaidNotRecorded, Open),
        ];
        assert_eq!(
            step_action(NextStep::ReleaseOrder, &list, &operator(Role::Manager)),
            Some(StepAction {
                exception_id: "EX-open".into(),
                kind: K::PaidNotRecorded,
                action: ResolutionAction::MarkReceived
            })
        );
        assert_eq!(
            step_action(NextStep::ReleaseOrder, &list, &operator(Role::Support)),
            Some(StepAction {
                exception_id: "EX-open".into(),
                kind: K::PaidNotRecorded,
                action: ResolutionAction::Escalate
            })
        );
        assert_eq!(
            step_action(
                NextStep::CheckAmounts,
                &[exception("EX-cur", K::CurrencyMismatch, Open)],
                &operator(Role::Manager)
            ),
            Some(StepAction {
                exception_id: "EX-cur".into(),
                kind: K::CurrencyMismatch,
                action: ResolutionAction::Accept
            })
        );
        // Nothing open of the step's kinds, or a step about no exception: no button.
        assert_eq!(step_action(NextStep::ReleaseOrder, &list[..2], &operator(Role::Admin)), None);
        assert_eq!(step_action(NextStep::StopShipment, &list, &operator(Role::Admin)), None);
        assert_eq!(
            step_action(NextStep::RemindBuyer, &[exception("EX-exp", K::ExpiredUnpaid, Open)], &operator(Role::Admin)),
            None
        );
        assert_eq!(
            step_action(NextStep::LinkOrder, &[exception("EX-u", K::UnknownOrder, Cleared)], &operator(Role::Admin)),
            None
        );
    }
}
