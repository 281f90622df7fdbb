import { beforeEach, describe, expect, it } from "vitest";
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { emit } from "@tauri-apps/api/event";
import "../i18n";
import { ImportsScreen } from "./Imports";
import { FABIO, ipc, renderSignedIn, useLanguage } from "../test/helpers";

const BAD = "/home/fabio/reports/shop-bad.csv";
/** What the shell answers for the chosen file: a token for the commands, a name and a path to show. */
const BAD_FILE = { token: "6f1c0a9e4b7d2c3a8e5f1b0d9c7a6e21", name: "shop-bad.csv", path: BAD };

describe("imports screen", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("suggests the profile, imports, and lists a rejected file's bad rows by line", async () => {
    const calls = ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return [BAD_FILE];
        case "suggest_profile":
          return { profile: "shop", kind: "orders", headers: ["order_id", "store"] };
        case "import_file":
          throw {
            code: "import.bad_rows",
            message: `${BAD}: 1 bad row; nothing was imported\n${BAD}:4: amount: "abc" is not a number\n${BAD}:4: created_at: "notadate" is not a date/time in a known layout`,
          };
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    fireEvent.click(screen.getByTestId("import-choose"));
    const profile = await screen.findByTestId("import-profile");
    await waitFor(() => expect((profile as HTMLSelectElement).value).toBe("shop"));
    expect(screen.getByTestId("import-kind").textContent).toBe("Orders");
    fireEvent.click(screen.getByTestId("import-start"));
    const bad = await screen.findByTestId("import-bad-rows");
    expect(within(bad).getByTestId("import-error").dataset.code).toBe("import.bad_rows");
    const row = within(bad).getAllByTestId("bad-row-4");
    expect(row).toHaveLength(2);
    expect(row[0]?.textContent).toContain("amount");
    // The commands name the file by its token only; the screen shows its name.
    expect(calls.find((c) => c.cmd === "suggest_profile")?.args).toEqual({ token: BAD_FILE.token });
    expect(calls.find((c) => c.cmd === "import_file")?.args).toEqual({ token: BAD_FILE.token, kind: "orders", profile: "shop" });
    expect(screen.getByTestId("import-file-name").textContent).toBe("shop-bad.csv");
    expect(screen.getByTestId("import-file-name").getAttribute("title")).toBe(BAD);
    expect(screen.getByTestId("import-item-1").dataset.file).toBe("shop-bad.csv");
  });

  it("imports every ready file as one run, each file ending on its own as the shell tells it", async () => {
    const files = [
      { token: "t-orders", name: "shop-orders.csv", path: "/r/shop-orders.csv" },
      { token: "t-bad", name: "dlocal-bad.csv", path: "/r/dlocal-bad.csv" },
      { token: "t-settle", name: "dlocal-settlement.tsv", path: "/r/dlocal-settlement.tsv" },
    ];
    const suggested: Record<string, { profile: string; kind: string }> = {
      "t-orders": { profile: "shop", kind: "orders" },
      "t-bad": { profile: "dlocal", kind: "payments" },
      "t-settle": { profile: "dlocal-settlement", kind: "settlements" },
    };
    const imported = (file: string, kind: string, profile: string, batch: number, total: number) => ({
      outcome: "imported", file, kind, profile, batch_id: batch, sha256: "x", encoding: "UTF-8", delimiter: "comma",
      rows: { total, new: total, updated: 0, unchanged: 0, duplicate: 0 }, elapsed_ms: 12,
    });
    const ordersEnded = { token: "t-orders", outcome: imported("/r/shop-orders.csv", "orders", "shop", 1, 4), error: null };
    const badEnded = {
      token: "t-bad",
      outcome: null,
      error: { code: "import.bad_rows", message: "/r/dlocal-bad.csv: 1 bad row; nothing was imported\n/r/dlocal-bad.csv:3: AMOUNT: \"x\" is not a number" },
    };
    const settleEnded = { token: "t-settle", outcome: imported("/r/dlocal-settlement.tsv", "settlements", "dlocal-settlement", 2, 1), error: null };
    let finish: (ended: unknown) => void = () => undefined;
    const calls = ipc((cmd, args) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return files;
        case "suggest_profile":
          return { ...suggested[args.token as string], headers: [] };
        case "import_files":
          return new Promise((resolve) => (finish = resolve));
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    fireEvent.click(screen.getByTestId("import-choose"));
    await waitFor(() => expect(screen.getAllByTestId("import-kind").map((k) => k.textContent)).toEqual(["Orders", "Payments", "Settlements"]));
    fireEvent.click(screen.getByTestId("import-all"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "import_files")).toHaveLength(1));
    expect(calls.find((c) => c.cmd === "import_files")?.args).toEqual({
      files: [
        { token: "t-orders", kind: "orders", profile: "shop" },
        { token: "t-bad", kind: "payments", profile: "dlocal" },
        { token: "t-settle", kind: "settlements", profile: "dlocal-settlement" },
      ],
    });
    expect(calls.some((c) => c.cmd === "import_file")).toBe(false);
    expect(screen.getByTestId("import-run-progress").textContent).toBe("0 of 3 files done");
    const state = () => ["1", "2", "3"].map((id) => screen.getByTestId(`import-item-${id}`).dataset.state);
    await waitFor(() => expect(state()).toEqual(["queued", "queued", "queued"]));
    expect(screen.getAllByTestId("import-queued")[0]?.textContent).toBe("Waiting for the files before it");
    // The shell tells which file is being written, and its rows.
    await act(async () => {
      await emit("import-file-started", { token: "t-orders" });
      await emit("import-progress", { rows: 2000, elapsed_ms: 10, rows_per_s: 200000 });
    });
    await waitFor(() => expect(state()).toEqual(["importing", "queued", "queued"]));
    expect(screen.getByTestId("import-progress-text").textContent).toBe("2,000 rows · 200,000 rows/s");
    // ... and its end, while the run goes on.
    await act(async () => {
      await emit("import-file-ended", ordersEnded);
      await emit("import-file-started", { token: "t-bad" });
    });
    await waitFor(() => expect(screen.getByTestId("import-item-1").dataset.state).toBe("done"));
    expect(within(screen.getByTestId("import-item-1")).getByTestId("import-summary").dataset.new).toBe("4");
    await waitFor(() => expect(state()).toEqual(["done", "importing", "queued"]));
    expect(screen.getByTestId("import-progress-text").textContent).toBe("Importing…");
    expect(screen.getByTestId("import-run-progress").textContent).toBe("1 of 3 files done");
    // The reply settles the rest: the bad file lists its row, its neighbour imported.
    await act(async () => {
      finish([ordersEnded, badEnded, settleEnded]);
    });
    await waitFor(() => expect(screen.queryByTestId("import-run-progress")).toBeNull());
    expect(["1", "2", "3"].map((id) => screen.getByTestId(`import-item-${id}`).dataset.state)).toEqual(["done", "failed", "done"]);
    expect(within(screen.getByTestId("import-item-2")).getAllByTestId("bad-row-3")).toHaveLength(1);
    expect(within(screen.getByTestId("import-item-3")).getByTestId("import-summary").dataset.new).toBe("1");
    // The refused file can be imported again on its own, with another profile.
    expect(within(screen.getByTestId("import-item-2")).getByTestId("import-start")).toBeTruthy();
    expect(calls.filter((c) => c.cmd === "import_history").length).toBeGreaterThan(1);
  });

  it("says whether a reconciliation re-examined only what changed or read the whole ledger", async () => {
    let rechecked: number | null = 20000;
    ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "reconcile_now":
          return {
            as_of: "2026-03-20", orders: 1017040, payments: 1023847, settlements: 889464, matched: 853150,
            exceptions: {}, open_exceptions: 65907, markets: {}, newly_opened: 1404, cleared: 0, elapsed_ms: 306,
            rechecked_orders: rechecked,
          };
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    fireEvent.click(screen.getByTestId("reconcile-now"));
    const scope = await screen.findByTestId("reconcile-scope");
    expect(scope.textContent).toBe(
      "Only what changed since the last run was re-examined: 20000 orders with their payments and settlement rows",
    );
    expect(screen.getByTestId("reconcile-result").textContent).toContain("853150 of 1017040 orders matched");
    rechecked = null;
    fireEvent.click(screen.getByTestId("reconcile-now"));
    await waitFor(() => expect(screen.getByTestId("reconcile-scope").textContent).toBe("The whole ledger was read"));
  });

  it("shows the result summary and lets the profile be changed", async () => {
    ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return [{ token: "t-unknown", name: "unknown.csv", path: "/r/unknown.csv" }];
        case "suggest_profile":
          return { profile: null, kind: null, headers: ["a", "b"] };
        case "import_file":
          return { outcome: "imported", file: "/r/unknown.csv", kind: "payments", profile: "dlocal", batch_id: 7, sha256: "x", encoding: "UTF-8", delimiter: "comma", rows: { total: 10, new: 6, updated: 2, unchanged: 1, duplicate: 1 }, elapsed_ms: 12 };
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    fireEvent.click(screen.getByTestId("import-choose"));
    expect((await screen.findByTestId("import-no-suggestion")).textContent).toContain("a, b");
    fireEvent.change(screen.getByTestId("import-profile"), { target: { value: "dlocal" } });
    fireEvent.click(screen.getByTestId("import-start"));
    const summary = await screen.findByTestId("import-summary");
    expect(summary.dataset.new).toBe("6");
    expect(summary.textContent).toContain("10 rows: 6 new, 2 updated, 1 unchanged, 1 repeated in the file");
  });

  it("takes dropped files from the shell, with their tokens", async () => {
    const calls = ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "suggest_profile":
          return { profile: "dlocal", kind: "payments", headers: ["PAYMENT_ID"] };
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    await act(async () => {
      await new Promise((r) => setTimeout(r, 10));
      await emit("files-dropped", [{ token: "t-drop", name: "dlocal-payments.csv", path: "/home/fabio/dlocal-payments.csv" }]);
    });
    const profile = await screen.findByTestId("import-profile");
    await waitFor(() => expect((profile as HTMLSelectElement).value).toBe("dlocal"));
    expect(screen.getByTestId("import-file-name").textContent).toBe("dlocal-payments.csv");
    expect(calls.filter((c) => c.cmd === "suggest_profile").map((c) => c.args)).toEqual([{ token: "t-drop" }]);
  });

  it("shows the shell's refusal of a file that was not chosen", async () => {
    ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return [{ token: "t-old", name: "orders.csv", path: "/r/orders.csv" }];
        case "suggest_profile":
          throw { code: "files.not_picked", message: "this file was not chosen in a dialog of this session: choose it again" };
        default:
          return null;
      }
    });
    renderSignedIn(<ImportsScreen />, FABIO);
    fireEvent.click(screen.getByTestId("import-choose"));
    const error = await screen.findByTestId("import-error");
    expect(error.dataset.code).toBe("files.not_picked");
    expect(within(error).getByTestId("import-error-headline").textContent).toBe("Choose the file again");
  });
});
