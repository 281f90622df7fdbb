import { describe, expect, it } from "vitest";
import i18n from "../i18n";
import type { Verdict } from "../bindings";
import { VERDICT_CODES } from "../api/types";
import { verdictDetail } from "./verdict";

const FACTS: Verdict["facts"] = {
  country: "PE",
  psp: "pagoefectivo",
  network: "pagoefectivo",
  payment_id: "91000001",
  amount_minor: 12000,
  currency: "PEN",
  paid_at: "2026-03-02T23:30:00Z",
  taken_back_at: "2026-03-09T16:15:00Z",
  voucher_expires_at: "2026-03-03T14:00:00Z",
  shop_status: "fulfilled",
  times_paid: 2,
  settle_by: "2026-03-04",
  settle_business_days: 1,
  recorded_payment_id: "91000009",
  psp_still_pending: false,
};

function render(v: Verdict, lang: "en" | "es" | "zh"): string {
  const t = i18n.getFixedT(lang);
  const d = verdictDetail(v, lang, t as never);
  return t(d.key, d.params);
}

describe("verdict sentences", () => {
  it("say the reversal in each language with the market's clock", () => {
    const v: Verdict = { code: "reversed", text: "", facts: FACTS, next_step: "stop_shipment", buyer_message: null };
    expect(render(v, "en")).toBe("PagoEfectivo took back the payment of S/ 120.00 on Mar 9, 2026, 11:15 Lima time; the shop says fulfilled.");
    expect(render(v, "zh")).toBe("PagoEfectivo 已于 2026年3月9日 11:15 利马时间 撤回 S/ 120.00 的付款；商店显示「已发货」。");
  });

  it("leave no English word and no internal code in Chinese or Spanish, for every verdict", () => {
    const english = /\b(Paid|paid|shop|voucher|pending_payment|fulfilled|deliver|settlement|undefined|null)\b|verdictDetail\./;
    for (const code of VERDICT_CODES) {
      const v: Verdict = { code, text: "", facts: FACTS, next_step: "nothing_to_do", buyer_message: null };
      for (const lang of ["zh", "es"] as const) {
        const text = render(v, lang);
        expect(text, `${lang} ${code}`).not.toMatch(english);
        expect(text.length, `${lang} ${code}`).toBeGreaterThan(5);
      }
    }
  });
});
