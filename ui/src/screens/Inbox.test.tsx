import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { FABIO, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { Refund } from "../bindings";
import { InboxScreen, maskAccount, payeeMatch, sortInbox } from "./Inbox";
import { REFUND_NOT_SENT } from "../mock/fixtures";

function refund(id: number, tier: number, amountMinor: number, requestedAt: string): Refund {
  return {
    id,
    psp: "dlocal",
    payment_id: `D-${id}`,
    order_id: `CO-${id}`,
    amount_minor: amountMinor,
    currency: "COP",
    amount: String(amountMinor / 100),
    reason: "buyer_cancelled",
    note: "",
    method: "psp_refund",
    details: { kind: "bank_transfer", beneficiary: { name: "", bank: "", account: "", account_type: "S", document: "" } },
    payee_check: null,
    tier,
    finance_required: false,
    status: "pending_approval",
    required_approvals: tier === 3 ? ["finance", "manager"] : ["finance"],
    awaiting: tier === 3 ? ["finance", "manager"] : ["finance"],
    approvals: [],
    idempotency_key: `k${id}`,
    additional: false,
    requested_by: "sam",
    requested_at: requestedAt,
    ...REFUND_NOT_SENT,
  };
}

const PENDING = [
  refund(1, 2, 50_000_000, "2026-11-30T09:00:00Z"),
  refund(2, 3, 250_000_000, "2026-11-30T11:00:00Z"),
  refund(3, 2, 90_000_000, "2026-11-29T08:00:00Z"),
];

describe("finance inbox", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("sorts by amount (largest first) or by age (oldest first)", () => {
    expect(sortInbox(PENDING, "amount").map((r) => r.id)).toEqual([2, 3, 1]);
    expect(sortInbox(PENDING, "age").map((r) => r.id)).toEqual([3, 1, 2]);
  });

  it("offers bulk approval for tier-2 refunds only, and sends just those ids", async () => {
    let pending = PENDING;
    const calls = ipc((cmd, args) => {
      if (cmd === "refunds_list") return { items: pending, next_after: null };
      if (cmd === "refunds_bulk_approve") {
        pending = pending.filter((r) => !(args.ids as number[]).includes(r.id));
        return { approved: [PENDING[0], PENDING[2]], refused: [] };
      }
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(<InboxScreen />, FABIO);
    await screen.findByTestId("inbox-row-2");
    expect(screen.getAllByTestId(/^inbox-row-/).map((r) => r.getAttribute("data-testid"))).toEqual(["inbox-row-2", "inbox-row-3", "inbox-row-1"]);
    expect(screen.getByTestId("inbox-select-1")).toBeTruthy();
    expect(screen.getByTestId("inbox-select-3")).toBeTruthy();
    expect(screen.queryByTestId("inbox-select-2")).toBeNull(); // tier 3: one by one
    const bulk = screen.getByTestId("inbox-bulk-approve") as HTMLButtonElement;
    expect(bulk.disabled).toBe(true);
    fireEvent.click(screen.getByTestId("inbox-select-1"));
    fireEvent.click(screen.getByTestId("inbox-select-3"));
    expect(bulk.disabled).toBe(false);
    fireEvent.click(bulk);
    await waitFor(() => expect(screen.getByTestId("inbox-bulk-result").textContent).toContain("2 approved, 0 refused"));
    const sent = calls.find((c) => c.cmd === "refunds_bulk_approve")?.args;
    expect([...(sent?.ids as number[])].sort()).toEqual([1, 3]);
    await waitFor(() => expect(screen.queryByTestId("inbox-row-1")).toBeNull());
  });

  it("offers no bulk approval when nothing pending is tier 2", async () => {
    ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [PENDING[1]], next_after: null };
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(<InboxScreen />, FABIO);
    await screen.findByTestId("inbox-row-2");
    expect(screen.queryByTestId("inbox-bulk-approve")).toBeNull();
  });

  it("needs a comment to reject, and shows the core's maker-checker refusal", async () => {
    ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [PENDING[0]], next_after: null };
      if (cmd === "refunds_approve") throw { code: "refunds.self_approval", message: "fabio requested refund 1: the requester can never approve their own refund" };
      if (cmd === "case_file") throw { code: "lookup.not_found", message: "no such order" };
      return null;
    });
    renderSignedIn(<InboxScreen />, FABIO);
    fireEvent.click(await screen.findByTestId("inbox-open-1"));
    expect((screen.getByTestId("inbox-reject-1") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("inbox-comment-1"), { target: { value: "duplicate" } });
    expect((screen.getByTestId("inbox-reject-1") as HTMLButtonElement).disabled).toBe(false);
    fireEvent.click(screen.getByTestId("inbox-approve-1"));
    fireEvent.click(screen.getByTestId("inbox-confirm-1"));
    const refusal = await screen.findByTestId("inbox-refusal-1");
    expect(refusal.getAttribute("data-code")).toBe("refunds.self_approval");
    expect(refusal.textContent).toContain("can never approve their own refund");
  });

  it("masks an account but its last four characters, and names the KYC verdict", () => {
    expect(maskAccount("0012-3456 7890")).toBe("•••• 7890");
    expect(maskAccount("789")).toBe("789");
    expect(payeeMatch(null)).toBe("no_order");
    expect(payeeMatch({ name_matches: true, document_matches: true })).toBe("match");
    expect(payeeMatch({ name_matches: false, document_matches: true })).toBe("name_differs");
    expect(payeeMatch({ name_matches: true, document_matches: false })).toBe("document_differs");
    expect(payeeMatch({ name_matches: false, document_matches: false })).toBe("neither");
  });

  it("shows who collects the money and whether they are the buyer, before approval", async () => {
    const cash: Refund = {
      ...refund(12, 3, 250_000_000, "2026-11-30T11:00:00Z"),
      method: "cash_withdrawal",
      details: { kind: "cash_pickup", payee: { name: "José Núñez", document_type: "CC", document_number: "1020304050", phone: "+573001234567" } },
      payee_check: { name_matches: true, document_matches: true },
    };
    const bank: Refund = {
      ...refund(13, 2, 50_000_000, "2026-11-30T09:00:00Z"),
      details: { kind: "bank_transfer", beneficiary: { name: "Ana Gómez", bank: "Bancolombia", account: "00123456789", account_type: "S", document: "52123456" } },
      payee_check: { name_matches: false, document_matches: true },
    };
    ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [cash, bank], next_after: null };
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(<InboxScreen />, FABIO);
    const cashCell = await screen.findByTestId("inbox-payee-12");
    expect(cashCell.getAttribute("data-match")).toBe("match");
    expect(cashCell.textContent).toBe("José NúñezCollects in cash · CC 1020304050 · +573001234567Matches the buyer");
    const bankCell = screen.getByTestId("inbox-payee-13");
    expect(bankCell.getAttribute("data-match")).toBe("name_differs");
    expect(screen.getByTestId("inbox-payee-account-13").textContent).toBe("•••• 6789");
    expect(bankCell.textContent).not.toContain("00123456789");
    expect(bankCell.textContent).toContain("Name differs from the buyer's");
  });

  it("asks to confirm an approval with amount, payee and tier, then says what happens next", async () => {
    const tier3: Refund = {
      ...refund(12, 3, 250_000_000, "2026-11-30T11:00:00Z"),
      details: { kind: "cash_pickup", payee: { name: "José Núñez", document_type: "CC", document_number: "1020304050", phone: "+573001234567" } },
      payee_check: { name_matches: true, document_matches: true },
    };
    let pending: Refund[] = [tier3, PENDING[0] as Refund];
    const calls = ipc((cmd, args) => {
      if (cmd === "refunds_list") return { items: pending, next_after: null };
      if (cmd === "refunds_approve" && args.id === 12) {
        // Finance approved; the manager still has to.
        pending = pending.filter((r) => r.id !== 12);
        return { ...tier3, awaiting: ["manager"], status: "pending_approval" };
      }
      if (cmd === "refunds_approve" && args.id === 1) {
        pending = pending.filter((r) => r.id !== 1);
        return { ...PENDING[0], awaiting: [], status: "approved" };
      }
      if (cmd === "case_file") throw { code: "lookup.not_found", message: "no such order" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(<InboxScreen />, FABIO);
    fireEvent.click(await screen.findByTestId("inbox-open-12"));
    fireEvent.click(screen.getByTestId("inbox-approve-12"));
    const step = screen.getByTestId("inbox-confirm-step-12");
    expect(step.textContent).toContain("Approve refund 12?");
    expect(step.textContent).toContain("$ 2.500.000 to José Núñez, tier 3.");
    expect(calls.filter((c) => c.cmd === "refunds_approve")).toHaveLength(0);
    // Cancel goes back without approving.
    fireEvent.click(screen.getByTestId("inbox-confirm-cancel-12"));
    expect(screen.queryByTestId("inbox-confirm-step-12")).toBeNull();
    // So does Esc, from the confirm button that took the focus.
    fireEvent.click(screen.getByTestId("inbox-approve-12"));
    expect(document.activeElement).toBe(screen.getByTestId("inbox-confirm-12"));
    fireEvent.keyDown(screen.getByTestId("inbox-confirm-12"), { key: "Escape" });
    expect(screen.queryByTestId("inbox-confirm-step-12")).toBeNull();
    fireEvent.click(screen.getByTestId("inbox-approve-12"));
    fireEvent.click(screen.getByTestId("inbox-confirm-12"));
    const notice = await screen.findByTestId("inbox-notice");
    expect(notice.getAttribute("data-id")).toBe("12");
    expect(notice.getAttribute("data-status")).toBe("pending_approval");
    expect(notice.textContent).toContain("Refund 12 approved: awaiting Manager");
    expect(calls.filter((c) => c.cmd === "refunds_approve").map((c) => c.args)).toEqual([{ id: 12, comment: null }]);
    await waitFor(() => expect(screen.queryByTestId("inbox-row-12")).toBeNull());

    fireEvent.click(screen.getByTestId("inbox-open-1"));
    fireEvent.click(screen.getByTestId("inbox-approve-1"));
    fireEvent.click(screen.getByTestId("inbox-confirm-1"));
    await waitFor(() => expect(screen.getByTestId("inbox-notice").getAttribute("data-id")).toBe("1"));
    expect(screen.getByTestId("inbox-notice").getAttribute("data-status")).toBe("approved");
    expect(screen.getByTestId("inbox-notice").textContent).toContain("Refund 1 approved: will be submitted");
  });

  it("confirms in Chinese too", async () => {
    await useLanguage("zh");
    ipc((cmd) => {
      if (cmd === "refunds_list") return { items: [PENDING[0]], next_after: null };
      if (cmd === "case_file") throw { code: "lookup.not_found", message: "no such order" };
      throw new Error(`unexpected ${cmd}`);
    });
    renderSignedIn(<InboxScreen />, { ...FABIO, language: "zh" });
    fireEvent.click(await screen.findByTestId("inbox-open-1"));
    fireEvent.click(screen.getByTestId("inbox-approve-1"));
    expect(screen.getByTestId("inbox-confirm-step-1").textContent).toContain("批准退款 1？");
    expect(screen.getByTestId("inbox-payee-1").textContent).toContain("无订单记录");
  });
});
