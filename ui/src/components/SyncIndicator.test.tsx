import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { SyncIndicator, syncState } from "./SyncIndicator";
import { RefreshFromPsp } from "./RefreshFromPsp";
import { ANA, MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { SYNC_RUNNING } from "../mock/fixtures";

describe("the sync indicator", () => {
  it("names every state, errors and pause first", () => {
    expect(syncState(SYNC_RUNNING)).toBe("ok");
    expect(syncState({ ...SYNC_RUNNING, errors_last_hour: 2 })).toBe("error");
    expect(syncState({ ...SYNC_RUNNING, paused: true, errors_last_hour: 2 })).toBe("paused");
    expect(syncState({ ...SYNC_RUNNING, runner: "problem" })).toBe("problem");
    expect(syncState({ ...SYNC_RUNNING, runner: "waiting_for_operator" })).toBe("waiting");
  });

  it("shows the queue and lets a manager pause (the core answers)", async () => {
    await useLanguage("en");
    const calls = ipc((cmd) => {
      if (cmd === "sync_status") return SYNC_RUNNING;
      if (cmd === "sync_pause") return { ...SYNC_RUNNING, paused: true, paused_by: "marta" };
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<SyncIndicator />, MARTA);
    const indicator = await screen.findByTestId("sync-indicator");
    await waitFor(() => expect(indicator.getAttribute("data-state")).toBe("ok"));
    // An icon in the header: its state is its name and tooltip; the details open from it.
    const button = screen.getByTestId("sync-details-button");
    expect(button.getAttribute("aria-label")).toBe("Sync running");
    expect(indicator.getAttribute("title")).toBe("Sync running\nRuns as marta\nQueue: 42\nErrors (1 h): 0");
    expect(screen.queryByTestId("sync-queue")).toBeNull();
    fireEvent.click(button);
    expect(screen.getByTestId("sync-queue").textContent).toBe("Queue: 42");
    fireEvent.click(screen.getByTestId("sync-pause"));
    await waitFor(() => expect(screen.getByTestId("sync-indicator").getAttribute("data-state")).toBe("paused"));
    expect(screen.getByTestId("sync-resume")).toBeTruthy();
    expect(calls.map((c) => c.cmd)).toEqual(["sync_status", "sync_pause"]);
  });

  it("offers support no pause button and shows why the sync cannot run, with its code", async () => {
    ipc(() => ({ ...SYNC_RUNNING, runner: "problem", runner_code: "credentials.keyring_unavailable", runner_message: "the OS credential store is unavailable" }));
    renderSignedIn(<SyncIndicator />, ANA);
    fireEvent.click(await screen.findByTestId("sync-details-button"));
    const code = await screen.findByTestId("sync-error-code");
    expect(code.textContent).toBe("credentials.keyring_unavailable");
    expect(screen.queryByTestId("sync-pause")).toBeNull();
  });
});

describe("refresh from PSP", () => {
  it("shows the PSP's answer and reloads the case file", async () => {
    await useLanguage("en");
    let reloaded = 0;
    const calls = ipc((cmd) => {
      if (cmd === "refresh_from_psp")
        return { psp: "dlocal", payment_id: "D-1", before: "pending", after: "paid", psp_status: "PAID", recorded: true, reconciled: false };
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<RefreshFromPsp psp="dlocal" paymentId="D-1" onRefreshed={() => (reloaded += 1)} />);
    fireEvent.click(screen.getByTestId("refresh-psp-button"));
    const result = await screen.findByTestId("refresh-result");
    expect(result.textContent).toBe("dlocal says PAID. Status pending → paid. New timeline entry (source: API).");
    expect(calls[0]).toEqual({ cmd: "refresh_from_psp", args: { psp: "dlocal", payment_id: "D-1" } });
    expect(reloaded).toBe(1);
  });

  it("shows a refusal with its code", async () => {
    ipc(() => {
      throw { code: "dlocal.credentials", message: "dLocal payment: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials." };
    });
    renderSignedIn(<RefreshFromPsp psp="dlocal" paymentId="D-1" onRefreshed={() => undefined} />);
    fireEvent.click(screen.getByTestId("refresh-psp-button"));
    expect((await screen.findByTestId("refresh-error-code")).textContent).toBe("dlocal.credentials");
    expect(screen.getByTestId("refresh-error-notice-detail").textContent).toContain("dLocal code 3001");
  });
});
