import { beforeEach, describe, expect, it } from "vitest";
import { screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { Operator } from "../api/types";
import { SettingsScreen } from "./Settings";

const ADMIN: Operator = { name: "admin", role: "admin", language: "en" };

describe("settings", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("offers the idle lock the core accepts: 1 to 480 minutes, no 'never'", async () => {
    ipc((cmd) => {
      if (cmd === "settings_get") return { settlement_lag_days: 3, amount_tolerance_minor: 0, idle_lock_minutes: 15 };
      if (cmd === "operators_list") return [];
      return null;
    });
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
