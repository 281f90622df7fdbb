// Dates and times in the UI language (Intl through Luxon, already a
// dependency for the zone arithmetic in format.ts): `Jun 12, 2026` in English,
// `12 jun 2026` in Spanish, `2026年6月12日` in Chinese, never the US
// `12/06/2026` outside English. Every instant is shown twice, labelled: the
// operator's own time and the market's (America/Bogota or America/Lima).

import { DateTime } from "luxon";
import { MARKETS, marketOf } from "./format";

/** The Intl locale of a UI language (Spanish as written in the markets). */
export function dateLocale(language: string): string {
  if (language.startsWith("zh")) return "zh-CN";
  if (language.startsWith("es")) return "es-CO";
  return "en-US";
}

function instant(iso: string): DateTime | null {
  const dt = DateTime.fromISO(iso, { zone: "utc" });
  return dt.isValid ? dt : null;
}

/** A calendar date (`2026-06-12`) as the language writes it: `Jun 12, 2026`, `12 jun 2026`, `2026年6月12日`. */
export function formatDay(date: string | null | undefined, language: string): string {
  if (!date) return "—";
  const dt = DateTime.fromISO(date.slice(0, 10), { zone: "utc" });
  if (!dt.isValid) return date;
  return dt.setLocale(dateLocale(language)).toLocaleString(DateTime.DATE_MED);
}

/** A calendar date without the year, for chart axes: `Jun 12`, `12 jun`, `6月12日`. */
export function formatDayShort(date: string, language: string): string {
  const dt = DateTime.fromISO(date.slice(0, 10), { zone: "utc" });
  if (!dt.isValid) return date;
  return dt.setLocale(dateLocale(language)).toLocaleString({ month: "short", day: "numeric" });
}

/** An instant in one zone, date and 24-hour time in the language: `Jun 12, 2026, 14:05`. */
export function formatInstant(iso: string | null | undefined, zone: string, language: string): string {
  if (!iso) return "—";
  const dt = instant(iso);
  if (!dt) return iso;
  return dt.setZone(zone).setLocale(dateLocale(language)).toLocaleString({ ...DateTime.DATE_MED, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

/** The time of day alone, 24-hour: `22:30`. */
export function formatClock(iso: string | null | undefined, zone: string, language: string): string {
  if (!iso) return "—";
  const dt = instant(iso);
  if (!dt) return iso;
  return dt.setZone(zone).setLocale(dateLocale(language)).toLocaleString({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

/** Whether an instant falls on the same calendar day in two zones. */
export function sameDay(iso: string, zoneA: string, zoneB: string): boolean {
  const dt = instant(iso);
  if (!dt) return false;
  return dt.setZone(zoneA).toISODate() === dt.setZone(zoneB).toISODate();
}

export interface DualTime {
  /** Date and time in the operator's zone. */
  yours: string;
  /** Date and time in the market's zone (Bogotá's when the instant belongs to no one market: Lima shares it). */
  market: string;
  /** The market's time of day alone. */
  marketTime: string;
  zone: string;
  localZone: string;
}

/** An instant as the operator's time and the market's time. */
export function dualTime(iso: string | null | undefined, country: string | null | undefined, language: string, localZone?: string): DualTime {
  const zone = (marketOf(country) ?? MARKETS.CO).zone;
  const local = localZone ?? DateTime.local().zoneName ?? "UTC";
  return {
    yours: formatInstant(iso, local, language),
    market: formatInstant(iso, zone, language),
    marketTime: formatClock(iso, zone, language),
    zone,
    localZone: local,
  };
}

/** A typed calendar date in the one form every language accepts: `2026-06-12`. */
export function isIsoDate(text: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && DateTime.fromISO(text).isValid;
}
