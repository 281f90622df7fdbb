import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import "../i18n";
import { ANA, useLanguage } from "../test/helpers";
import { When } from "../components/When";
import { DateField } from "../components/DateField";
import { LockScreen } from "../screens/Auth";
import { dualTime, formatDay, formatDayShort, formatInstant, isIsoDate } from "./dates";

const AT = "2026-06-12T03:30:00Z"; // 11:30 in Shanghai, 22:30 the day before in Bogotá

describe("dates in the UI language", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("writes a calendar date as each language does, never the US 6/12/2026 outside English", () => {
    expect(formatDay("2026-06-12", "en")).toBe("Jun 12, 2026");
    expect(formatDay("2026-06-12", "es")).toBe("12 de jun de 2026");
    expect(formatDay("2026-06-12", "zh")).toBe("2026年6月12日");
    expect(formatDayShort("2026-06-12", "zh")).toBe("6月12日");
    expect(formatDayShort("2026-06-12", "es")).toBe("12 de jun");
    expect(formatDay(null, "en")).toBe("—");
  });

  it("writes an instant in a zone with a 24-hour clock", () => {
    expect(formatInstant(AT, "Asia/Shanghai", "zh")).toBe("2026年6月12日 11:30");
    expect(formatInstant(AT, "America/Bogota", "es")).toBe("11 de jun de 2026, 22:30");
    expect(formatInstant(AT, "America/Lima", "en")).toBe("Jun 11, 2026, 22:30");
    const d = dualTime(AT, "PE", "en", "Asia/Shanghai");
    expect([d.yours, d.market, d.zone]).toEqual(["Jun 12, 2026, 11:30", "Jun 11, 2026, 22:30", "America/Lima"]);
  });

  it("labels the operator's time and the market's time", async () => {
    const { rerender } = render(<When at={AT} country="CO" localZone="Asia/Shanghai" testId="w" />);
    expect(screen.getByTestId("w").textContent).toBe("Jun 12, 2026, 11:30 your time · Jun 11, 2026, 22:30 Bogotá time");
    await useLanguage("zh");
    rerender(<When at={AT} country="CO" localZone="Asia/Shanghai" testId="w" />);
    expect(screen.getByTestId("w").textContent).toBe("2026年6月12日 11:30 你的时间 · 2026年6月11日 22:30 波哥大时间");
    await useLanguage("es");
    // Same day in both zones: the market side gives the time alone.
    rerender(<When at="2026-06-12T15:00:00Z" country="PE" localZone="Europe/Madrid" testId="w" />);
    expect(screen.getByTestId("w").textContent).toBe("12 de jun de 2026, 17:00 su hora · 10:00 hora de Lima");
  });

  it("takes a filter date as YYYY-MM-DD in every language and echoes it in the language", async () => {
    await useLanguage("zh");
    const got: string[] = [];
    render(<DateField value="" onChange={(d) => got.push(d)} testId="from" />);
    const input = screen.getByTestId("from") as HTMLInputElement;
    expect(input.type).toBe("text");
    expect(input.placeholder).toBe("年-月-日");
    fireEvent.change(input, { target: { value: "12/06/2026" } });
    expect(screen.getByTestId("from-shown").textContent).toBe("请按 年-月-日 填写日期，例如 2026-06-12");
    expect(got).toEqual([]); // a half-typed or US date is never applied
    fireEvent.change(input, { target: { value: "2026-06-12" } });
    expect(screen.getByTestId("from-shown").textContent).toBe("2026年6月12日");
    fireEvent.change(input, { target: { value: "" } });
    expect(got).toEqual(["2026-06-12", ""]);
    expect(isIsoDate("2026-02-30")).toBe(false);
  });

  it("says the console locked after idle minutes only when it did", () => {
    const { rerender } = render(<LockScreen operator={ANA} minutes={15} reason="idle" onUnlocked={() => undefined} onSignOut={() => undefined} />);
    expect(screen.getByTestId("lock-reason").textContent).toBe("ana, the console locked after 15 minutes without activity. Enter your password to go on.");
    rerender(<LockScreen operator={ANA} minutes={15} reason="manual" onUnlocked={() => undefined} onSignOut={() => undefined} />);
    expect(screen.getByTestId("lock-reason").textContent).toBe("ana, you locked the console. Enter your password to go on.");
    expect(screen.getByTestId("lock-reason").textContent).not.toContain("15");
  });
});
