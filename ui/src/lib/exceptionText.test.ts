import { describe, expect, it } from "vitest";
import i18n from "../i18n";
import type { ExceptionRecord } from "../bindings";
import { EXCEPTION_KINDS } from "../api/types";
import { exceptionHint } from "./exceptionText";
import { UNTOUCHED_EXCEPTION } from "../test/helpers";

const BASE = {
  id: "EX-1",
  status: "open",
  order_id: "CO-0000472",
  psp: "dlocal",
  payment_id: "D-00000472",
  country: "CO",
  store: "Moda Andina",
  amount_minor: 43_370_000,
  currency: "COP",
  detail: "the English detail",
  detected_at: "2026-03-20T00:00:00Z",
  occurred_at: "2026-03-11T08:14:00Z",
  updated_at: "2026-03-20T00:00:00Z",
  age_days: 3,
  ...UNTOUCHED_EXCEPTION,
} as const;

describe("exception explanations", () => {
  it("name the payment, the order and the amount in the language", () => {
    const e = { ...BASE, kind: "paid_not_recorded" } as ExceptionRecord;
    expect(exceptionHint(e, i18n.getFixedT("en") as never)).toBe("dLocal reports payment D-00000472 for order CO-0000472, but the shop has not recorded it.");
    expect(exceptionHint(e, i18n.getFixedT("zh") as never)).toBe("dLocal 报告订单 CO-0000472 的付款 D-00000472，但商店尚未记录。");
    expect(exceptionHint({ ...e, kind: "chargeback" } as ExceptionRecord, i18n.getFixedT("es") as never)).toBe("El pago D-00000472 ($ 433.700) tuvo un contracargo.");
  });

  it("exist for every kind in every language, with no English left in Chinese or Spanish", () => {
    for (const kind of EXCEPTION_KINDS) {
      for (const lang of ["en", "es", "zh"] as const) {
        const text = exceptionHint({ ...BASE, kind } as ExceptionRecord, i18n.getFixedT(lang) as never);
        expect(text, `${lang} ${kind}`).not.toBe("the English detail");
        expect(text, `${lang} ${kind}`).not.toMatch(/\{\{|exceptionHints\./);
        if (lang !== "en") expect(text, `${lang} ${kind}`).not.toMatch(/\b(payment|order|shop|settlement|voucher)\b/);
      }
    }
  });
});

describe("audit actions", () => {
  it("read as words in each language", () => {
    const t = i18n.getFixedT("zh");
    expect(t(`auditActions.${"operator.sign_in".replace(".", "__")}`)).toBe("登录");
    expect(i18n.getFixedT("es")(`auditActions.${"refund.approve".replace(".", "__")}`)).toBe("Reembolso aprobado");
  });
});
