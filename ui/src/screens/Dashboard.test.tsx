import { beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";

// jsdom has no canvas: the charts are stand-ins here; the cards are real.
vi.mock("react-chartjs-2", () => ({ Bar: () => null, Line: () => null }));
const { DashboardScreen } = await import("./Dashboard");

describe("dashboard", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("shows an empty state before the first reconciliation", async () => {
    ipc((_cmd, args) => ({ market: args.market, as_of: null, orders: 0, paid_orders: 0, matched: 0, match_rate_bp: null, open_by_kind: {}, open_by_age: {}, open_total: 0, paid: [], settled: [], trend: [] }));
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
    ipc((_cmd, args) => ({
      market: args.market,
      as_of: "2026-03-20",
      orders: 10,
      paid_orders: 8,
      matched: 8,
      match_rate_bp: 10_000,
      open_by_kind: {},
      open_by_age: {},
      open_total: 0,
      paid: [
        { currency: "PEN", count: 4, amount_minor: 48_000 },
        { currency: "COP", count: 4, amount_minor: 980_000_000 },
      ],
      settled: [{ currency: "COP", count: 3, amount_minor: 700_000_000 }],
      trend: [],
    }));
    renderSignedIn(<DashboardScreen />, MARTA);
    await screen.findByTestId("dashboard-match-rate");
    const charts = screen.getAllByTestId(/^chart-paid-settled-/).map((el) => el.getAttribute("data-testid"));
    expect(charts).toEqual(["chart-paid-settled-COP", "chart-paid-settled-PEN"]);
  });

  it("shows match rate and paid vs settled per market", async () => {
    const calls = ipc((_cmd, args) => ({
      market: args.market,
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
    }));
    renderSignedIn(<DashboardScreen />, MARTA);
    expect((await screen.findByTestId("dashboard-match-rate")).textContent).toContain("91.3 %");
    expect(screen.getByTestId("dashboard-open").textContent).toContain("52");
    expect(screen.getByTestId("dashboard-money-COP").textContent).toContain("$ 1.250.000");
    expect(screen.getByTestId("chart-paid-settled-COP").textContent).toContain("Paid vs settled · COP");
    fireEvent.click(screen.getByTestId("dashboard-market-PE"));
    await waitFor(() => expect(calls[calls.length - 1]?.args).toEqual({ market: "PE" }));
  });
});
