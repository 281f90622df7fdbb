import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import "../i18n";
import { NotificationsScreen } from "./Notifications";
import { ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { DelivererStatus, NotificationLogEntry } from "../bindings";

const RUNNING: DelivererStatus = {
  state: "running",
  last_round_at: "2026-03-20T15:00:00Z",
  last_sent: 2,
  last_retrying: 1,
  last_failed: 1,
  error_code: null,
  error_message: null,
};

function entry(id: number, status: string, over: Partial<NotificationLogEntry> = {}): NotificationLogEntry {
  return {
    id,
    order_id: `CO-10${id}`,
    kind: "voucher_instructions",
    channel: "email",
    locale: "es-CO",
    recipient: `buyer${id}@correo.example`,
    subject: "Tu código de pago",
    status,
    attempts: 5,
    last_error: status === "failed" ? "SMTP refused: 550 5.1.1 mailbox unavailable (attempt 5 of 5)" : null,
    provider_message_id: null,
    trigger: "manual",
    triggered_by: "ana",
    queued_at: "2026-03-20T14:00:00Z",
    sent_at: null,
    next_attempt_at: null,
    ...over,
  };
}

describe("Notifications screen", () => {
  it("lists the failures with their error and retries one, then the selected ones, through the core", async () => {
    await useLanguage("en");
    let failed = [entry(7, "failed"), entry(9, "failed", { channel: "sms", recipient: "+573001234567" })];
    const calls = ipc((cmd, args) => {
      if (cmd === "notification_deliverer_status") return RUNNING;
      if (cmd === "notification_log") {
        if (args.status === "failed") return failed;
        if (args.status === "unknown") return [entry(3, "unknown", { last_error: "interrupted while sending" })];
        return [...failed, entry(5, "sent")];
      }
      if (cmd === "notification_retry") {
        const ids = args.ids as number[];
        failed = failed.filter((f) => !ids.includes(f.id));
        return { retried: ids, refused: [] };
      }
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<NotificationsScreen />, ANA);
    const header = await screen.findByTestId("deliverer-status");
    expect(header.getAttribute("data-state")).toBe("running");
    expect(header.textContent).toContain("last round: 2 sent, 1 to retry, 1 failed");

    const table = await screen.findByTestId("outbox-failures-table");
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows.map((r) => r.getAttribute("data-testid"))).toEqual(["failure-row-9", "failure-row-7", "failure-row-3"]);
    expect(within(screen.getByTestId("failure-row-7")).getByTestId("outbox-error").textContent).toBe(
      "SMTP refused: 550 5.1.1 mailbox unavailable (attempt 5 of 5)",
    );
    expect(screen.getByTestId("failure-row-7").textContent).toContain("CO-107");
    // An unknown one cannot be retried: no button, no checkbox.
    expect(within(screen.getByTestId("failure-row-3")).queryByRole("button", { name: "Retry" })).toBeNull();
    expect((screen.getByTestId("failure-select-3") as HTMLInputElement).disabled).toBe(true);

    fireEvent.click(screen.getByTestId("failure-retry-7"));
    await waitFor(() => expect(screen.getByTestId("retry-outcome").getAttribute("data-retried")).toBe("1"));
    expect(calls.filter((c) => c.cmd === "notification_retry").map((c) => c.args)).toEqual([{ ids: [7] }]);
    await waitFor(() => expect(screen.queryByTestId("failure-row-7")).toBeNull());

    expect((screen.getByTestId("outbox-retry-selected") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId("failure-select-9"));
    fireEvent.click(screen.getByTestId("outbox-retry-selected"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "notification_retry").length).toBe(2));
    expect(calls.filter((c) => c.cmd === "notification_retry")[1]?.args).toEqual({ ids: [9] });
  });

  it("shows a refused retry and an error by its code, and the deliverer's problem", async () => {
    await useLanguage("en");
    let retryAnswer: "refused" | "error" = "refused";
    ipc((cmd, args) => {
      if (cmd === "notification_deliverer_status")
        return { ...RUNNING, state: "problem", error_code: "notifications.keyring", error_message: "the OS credential store: no Secret Service" };
      if (cmd === "notification_log") return args.status === "failed" ? [entry(7, "failed")] : [];
      if (cmd === "notification_retry") {
        if (retryAnswer === "error") throw { code: "auth.required", message: "nobody is signed in" };
        return {
          retried: [],
          refused: [{ id: 7, code: "notifications.not_retryable", message: "notification 7 is queued: only a failed message can be retried (this one is already with the deliverer)" }],
        };
      }
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<NotificationsScreen />, ANA);
    const problem = await screen.findByTestId("deliverer-problem");
    expect(problem.getAttribute("data-code")).toBe("notifications.keyring");
    expect(problem.textContent).toContain("no Secret Service");

    fireEvent.click(await screen.findByTestId("failure-retry-7"));
    const refused = await screen.findByTestId("retry-refused-7");
    expect(refused.getAttribute("data-code")).toBe("notifications.not_retryable");
    expect(screen.getByTestId("retry-outcome").getAttribute("data-refused")).toBe("1");

    retryAnswer = "error";
    fireEvent.click(screen.getByTestId("failure-retry-7"));
    const alert = await screen.findByRole("alert");
    expect(alert.getAttribute("data-code")).toBe("auth.required");
    expect(alert.textContent).toContain("Please sign in");
  });

  it("filters the recent outbox by status", async () => {
    await useLanguage("en");
    const calls = ipc((cmd, args) => {
      if (cmd === "notification_deliverer_status") return { ...RUNNING, state: "not_configured", last_round_at: null };
      if (cmd === "notification_log") return args.status === "sent" ? [entry(5, "sent")] : args.status ? [] : [entry(5, "sent"), entry(6, "queued")];
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<NotificationsScreen />, ANA);
    expect((await screen.findByTestId("deliverer-status")).textContent).toContain("Delivery not configured");
    await screen.findByTestId("outbox-row-6");
    fireEvent.change(screen.getByTestId("outbox-filter"), { target: { value: "sent" } });
    await waitFor(() => expect(screen.queryByTestId("outbox-row-6")).toBeNull());
    expect(screen.getByTestId("outbox-row-5").getAttribute("data-status")).toBe("sent");
    expect(calls.some((c) => c.cmd === "notification_log" && c.args.status === "sent" && c.args.limit === 200)).toBe(true);
    expect(screen.getByTestId("outbox-failures-empty")).toBeTruthy();
  });

  it("shows a daily report email by its report, with no case file to open", async () => {
    await useLanguage("es");
    ipc((cmd) => {
      if (cmd === "notification_deliverer_status") return RUNNING;
      if (cmd === "notification_log")
        return [entry(7, "sent", { kind: "daily_report", order_id: "daily-report PE 2026-03-19", recipient: "finanzas@tienda.example, jefe@tienda.example", triggered_by: "(daily report)" })];
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<NotificationsScreen />, ANA);
    const row = await screen.findByTestId("outbox-row-7");
    expect(row.textContent).toContain("Reporte diario (equipo)");
    const ref = within(row).getByTestId("outbox-order-7");
    expect(ref.tagName).toBe("SPAN");
    expect(ref.className).toContain("mono");
    expect(ref.textContent).toBe("daily-report PE 2026-03-19");
    await useLanguage("en");
  });
});
