// A case file's verdict in the UI language: the sentence is rebuilt from the
// verdict's facts (the core's English `text` stays behind a details toggle).
// Which exception its next step resolves, and how, is the core's
// (`CaseFile.step_action`).

import type { Verdict } from "../bindings";
import { formatDay, formatInstant } from "./dates";
import { MARKETS, formatAmount, marketOf } from "./format";

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
