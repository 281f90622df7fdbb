import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { CaseFile, PaymentRecord, Refundable, TierPreview } from "../bindings";
import { RefundDialog, plainMajor } from "./RefundDialog";
import { RefundsPanel } from "./RefundsPanel";
import { probeRefundRule } from "./refundRule";
import { REFUND_NOT_SENT } from "../mock/fixtures";

const PAYMENT: PaymentRecord = {
  psp: "dlocal",
  payment_id: "D-1",
  order_id: "CO-1",
  linked_order_id: null,
  country: "CO",
  network: "efecty",
  currency: "COP",
  amount_minor: 300_000_000,
  status: "paid",
  psp_status: "PAID",
  created_at: null,
  paid_at: "2026-11-30T10:00:00Z",
  expires_at: null,
  voucher_code: "123",
  history: [],
};
const REFUNDABLE: Refundable = { paid_minor: 300_000_000, succeeded_minor: 0, in_flight_minor: 0, refundable_minor: 300_000_000, currency: "COP" };

function tier(amountMinor: number): TierPreview {
  const t = amountMinor <= 20_000_000 ? 1 : amountMinor <= 200_000_000 ? 2 : 3;
  const roles = t === 1 ? [] : t === 2 ? ["finance"] : ["finance", "manager"];
  return {
    amount_minor: amountMinor,
    currency: "COP",
    amount: String(amountMinor / 100),
    tier: t,
    finance_required: false,
    required_approvals: roles as TierPreview["required_approvals"],
    two_people: roles.length === 2,
    refundable: REFUNDABLE,
    exceeds_refundable: false,
    payout_limit: null,
    exceeds_limit: null,
  };
}

/** A core that previews the tier of whatever amount it is asked about, and answers nothing else. */
function previewAnyAmount(cmd: string, args: Record<string, unknown>): unknown {
  if (cmd === "refunds_preview") return tier(Math.round(Number(args.amount) * 100));
  throw new Error(`unexpected ${cmd}`);
}

/** The case file's refunds panel, on an order with one payment, as support sees it. */
function renderPanel(orderId: string, payment: PaymentRecord) {
  const file = { order_id: orderId, payments: [payment], order: null } as unknown as CaseFile;
  return renderSignedIn(<RefundsPanel file={file} />, ANA);
}

function open(handler: (cmd: string, args: Record<string, unknown>) => unknown) {
  const calls = ipc(handler);
  renderSignedIn(<RefundDialog payment={PAYMENT} refundable={REFUNDABLE} orderCurrency="COP" onClose={() => undefined} onRequested={() => undefined} />, ANA);
  return calls;
}

describe("request refund dialog", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("formats major units the way the core parses them", () => {
    expect(plainMajor(300_000_000)).toBe("3000000");
    expect(plainMajor(8_990)).toBe("89.90");
  });

  it("shows the core's tier and approvers before sending, and follows the amount", async () => {
    const calls = open(previewAnyAmount);
    const preview = await screen.findByTestId("refund-tier-preview");
    expect(preview.getAttribute("data-tier")).toBe("3");
    expect(screen.getByTestId("refund-approvers").textContent).toContain("needs two people: Finance and Manager");
    const first = calls.find((c) => c.cmd === "refunds_preview");
    expect(first?.args).toEqual({ payment_id: "D-1", psp: "dlocal", amount: "3000000", method: "psp_refund" });

    fireEvent.click(screen.getByTestId("refund-partial"));
    fireEvent.change(screen.getByTestId("refund-amount"), { target: { value: "150000" } });
    await waitFor(() => expect(screen.getByTestId("refund-tier-preview").getAttribute("data-tier")).toBe("1"));
    expect(screen.getByTestId("refund-approvers").textContent).toContain("no approval needed");
    expect(calls.some((c) => c.cmd === "refunds_request")).toBe(false);
  });

  it("shows the PSP account's payout limits, and why a request would pass the day's", async () => {
    const limit = { account: "dlocal-co", currency: "COP" as const, per_payout: "2000000.00", per_day: null, requested_today: "150000.00", market_date: "2026-12-06" };
    open((cmd) => {
      if (cmd === "refunds_preview")
        return { ...tier(300_000_000), payout_limit: limit, exceeds_limit: "3000000.00 COP is more than dlocal-co's per-payout limit of 2000000.00 COP (split it, or pay it by bank_transfer)" };
      throw new Error(`unexpected ${cmd}`);
    });
    const line = await screen.findByTestId("refund-payout-limit");
    expect(line.textContent).toBe("Payout limits of dlocal-co: 2000000.00 COP per payout, no limit per market day; 150000.00 COP already requested on 2026-12-06");
    expect(screen.getByTestId("refund-limit-exceeded").textContent).toBe(
      "Over the PSP account's payout limit: 3000000.00 COP is more than dlocal-co's per-payout limit of 2000000.00 COP (split it, or pay it by bank_transfer)",
    );
  });

  it("asks for a note when the reason is other, and sends only then", async () => {
    const calls = open((cmd) => {
      if (cmd === "refunds_preview") return tier(300_000_000);
      if (cmd === "refunds_request") return { id: 7 };
      throw new Error(`unexpected ${cmd}`);
    });
    await screen.findByTestId("refund-tier-preview");
    const send = screen.getByTestId("refund-send") as HTMLButtonElement;
    expect(send.disabled).toBe(true); // no reason yet
    fireEvent.change(screen.getByTestId("refund-reason"), { target: { value: "other" } });
    expect(screen.getByTestId("refund-note-missing").textContent).toContain("needs a note");
    expect(send.disabled).toBe(true);
    fireEvent.change(screen.getByTestId("refund-note"), { target: { value: "moved abroad" } });
    expect(screen.queryByTestId("refund-note-missing")).toBeNull();
    expect(send.disabled).toBe(false);
    fireEvent.click(send);
    await waitFor(() => expect(calls.some((c) => c.cmd === "refunds_request")).toBe(true));
    const req = calls.find((c) => c.cmd === "refunds_request")?.args.request as Record<string, unknown>;
    expect([req.reason, req.note, req.amount, req.method]).toEqual(["other", "moved abroad", "3000000", "psp_refund"]);
  });

  it("shows the core's refusal with its code and message, and the KYC fields for a cash withdrawal", async () => {
    open((cmd) => {
      if (cmd === "refunds_preview") return tier(300_000_000);
      if (cmd === "refunds_request") throw { code: "kyc.document_mismatch", message: "the payee's document does not match the order's buyer" };
      throw new Error(`unexpected ${cmd}`);
    });
    await screen.findByTestId("refund-tier-preview");
    fireEvent.change(screen.getByTestId("refund-method"), { target: { value: "cash_withdrawal" } });
    expect(screen.getByTestId("refund-kyc-fields")).toBeTruthy();
    expect(screen.queryByTestId("refund-bank-fields")).toBeNull();
    fireEvent.change(screen.getByTestId("refund-reason"), { target: { value: "product_return" } });
    fireEvent.click(screen.getByTestId("refund-send"));
    const refusal = await screen.findByTestId("refund-refusal");
    expect(refusal.getAttribute("data-code")).toBe("kyc.document_mismatch");
    expect(screen.getByTestId("refund-refusal-code").textContent).toBe("kyc.document_mismatch");
    expect(screen.getByTestId("refund-refusal-message").textContent).toBe("the payee's document does not match the order's buyer");
  });
});

describe("a refund that cannot start wrong", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("reads the partial amount as the market writes it and sends the core plain text", async () => {
    const calls = open(previewAnyAmount);
    await screen.findByTestId("refund-tier-preview");
    fireEvent.click(screen.getByTestId("refund-partial"));
    fireEvent.change(screen.getByTestId("refund-amount"), { target: { value: "$ 1.250.000" } });
    await waitFor(() => expect(calls.filter((c) => c.cmd === "refunds_preview").map((c) => c.args.amount)).toContain("1250000"));
    expect(screen.queryByTestId("refund-amount-error")).toBeNull();
  });

  it("refuses an ambiguous amount in plain words and asks the core nothing about it", async () => {
    await useLanguage("es");
    const calls = open(previewAnyAmount);
    await screen.findByTestId("refund-tier-preview");
    fireEvent.click(screen.getByTestId("refund-partial"));
    fireEvent.change(screen.getByTestId("refund-amount"), { target: { value: "1,250" } });
    const error = await screen.findByTestId("refund-amount-error");
    expect(error.getAttribute("data-kind")).toBe("ambiguous");
    expect(error.textContent).toBe("«1,250» se puede leer de dos maneras. Escríbalo como 1.250.000 o sin separadores.");
    await new Promise((r) => setTimeout(r, 400));
    expect(calls.filter((c) => c.cmd === "refunds_preview").map((c) => c.args.amount)).toEqual(["3000000"]);
    expect((screen.getByTestId("refund-send") as HTMLButtonElement).disabled).toBe(true);
  });

  it("starts past the window on a cash withdrawal, says why, and offers no PSP refund", async () => {
    const calls = ipc((cmd, args) => {
      if (cmd === "refunds_preview") return { ...tier(300_000_000), finance_required: args.method === "cash_withdrawal" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(
      <RefundDialog
        payment={PAYMENT}
        refundable={REFUNDABLE}
        rule={{ kind: "open", method: "cash_withdrawal", pspRefundAllowed: false, paidOn: "2026-03-01", windowDays: 15 }}
        orderCurrency="COP"
        onClose={() => undefined}
        onRequested={() => undefined}
      />,
      ANA,
    );
    expect((screen.getByTestId("refund-method") as HTMLSelectElement).value).toBe("cash_withdrawal");
    expect(screen.getByTestId("refund-kyc-fields")).toBeTruthy();
    expect(screen.getByTestId("refund-rule").textContent).toBe(
      "Paid on 2026-03-01, more than 15 days ago: past dLocal's refund window, so the buyer collects the money as a cash withdrawal with their document. Finance approves it.",
    );
    const psp = screen.getByRole("option", { name: /PSP refund/ }) as HTMLOptionElement;
    expect(psp.disabled).toBe(true);
    await screen.findByTestId("refund-tier-preview");
    expect(calls.find((c) => c.cmd === "refunds_preview")?.args.method).toBe("cash_withdrawal");
    expect(screen.queryByTestId("refund-preview-refusal")).toBeNull();
  });

  it("shows a refusal's plain sentence, with the code only behind details", async () => {
    await useLanguage("zh");
    open((cmd) => {
      if (cmd === "refunds_preview") throw { code: "refunds.exceeds_refundable", message: "3000001 is more than what remains refundable" };
      throw new Error(`unexpected ${cmd}`);
    });
    const refusal = await screen.findByTestId("refund-preview-refusal");
    expect(screen.getByTestId("refund-preview-refusal-headline").textContent).toBe("超过剩余可退金额");
    const details = refusal.querySelector("details");
    expect(details?.open).toBe(false);
    expect(details?.contains(screen.getByTestId("refund-preview-refusal-code"))).toBe(true);
  });
});

describe("what the refund rules allow for a payment", () => {
  const PE: PaymentRecord = { ...PAYMENT, psp: "pagoefectivo", payment_id: "P-9", country: "PE", currency: "PEN", network: "pagoefectivo" };
  const PE_REFUNDABLE: Refundable = { ...REFUNDABLE, currency: "PEN", paid_minor: 12_050, refundable_minor: 12_050 };

  it("opens a PSP refund inside the window", async () => {
    ipc(() => tier(300_000_000));
    expect(await probeRefundRule(PAYMENT, REFUNDABLE)).toEqual({ kind: "open", method: "psp_refund", pspRefundAllowed: true, paidOn: null, windowDays: null });
  });

  it("starts a cash withdrawal past the window, with the core's date and days", async () => {
    ipc(() => {
      throw {
        code: "refunds.window_passed",
        message: "the payment was made on 2026-03-01, more than 15 days ago: past the PSP's refund window a refund must be a cash_withdrawal (finance approves it)",
      };
    });
    expect(await probeRefundRule(PAYMENT, REFUNDABLE)).toEqual({ kind: "open", method: "cash_withdrawal", pspRefundAllowed: false, paidOn: "2026-03-01", windowDays: 15 });
  });

  it("blocks a PSP the core cannot refund through, an unpaid payment and nothing left", async () => {
    ipc(() => {
      throw { code: "refunds.psp_unsupported", message: "refunds through pagoefectivo are not wired yet (only dLocal)" };
    });
    const rule = await probeRefundRule(PE, PE_REFUNDABLE);
    expect(rule.kind === "blocked" && rule.reason).toBe("pspUnsupported");
    expect(await probeRefundRule({ ...PAYMENT, status: "pending" }, REFUNDABLE)).toEqual({ kind: "blocked", reason: "notPaid", error: null });
    expect(await probeRefundRule(PAYMENT, { ...REFUNDABLE, refundable_minor: 0 })).toEqual({ kind: "blocked", reason: "nothingLeft", error: null });
  });

  it("shows the case file's button disabled with a translated reason for PagoEfectivo", async () => {
    await useLanguage("zh");
    ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [], next_after: null };
      if (cmd === "refunds_refundable") return PE_REFUNDABLE;
      if (cmd === "refunds_preview") throw { code: "refunds.psp_unsupported", message: "refunds through pagoefectivo are not wired yet (only dLocal)" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderPanel("PE-1", PE);
    const reason = await screen.findByTestId("refund-blocked-P-9");
    expect(reason.getAttribute("data-reason")).toBe("pspUnsupported");
    expect(reason.textContent).toContain("暂不能从 VoucherDesk 发起 PagoEfectivo 退款");
    const button = screen.getByTestId("request-refund-P-9") as HTMLButtonElement;
    expect(button.disabled).toBe(true);
    fireEvent.click(button);
    expect(screen.queryByTestId("refund-dialog")).toBeNull();
  });

  it("opens the case file's dialog past the window on a cash withdrawal, never already refused", async () => {
    await useLanguage("es");
    const calls = ipc((cmd, args) => {
      if (cmd === "refunds_list") return { items: [], next_after: null };
      if (cmd === "refunds_refundable") return REFUNDABLE;
      if (cmd === "refunds_preview") {
        if (args.method === "psp_refund")
          throw {
            code: "refunds.window_passed",
            message: "the payment was made on 2026-03-01, more than 15 days ago: past the PSP's refund window a refund must be a cash_withdrawal (finance approves it)",
          };
        return { ...tier(300_000_000), finance_required: true };
      }
      throw new Error(`unexpected ${cmd}`);
    });
    renderPanel("CO-1", PAYMENT);
    const button = (await screen.findByTestId("request-refund-D-1")) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.dataset.method).toBe("cash_withdrawal");
    const probes = calls.length;
    fireEvent.click(button);
    expect((screen.getByTestId("refund-method") as HTMLSelectElement).value).toBe("cash_withdrawal");
    expect(screen.getByTestId("refund-rule").textContent).toContain("Pagado el 2026-03-01, hace más de 15 días");
    await screen.findByTestId("refund-tier-preview");
    expect(screen.queryByTestId("refund-preview-refusal")).toBeNull();
    const dialogPreviews = calls.slice(probes).filter((c) => c.cmd === "refunds_preview" && c.args.amount === "3000000");
    expect(dialogPreviews.map((c) => c.args.method)).toContain("cash_withdrawal");
  });
  it("opens PagoEfectivo's refund on a bank transfer by finance, the PSP's methods closed", async () => {
    await useLanguage("en");
    const calls = ipc((cmd, args) => {
      if (cmd === "refunds_list") return { items: [], next_after: null };
      if (cmd === "refunds_refundable") return PE_REFUNDABLE;
      if (cmd === "refunds_preview") {
        if (args.method !== "bank_transfer")
          throw {
            code: "refunds.method_unsupported",
            message: "PagoEfectivo cannot pay a psp_refund from VoucherDesk (its API has no refund or payout): refund this payment by bank_transfer",
          };
        return { ...tier(12_050), currency: "PEN", tier: 1, required_approvals: [], two_people: false };
      }
      if (cmd === "refunds_request") return { id: 9, status: "approved" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderPanel("PE-1", PE);
    const button = (await screen.findByTestId("request-refund-P-9")) as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.dataset.method).toBe("bank_transfer");
    fireEvent.click(button);
    const method = screen.getByTestId("refund-method") as HTMLSelectElement;
    expect(method.value).toBe("bank_transfer");
    const options = Array.from(method.options).map((o) => [o.value, o.disabled]);
    expect(options).toEqual([
      ["psp_refund", true],
      ["cash_withdrawal", true],
      ["bank_transfer", false],
    ]);
    expect(screen.getByTestId("refund-rule").textContent).toBe(
      "PagoEfectivo pays no refund through its API: finance transfers the money to the buyer's bank account and records the transfer with the bank's proof.",
    );
    expect(screen.getByTestId("refund-bank-fields")).toBeTruthy();
    fireEvent.change(screen.getByTestId("refund-reason"), { target: { value: "buyer_cancelled" } });
    fireEvent.change(screen.getByTestId("refund-beneficiary-name"), { target: { value: "Rosa Quispe" } });
    fireEvent.change(screen.getByTestId("refund-account"), { target: { value: "19112345678012" } });
    fireEvent.click(screen.getByTestId("refund-send"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "refunds_request")).toBe(true));
    const request = calls.find((c) => c.cmd === "refunds_request")!.args.request as Record<string, unknown>;
    expect(request.method).toBe("bank_transfer");
    expect(request.amount).toBe("120.50");
    expect((request.beneficiary as Record<string, string>).account).toBe("19112345678012");
  });

  it("lets finance record an approved bank transfer with its proof file's token", async () => {
    await useLanguage("en");
    const approved = {
      id: 12,
      psp: "pagoefectivo",
      payment_id: "P-9",
      order_id: "PE-1",
      amount_minor: 12_050,
      currency: "PEN",
      amount: "120.50",
      reason: "buyer_cancelled",
      note: "",
      method: "bank_transfer",
      details: { kind: "bank_transfer", beneficiary: { name: "Rosa Quispe", bank: "BCP", account: "1911", account_type: "S", document: "4567" } },
      payee_check: null,
      tier: 1,
      finance_required: false,
      status: "approved",
      required_approvals: [],
      awaiting: [],
      approvals: [],
      idempotency_key: "vdr-1",
      additional: false,
      requested_by: "sam",
      requested_at: "2026-12-01T10:00:00Z",
      ...REFUND_NOT_SENT,
    };
    const calls = ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [approved], next_after: null };
      if (cmd === "refunds_refundable") return { ...PE_REFUNDABLE, in_flight_minor: 12_050, refundable_minor: 0 };
      if (cmd === "pick_proof_file") return { token: "tok-1", name: "constancia.pdf", path: "/home/fiona/constancia.pdf" };
      if (cmd === "refunds_record_transfer") return { ...approved, status: "succeeded" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderPanel("PE-1", PE);
    fireEvent.click(await screen.findByTestId("refund-record-transfer-12"));
    const save = screen.getByTestId("refund-transfer-save") as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    fireEvent.change(screen.getByTestId("refund-transfer-reference"), { target: { value: " BCP-778812 " } });
    fireEvent.change(screen.getByTestId("refund-transfer-date"), { target: { value: "2026-12-02" } });
    fireEvent.click(screen.getByTestId("refund-transfer-pick"));
    await waitFor(() => expect(screen.getByTestId("refund-transfer-proof-name").textContent).toBe("constancia.pdf"));
    expect(save.disabled).toBe(false);
    fireEvent.click(save);
    await waitFor(() => expect(calls.some((c) => c.cmd === "refunds_record_transfer")).toBe(true));
    expect(calls.find((c) => c.cmd === "refunds_record_transfer")!.args).toEqual({
      id: 12,
      transfer: { reference: "BCP-778812", date: "2026-12-02" },
      token: "tok-1",
    });
  });
});
