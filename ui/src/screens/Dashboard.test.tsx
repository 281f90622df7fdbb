import { beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { EXCEPTION_KINDS } from "../api/types";
import type { Country, Dashboard } from "../bindings";

// jsdom has no canvas: the charts are stand-ins here that keep their props; the cards are real.
const drawn = vi.hoisted(() => ({ bars: [] as { data: { labels: string[] }; options: Record<string, unknown> }[] }));
vi.mock("react-chartjs-2", () => ({
  Bar: (props: { data: { labels: string[] }; options: Record<string, unknown> }) => {
    drawn.bars.push(props);
    return null;
  },
  Line: () => null,
}));
const { DashboardScreen, formatAxisAmount, kindChartOptions, sliceQuery, wrapLabel } = await import("./Dashboard");
const { takeQueueFilter } = await import("../lib/queueFilter");

describe("kind labels", () => {
  it("wrap at a space when long, so no label is cut at the chart's edge", () => {
    expect(wrapLabel("Paid, not recorded")).toBe("Paid, not recorded");
    expect(wrapLabel("Liquidado con otra tasa de cambio")).toEqual(["Liquidado con otra tasa", "de cambio"]);
    expect(wrapLabel("结算汇率不符")).toBe("结算汇率不符");
  });
});

/** The core's dashboard for the selector's `market` (`all`: both, `null`): nothing reconciled yet, but for `fields`. */
function dashboard(market: unknown, fields: Partial<Dashboard> = {}): Dashboard {
  const country = market === "all" ? null : (market as Country);
  return { market: country, as_of: null, orders: 0, paid_orders: 0, matched: 0, match_rate_bp: null, open_by_kind: {}, open_by_age: {}, open_total: 0, paid: [], settled: [], trend: [], settled_out: [], ...fields };
}

/** Reconciled on 20 March, every paid order matched. */
const ALL_MATCHED: Partial<Dashboard> = { as_of: "2026-03-20", orders: 10, paid_orders: 8, matched: 8, match_rate_bp: 10_000 };

/** Paid in COP and PEN, only COP settled so far. */
const PAID_IN_TWO_CURRENCIES: Partial<Dashboard> = {
  ...ALL_MATCHED,
  paid: [
    { currency: "PEN", count: 4, amount_minor: 48_000 },
    { currency: "COP", count: 4, amount_minor: 980_000_000 },
  ],
  settled: [{ currency: "COP", count: 3, amount_minor: 700_000_000 }],
};

describe("dashboard", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("shows an empty state before the first reconciliation", async () => {
    ipc((_cmd, args) => dashboard(args.market));
    renderSignedIn(<DashboardScreen />, MARTA);
    expect(await screen.findByTestId("dashboard-empty")).toBeTruthy();
  });

  it("shows a clear empty state while the core has no dashboard command", async () => {
    ipc(() => {
      throw "command dashboard not found";
    });
    renderSignedIn(<DashboardScreen />, MARTA);
    expect((await screen.findByTestId("dashboard-unavailable")).textContent).toContain("not available in this version");
  });

  it("draws paid vs settled on one chart per currency, so PEN is not flattened by COP", async () => {
    ipc((_cmd, args) => dashboard(args.market, PAID_IN_TWO_CURRENCIES));
    renderSignedIn(<DashboardScreen />, MARTA);
    await screen.findByTestId("dashboard-match-rate");
    const charts = screen.getAllByTestId(/^chart-paid-settled-/).map((el) => el.getAttribute("data-testid"));
    expect(charts).toEqual(["chart-paid-settled-COP", "chart-paid-settled-PEN"]);
  });

  it("shows match rate and paid vs settled per market", async () => {
    const calls = ipc((_cmd, args) =>
      dashboard(args.market, {
        as_of: "2026-03-20",
        orders: 2400,
        paid_orders: 2000,
        matched: 1825,
        match_rate_bp: 9125,
        open_by_kind: { not_settled: 40, paid_not_recorded: 12 },
        open_by_age: { d0_1: 10, d2_7: 42 },
        open_total: 52,
        paid: [{ currency: "COP", count: 3, amount_minor: 125_000_000 }],
        settled: [{ currency: "COP", count: 2, amount_minor: 100_000_000 }],
        trend: [{ day: "2026-03-19", currency: "COP", paid_count: 3, paid_minor: 125_000_000 }],
      }),
    );
    renderSignedIn(<DashboardScreen />, MARTA);
    expect((await screen.findByTestId("dashboard-match-rate")).textContent).toContain("91.3 %");
    expect(screen.getByTestId("dashboard-open").textContent).toContain("52");
    expect(screen.getByTestId("dashboard-money-COP").textContent).toContain("$ 1.250.000");
    expect(screen.getByTestId("chart-paid-settled-COP").textContent).toContain("Paid vs settled · COP");
    fireEvent.click(screen.getByTestId("dashboard-market-PE"));
    await waitFor(() => expect(calls[calls.length - 1]?.args).toEqual({ market: "PE" }));
  });

  it("explains settled below paid with what settlement reports took out again, per currency", async () => {
    ipc((_cmd, args) =>
      dashboard(args.market, {
        ...PAID_IN_TWO_CURRENCIES,
        settled_out: [
          { row_type: "REFUND", currency: "COP", count: 2, amount_minor: 34_500_000 },
          { row_type: "FEE", currency: "COP", count: 1_250, amount_minor: 12_000_000 },
          { row_type: "CHARGEBACK", currency: "COP", count: 0, amount_minor: 0 },
        ],
      }),
    );
    renderSignedIn(<DashboardScreen />, MARTA);
    await screen.findByTestId("dashboard-match-rate");
    expect(screen.getByTestId("dashboard-settled-out-COP").textContent).toBe(
      "Taken out again by settlement reports: refund $ 345.000 (2) · fee $ 120.000 (1,250)",
    );
    expect(screen.queryByTestId("dashboard-settled-out-PEN")).toBeNull();
  });

  it("writes axis amounts with the language's grouping, never 1000000000", () => {
    expect(formatAxisAmount(1_000_000_000, "COP", "en")).toBe("$1,000,000,000");
    expect(formatAxisAmount(1_000_000_000, "COP", "es")).toBe("$\u00a01.000.000.000");
    expect(formatAxisAmount(1_000_000_000, "COP", "zh")).toBe("$1,000,000,000");
    expect(formatAxisAmount(1_250_000, "PEN", "es")).toBe("S/\u00a01,250,000");
  });

  it("labels every kind (no skipped ticks) and opens the queue on the bar clicked", async () => {
    drawn.bars = [];
    const screens: string[] = [];
    ipc((_cmd, args) =>
      dashboard(args.market, {
        ...ALL_MATCHED,
        open_by_kind: { not_settled: 4_000, paid_not_recorded: 12 },
        open_by_age: { d0_1: 2, d8_30: 4_010 },
        open_total: 4_012,
        paid: [{ currency: "COP", count: 4, amount_minor: 100_000_000_000 }],
      }),
    );
    renderSignedIn(<DashboardScreen />, MARTA, { navigate: (s) => screens.push(s) });
    await screen.findByTestId("dashboard-match-rate");
    expect(screen.getByTestId("dashboard-as-of").textContent).toContain("Mar 20, 2026");
    const kinds = drawn.bars.find((b) => b.data.labels.includes("Paid, not recorded"));
    expect(kinds?.data.labels).toHaveLength(EXCEPTION_KINDS.length);
    const scales = kinds?.options.scales as { y: { ticks: { autoSkip: boolean } }; x: { ticks: { callback: (v: number) => string } } };
    expect(scales.y.ticks.autoSkip).toBe(false);
    expect(scales.x.ticks.callback(4000)).toBe("4,000");
    const money = drawn.bars.find((b) => b.data.labels.length === 2);
    const y = (money?.options.scales as { y: { ticks: { callback: (v: number) => string } } }).y;
    expect(y.ticks.callback(1_000_000_000)).toBe("$1,000,000,000");

    // A click on the eighth bar: not_settled (EXCEPTION_KINDS[7]).
    const onClick = kinds?.options.onClick as (e: unknown, els: { index: number }[]) => void;
    onClick({}, [{ index: 7 }]);
    expect(screens).toEqual(["exceptions"]);
    expect(takeQueueFilter({ status: "open" })).toEqual({ status: "open", country: null, kind: "not_settled", age: null });
    expect(takeQueueFilter({ status: "open" })).toEqual({ status: "open" }); // taken once

    // The slice list below the chart does the same from the keyboard.
    fireEvent.click(screen.getByTestId("dashboard-slice-age-d8_30"));
    expect(screens).toEqual(["exceptions", "exceptions"]);
    expect(takeQueueFilter({ status: "open" })).toEqual({ status: "open", country: null, kind: null, age: "d8_30" });
    expect(screen.getByTestId("dashboard-slice-kind-not_settled").textContent).toBe("Not settled · 4,000");
    expect(screen.queryByTestId("dashboard-slice-kind-duplicate_payment")).toBeNull(); // none open
  });

  it("filters the queue to the market shown", () => {
    expect(sliceQuery("PE", { kind: "amount_mismatch" })).toEqual({ status: "open", country: "PE", kind: "amount_mismatch", age: null });
    const picked: number[] = [];
    const options = kindChartOptions("es", (i) => picked.push(i));
    (options.onClick as (e: unknown, els: { index: number }[]) => void)({}, []);
    expect(picked).toEqual([]); // a click beside the bars opens nothing
    const x = (options.scales as { x: { ticks: { callback: (v: number) => string } } }).x;
    expect(x.ticks.callback(12_500)).toBe("12.500");
  });
});
