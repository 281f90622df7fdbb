import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ANA, MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { DailyReportPanel, recipientList } from "./DailyReportPanel";

const SCHEDULE = { at: "06:30", markets: ["CO"], recipients: ["finanzas@tienda.example", "jefe@tienda.example"], format: "xlsx", set_by: "marta" };

const REPORT = {
  date: "2026-03-19",
  markets: [
    {
      market: "CO",
      files: ["/reports/voucherdesk-daily-2026-03-19-CO-payments.xlsx", "/reports/voucherdesk-daily-2026-03-19-CO-settlements.xlsx", "/reports/voucherdesk-daily-2026-03-19-CO.pdf"],
    },
  ],
};

describe("daily report panel", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("reads recipients one per line or separated by commas", () => {
    expect(recipientList(" a@x.example,\nb@x.example ; \n\n")).toEqual(["a@x.example", "b@x.example"]);
  });

  it("shows support the schedule without a way to change it", async () => {
    ipc((cmd) => (cmd === "daily_report_schedule" ? SCHEDULE : null));
    renderSignedIn(<DailyReportPanel market="all" asOf="2026-03-20" />, ANA);
    await waitFor(() => expect(screen.getByTestId("daily-report-schedule-state").textContent).toContain("06:30"));
    expect(screen.getByTestId("daily-report-schedule-state").textContent).toBe(
      "The previous market day's report is emailed at 06:30 on each market's clock (CO) to finanzas@tienda.example, jefe@tienda.example; made as marta.",
    );
    expect(screen.queryByTestId("daily-report-schedule-save")).toBeNull();
    expect(screen.getByText("A manager or an admin sets when it is emailed, and to whom.")).toBeTruthy();
  });

  it("writes the market's report into the folder picked, for the date chosen", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "daily_report_schedule") return null;
      if (cmd === "backup_pick_folder") return { token: "tok-1", path: "/reports", name: "reports" };
      if (cmd === "daily_report_write") return REPORT;
      return null;
    });
    renderSignedIn(<DailyReportPanel market="CO" asOf="2026-03-20" />, ANA);
    fireEvent.change(screen.getByTestId("daily-report-date"), { target: { value: "2026-03-19" } });
    fireEvent.click(screen.getByTestId("daily-report-write"));
    const made = await screen.findByTestId("daily-report-made");
    expect(calls.find((c) => c.cmd === "daily_report_write")?.args).toEqual({ date: "2026-03-19", market: "CO", format: "xlsx", folder_token: "tok-1" });
    expect(made.textContent).toContain("3 file(s) written for 2026-03-19:");
    expect(made.textContent).toContain("/reports/voucherdesk-daily-2026-03-19-CO.pdf");
  });

  it("lets a manager set and stop the email schedule, sending what was typed", async () => {
    const calls = ipc((cmd, args) => {
      if (cmd === "daily_report_schedule") return null;
      if (cmd === "daily_report_schedule_set") return args.off ? null : { ...SCHEDULE, at: args.at, markets: args.markets, recipients: args.recipients, set_by: "marta" };
      return null;
    });
    renderSignedIn(<DailyReportPanel market="all" asOf="2026-03-20" />, MARTA);
    await waitFor(() => expect(screen.getByTestId("daily-report-schedule-state").textContent).toBe("The daily report is not emailed."));
    fireEvent.change(screen.getByTestId("daily-report-at"), { target: { value: "06:30" } });
    fireEvent.click(screen.getByTestId("daily-report-market-PE"));
    fireEvent.change(screen.getByTestId("daily-report-recipients"), { target: { value: "finanzas@tienda.example\njefe@tienda.example" } });
    fireEvent.click(screen.getByTestId("daily-report-schedule-save"));
    await waitFor(() => expect(screen.getByTestId("daily-report-schedule-state").textContent).toContain("at 06:30"));
    expect(calls.find((c) => c.cmd === "daily_report_schedule_set")?.args).toEqual({
      at: "06:30",
      markets: ["CO"],
      recipients: ["finanzas@tienda.example", "jefe@tienda.example"],
      format: "xlsx",
      off: false,
    });
    fireEvent.click(screen.getByTestId("daily-report-schedule-stop"));
    await waitFor(() => expect(screen.getByTestId("daily-report-notice").textContent).toBe("The daily report is no longer emailed."));
    expect(screen.getByTestId("daily-report-schedule-state").textContent).toBe("The daily report is not emailed.");
  });

  it("reads in Chinese and Spanish", async () => {
    ipc((cmd) => (cmd === "daily_report_schedule" ? SCHEDULE : null));
    await useLanguage("zh");
    renderSignedIn(<DailyReportPanel market="all" asOf="2026-03-20" />, MARTA);
    await waitFor(() => expect(screen.getByTestId("daily-report").textContent).toContain("每日报表"));
    await useLanguage("es");
    await waitFor(() => expect(screen.getByTestId("daily-report").textContent).toContain("Reporte diario"));
  });
});
