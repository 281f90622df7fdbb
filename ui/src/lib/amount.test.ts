import { describe, expect, it } from "vitest";
import { parseAmount, plainMajor, type AmountErrorKind } from "./amount";

/** [text, currency, minor units, plain major text] */
const ACCEPTED: [string, string, bigint, string][] = [
  // COP: "." groups, "," decimals; what the app itself shows.
  ["1.250.000", "COP", 125_000_000n, "1250000"],
  ["1250000", "COP", 125_000_000n, "1250000"],
  ["$ 1.250.000", "COP", 125_000_000n, "1250000"],
  ["$1.250.000", "COP", 125_000_000n, "1250000"],
  ["$\u00a01.613.900", "COP", 161_390_000n, "1613900"],
  ["1.250.000,50", "COP", 125_000_050n, "1250000.5"],
  ["1.250.000,5", "COP", 125_000_050n, "1250000.5"],
  ["COP 1250000", "COP", 125_000_000n, "1250000"],
  ["1250000 COP", "COP", 125_000_000n, "1250000"],
  ["1.250", "COP", 125_000n, "1250"],
  ["1,25", "COP", 125n, "1.25"],
  ["1250,5", "COP", 125_050n, "1250.5"],
  ["1250.50", "COP", 125_050n, "1250.5"],
  ["1,250,000.50", "COP", 125_000_050n, "1250000.5"],
  ["  150 000 ", "COP", 15_000_000n, "150000"],
  ["0,01", "COP", 1n, "0.01"],
  // PEN: "," groups, "." decimals.
  ["S/ 1,250.50", "PEN", 125_050n, "1250.5"],
  ["S/1,250.50", "PEN", 125_050n, "1250.5"],
  ["S/. 89.90", "PEN", 8_990n, "89.9"],
  ["1250.50", "PEN", 125_050n, "1250.5"],
  ["1,250", "PEN", 125_000n, "1250"],
  ["1,250,000", "PEN", 125_000_000n, "1250000"],
  ["1.250,50", "PEN", 125_050n, "1250.5"],
  ["1250,50", "PEN", 125_050n, "1250.5"],
  ["PEN 12", "PEN", 1_200n, "12"],
  [".5", "PEN", 50n, "0.5"],
  // USD
  ["1,250.50", "USD", 125_050n, "1250.5"],
  ["US$ 21.79", "USD", 2_179n, "21.79"],
  ["$21.79", "USD", 2_179n, "21.79"],
  ["21.79 usd", "usd", 2_179n, "21.79"],
  ["1000000000000", "USD", 100_000_000_000_000n, "1000000000000"],
];

/** [text, currency, error kind] */
const REFUSED: [string, string, AmountErrorKind][] = [
  ["", "COP", "empty"],
  ["   ", "PEN", "empty"],
  ["abc", "COP", "notANumber"],
  ["1e5", "USD", "notANumber"],
  ["$", "COP", "notANumber"],
  ["1250.", "PEN", "notANumber"],
  ["12-50", "PEN", "notANumber"],
  ["-1.250", "COP", "negative"],
  ["$ -100", "COP", "negative"],
  ["0", "COP", "zero"],
  ["0,00", "COP", "zero"],
  ["1,250", "COP", "ambiguous"],
  ["1.250", "PEN", "ambiguous"],
  ["1.250", "USD", "ambiguous"],
  ["1.250,505", "COP", "tooManyDecimals"],
  ["12,5055", "PEN", "tooManyDecimals"],
  ["1.2345", "USD", "tooManyDecimals"],
  ["1.25.000", "COP", "badGrouping"],
  ["12.50.000,5", "COP", "badGrouping"],
  ["1234.567", "COP", "badGrouping"],
  ["1,2,3", "PEN", "badGrouping"],
  ["1.250.000.50,1.2", "COP", "badGrouping"],
  ["S/ 100", "COP", "wrongCurrency"],
  ["US$ 100", "PEN", "wrongCurrency"],
  ["COP 100", "USD", "wrongCurrency"],
  ["1000000000001", "COP", "tooLarge"],
  ["100", "EUR", "unknownCurrency"],
];

describe("parseAmount", () => {
  it.each(ACCEPTED)("reads %j in %s as %s minor units", (text, currency, minor, major) => {
    expect(parseAmount(text, currency)).toEqual({ ok: true, minor, major });
  });

  it.each(REFUSED)("refuses %j in %s as %s", (text, currency, kind) => {
    const r = parseAmount(text, currency);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe(kind);
      expect(r.error.key).toBe(`amount.errors.${kind}`);
    }
  });

  it("accepts zero only when asked to", () => {
    expect(parseAmount("0", "COP", { allowZero: true })).toEqual({ ok: true, minor: 0n, major: "0" });
  });

  it("names the market's own writing in an ambiguous amount's message values", () => {
    const r = parseAmount("1,250", "COP");
    expect(r).toEqual({ ok: false, error: { kind: "ambiguous", key: "amount.errors.ambiguous", params: { text: "1,250", example: "1.250.000" } } });
  });

  it("writes minor units as the core's plain major text", () => {
    expect(plainMajor(125_000_000n)).toBe("1250000");
    expect(plainMajor(125_050n)).toBe("1250.5");
    expect(plainMajor(125_001n)).toBe("1250.01");
    expect(plainMajor(1n)).toBe("0.01");
  });
});
