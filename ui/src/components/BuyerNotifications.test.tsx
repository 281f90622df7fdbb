import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { BuyerNotifications } from "./BuyerNotifications";
import { ADMIN, ANA, FABIO, MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { NotificationLogEntry, NotificationPreview } from "../bindings";

const ORDER = "CO-1001";

/** The voucher e-mail to the buyer: what the log records and the preview shows. */
const MESSAGE = {
  order_id: ORDER,
  kind: "voucher_instructions",
  channel: "email",
  locale: "es-CO",
  recipient: "jose.nunez@example.com",
  subject: "Tu código de pago Efecty: 4000005001",
} satisfies Partial<NotificationPreview>;

function entry(id: number, over: Partial<NotificationLogEntry> = {}): NotificationLogEntry {
  return {
    id,
    ...MESSAGE,
    status: "sent",
    attempts: 1,
    last_error: null,
    provider_message_id: "<m1@smtp>",
    trigger: "event",
    triggered_by: "system",
    queued_at: "2026-03-04T15:00:00Z",
    sent_at: "2026-03-04T15:00:05Z",
    next_attempt_at: null,
    ...over,
  };
}

const LOG = [
  entry(7, { kind: "payment_received", channel: "sms", recipient: "+573001234567", status: "failed", attempts: 3, last_error: "HTTP 503 from the SMS provider", sent_at: null, trigger: "manual", triggered_by: "ana" }),
  entry(3),
];

const PREVIEW: NotificationPreview = {
  ...MESSAGE,
  text: "Hola José Núñez,\nPaga $ 125.000 en Efecty con el código 4000005001.",
  html: "<p>Hola</p>",
};

/** The core, with a log that grows on each accepted re-send. */
function core(opts: { refuse?: { code: string; message: string } } = {}) {
  const log = [...LOG];
  const calls = ipc((cmd, args) => {
    if (cmd === "notification_log") return [...log];
    if (cmd === "notification_preview") return PREVIEW;
    if (cmd === "notification_resend") {
      if (opts.refuse) throw opts.refuse;
      const id = 8;
      log.unshift(entry(id, { status: "queued", sent_at: null, attempts: 0, provider_message_id: null, trigger: args.override_limit ? "override" : "manual", triggered_by: "ana", queued_at: "2026-03-05T14:00:00Z" }));
      return id;
    }
    throw { code: "ipc", message: `unexpected ${cmd}` };
  });
  return calls;
}

const rowIds = () => screen.getAllByTestId(/^notification-row-/).map((r) => r.dataset.testid);

describe("buyer notifications panel", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("lists the order's log newest first with status, attempts, error and trigger", async () => {
    const calls = core();
    renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />);
    await screen.findByTestId("notification-row-7");
    expect(calls.find((c) => c.cmd === "notification_log")?.args).toEqual({ order_id: ORDER, limit: 100 });
    expect(rowIds()).toEqual(["notification-row-7", "notification-row-3"]);
    const failed = screen.getByTestId("notification-row-7");
    expect(failed.dataset.status).toBe("failed");
    const cells = [...failed.querySelectorAll("td")].map((td) => td.textContent);
    expect([...cells.slice(0, 3), ...cells.slice(4)]).toEqual(["Payment received", "SMS", "+573001234567", "—", "Failed", "3", "HTTP 503 from the SMS provider", "Manual · ana"]);
    // Queued time in local and market time (the When component).
    expect(cells[3]).toMatch(/ your time · 10:00 Bogotá time$/);
    const sent = screen.getByTestId("notification-row-3");
    expect(sent.dataset.status).toBe("sent");
    expect(sent.textContent).toContain("Event · system");
  });

  it("previews the rendered subject and text in a dialog, then queues and shows the new queued row", async () => {
    const calls = core();
    renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />);
    await screen.findByTestId("notification-row-7");
    fireEvent.change(screen.getByTestId("resend-kind"), { target: { value: "voucher_instructions" } });
    fireEvent.change(screen.getByTestId("resend-channel"), { target: { value: "email" } });
    fireEvent.click(screen.getByTestId("resend-preview"));
    await screen.findByTestId("resend-preview-dialog");
    expect(calls.find((c) => c.cmd === "notification_preview")?.args).toEqual({ order_id: ORDER, kind: "voucher_instructions", channel: "email" });
    expect(screen.getByTestId("preview-subject").textContent).toBe("Tu código de pago Efecty: 4000005001");
    expect(screen.getByTestId("preview-text").textContent).toBe(PREVIEW.text);
    expect(screen.getByTestId("preview-recipient").textContent).toBe("jose.nunez@example.com");
    expect(calls.filter((c) => c.cmd === "notification_resend")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("resend-preview-dialog-close"));
    expect(screen.queryByTestId("resend-preview-dialog")).toBeNull();

    fireEvent.click(screen.getByTestId("resend-submit"));
    const row = await screen.findByTestId("notification-row-8");
    expect(row.dataset.status).toBe("queued");
    expect(row.dataset.trigger).toBe("manual");
    expect(rowIds()).toEqual(["notification-row-8", "notification-row-7", "notification-row-3"]);
    expect(calls.filter((c) => c.cmd === "notification_resend").map((c) => c.args)).toEqual([
      { order_id: ORDER, kind: "voucher_instructions", channel: "email", override_limit: false },
    ]);
    expect(calls.filter((c) => c.cmd === "notification_log")).toHaveLength(2);
    expect(screen.getByTestId("resend-queued").textContent).toBe("Re-send queued (message 8)");
  });

  it("shows the core's resend_limit refusal and adds no row", async () => {
    const message = "order CO-1001 was already re-sent 3 times in the last 24 h (limit 3); a manager may override";
    const calls = core({ refuse: { code: "notifications.resend_limit", message } });
    renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />, ANA);
    await screen.findByTestId("notification-row-7");
    fireEvent.click(screen.getByTestId("resend-submit"));
    const notice = await screen.findByTestId("resend-error");
    expect(notice.dataset.code).toBe("notifications.resend_limit");
    expect(screen.getByTestId("resend-error-headline").textContent).toBe("The daily re-send limit for this order is reached");
    expect(screen.getByTestId("resend-error-detail").textContent).toBe(message);
    expect(rowIds()).toEqual(["notification-row-7", "notification-row-3"]);
    expect(screen.queryByTestId("resend-queued")).toBeNull();
    expect(calls.filter((c) => c.cmd === "notification_log")).toHaveLength(1);
  });

  it("offers the override checkbox to a manager and an admin only, and sends it", async () => {
    core();
    const view = renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />, ANA);
    await screen.findByTestId("notification-row-7");
    expect(screen.queryByTestId("resend-override")).toBeNull();
    view.unmount();

    for (const operator of [FABIO]) {
      const v = renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />, operator);
      await screen.findByTestId("notification-row-7");
      expect(screen.queryByTestId("resend-override")).toBeNull();
      v.unmount();
    }

    const admin = renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />, ADMIN);
    await screen.findByTestId("notification-row-7");
    expect(screen.getByTestId("resend-override")).toBeTruthy();
    admin.unmount();

    const calls = core();
    renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />, MARTA);
    await screen.findByTestId("notification-row-7");
    fireEvent.click(screen.getByTestId("resend-override"));
    fireEvent.click(screen.getByTestId("resend-submit"));
    const row = await screen.findByTestId("notification-row-8");
    expect(row.dataset.trigger).toBe("override");
    expect(calls.find((c) => c.cmd === "notification_resend")?.args.override_limit).toBe(true);
    await waitFor(() => expect((screen.getByTestId("resend-override") as HTMLInputElement).checked).toBe(false));
  });

  it("speaks Spanish and Chinese", async () => {
    core();
    await useLanguage("es");
    const view = renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />);
    await screen.findByTestId("notification-row-7");
    expect(screen.getByRole("heading").textContent).toBe("Notificaciones al comprador");
    expect(screen.getByTestId("resend-submit").textContent).toBe("Poner reenvío en cola");
    view.unmount();
    await useLanguage("zh");
    renderSignedIn(<BuyerNotifications orderId={ORDER} country="CO" />);
    await screen.findByTestId("notification-row-7");
    expect(screen.getByRole("heading").textContent).toBe("买家通知");
    expect(screen.getByTestId("notification-row-7").querySelector('[data-testid="notification-status"]')?.textContent).toBe("失败");
    await useLanguage("en");
  });
});
