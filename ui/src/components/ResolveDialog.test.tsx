import { beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen } from "@testing-library/react";
import "../i18n";
import { ResolveDialog } from "./ResolveDialog";
import { ANA, MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";

describe("resolve dialog", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("requires a note before asking the core", async () => {
    const calls = ipc(() => ({ resolved: 1, failed: [] }));
    renderSignedIn(<ResolveDialog ids={["EX-1"]} role="manager" onClose={() => undefined} onResolved={() => undefined} />, MARTA);
    fireEvent.click(screen.getByTestId("resolve-submit"));
    expect(await screen.findByTestId("resolve-note-required")).toBeTruthy();
    expect(calls).toHaveLength(0);
  });

  it("shows 'not allowed for your role' when support tries a write-off", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "resolve_exceptions") throw { code: "auth.forbidden", message: "ana (support) may not resolve exceptions with write_off" };
      return null;
    });
    renderSignedIn(<ResolveDialog ids={["EX-1"]} role="support" onClose={() => undefined} onResolved={() => undefined} />, ANA);
    // The manager-only actions are listed, marked as such.
    expect(screen.getByTestId("resolve-action-write_off").textContent).toBe("Write off (manager)");
    fireEvent.change(screen.getByTestId("resolve-action"), { target: { value: "write_off" } });
    fireEvent.change(screen.getByTestId("resolve-note"), { target: { value: "buyer never paid" } });
    fireEvent.click(screen.getByTestId("resolve-submit"));
    const error = await screen.findByTestId("resolve-error");
    expect(error.dataset.code).toBe("auth.forbidden");
    expect(screen.getByTestId("resolve-error-headline").textContent).toBe("Not allowed for your role");
    expect(screen.getByTestId("resolve-error-detail").textContent).toBe("ana (support) may not resolve exceptions with write_off");
    expect(calls[0]?.args).toEqual({ ids: ["EX-1"], action: "write_off", note: "buyer never paid" });
  });

  it("in Chinese too", async () => {
    ipc(() => {
      throw { code: "auth.forbidden", message: "ana (support) may not resolve exceptions with write_off" };
    });
    await useLanguage("zh");
    renderSignedIn(<ResolveDialog ids={["EX-1"]} role="support" initialAction="write_off" onClose={() => undefined} onResolved={() => undefined} />, ANA);
    fireEvent.change(screen.getByTestId("resolve-note"), { target: { value: "x" } });
    fireEvent.click(screen.getByTestId("resolve-submit"));
    expect((await screen.findByTestId("resolve-error-headline")).textContent).toBe("您的角色无权执行此操作");
    await useLanguage("en");
  });

  it("reports a bulk outcome with the ones that failed", async () => {
    ipc(() => ({ resolved: 2, failed: [{ id: "EX-3", code: "exceptions.already_closed", message: "exception EX-3 is already resolved" }] }));
    const onResolved = vi.fn();
    renderSignedIn(<ResolveDialog ids={["EX-1", "EX-2", "EX-3"]} role="manager" onClose={() => undefined} onResolved={onResolved} />, MARTA);
    fireEvent.change(screen.getByTestId("resolve-note"), { target: { value: "checked with the PSP" } });
    fireEvent.click(screen.getByTestId("resolve-submit"));
    expect((await screen.findByTestId("resolve-result-resolved")).dataset.resolved).toBe("2");
    expect(screen.getByTestId("resolve-failure-EX-3").dataset.code).toBe("exceptions.already_closed");
    expect(onResolved).toHaveBeenCalledWith({ resolved: 2, failed: [{ id: "EX-3", code: "exceptions.already_closed", message: "exception EX-3 is already resolved" }] });
  });

  it("offers ranked candidates for link and sends the chosen target", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "link_candidates") return [{ order_id: "CO-1009", psp: "", payment_id: "", amount_minor: 12_500_000, currency: "COP", at: "2026-03-02T14:15:00Z", buyer_name: "José Núñez" }];
      if (cmd === "resolve_exceptions") return { resolved: 1, failed: [] };
      return null;
    });
    renderSignedIn(<ResolveDialog ids={["EX-9"]} role="manager" initialAction="link" onClose={() => undefined} onResolved={() => undefined} />, MARTA);
    fireEvent.click(await screen.findByTestId("resolve-candidate-CO-1009"));
    fireEvent.change(screen.getByTestId("resolve-note"), { target: { value: "same buyer and amount" } });
    fireEvent.click(screen.getByTestId("resolve-submit"));
    await screen.findByTestId("resolve-result");
    expect(calls.find((c) => c.cmd === "resolve_exceptions")?.args).toEqual({ ids: ["EX-9"], action: "link", note: "same buyer and amount", link: { order: "CO-1009" } });
  });
});
