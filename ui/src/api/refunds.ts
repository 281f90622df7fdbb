// The refund commands (docs/IPC.md). Kept beside commands.ts so the
// screens that use refunds import one small module. Every rule (tiers,
// maker-checker, KYC, the refundable remainder) is the core's: these only ask.

import { call } from "./commands";
import type {
  ApproverRole,
  BulkApproval,
  PickedFile,
  ReasonCode,
  ReceiptPath,
  Refund,
  RefundDashboard,
  RefundMethod,
  RefundPage,
  RefundQuery,
  RefundRequest,
  RefundStatus,
  Refundable,
  TierPreview,
} from "../bindings";

/** Refunds one list page asks for (the core caps it at 500). */
export const REFUND_PAGE_LIMIT = 200;

export const REFUND_STATUSES: readonly RefundStatus[] = [
  "requested",
  "pending_approval",
  "approved",
  "submitted",
  "succeeded",
  "failed",
  "rejected_by_psp",
  "cancelled",
];
export const REFUND_METHODS: readonly RefundMethod[] = ["psp_refund", "cash_withdrawal", "bank_transfer"];
export const REASON_CODES: readonly ReasonCode[] = [
  "buyer_cancelled",
  "out_of_stock",
  "product_return",
  "duplicate_payment",
  "overpayment",
  "paid_after_expiry",
  "fraud",
  "other",
];
export const APPROVER_ROLES: readonly ApproverRole[] = ["finance", "manager"];
export const TIERS: readonly number[] = [1, 2, 3];

/** Drops absent filters so the core sees `None`. */
export function cleanRefundQuery(q: RefundQuery): RefundQuery {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as RefundQuery;
}

export const refundsApi = {
  request: (request: RefundRequest) => call<Refund>("refunds_request", { request }),
  preview: (payment_id: string, psp: string | null, amount: string, method: RefundMethod) =>
    call<TierPreview>("refunds_preview", { payment_id, psp, amount, method }),
  approve: (id: number, comment: string | null) => call<Refund>("refunds_approve", { id, comment }),
  reject: (id: number, comment: string) => call<Refund>("refunds_reject", { id, comment }),
  cancel: (id: number, note: string | null) => call<Refund>("refunds_cancel", { id, note }),
  bulkApprove: (ids: number[], comment: string | null) => call<BulkApproval>("refunds_bulk_approve", { ids, comment }),
  list: (filter: RefundQuery, after_id: number | null, limit: number = REFUND_PAGE_LIMIT) =>
    call<RefundPage>("refunds_list", { filter: cleanRefundQuery(filter), after_id, limit }),
  show: (id: number) => call<Refund>("refunds_show", { id }),
  refundable: (payment_id: string, psp: string | null) => call<Refundable>("refunds_refundable", { payment_id, psp }),
  receipt: (id: number) => call<ReceiptPath>("refunds_receipt", { id }),
  /** `token`: a PDF answer of `api.pickSaveFile`, good for one copy. */
  saveReceipt: (id: number, token: string) => call<ReceiptPath>("refunds_receipt_save", { id, token }),
  /** Finance records the bank transfer of an approved `bank_transfer` refund; `token`: an answer of `pickProofFile`. */
  recordTransfer: (id: number, reference: string, date: string, token: string) =>
    call<Refund>("refunds_record_transfer", { id, transfer: { reference, date }, token }),
  /** The bank's proof of a transfer (PDF, PNG or JPEG), picked in the shell's dialog; null when cancelled. */
  pickProofFile: (title: string) => call<PickedFile | null>("pick_proof_file", { title }),
  /** `token`: a CSV answer of `api.pickSaveFile`, good for one export. */
  exportCsv: (filter: RefundQuery, token: string) =>
    call<{ rows: number }>("refunds_export_csv", { filter: cleanRefundQuery(filter), token }),
  dashboard: () => call<RefundDashboard>("dashboard_refunds"),
};

/** Every refund matching `filter`, page after page (the case file and the inbox hold few). */
export async function allRefunds(filter: RefundQuery, max = 2_000): Promise<Refund[]> {
  const out: Refund[] = [];
  let after: number | null = null;
  for (;;) {
    const page: RefundPage = await refundsApi.list(filter, after);
    out.push(...page.items);
    if (page.next_after === null || out.length >= max) return out;
    after = page.next_after;
  }
}

/** What the UI offers each role; the core decides (maker-checker, tiers). */
export function canApproveRefunds(role: string): boolean {
  return role === "finance" || role === "manager" || role === "admin";
}
