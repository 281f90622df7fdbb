import { afterEach, describe, expect, it } from "vitest";
import { Settings } from "luxon";
import { businessDate, compactDuration, expiry, formatAmount, formatDual, formatLocal, formatMarket, formatPercent } from "./format";

describe("timestamps: operator time and market time", () => {
  afterEach(() => {
    Settings.defaultZone = "system";
  });

  it("shows a UTC+8 operator's time and Bogotá's (José Núñez's payment)", () => {
    // 03:30 UTC on 5 March = 11:30 in Shenzhen = 22:30 on the 4th in Bogotá.
    expect(formatDual("2026-03-05T03:30:00Z", "CO", { localZone: "Asia/Shanghai" })).toBe("2026-03-05 11:30 (Bogotá 2026-03-04 22:30)");
  });

  it("uses the system zone when none is given", () => {
    Settings.defaultZone = "UTC+8";
    expect(formatDual("2026-03-05T03:30:00Z", "CO")).toBe("2026-03-05 11:30 (Bogotá 2026-03-04 22:30)");
    expect(formatLocal("2026-03-05T03:30:00Z")).toBe("2026-03-05 11:30");
  });

  it("uses Lima for Peru and a localised city label", () => {
    expect(formatDual("2026-03-04T16:02:13Z", "PE", { localZone: "Asia/Shanghai" })).toBe("2026-03-05 00:02 (Lima 2026-03-04 11:02)");
    expect(formatDual("2026-03-05T03:30:00Z", "CO", { localZone: "Asia/Shanghai", city: "波哥大" })).toBe("2026-03-05 11:30 (波哥大 2026-03-04 22:30)");
  });

  it("market time and business dates come from the market zone", () => {
    expect(formatMarket("2026-03-05T03:30:00Z", "CO")).toBe("2026-03-04 22:30");
    expect(businessDate("2026-03-05T03:30:00Z", "CO")).toBe("2026-03-04");
    expect(businessDate("2026-03-05T05:30:00Z", "PE")).toBe("2026-03-05");
  });

  it("without a known market shows the operator time only; missing values show a dash", () => {
    expect(formatDual("2026-03-05T03:30:00Z", "", { localZone: "Asia/Shanghai" })).toBe("2026-03-05 11:30");
    expect(formatDual(null, "CO")).toBe("—");
    expect(formatDual("not a date", "CO")).toBe("not a date");
  });

  it("counts down to expiry and says how long ago it expired", () => {
    const now = new Date("2026-03-05T17:15:00Z");
    const past = expiry("2026-03-05T14:15:00Z", now, "en");
    expect(past?.expired).toBe(true);
    expect(past?.relative).toBe("3 hr. ago");
    const future = expiry("2026-03-07T14:15:00Z", now, "en");
    expect(future?.expired).toBe(false);
    expect(future?.relative).toBe("in 45 hr.");
    expect(expiry("2026-03-05T14:15:00Z", now, "es")?.relative).toMatch(/^hace 3 h/);
    expect(expiry("2026-03-05T14:15:00Z", now, "zh")?.relative).toMatch(/3.*小时前/);
    expect(compactDuration(2 * 24 * 60 + 3 * 60 + 5)).toBe("2 d 3 h");
    expect(compactDuration(45)).toBe("45 min");
  });
});

describe("amounts per currency", () => {
  it("COP: dot thousands, whole pesos", () => {
    expect(formatAmount(125_000_000, "COP")).toBe("$ 1.250.000");
    expect(formatAmount(12_500_000, "COP")).toBe("$ 125.000");
    expect(formatAmount(125_000_050, "COP")).toBe("$ 1.250.000,50");
    expect(formatAmount(0, "COP")).toBe("$ 0");
  });

  it("PEN: comma thousands, two decimals", () => {
    expect(formatAmount(125_050, "PEN")).toBe("S/ 1,250.50");
    expect(formatAmount(5_990, "PEN")).toBe("S/ 59.90");
    expect(formatAmount(5, "PEN")).toBe("S/ 0.05");
  });

  it("USD, negatives, unknown currencies and missing amounts", () => {
    expect(formatAmount(2_179, "USD")).toBe("US$ 21.79");
    expect(formatAmount(-125_050, "PEN")).toBe("-S/ 1,250.50");
    expect(formatAmount(123_456, "EUR")).toBe("1,234.56 EUR");
    expect(formatAmount(null, "COP")).toBe("—");
  });

  it("stays exact for large amounts (integer arithmetic)", () => {
    expect(formatAmount(999_999_999_999_99, "COP")).toBe("$ 999.999.999.999,99");
  });

  it("formats rates as percentages", () => {
    expect(formatPercent(0.9125)).toBe("91.3 %");
    expect(formatPercent(null)).toBe("—");
  });
});

describe("counts", () => {
  it("group digits the way the UI language does", async () => {
    const { formatCount } = await import("./format");
    expect(formatCount(208333, "en")).toBe("208,333");
    expect(formatCount(208333, "es")).toBe("208.333");
    expect(formatCount(208333, "zh")).toBe("208,333");
  });
});
