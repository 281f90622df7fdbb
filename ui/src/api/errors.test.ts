import { describe, expect, it } from "vitest";
import { ApiError, firstLine, isUnavailable, parseBadRows, toApiError } from "./errors";

describe("IPC errors", () => {
  it("keeps the core's {code, message}", () => {
    const e = toApiError({ code: "auth.forbidden", message: "ana (support) may not resolve exceptions with write_off" });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.code).toBe("auth.forbidden");
    expect(e.message).toContain("write_off");
  });

  it("turns Tauri's own string errors into codes", () => {
    expect(isUnavailable(toApiError("command dashboard not found"))).toBe(true);
    expect(toApiError("something odd").code).toBe("ipc");
    expect(toApiError(new Error("boom")).message).toBe("boom");
  });

  it("lists the bad rows of a rejected import with their line numbers", () => {
    const message = [
      "bad.csv: 2 bad rows; nothing was imported",
      'bad.csv:4: amount: "abc" is not a number',
      'bad.csv:4: created_at: "notadate" is not a date/time in a known layout',
      "C:\\reports\\x.csv:17: currency: unknown currency \"CLP\"",
      "(only the first 50 problems are listed)",
    ].join("\n");
    const rows = parseBadRows(message);
    expect(rows.map((r) => r.line)).toEqual([4, 4, 17]);
    expect(rows[0]).toEqual({ file: "bad.csv", line: 4, column: "amount", reason: '"abc" is not a number' });
    expect(rows[2]?.file).toBe("C:\\reports\\x.csv");
    expect(firstLine(message)).toBe("bad.csv: 2 bad rows; nothing was imported");
  });
});
