import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { LedgerExportPanel, suggestedName } from "./LedgerExportPanel";

describe("ledger export panel", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("suggests a file name that says what, when and where", () => {
    expect(suggestedName("payments", "2026-03-14", "2026-03-20", "CO", "xlsx")).toBe("voucherdesk-payments-2026-03-14-2026-03-20-CO.xlsx");
    expect(suggestedName("settlements", "2026-03-01", "2026-03-31", "all", "csv")).toBe("voucherdesk-settlements-2026-03-01-2026-03-31.csv");
  });

  it("exports the chosen rows, range, PSP and store in the dashboard's market to the file picked", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "pick_save_path") return { token: "tok-9", name: "out.csv", path: "/exports/out.csv" };
      if (cmd === "export_ledger") return { rows: 42 };
      return null;
    });
    renderSignedIn(<LedgerExportPanel market="PE" asOf="2026-03-20" />, ANA);
    expect((screen.getByTestId("ledger-export-from") as HTMLInputElement).value).toBe("2026-03-14");
    fireEvent.change(screen.getByTestId("ledger-export-rows"), { target: { value: "settlements" } });
    fireEvent.change(screen.getByTestId("ledger-export-psp"), { target: { value: "pagoefectivo" } });
    fireEvent.change(screen.getByTestId("ledger-export-store"), { target: { value: " Tienda Lima " } });
    fireEvent.change(screen.getByTestId("ledger-export-format"), { target: { value: "csv" } });
    fireEvent.click(screen.getByTestId("ledger-export-save"));
    await waitFor(() => expect(screen.getByTestId("ledger-export-done").textContent).toBe("42 row(s) written to /exports/out.csv"));
    expect(calls.find((c) => c.cmd === "pick_save_path")?.args).toEqual({
      title: "Save the export",
      file_name: "voucherdesk-settlements-2026-03-14-2026-03-20-PE.csv",
      kind: "csv",
    });
    expect(calls.find((c) => c.cmd === "export_ledger")?.args).toEqual({
      rows: "settlements",
      from: "2026-03-14",
      to: "2026-03-20",
      psp: "pagoefectivo",
      market: "PE",
      store: "Tienda Lima",
      token: "tok-9",
    });
  });

  it("writes nothing when the dialog is cancelled, and shows the core's refusal", async () => {
    let cancelled = true;
    const calls = ipc((cmd) => {
      if (cmd === "pick_save_path") return cancelled ? null : { token: "tok-1", name: "x.xlsx", path: "/x.xlsx" };
      if (cmd === "export_ledger") throw { code: "exports.backwards", message: "the range ends (2026-03-01) before it starts (2026-03-20)" };
      return null;
    });
    renderSignedIn(<LedgerExportPanel market="all" asOf="2026-03-20" />, ANA);
    fireEvent.click(screen.getByTestId("ledger-export-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "pick_save_path")).toBe(true));
    // The cancelled submission has finished once the button is enabled again; a click before is ignored.
    await waitFor(() => expect((screen.getByTestId("ledger-export-save") as HTMLButtonElement).disabled).toBe(false));
    expect(calls.some((c) => c.cmd === "export_ledger")).toBe(false);
    cancelled = false;
    fireEvent.click(screen.getByTestId("ledger-export-save"));
    await waitFor(() => expect(screen.getByTestId("ledger-export-error").textContent).toContain("the range ends (2026-03-01) before it starts (2026-03-20)"));
    expect(screen.queryByTestId("ledger-export-done")).toBeNull();
  });
});
