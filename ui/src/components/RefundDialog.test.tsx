import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { PaymentRecord, Refundable, TierPreview } from "../bindings";
import { RefundDialog, plainMajor } from "./RefundDialog";

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
  };
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
    const calls = open((cmd, args) => {
      if (cmd === "refunds_preview") return tier(Math.round(Number(args.amount) * 100));
      throw new Error(`unexpected ${cmd}`);
    });
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
