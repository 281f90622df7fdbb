import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { App } from "../App";
import { ipc, STATUS, useLanguage } from "../test/helpers";

const REPORTS = {
  count: 2,
  folder: "/home/ana/.local/share/voucherdesk/crash-reports",
  newest: "/home/ana/.local/share/voucherdesk/crash-reports/crash-20261206T070001.000000000Z.txt",
};

describe("crash notice", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("says how many reports were saved, opens their folder, and dismisses until the next crash", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "app_status") return { ...STATUS, crash_reports: REPORTS, cannot_open: null };
      return null;
    });
    render(<App />);
    const notice = await screen.findByTestId("crash-notice");
    expect(notice.textContent).toContain(
      "VoucherDesk closed unexpectedly Crash reports saved on this computer since you last looked: 2. Nothing was sent anywhere; you may pass them on to support.",
    );
    expect(screen.getByTestId("crash-notice-folder").textContent).toBe(REPORTS.folder);
    // The sign-in screen is there beside it.
    expect(screen.getByTestId("sign-in-submit")).toBeTruthy();

    fireEvent.click(screen.getByTestId("crash-notice-open"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "crash_reports_open_folder")).toHaveLength(1));
    expect(calls.find((c) => c.cmd === "crash_reports_open_folder")?.args).toEqual({});
    expect(screen.getByTestId("crash-notice")).toBeTruthy();

    fireEvent.click(screen.getByTestId("crash-notice-dismiss"));
    await waitFor(() => expect(screen.queryByTestId("crash-notice")).toBeNull());
    expect(calls.filter((c) => c.cmd === "crash_reports_dismiss")).toHaveLength(1);
  });

  it("shows the error when the folder cannot be opened and stays", async () => {
    ipc((cmd) => {
      if (cmd === "app_status") return { ...STATUS, crash_reports: REPORTS };
      if (cmd === "crash_reports_open_folder") throw { code: "internal", message: "xdg-open: not found" };
      return null;
    });
    render(<App />);
    fireEvent.click(await screen.findByTestId("crash-notice-open"));
    await waitFor(() => expect(screen.getByTestId("crash-notice").textContent).toContain("xdg-open: not found"));
  });

  it("is not there without unseen reports", async () => {
    ipc((cmd) => (cmd === "app_status" ? { ...STATUS, crash_reports: null } : null));
    render(<App />);
    await screen.findByTestId("sign-in-submit");
    expect(screen.queryByTestId("crash-notice")).toBeNull();
  });
});
