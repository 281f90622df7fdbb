import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { VoucherActionsPanel } from "./VoucherActions";
import { ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { VoucherActions } from "../bindings";

const ACTIONS: VoucherActions = {
  order_id: "PE-7",
  psp: "pagoefectivo",
  issue: { action: "issue", allowed: true, code: null, reason: null },
  extend: { action: "extend", allowed: false, code: "vouchers.no_open_voucher", reason: "order PE-7 has no unpaid voucher" },
  cancel: { action: "cancel", allowed: false, code: "auth.forbidden", reason: "ana (support) may not cancel vouchers" },
  default_hours: 48,
};

describe("voucher actions", () => {
  it("issues a new voucher after a confirmation, with the hours the operator typed", async () => {
    await useLanguage("en");
    let done = 0;
    const calls = ipc((cmd, args) => {
      if (cmd === "voucher_actions") return ACTIONS;
      if (cmd === "voucher_issue")
        return {
          action: "issue", order_id: "PE-7", psp: "pagoefectivo", payment_id: "2600001", voucher_code: "2600001", amount_minor: 8990, currency: "PEN",
          expires_at: "2026-12-08T16:00:00Z", status: "pending", reference: "PE-7-V1", replayed: false, messages_queued: [3, 4], message_error: null, ...args,
        };
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<VoucherActionsPanel orderId="PE-7" onDone={() => (done += 1)} />);
    const extend = (await screen.findByTestId("voucher-extend")) as HTMLButtonElement;
    expect(extend.disabled).toBe(true);
    expect(screen.getByTestId("voucher-extend-why").textContent).toBe("No unpaid voucher");
    expect(screen.getByTestId("voucher-cancel-why").textContent).toBe("Not allowed for your role");

    fireEvent.click(screen.getByTestId("voucher-issue"));
    const hours = (await screen.findByTestId("voucher-hours")) as HTMLInputElement;
    expect(hours.value).toBe("48");
    fireEvent.change(hours, { target: { value: "96" } });
    expect((screen.getByTestId("voucher-confirm") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(hours, { target: { value: "36" } });
    fireEvent.click(screen.getByTestId("voucher-confirm"));
    const notice = await screen.findByTestId("voucher-done");
    expect(notice.dataset.code).toBe("2600001");
    expect(notice.textContent).toContain("New voucher 2600001 issued:");
    expect(notice.textContent).toContain("buyer messages queued: 2");
    expect(calls.find((c) => c.cmd === "voucher_issue")?.args).toEqual({ order_id: "PE-7", hours: 36 });
    await waitFor(() => expect(done).toBe(1));
  });

  it("says why in the language, not in the core's English", async () => {
    await useLanguage("zh");
    ipc((cmd) => {
      if (cmd === "voucher_actions") return ACTIONS;
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<VoucherActionsPanel orderId="PE-7" onDone={() => undefined} />);
    expect((await screen.findByTestId("voucher-cancel-why")).textContent).toBe("您的角色无权执行");
    await useLanguage("en");
  });
});
