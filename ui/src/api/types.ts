// Payload types as they cross the IPC boundary (serde JSON of the core's
// Rust types: snake_case fields, enums as snake_case strings, instants as ISO
// strings in UTC, amounts as integer minor units plus an ISO currency code).
//
// Types generated from the Rust types (ts-rs, ui/src/bindings/) are
// re-exported from there; the rest are still written here, each naming the
// Rust type it mirrors, until its binding replaces it, and the UI-only lists
// (every code of an enum, for the translation tests).

/** ISO-8601 instant in UTC, e.g. "2026-03-05T03:30:00Z" (chrono DateTime<Utc>). */
export type Instant = string;
/** A market business date, "YYYY-MM-DD" (already a market date; never shifted). */
export type BusinessDate = string;

export type Language = "en" | "es" | "zh";
export const LANGUAGES: readonly Language[] = ["en", "es", "zh"] as const;

/** operators::Role */
export type Role = "support" | "finance" | "manager" | "admin";
export const ROLES: readonly Role[] = ["support", "finance", "manager", "admin"] as const;

/** operators::Operator */
export interface Operator {
  name: string;
  role: Role;
  language: Language | string;
}

/** operators::OperatorSummary */
export interface OperatorSummary {
  name: string;
  role: Role | string;
  language: string;
  disabled: boolean;
  can_sign_in: boolean;
  created_at: Instant;
  created_by: string;
}

/** app_status */
export interface AppStatus {
  first_run: boolean;
  db_path: string;
  operator: Operator | null;
  idle_lock_minutes: number;
  /** `0.1.0 (commit 1a2b3c4d5e6f, schema 17)`: what this build is. */
  version: string;
  /** Crash reports not yet seen; null (or absent) when there are none. */
  crash_reports?: CrashReports | null;
  /** Set when the app started without its database: the window shows only the refusal. */
  cannot_open?: CannotOpen | null;
}

/** dto::CrashReports, dto::CannotOpen (`code`: `store.too_new`) */
export type { CannotOpen, CrashReports } from "../bindings";
import type { CannotOpen, CrashReports } from "../bindings";

/** Every IPC error: `{ code, message }`. */
export interface ApiErrorPayload {
  code: string;
  message: string;
}

// ---------------------------------------------------------------- lookup

/** store::OrderHit */
export interface OrderHit {
  order_id: string;
  buyer_name: string;
  buyer_email: string;
  country: string;
  amount_minor: number;
  currency: string;
  status: string;
  created_at: Instant;
}





export type { NextStep, Verdict, VerdictCode, VerdictFacts } from "../bindings";
// The case file and its records, as the core returns them (generated from the Rust types).
export type { CaseFile, ExceptionRecord, OrderRecord, PaymentRecord, SettlementRecord, StatusObservation, StepAction } from "../bindings";
import type { ExceptionRecord, NextStep, VerdictCode } from "../bindings";
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


// ---------------------------------------------------------------- exceptions

export type { ExceptionKind, ResolutionAction } from "../bindings";
import type { ExceptionKind, ResolutionAction } from "../bindings";
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
] as const;

export type { ExceptionStatus } from "../bindings";
import type { ExceptionStatus } from "../bindings";
export const EXCEPTION_STATUSES: readonly ExceptionStatus[] = ["open", "resolved", "cleared"] as const;

/** exceptions::AgeBucket */
export type AgeBucket = "d0_1" | "d2_7" | "d8_30" | "over_30";
export const AGE_BUCKETS: readonly AgeBucket[] = ["d0_1", "d2_7", "d8_30", "over_30"] as const;

/** Every resolution action (exceptions::ResolutionAction). */
export const RESOLUTION_ACTIONS: readonly ResolutionAction[] = [
  "accept",
  "escalate",
  "mark_received",
  "write_off",
  "link",
] as const;

/** store::ExceptionSort (the Rust enum; IPC.md also mentions `kind`, which the core does not have yet). */
export type ExceptionSort = "age_desc" | "age_asc" | "amount_desc" | "amount_asc" | "id";
export const EXCEPTION_SORTS: readonly ExceptionSort[] = ["age_desc", "age_asc", "amount_desc", "amount_asc", "id"] as const;


/** exceptions::ExceptionQuery (absent = no filter; assignee "" = unassigned only). */
export interface ExceptionQuery {
  kind?: string | null;
  status?: ExceptionStatus | null;
  age?: AgeBucket | null;
  psp?: string | null;
  country?: string | null;
  store?: string | null;
  assignee?: string | null;
}

/** store::ExceptionCursor */
export interface ExceptionCursor {
  value: number;
  id: string;
}

/** exceptions::QueuePage as the UI uses it (the IPC DTO names the cursor `next_after`). */
export interface QueuePage {
  rows: ExceptionRecord[];
  next: ExceptionCursor | null;
}

/** exceptions::QueueCounts */
export interface QueueCounts {
  by_kind: Record<string, number>;
  by_age: Record<string, number>;
  total: number;
}

/** store::HistoryRecord */
export interface HistoryRecord {
  at: Instant;
  event: string;
  from_status: string | null;
  to_status: string;
  operator: string;
  note: string;
}

/** exceptions::BulkFailure / BulkOutcome */
export interface BulkFailure {
  id: string;
  code: string;
  message: string;
}
export interface BulkOutcome {
  resolved: number;
  failed: BulkFailure[];
}

/** exceptions::LinkTarget as sent with `link` (one of the two). */
export type LinkTarget = { order: string } | { payment: string };

/**
 * link_candidates (≤ 20, ranked by amount and date proximity): an order (for a
 * payment or settlement exception; `psp` and `payment_id` empty) or an
 * unattached paid payment (for an order exception).
 */
export interface Candidate {
  order_id: string;
  psp: string;
  payment_id: string;
  buyer_name: string;
  amount_minor: number;
  currency: string;
  at: Instant;
}

// ---------------------------------------------------------------- imports

/** import::profile::ImportKind */
export type ImportKind = "orders" | "payments" | "settlements";

/** suggest_profile */
export interface ProfileSuggestion {
  profile: string | null;
  kind: ImportKind | null;
  headers: string[];
}

/** store::RowCounts */
export interface RowCounts {
  total: number;
  new: number;
  updated: number;
  unchanged: number;
  duplicate: number;
}

/** import::ImportReport */
export interface ImportReport {
  file: string;
  kind: ImportKind;
  profile: string;
  batch_id: number;
  sha256: string;
  encoding: string;
  delimiter: string;
  rows: RowCounts;
  elapsed_ms: number;
}

/** import::ImportOutcome (serde tag = "outcome"). */
export type ImportOutcome =
  | ({ outcome: "imported" } & ImportReport)
  | { outcome: "already_imported"; file: string; batch_id: number; imported_at: string; operator: string };

/** The `import-progress` event payload. */
export interface ImportProgress {
  rows: number;
  elapsed_ms?: number;
  rows_per_s: number;
}

/** store::BatchInfo */
export interface BatchInfo {
  id: number;
  kind: string;
  profile: string;
  file_name: string;
  sha256: string;
  encoding: string;
  rows_total: number;
  rows_new: number;
  rows_updated: number;
  rows_unchanged: number;
  rows_duplicate: number;
  operator: string;
  imported_at: Instant;
}

/** reconcile::ReconcileSummary */
export interface ReconcileSummary {
  as_of: BusinessDate;
  orders: number;
  payments: number;
  settlements: number;
  matched: number;
  exceptions: Record<string, number>;
  open_exceptions: number;
}

// ---------------------------------------------------------------- dashboard

export type Market = "all" | "CO" | "PE";

/** A sum of money in one currency. */
export interface CurrencyTotal {
  currency: string;
  count: number;
  amount_minor: number;
}

/** One market day of one currency in the 30-day trend. */
export interface TrendDay {
  day: BusinessDate;
  currency: string;
  paid_count: number;
  paid_minor: number;
}

/** dashboard::Dashboard */
export interface Dashboard {
  market: Market;
  /** The last reconciliation's market date; null before the first run. */
  as_of: BusinessDate | null;
  orders: number;
  paid_orders: number;
  matched: number;
  /** matched / paid_orders in basis points (10000 = 100 %). */
  match_rate_bp: number | null;
  open_by_kind: Record<string, number>;
  open_by_age: Record<string, number>;
  open_total: number;
  paid: CurrencyTotal[];
  settled: CurrencyTotal[];
  trend: TrendDay[];
}

// ---------------------------------------------------------------- audit

/** store::StoredAuditEntry (entry flattened). */
export interface AuditRow {
  id: number;
  at: Instant;
  operator: string;
  action: string;
  subject: string;
  before: string;
  after: string;
  prev_hash: string;
  hash: string;
}

export interface AuditQuery {
  operator?: string | null;
  action?: string | null;
  /** Instants (inclusive from, exclusive to). */
  from?: Instant | null;
  to?: Instant | null;
  after_id?: number | null;
  limit: number;
}

/** audit::VerifyReport */
export interface VerifyReport {
  entries: number;
  first_broken: { id: number; reason: string } | null;
}

// ---------------------------------------------------------------- settings

/** settings::Settings */
export interface Settings {
  settlement_lag_days: number;
  amount_tolerance_minor: number;
  idle_lock_minutes: number;
}
