import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import "../i18n";
import { ImportsScreen } from "./Imports";
import { ipc, renderSignedIn, useLanguage } from "../test/helpers";

const FABIO = { name: "fabio", role: "finance" as const, language: "en" };
const BAD = "/home/fabio/reports/shop-bad.csv";

describe("imports screen", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("suggests the profile, imports, and lists a rejected file's bad rows by line", async () => {
    const calls = ipc((cmd, args) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return [BAD];
        case "suggest_profile":
          return { profile: "shop", kind: "orders", headers: ["order_id", "store"] };
        case "import_file":
          throw {
            code: "import.bad_rows",
            message: `${String(args.path)}: 1 bad row; nothing was imported\n${BAD}:4: amount: "abc" is not a number\n${BAD}:4: created_at: "notadate" is not a date/time in a known layout`,
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
    expect(calls.find((c) => c.cmd === "import_file")?.args).toEqual({ path: BAD, kind: "orders", profile: "shop" });
  });

  it("shows the result summary and lets the profile be changed", async () => {
    ipc((cmd) => {
      switch (cmd) {
        case "import_history":
          return [];
        case "pick_import_files":
          return ["/r/unknown.csv"];
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
});
