// UI-only types and lists. Every payload type is generated from the Rust
// types into ui/src/bindings/ (import them from "../bindings"); what stays
// here is what no payload is: every code of an enum in the order the screens
// and the translation tests walk them, and the audit screen's filter form.

import type {
  AgeBucket,
  ExceptionKind,
  ExceptionSort,
  ExceptionStatus,
  Language,
  NextStep,
  ResolutionAction,
  Role,
  VerdictCode,
} from "../bindings";

export const LANGUAGES: readonly Language[] = ["en", "es", "zh"] as const;

export const ROLES: readonly Role[] = ["support", "finance", "manager", "admin"] as const;

/** Every verdict code, for the translation tests (the type is generated from lookup::VerdictCode). */
export const VERDICT_CODES: readonly VerdictCode[] = [
  "deliver_order",
  "all_good",
  "awaiting_payment",
  "expired_unpaid",
  "not_paid_do_not_ship",
  "paid_twice",
  "check_amounts",
  "unknown_order",
  "no_payment",
  "reversed",
  "charged_back",
  "hold_until_settled",
  "paid_after_expiry",
  "check_payment_id",
] as const;

/** Every next step (lookup::NextStep), for the translation tests. */
export const NEXT_STEPS: readonly NextStep[] = [
  "release_order",
  "hold_shipment",
  "stop_shipment",
  "remind_buyer",
  "offer_new_voucher",
  "release_stock",
  "refund_extra_payment",
  "check_stock",
  "check_payment_id",
  "check_amounts",
  "link_order",
  "answer_chargeback",
  "ask_psp",
  "nothing_to_do",
] as const;

/** Every exception kind (exceptions::ExceptionKind), for the filters and the translation tests. */
export const EXCEPTION_KINDS: readonly ExceptionKind[] = [
  "paid_not_recorded",
  "recorded_not_paid",
  "duplicate_payment",
  "currency_mismatch",
  "amount_mismatch",
  "paid_after_expiry",
  "unknown_order",
  "not_settled",
  "settlement_mismatch",
  "unknown_settlement",
  "forged_notification",
  "refund_unconfirmed",
  "reversed_after_fulfilment",
  "chargeback",
  "unmatched_refund_settlement",
  "settlement_fx_mismatch",
  "fee_mismatch",
  "expired_unpaid",
  "stale_pending",
  "payment_id_mismatch",
  "settlement_report_missing",
] as const;

export const EXCEPTION_STATUSES: readonly ExceptionStatus[] = ["open", "resolved", "cleared"] as const;

export const AGE_BUCKETS: readonly AgeBucket[] = ["d0_1", "d2_7", "d8_30", "over_30"] as const;

/** Every resolution action (exceptions::ResolutionAction). */
export const RESOLUTION_ACTIONS: readonly ResolutionAction[] = [
  "accept",
  "escalate",
  "mark_received",
  "write_off",
  "link",
] as const;

export const EXCEPTION_SORTS: readonly ExceptionSort[] = ["age_desc", "age_asc", "amount_desc", "amount_asc", "id"] as const;

/** The audit screen's filters (`audit_page` takes them as separate arguments). */
export interface AuditQuery {
  operator?: string | null;
  action?: string | null;
  /** Instants, RFC 3339 UTC (inclusive from, exclusive to). */
  from?: string | null;
  to?: string | null;
  after_id?: number | null;
  limit: number;
}
