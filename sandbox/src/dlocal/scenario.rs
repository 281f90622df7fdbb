//! What a scenario file scripts for the sandbox's dLocal: payment, refund,
//! payout and chargeback rules, notification quirks and submission faults.

use super::*;

/// What the sandbox's dLocal does, rule by rule (first match wins).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlocalScenario {
    /// Life of a ticket when no rule sets `expires_after_ms`.
    #[serde(default = "ticket_lifetime_default")]
    pub ticket_lifetime_ms: u64,
    #[serde(default)]
    pub payments: Vec<PaymentRule>,
    #[serde(default)]
    pub refunds: Vec<RefundRule>,
    /// Cash-pickup payouts (refunds as cash withdrawals), first match wins.
    #[serde(default)]
    pub payouts: Vec<PayoutRule>,
    /// Chargebacks opened on paid payments, first match wins.
    #[serde(default)]
    pub chargebacks: Vec<ChargebackRule>,
    /// Faults after the sandbox has acted on `POST /refunds` / `POST /payouts`.
    #[serde(default)]
    pub submit_faults: SubmitFaults,
}

/// A chargeback opened on a matched payment once it is paid, moved through
/// `statuses` one `step_ms` apart and readable at `GET /chargebacks/{id}`
/// (ids `CHBK-sbx-NNNNNNNN`). Each status is notified like a payment's,
/// except those past `notified_statuses`: those notifications are lost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChargebackRule {
    #[serde(default)]
    pub order_prefix: Option<String>,
    #[serde(default, deserialize_with = "decimal_text")]
    pub amount: Option<Decimal>,
    /// Opened this long after the payment is paid.
    #[serde(default)]
    pub after_ms: u64,
    /// The chargeback's statuses in turn, as dLocal writes them. Not checked
    /// against dLocal's list, so a scenario can send one dLocal never does.
    pub statuses: Vec<String>,
    #[serde(default)]
    pub step_ms: u64,
    /// Only the first N statuses are notified (default: all).
    #[serde(default)]
    pub notified_statuses: Option<usize>,
}

impl ChargebackRule {
    pub fn matches(&self, order_id: &str, amount: Decimal) -> bool {
        matches(&self.order_prefix, &self.amount, order_id, amount)
    }
}

/// Faults that hit a refund or payout creation AFTER the sandbox created it:
/// the answer is lost (503) or never comes in time (held). A client that
/// retries with the same idempotency key must get the same refund back.
/// Creation calls are numbered from 1 (refunds and payouts together).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitFaults {
    /// The first N creation calls are answered 503 WITHOUT being processed.
    #[serde(default)]
    pub unavailable_first: u64,
    /// The first N creation calls are processed, then answered 503.
    #[serde(default)]
    pub lose_answer_first: u64,
    /// The first N creation calls are processed, then held `hold_ms` before answering.
    #[serde(default)]
    pub hold_answer_first: u64,
    #[serde(default)]
    pub hold_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutOutcome {
    /// The buyer collects the cash `after_ms` after creation (PAID, notified).
    Paid,
    /// Never collected: stays PENDING.
    Pending,
    /// The network refuses the payout `after_ms` after creation (REJECTED, notified).
    Rejected,
}

/// Payouts: matched on our order id (`order_id` of the request) and amount.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutRule {
    #[serde(default)]
    pub order_prefix: Option<String>,
    #[serde(default, deserialize_with = "decimal_text")]
    pub amount: Option<Decimal>,
    pub outcome: PayoutOutcome,
    #[serde(default)]
    pub after_ms: u64,
    #[serde(default)]
    pub notify: NotifyRule,
}

pub(super) fn ticket_lifetime_default() -> u64 {
    TICKET_LIFETIME_MS_DEFAULT
}

impl Default for DlocalScenario {
    fn default() -> Self {
        DlocalScenario {
            ticket_lifetime_ms: TICKET_LIFETIME_MS_DEFAULT,
            payments: Vec::new(),
            refunds: Vec::new(),
            payouts: Vec::new(),
            chargebacks: Vec::new(),
            submit_faults: SubmitFaults::default(),
        }
    }
}

/// A rule is about the payments whose `order_id` starts with `order_prefix`
/// and whose amount is `amount` (major units as written in the request,
/// `"50000"`, `"89.90"`); a condition left out matches everything.
pub(super) fn matches(
    order_prefix: &Option<String>,
    wanted: &Option<Decimal>,
    order_id: &str,
    amount: Decimal,
) -> bool {
    order_prefix.as_deref().is_none_or(|prefix| order_id.starts_with(prefix)) && wanted.is_none_or(|w| w == amount)
}

pub(super) fn decimal_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let text = String::deserialize(deserializer)?;
    Decimal::from_str(text.trim())
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format_args!("amount {text:?} is not a decimal number")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOutcome {
    /// PAID `after_ms` after creation (if the ticket has not expired by then).
    Paid,
    /// EXPIRED at expiry, then PAID at `after_ms` (or just after expiry if `after_ms` is earlier).
    PaidAfterExpiry,
    /// Stays PENDING, EXPIRED at expiry.
    NeverPaid,
    /// PAID at `after_ms`; `second_after_ms` later the payer pays the same
    /// ticket again: a second payment (new id, same order and ticket) is
    /// created REJECTED with status_code 307 (duplicated payment) and notified.
    PaidTwice,
}

/// How notifications of a matched payment or refund are delivered.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyRule {
    /// Late delivery: every notification waits this long.
    #[serde(default)]
    pub delay_ms: u64,
    /// Each notification is delivered this many times (2: twice).
    #[serde(default = "one")]
    pub copies: u32,
    /// Out of order: after the PAID notification, the creation-time PENDING
    /// body is delivered again ([`STALE_PENDING_GAP_MS`] later).
    #[serde(default)]
    pub stale_pending_after_paid: bool,
    /// Signed with a wrong secret: a receiver's verification must fail.
    #[serde(default)]
    pub bad_signature: bool,
}

pub(super) fn one() -> u32 {
    1
}

impl Default for NotifyRule {
    fn default() -> Self {
        NotifyRule { delay_ms: 0, copies: 1, stale_pending_after_paid: false, bad_signature: false }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentRule {
    #[serde(default)]
    pub order_prefix: Option<String>,
    #[serde(default, deserialize_with = "decimal_text")]
    pub amount: Option<Decimal>,
    pub outcome: PaymentOutcome,
    /// When the payer pays, from creation.
    #[serde(default)]
    pub after_ms: u64,
    /// Ticket life for matched payments (default: the scenario's `ticket_lifetime_ms`).
    #[serde(default)]
    pub expires_after_ms: Option<u64>,
    /// `paid_twice` only: the second payment, after the first.
    #[serde(default)]
    pub second_after_ms: u64,
    #[serde(default)]
    pub notify: NotifyRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundOutcome {
    Success,
    /// Stays PENDING for ever.
    Pending,
    Rejected,
}

/// Refunds: matched on the refunded payment's order id and the refund amount.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRule {
    #[serde(default)]
    pub order_prefix: Option<String>,
    /// The refund's amount.
    #[serde(default, deserialize_with = "decimal_text")]
    pub amount: Option<Decimal>,
    pub outcome: RefundOutcome,
    /// 0: the answer to `POST /refunds` is already final (no notification, as
    /// dLocal). Otherwise PENDING first, the outcome `after_ms` later, notified.
    #[serde(default)]
    pub after_ms: u64,
    #[serde(default)]
    pub notify: NotifyRule,
}

impl PaymentRule {
    pub fn matches(&self, order_id: &str, amount: Decimal) -> bool {
        matches(&self.order_prefix, &self.amount, order_id, amount)
    }
}

impl RefundRule {
    pub fn matches(&self, order_id: &str, amount: Decimal) -> bool {
        matches(&self.order_prefix, &self.amount, order_id, amount)
    }
}

impl DlocalScenario {
    /// Limits a file cannot get past serde's checks alone.
    pub fn check(&self) -> Result<(), String> {
        let too_long = |name: &str, ms: u64| {
            (ms > SCHEDULE_MS_MAX).then(|| format!("dlocal: {name} = {ms} is above the {SCHEDULE_MS_MAX} ms limit"))
        };
        let notify = |n: &NotifyRule| {
            if n.copies == 0 || n.copies > NOTIFY_COPIES_MAX {
                return Some(format!("dlocal: notify.copies = {} must be 1..={NOTIFY_COPIES_MAX}", n.copies));
            }
            too_long("notify.delay_ms", n.delay_ms)
        };
        let mut problems = vec![too_long("ticket_lifetime_ms", self.ticket_lifetime_ms)];
        for rule in &self.payments {
            problems.push(too_long("after_ms", rule.after_ms));
            problems.push(too_long("second_after_ms", rule.second_after_ms));
            problems.push(rule.expires_after_ms.and_then(|ms| too_long("expires_after_ms", ms)));
            problems.push(notify(&rule.notify));
        }
        for rule in &self.refunds {
            problems.push(too_long("after_ms", rule.after_ms));
            problems.push(notify(&rule.notify));
        }
        for rule in &self.payouts {
            problems.push(too_long("after_ms", rule.after_ms));
            problems.push(notify(&rule.notify));
        }
        for rule in &self.chargebacks {
            problems.push(too_long("chargebacks.after_ms", rule.after_ms));
            problems.push(too_long("chargebacks.step_ms", rule.step_ms));
            if rule.statuses.is_empty() || rule.statuses.len() > CHARGEBACK_STATUSES_MAX {
                problems.push(Some(format!(
                    "dlocal: chargebacks.statuses lists {} statuses; 1..={CHARGEBACK_STATUSES_MAX} are allowed",
                    rule.statuses.len()
                )));
            }
        }
        problems.push(too_long("submit_faults.hold_ms", self.submit_faults.hold_ms));
        match problems.into_iter().flatten().next() {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rules_with_defaults_and_refuses_unknown_keys() {
        let scenario: crate::Scenario = toml::from_str(
            r#"
            [dlocal]
            ticket_lifetime_ms = 5000
            [[dlocal.payments]]
            order_prefix = "PAID-"
            outcome = "paid"
            after_ms = 100
            notify = { copies = 2, bad_signature = true }
            [[dlocal.payments]]
            amount = "89.90"
            outcome = "never_paid"
            [[dlocal.refunds]]
            outcome = "rejected"
            after_ms = 10
            "#,
        )
        .unwrap();
        let dlocal = &scenario.dlocal;
        assert_eq!(dlocal.ticket_lifetime_ms, 5000);
        assert_eq!(dlocal.payments.len(), 2);
        assert_eq!(dlocal.payments[0].notify.copies, 2);
        assert!(dlocal.payments[0].notify.bad_signature);
        assert_eq!(dlocal.payments[1].notify.copies, 1);
        assert!(dlocal.payments[0].matches("PAID-1", Decimal::from(5)));
        assert!(!dlocal.payments[0].matches("X-1", Decimal::from(5)));
        assert!(dlocal.payments[1].matches("X-1", Decimal::new(8990, 2)));
        assert_eq!(dlocal.refunds[0].outcome, RefundOutcome::Rejected);
        assert_eq!(dlocal.check(), Ok(()));

        let err =
            toml::from_str::<crate::Scenario>("[[dlocal.payments]]\noutcome = \"paid\"\nafter = 1\n").unwrap_err();
        assert!(err.to_string().contains("unknown field `after`"), "{err}");
        let err = toml::from_str::<crate::Scenario>("[[dlocal.payments]]\noutcome = \"later\"\n").unwrap_err();
        assert!(err.to_string().contains("unknown variant `later`"), "{err}");
        let bad: crate::Scenario =
            toml::from_str("[[dlocal.payments]]\noutcome = \"paid\"\nnotify = { copies = 9 }\n").unwrap();
        assert_eq!(bad.dlocal.check(), Err("dlocal: notify.copies = 9 must be 1..=5".into()));
    }

    #[test]
    fn chargeback_rules_need_one_to_ten_statuses_and_bounded_delays() {
        let scenario: crate::Scenario = toml::from_str(
            "[[dlocal.chargebacks]]\norder_prefix = \"CB-\"\nstatuses = [\"PENDING\", \"COMPLETED\"]\nstep_ms = 50\n",
        )
        .unwrap();
        let rule = &scenario.dlocal.chargebacks[0];
        assert_eq!((rule.after_ms, rule.step_ms, rule.notified_statuses), (0, 50, None));
        assert!(rule.matches("CB-1", Decimal::from(5)) && !rule.matches("X-1", Decimal::from(5)));
        assert_eq!(scenario.dlocal.check(), Ok(()));
        let none: crate::Scenario = toml::from_str("[[dlocal.chargebacks]]\nstatuses = []\n").unwrap();
        assert_eq!(
            none.dlocal.check(),
            Err("dlocal: chargebacks.statuses lists 0 statuses; 1..=10 are allowed".into())
        );
        let slow: crate::Scenario =
            toml::from_str("[[dlocal.chargebacks]]\nstatuses = [\"PENDING\"]\nstep_ms = 2592000001\n").unwrap();
        assert_eq!(
            slow.dlocal.check(),
            Err("dlocal: chargebacks.step_ms = 2592000001 is above the 2592000000 ms limit".into())
        );
    }
}
