// What the core's refund rules allow for one payment, asked before the
// "Request refund" dialog opens: the dialog then starts on a method the core
// accepts, and a payment that cannot be refunded gets a disabled button with
// a plain reason instead of a dialog that opens already refused.

import { toApiError, type ApiError } from "../api/errors";
import { refundsApi } from "../api/refunds";
import type { PaymentRecord, RefundMethod, Refundable } from "../bindings";
import { plainMajor } from "../lib/amount";

export type BlockReason = "pspUnsupported" | "notPaid" | "nothingLeft" | "forbidden" | "other";

export type RefundRule =
  | {
      kind: "open";
      /** The method the dialog starts on. */
      method: RefundMethod;
      /** A PSP refund is still possible (inside the refund window). */
      pspRefundAllowed: boolean;
      /** The PSP's API pays no refund: only a bank transfer by finance (absent: false). */
      manualOnly?: boolean;
      /** Past the window: the business date it was paid on and the window, when the core said them. */
      paidOn: string | null;
      windowDays: number | null;
    }
  | { kind: "blocked"; reason: BlockReason; error: ApiError | null };

/** The date and window in the core's `refunds.window_passed` message ("made on 2026-03-01, more than 15 days ago"). */
export function windowFacts(message: string): { paidOn: string | null; windowDays: number | null } {
  const date = /made on (\d{4}-\d{2}-\d{2})/.exec(message);
  const days = /more than (\d+) days/.exec(message);
  return { paidOn: date?.[1] ?? null, windowDays: days?.[1] ? Number(days[1]) : null };
}

/** Refusals that no amount, method or detail in the dialog can cure. */
function blockedBy(code: string): BlockReason | null {
  switch (code) {
    case "refunds.psp_unsupported":
      return "pspUnsupported";
    case "refunds.payment_not_paid":
      return "notPaid";
    case "auth.forbidden":
      return "forbidden";
    case "refunds.unknown_payment":
    case "refunds.ambiguous_payment":
      return "other";
    default:
      return null;
  }
}

/**
 * Asks the core (refunds_preview, which writes nothing) whether a PSP refund
 * of what remains is possible; past the window, a cash withdrawal is; a PSP
 * whose API pays no refund leaves a bank transfer by finance.
 */
export async function probeRefundRule(payment: PaymentRecord, refundable: Refundable): Promise<RefundRule> {
  if (payment.status !== "paid") return { kind: "blocked", reason: "notPaid", error: null };
  if (refundable.refundable_minor <= 0) return { kind: "blocked", reason: "nothingLeft", error: null };
  const amount = plainMajor(BigInt(refundable.refundable_minor));
  try {
    await refundsApi.preview(payment.payment_id, payment.psp, amount, "psp_refund");
    return { kind: "open", method: "psp_refund", pspRefundAllowed: true, paidOn: null, windowDays: null };
  } catch (e) {
    const error = toApiError(e);
    if (error.code === "refunds.window_passed") {
      return { kind: "open", method: "cash_withdrawal", pspRefundAllowed: false, ...windowFacts(error.message) };
    }
    if (error.code === "refunds.method_unsupported") {
      return { kind: "open", method: "bank_transfer", pspRefundAllowed: false, manualOnly: true, paidOn: null, windowDays: null };
    }
    const reason = blockedBy(error.code);
    if (reason) return { kind: "blocked", reason, error };
    // An amount-specific refusal: the dialog shows it next to the amount.
    return { kind: "open", method: "psp_refund", pspRefundAllowed: true, paidOn: null, windowDays: null };
  }
}
