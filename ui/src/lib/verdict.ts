// A case file's verdict in the UI language: the sentence is rebuilt from the
// verdict's facts (the core's English `text` stays behind a details toggle),
// and its next step becomes the case file's primary action.

import type { ExceptionKind, ExceptionRecord, NextStep, ResolutionAction, Role, Verdict } from "../api/types";
import { formatDay, formatInstant } from "./dates";
import { MARKETS, formatAmount, marketOf } from "./format";
import { isManagerLike } from "./roles";

type Translate = (key: string, options?: Record<string, unknown>) => string;

const NETWORK_NAMES: Record<string, string> = { efecty: "Efecty", pagoefectivo: "PagoEfectivo" };
const PSP_NAMES: Record<string, string> = { dlocal: "dLocal", pagoefectivo: "PagoEfectivo" };

/** An instant in the market's clock, labelled with its city: `Mar 2, 2026, 15:00 Bogotá time`. */
function marketInstant(iso: string | null, country: string | null, language: string, t: Translate): string {
  const market = marketOf(country) ?? MARKETS.CO;
  return `${formatInstant(iso, market.zone, language)} ${t("times.market", { city: t(`cities.${market.country}`) })}`;
}

/** The i18n key and its parameters for a verdict's sentence. */
export function verdictDetail(v: Verdict, language: string, t: Translate): { key: string; params: Record<string, string> } {
  const f = v.facts;
  const params: Record<string, string> = {
    network: NETWORK_NAMES[f.network ?? ""] ?? f.network ?? "—",
    psp: PSP_NAMES[f.psp ?? ""] ?? f.psp ?? "—",
    paidAt: marketInstant(f.paid_at, f.country, language, t),
    takenAt: marketInstant(f.taken_back_at, f.country, language, t),
    expiresAt: marketInstant(f.voucher_expires_at, f.country, language, t),
    settleBy: formatDay(f.settle_by, language),
    days: String(f.settle_business_days ?? "—"),
    times: String(f.times_paid ?? "—"),
    amount: f.amount_minor !== null && f.currency ? formatAmount(f.amount_minor, f.currency) : "—",
    shopStatus: f.shop_status ? t(`shopStatuses.${f.shop_status}`, { defaultValue: f.shop_status }) : "—",
    paymentId: f.payment_id ?? "—",
    recorded: f.recorded_payment_id || "—",
  };
  let key: string = v.code;
  if (v.code === "awaiting_payment" && !f.voucher_expires_at) key = "awaiting_payment_no_expiry";
  if (v.code === "unknown_order" && !f.paid_at && f.amount_minor === null) key = "unknown_order_no_payment";
  return { key: `verdictDetail.${key}`, params };
}

/** The open exception a step is about, and the resolution that fits it for this role. */
const STEP_EXCEPTIONS: Record<NextStep, readonly ExceptionKind[]> = {
  release_order: ["paid_not_recorded"],
  hold_shipment: ["not_settled"],
  stop_shipment: ["reversed_after_fulfilment"],
  remind_buyer: [],
  offer_new_voucher: ["expired_unpaid"],
  release_stock: ["expired_unpaid"],
  refund_extra_payment: ["duplicate_payment"],
  check_stock: ["paid_after_expiry"],
  check_payment_id: ["payment_id_mismatch"],
  check_amounts: ["amount_mismatch", "currency_mismatch"],
  link_order: ["unknown_order"],
  answer_chargeback: ["chargeback"],
  ask_psp: ["recorded_not_paid"],
  nothing_to_do: [],
};

export interface StepAction {
  exception: ExceptionRecord;
  action: ResolutionAction;
}

/**
 * The resolution a step offers on its open exception: a manager confirms the
 * money (`mark_received`) or links the payment; support, who may not, hands
 * it on (`escalate`); everything else is acknowledged (`accept`).
 */
export function stepAction(step: NextStep, exceptions: readonly ExceptionRecord[], role: Role | string): StepAction | null {
  const kinds = STEP_EXCEPTIONS[step];
  const exception = exceptions.find((e) => e.status === "open" && (kinds as readonly string[]).includes(e.kind));
  if (!exception) return null;
  const manager = isManagerLike(role);
  let action: ResolutionAction;
  if (step === "release_order") action = manager ? "mark_received" : "escalate";
  else if (step === "link_order") action = manager ? "link" : "escalate";
  else action = manager ? "accept" : "escalate";
  return { exception, action };
}
