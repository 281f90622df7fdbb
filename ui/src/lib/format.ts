// Time and money as operators read them. Instants arrive in UTC; every
// timestamp is shown in the operator's local zone AND the market's zone
// (America/Bogota for CO, America/Lima for PE). Business dates are market
// dates and are shown as they are. Amounts are integer minor units.

import { DateTime, Duration } from "luxon";

export interface MarketInfo {
  country: "CO" | "PE";
  zone: string;
  /** The city named next to market times (English/Spanish spelling). */
  city: string;
}

export const MARKETS: Record<"CO" | "PE", MarketInfo> = {
  CO: { country: "CO", zone: "America/Bogota", city: "Bogotá" },
  PE: { country: "PE", zone: "America/Lima", city: "Lima" },
};

export function marketOf(country: string | null | undefined): MarketInfo | null {
  const c = (country ?? "").trim().toUpperCase();
  if (c === "CO" || c === "COL") return MARKETS.CO;
  if (c === "PE" || c === "PER") return MARKETS.PE;
  return null;
}

const STAMP = "yyyy-MM-dd HH:mm";

export interface TimeOptions {
  /** The operator's zone; defaults to the system zone (Luxon's default). */
  localZone?: string;
  /** The city label to print (localised); defaults to the market's city. */
  city?: string;
}

function parse(iso: string): DateTime | null {
  const dt = DateTime.fromISO(iso, { setZone: false, zone: "utc" });
  return dt.isValid ? dt : null;
}

/** "2026-03-05 11:30" in the operator's zone. */
export function formatLocal(iso: string | null | undefined, opts: TimeOptions = {}): string {
  if (!iso) return "—";
  const dt = parse(iso);
  if (!dt) return iso;
  return (opts.localZone ? dt.setZone(opts.localZone) : dt.toLocal()).toFormat(STAMP);
}

/** "2026-03-04 22:30" in the market's zone. */
export function formatMarket(iso: string | null | undefined, country: string): string {
  if (!iso) return "—";
  const dt = parse(iso);
  const market = marketOf(country);
  if (!dt || !market) return iso ?? "—";
  return dt.setZone(market.zone).toFormat(STAMP);
}

/**
 * "2026-03-05 11:30 (Bogotá 2026-03-04 22:30)": operator time, then market
 * time. Without a known market, the operator time alone.
 */
export function formatDual(iso: string | null | undefined, country: string | null | undefined, opts: TimeOptions = {}): string {
  if (!iso) return "—";
  const dt = parse(iso);
  if (!dt) return iso;
  const local = formatLocal(iso, opts);
  const market = marketOf(country);
  if (!market) return local;
  return `${local} (${opts.city ?? market.city} ${dt.setZone(market.zone).toFormat(STAMP)})`;
}

/** The market's business date of an instant ("2026-03-04" for 03:30 UTC on the 5th in Bogotá). */
export function businessDate(iso: string, country: string): string {
  const dt = parse(iso);
  const market = marketOf(country);
  if (!dt || !market) return iso;
  return dt.setZone(market.zone).toISODate() ?? iso;
}

/** Today's date in a market zone ("YYYY-MM-DD"). */
export function marketToday(country: "CO" | "PE", now: Date = new Date()): string {
  return DateTime.fromJSDate(now).setZone(MARKETS[country].zone).toISODate() ?? "";
}

export interface Expiry {
  expired: boolean;
  /** Localised relative text: "in 2 days", "3 hours ago", "hace 3 horas", "3小时前". */
  relative: string;
  /** Whole minutes between now and the expiry (positive = still valid). */
  minutesLeft: number;
}

/** Countdown to (or time since) a voucher's expiry, at minute precision. */
export function expiry(iso: string, now: Date, locale: string): Expiry | null {
  const at = parse(iso);
  if (!at) return null;
  const nowDt = DateTime.fromJSDate(now).toUTC();
  const minutesLeft = Math.trunc(at.diff(nowDt, "minutes").minutes);
  const abs = Math.abs(minutesLeft);
  // Largest sensible unit: minutes below an hour, hours below two days, else days.
  const unit: "minutes" | "hours" | "days" = abs < 60 ? "minutes" : abs < 48 * 60 ? "hours" : "days";
  const relative =
    at.toRelative({ base: nowDt, locale: luxonLocale(locale), unit, style: "short" }) ?? "";
  return { expired: minutesLeft < 0, relative, minutesLeft };
}

/** "2 d 3 h" / "45 min": a compact countdown, language-neutral digits. */
export function compactDuration(minutes: number): string {
  const d = Duration.fromObject({ minutes: Math.abs(minutes) }).shiftTo("days", "hours", "minutes");
  if (d.days >= 1) return `${d.days} d ${d.hours} h`;
  if (d.hours >= 1) return `${d.hours} h ${Math.trunc(d.minutes)} min`;
  return `${Math.trunc(d.minutes)} min`;
}

export function luxonLocale(language: string): string {
  if (language.startsWith("zh")) return "zh-CN";
  if (language.startsWith("es")) return "es";
  return "en";
}

// ---------------------------------------------------------------- money

interface CurrencyStyle {
  symbol: string;
  group: string;
  decimal: string;
  /** ISO 4217 exponent (minor units per major unit = 10^exponent). */
  exponent: number;
  /** Show the decimals only when they are not zero (COP is quoted in whole pesos). */
  hideZeroDecimals: boolean;
}

const CURRENCIES: Record<string, CurrencyStyle> = {
  COP: { symbol: "$", group: ".", decimal: ",", exponent: 2, hideZeroDecimals: true },
  PEN: { symbol: "S/", group: ",", decimal: ".", exponent: 2, hideZeroDecimals: false },
  USD: { symbol: "US$", group: ",", decimal: ".", exponent: 2, hideZeroDecimals: false },
};

function groupDigits(digits: string, sep: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/**
 * Formats integer minor units as the market writes them: COP `$ 1.250.000`,
 * PEN `S/ 1,250.50`, USD `US$ 21.79`. Integer arithmetic only.
 */
export function formatAmount(minor: number | null | undefined, currency: string): string {
  if (minor === null || minor === undefined || !Number.isFinite(minor)) return "—";
  const code = currency.trim().toUpperCase();
  const style = CURRENCIES[code];
  const negative = minor < 0;
  const abs = Math.abs(Math.trunc(minor));
  const exponent = style?.exponent ?? 2;
  const unit = 10 ** exponent;
  const major = Math.trunc(abs / unit);
  const fraction = abs % unit;
  const sign = negative ? "-" : "";
  if (!style) {
    const text = `${groupDigits(String(major), ",")}${exponent > 0 ? "." + String(fraction).padStart(exponent, "0") : ""}`;
    return `${sign}${text} ${code}`.trim();
  }
  let text = groupDigits(String(major), style.group);
  if (exponent > 0 && !(style.hideZeroDecimals && fraction === 0)) {
    text += style.decimal + String(fraction).padStart(exponent, "0");
  }
  return `${sign}${style.symbol} ${text}`;
}

/** A count with the UI language's digit grouping: 208,333 / 208.333. */
export function formatCount(n: number | null | undefined, language: string): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return Math.round(n).toLocaleString(language.startsWith("es") ? "es-CO" : language.startsWith("zh") ? "zh-CN" : "en-US");
}

/** Rate 0..1 as a percentage with one decimal. */
export function formatPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "—";
  return `${(rate * 100).toFixed(1)} %`;
}
