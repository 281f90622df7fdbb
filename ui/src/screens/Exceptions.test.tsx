import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ExceptionsScreen } from "./Exceptions";
import { MARTA, UNTOUCHED_EXCEPTION, ipc, renderSignedIn, useLanguage } from "../test/helpers";

const COUNTS = { by_kind: { paid_not_recorded: 3, not_settled: 5 }, by_age: { d0_1: 2, d2_7: 6, d8_30: 0, over_30: 0 }, total: 8 };

describe("exceptions screen", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("asks for counts and the first page (open, oldest first), then refilters by kind", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "exception_counts") return COUNTS;
      if (cmd === "exception_page") return { rows: [], next_after: null };
      return null;
    });
    renderSignedIn(<ExceptionsScreen />, MARTA);
    expect((await screen.findByTestId("count-kind-not_settled")).dataset.count).toBe("5");
    expect(screen.getByTestId("count-total").dataset.count).toBe("8");
    const first = calls.find((c) => c.cmd === "exception_page");
    expect(first?.args).toEqual({ filter: { status: "open" }, sort: "age_desc", page: { limit: 50 } });
    fireEvent.click(screen.getByTestId("count-kind-paid_not_recorded"));
    await waitFor(() => {
      const pages = calls.filter((c) => c.cmd === "exception_page");
      expect(pages[pages.length - 1]?.args).toEqual({ filter: { status: "open", kind: "paid_not_recorded" }, sort: "age_desc", page: { limit: 50 } });
    });
    fireEvent.change(screen.getByTestId("filter-age"), { target: { value: "d2_7" } });
    fireEvent.click(screen.getByTestId("filter-unassigned"));
    await waitFor(() => {
      const counts = calls.filter((c) => c.cmd === "exception_counts");
      expect(counts[counts.length - 1]?.args).toEqual({ filter: { status: "open", kind: "paid_not_recorded", age: "d2_7", assignee: "" } });
    });
    expect(await screen.findByTestId("exceptions-empty")).toBeTruthy();
  });

  it("exports the filtered view to the file the save dialog returns, by its token", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "exception_counts") return COUNTS;
      if (cmd === "exception_page") return { rows: [], next_after: null };
      if (cmd === "pick_save_path") return { token: "b2e4", name: "q.csv", path: "/home/marta/q.csv" };
      if (cmd === "export_exceptions") return { rows: 8 };
      return null;
    });
    renderSignedIn(<ExceptionsScreen />, MARTA);
    fireEvent.click(screen.getByTestId("export-csv"));
    expect((await screen.findByTestId("export-result")).textContent).toBe("Exported 8 rows to /home/marta/q.csv");
    expect(calls.find((c) => c.cmd === "export_exceptions")?.args).toEqual({ filter: { status: "open" }, token: "b2e4" });
  });
});

describe("history events", async () => {
  const { historyEvent } = await import("./Exceptions");
  it("maps the core's event texts to catalogue keys", () => {
    expect(historyEvent("detected")).toEqual({ key: "events.detected", values: {} });
    expect(historyEvent("resolved: write_off")).toEqual({ key: "events.resolved", values: { action: "write_off" } });
    expect(historyEvent("assigned to marta")).toEqual({ key: "events.assigned", values: { name: "marta" } });
    expect(historyEvent("reopened: facts changed")?.key).toBe("events.reopened");
    expect(historyEvent("something new")).toBeNull();
  });
});

describe("the queue by keyboard", () => {
  const ROW = {
    id: "EX-1",
    kind: "paid_not_recorded",
    status: "open" as const,
    order_id: "CO-1001",
    psp: "dlocal",
    payment_id: "D-5001",
    country: "CO",
    store: "Tienda Ñandú",
    amount_minor: 12_500_000,
    currency: "COP",
    detail: "paid, not recorded",
    detected_at: "2026-03-05T03:30:00Z",
    updated_at: "2026-03-05T03:30:00Z",
    age_days: 3,
    ...UNTOUCHED_EXCEPTION,
  };

  beforeEach(async () => {
    await useLanguage("en");
    // jsdom lays nothing out: give the queue's scroller a size so that its rows render.
    const size = (dim: "clientHeight" | "clientWidth", px: number) => {
      const real = Object.getOwnPropertyDescriptor(Element.prototype, dim);
      Object.defineProperty(Element.prototype, dim, {
        configurable: true,
        get(this: HTMLElement) {
          return this.dataset?.testid === "exception-scroll" ? px : (real?.get?.call(this) ?? 0);
        },
      });
      return () => real && Object.defineProperty(Element.prototype, dim, real);
    };
    const restore = [size("clientHeight", 600), size("clientWidth", 1200)];
    return () => restore.forEach((r) => r());
  });

  it("focuses a row, opens its order's case file with Enter, and Esc closes it back to the row with the selection kept", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "exception_counts") return COUNTS;
      if (cmd === "exception_page") return { rows: [ROW], next: null };
      if (cmd === "case_file") throw { code: "errors.notFound", message: "not in this test" };
      if (cmd === "exception_history") return [];
      return null;
    });
    renderSignedIn(<ExceptionsScreen />, MARTA);
    const row = await screen.findByTestId("row-EX-1");
    expect(row.tabIndex).toBe(0);
    // Optional columns are hidden until asked for.
    expect(row.querySelector(".c-assignee")).toBeNull();
    fireEvent.click(screen.getByTestId("row-select-EX-1"));
    expect(screen.getByTestId("selection-count").textContent).toBe("1 selected");

    row.focus();
    fireEvent.keyDown(row, { key: "Enter" });
    const drawer = await screen.findByTestId("history-drawer");
    expect(drawer.getAttribute("aria-label")).toBe("Case file CO-1001");
    await waitFor(() => expect(calls.find((c) => c.cmd === "case_file")?.args).toEqual({ order_id: "CO-1001" }));
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "Escape" });
    expect(screen.queryByTestId("history-drawer")).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId("row-EX-1"));
    expect(screen.getByTestId("selection-count").textContent).toBe("1 selected");

    // Esc in the resolve dialog closes it and keeps the selection too.
    screen.getByTestId("bulk-resolve").focus();
    fireEvent.click(screen.getByTestId("bulk-resolve"));
    const dialog = await screen.findByTestId("resolve-dialog");
    expect(dialog.contains(document.activeElement)).toBe(true);
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "Escape" });
    expect(screen.queryByTestId("resolve-dialog")).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId("bulk-resolve"));
    expect(screen.getByTestId("selection-count").textContent).toBe("1 selected");

    fireEvent.click(screen.getByTestId("queue-columns-toggle"));
    expect(screen.getByTestId("row-EX-1").querySelector(".c-assignee")?.textContent).toBe("—");
  });
});
