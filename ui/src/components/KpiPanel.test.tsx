import { beforeEach, describe, expect, it, vi } from "vitest";
import { screen } from "@testing-library/react";
import "../i18n";
import { MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { KpiPanel as Panel, Kpis } from "../bindings";

// jsdom has no canvas: the line charts are stand-ins that keep their data.
type Drawn = { data: { labels: string[]; datasets: { label: string; data: (number | null)[]; borderDash?: number[] }[] } };
const drawn = vi.hoisted(() => ({ lines: [] as Drawn[] }));
vi.mock("react-chartjs-2", () => ({
  Line: (props: Drawn) => {
    drawn.lines.push(props);
    return null;
  },
  Bar: () => null,
}));
const { KpiPanel, rangeStart } = await import("./KpiPanel");

const spread = (median: number | null, p90: number | null) => ({ count: median === null ? 0 : 10, median, p90 });
const OVERALL: Kpis = {
  vouchers: 200,
  paid: 110,
  success_rate_bp: 5_500,
  expired_unpaid: 40,
  expired_unpaid_bp: 2_000,
  minutes_to_pay: spread(185, 1_500),
  sync_delay_minutes: spread(12, 95),
  paid_observed: 100,
  callbacks_missed: 4,
  callbacks_missed_bp: 400,
  refund_response_minutes: spread(61, 300),
  refunds_awaiting: 2,
  refund_failure: { failed: 3, finished: 100, rate_bp: 300, warning: true },
  settlement: { settled: 90, on_time: 88, late: 2, business_days: spread(2, 3), days_late: spread(1, 2) },
};

function panel(): Panel {
  return {
    from: "2026-02-19",
    to: "2026-03-20",
    overall: OVERALL,
    days: [
      { date: "2026-03-19", vouchers: 10, success_rate_bp: 5_000, expired_unpaid_bp: 1_000, sync_delay_median_minutes: 30, callbacks_missed_bp: 0, refund_failure_bp: null },
      { date: "2026-03-20", vouchers: 0, success_rate_bp: null, expired_unpaid_bp: null, sync_delay_median_minutes: null, callbacks_missed_bp: null, refund_failure_bp: null },
    ],
    targets: { success_rate_min_bp: 6_000, expired_unpaid_max_bp: 3_000, sync_delay_median_max_minutes: 60, callbacks_missed_max_bp: 500, refund_failure_max_bp: 300 },
  };
}

describe("KPI panel", () => {
  beforeEach(async () => {
    drawn.lines = [];
    await useLanguage("en");
  });

  it("asks the core for the 30 market days ending on the as-of date", () => {
    expect(rangeStart("2026-03-20", 30)).toBe("2026-02-19");
    expect(rangeStart("2026-03-01", 2)).toBe("2026-02-28");
  });

  it("shows the core's figures, marks those off target, and warns at a 3 % refund failure rate", async () => {
    const calls = ipc((cmd) => (cmd === "kpis_panel" ? panel() : null));
    renderSignedIn(<KpiPanel market="CO" asOf="2026-03-20" />, MARTA);
    const success = await screen.findByTestId("kpi-success-rate");
    expect(calls.find((c) => c.cmd === "kpis_panel")?.args).toEqual({ from: "2026-02-19", to: "2026-03-20", market: "CO" });
    expect(success.textContent).toContain("55.0 %");
    expect(success.textContent).toContain("110 of 200 vouchers paid · target ≥ 60.0 %");
    expect(success.getAttribute("data-ok")).toBe("false");
    expect(screen.getByTestId("kpi-expired-unpaid").getAttribute("data-ok")).toBe("true");
    expect(screen.getByTestId("kpi-time-to-pay").textContent).toContain("3 h 05 min");
    expect(screen.getByTestId("kpi-sync-delay").textContent).toContain("12 min");
    expect(screen.getByTestId("kpi-callbacks-missed").textContent).toContain("4 of 100 paid first seen by polling or a report");
    expect(screen.getByTestId("kpi-refund-failure").getAttribute("data-ok")).toBe("false");
    expect(screen.getByTestId("kpi-refund-failure-banner").textContent).toContain("3.0 % (3 of 100 finished)");
    expect(screen.getByTestId("kpi-settlement").textContent).toContain("97.8 %");

    // One point per market day (none where nothing happened), each target a flat dashed line.
    const rates = drawn.lines.at(-2)!.data;
    expect(rates.labels).toEqual(["03-19", "03-20"]);
    expect(rates.datasets[0]).toMatchObject({ label: "Payment success rate", data: [50, null] });
    const target = rates.datasets.find((d) => d.label === "Target: Payment success rate")!;
    expect(target.data).toEqual([60, 60]);
    expect(target.borderDash).toEqual([6, 4]);
    const delay = drawn.lines.at(-1)!.data;
    expect(delay.datasets.map((d) => d.data)).toEqual([
      [30, null],
      [60, 60],
    ]);
  });

  it("reads in Chinese and Spanish", async () => {
    ipc((cmd) => (cmd === "kpis_panel" ? panel() : null));
    await useLanguage("zh");
    renderSignedIn(<KpiPanel market="all" asOf="2026-03-20" />, MARTA);
    expect((await screen.findByTestId("kpi-success-rate")).textContent).toContain("支付成功率");
    await useLanguage("es");
    expect((await screen.findByTestId("kpi-success-rate")).textContent).toContain("Tasa de pago");
  });
});
