// An exception's explanation in the UI language, from its kind and its own
// fields (payment, order, PSP, amount); the core's English detail stays
// behind a details toggle.

import type { ExceptionRecord } from "../bindings";
import { formatAmount } from "./format";

type Translate = (key: string, options?: Record<string, unknown>) => string;

const PSP_NAMES: Record<string, string> = { dlocal: "dLocal", pagoefectivo: "PagoEfectivo" };

export function exceptionHint(e: ExceptionRecord, t: Translate): string {
  return t(`exceptionHints.${e.kind}`, {
    psp: PSP_NAMES[e.psp] ?? (e.psp || "—"),
    payment: e.payment_id || "—",
    order: e.order_id || "—",
    amount: e.amount_minor !== null ? formatAmount(e.amount_minor, e.currency) : "—",
    // A missing settlement report is about a market date, which its detail names first.
    day: /\d{4}-\d{2}-\d{2}/.exec(e.detail)?.[0] ?? "—",
    market: e.country || "—",
    defaultValue: e.detail,
  });
}
