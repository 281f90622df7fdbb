import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ExceptionsScreen } from "./Exceptions";
import { MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";

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

  it("exports the filtered view to the path the save dialog returns", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "exception_counts") return COUNTS;
      if (cmd === "exception_page") return { rows: [], next_after: null };
      if (cmd === "pick_save_path") return "/home/marta/q.csv";
      if (cmd === "export_exceptions") return { rows: 8 };
      return null;
    });
    renderSignedIn(<ExceptionsScreen />, MARTA);
    fireEvent.click(screen.getByTestId("export-csv"));
    expect((await screen.findByTestId("export-result")).textContent).toBe("Exported 8 rows to /home/marta/q.csv");
    expect(calls.find((c) => c.cmd === "export_exceptions")?.args).toEqual({ filter: { status: "open" }, path: "/home/marta/q.csv" });
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
