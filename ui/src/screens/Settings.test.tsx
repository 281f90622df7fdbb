import { beforeEach, describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ADMIN, ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { SettingsScreen } from "./Settings";

const SETTINGS = { settlement_lag_days: 3, amount_tolerance_minor: 0, idle_lock_minutes: 15 };

/** The core as an admin's settings screen finds it: the settings, and no operators yet. */
function adminCore(cmd: string): unknown {
  if (cmd === "settings_get") return SETTINGS;
  if (cmd === "operators_list") return [];
  return null;
}

describe("settings", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("offers the idle lock the core accepts: 1 to 480 minutes, no 'never'", async () => {
    ipc(adminCore);
    renderSignedIn(<SettingsScreen />, ADMIN);
    const input = (await screen.findByTestId("settings-idle")) as HTMLInputElement;
    await waitFor(() => expect(input.value).toBe("15"));
    expect(input.min).toBe("1");
    expect(input.max).toBe("480");
    const label = input.closest("label")?.textContent ?? "";
    expect(label).toBe("Idle lock (1–480 minutes)");
    expect(label).not.toContain("never");
  });
});

describe("settings for a role that cannot change them", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("shows support the values read-only, no Save, and who may change them", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "settings_get") return SETTINGS;
      return null;
    });
    renderSignedIn(<SettingsScreen />, ANA);
    const idle = (await screen.findByTestId("settings-idle")) as HTMLInputElement;
    await waitFor(() => expect(idle.value).toBe("15"));
    for (const id of ["settings-lag", "settings-tolerance", "settings-idle"]) expect((screen.getByTestId(id) as HTMLInputElement).disabled).toBe(true);
    expect(screen.queryByTestId("settings-save")).toBeNull();
    expect(screen.getByTestId("settings-read-only").textContent).toBe("Read-only for your role: only an Admin can change these settings.");
    expect(calls.some((c) => c.cmd === "settings_set")).toBe(false);
    expect(screen.queryByTestId("settings-operators")).toBeNull();
  });

  it("lets the admin edit and save", async () => {
    ipc(adminCore);
    renderSignedIn(<SettingsScreen />, ADMIN);
    const idle = (await screen.findByTestId("settings-idle")) as HTMLInputElement;
    await waitFor(() => expect(idle.disabled).toBe(false));
    expect(screen.getByTestId("settings-save")).toBeTruthy();
    expect(screen.queryByTestId("settings-read-only")).toBeNull();
  });
});
