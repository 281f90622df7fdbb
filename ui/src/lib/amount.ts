// One parser for every amount an operator types. People write amounts the way
// their market does, and paste what the app itself shows:
//
//   COP  1.250.000   1250000   $ 1.250.000   1.250.000,50   COP 1250000
//   PEN  S/ 1,250.50  1250.50  1,250   S/. 89.90
//   USD  1,250.50    US$ 21.79
//
// The result is integer minor units (a bigint: no float ever touches money)
// and the plain major-unit text the core parses ("1250000", "1250.5").
//
// How a separator is read, by the currency's convention (COP groups with "."
// and decimals with ","; PEN and USD the other way round):
// - Both "." and "," present: the last one is the decimal mark, the other
//   groups thousands ("1.250.000,50" and "1,250,000.50" are the same amount
//   in any currency); groups must be well formed.
// - One kind, several times: it groups thousands ("1.250.000", "1,250,000").
// - One kind, once, followed by 1 or 2 digits: a decimal mark, whichever it
//   is ("1,25" in COP is 1.25 pesos; "1250.5" in COP is 1250.50: with two
//   digits at most it cannot be a thousands group).
// - One kind, once, followed by exactly 3 digits: the currency's thousands
//   mark groups ("1.250" in COP is 1250 pesos, "1,250" in PEN is 1250 soles).
//   The currency's own decimal mark followed by 3 digits ("1,250" in COP,
//   "1.250" in PEN) is refused as ambiguous: it is either a thousands group
//   written the other market's way or three decimals, and guessing wrong
//   moves money by a factor of 1000.
// Every currency here has two decimals (ISO 4217); more are refused.

/** The largest amount accepted, in major units (the core's AMOUNT_MAJOR_MAX). */
export const AMOUNT_MAJOR_MAX = 1_000_000_000_000n;

export type AmountErrorKind =
  | "empty"
  | "notANumber"
  | "negative"
  | "zero"
  | "tooManyDecimals"
  | "ambiguous"
  | "badGrouping"
  | "wrongCurrency"
  | "tooLarge"
  | "unknownCurrency";

export interface AmountError {
  kind: AmountErrorKind;
  /** The catalogue key of the message (`amount.errors.<kind>`). */
  key: string;
  /** Values the message names. */
  params: Record<string, string>;
}

export type AmountResult = { ok: true; minor: bigint; major: string } | { ok: false; error: AmountError };

interface Convention {
  exponent: number;
  group: "." | ",";
  decimal: "." | ",";
  /** What may stand before (or after) the number, longest first. */
  marks: readonly string[];
  /** An example in the market's own writing, for messages. */
  example: string;
}

const CONVENTIONS: Record<string, Convention> = {
  COP: { exponent: 2, group: ".", decimal: ",", marks: ["COL$", "COP", "$"], example: "1.250.000" },
  PEN: { exponent: 2, group: ",", decimal: ".", marks: ["S/.", "S/", "PEN"], example: "1,250.50" },
  USD: { exponent: 2, group: ",", decimal: ".", marks: ["US$", "USD", "$"], example: "1,250.50" },
};

/** Other currencies' marks: "S/ 100" typed for a COP payment is a mistake, not 100 pesos. */
const FOREIGN_MARKS = ["COL$", "COP", "S/.", "S/", "PEN", "US$", "USD", "$"];

function fail(kind: AmountErrorKind, params: Record<string, string> = {}): AmountResult {
  return { ok: false, error: { kind, key: `amount.errors.${kind}`, params } };
}

/** Spaces of every kind people paste (no-break, narrow no-break, thin). */
const SPACES = /[\s\u00a0\u202f\u2009]+/g;

function stripMark(text: string, marks: readonly string[]): string {
  let s = text;
  for (const m of marks) {
    if (s.toUpperCase().startsWith(m)) {
      s = s.slice(m.length);
      break;
    }
  }
  for (const m of marks) {
    if (s.toUpperCase().endsWith(m)) {
      s = s.slice(0, s.length - m.length);
      break;
    }
  }
  return s;
}

/** Digits grouped by threes after a first group of one to three. */
function wellGrouped(intPart: string, sep: string): boolean {
  const groups = intPart.split(sep);
  const [first, ...rest] = groups;
  return first !== undefined && /^\d{1,3}$/.test(first) && rest.every((g) => /^\d{3}$/.test(g));
}

/**
 * Parses an amount as people write it in `currency`'s market. Zero is
 * refused unless `allowZero`.
 */
export function parseAmount(text: string, currency: string, { allowZero = false }: { allowZero?: boolean } = {}): AmountResult {
  const code = currency.trim().toUpperCase();
  const conv = CONVENTIONS[code];
  if (!conv) return fail("unknownCurrency", { currency: code });
  const compact = text.replace(SPACES, "");
  if (compact === "") return fail("empty");

  let body = compact;
  let negative = false;
  if (body.startsWith("-") || body.startsWith("\u2212")) {
    negative = true;
    body = body.slice(1);
  }
  body = stripMark(body, conv.marks);
  if (body.startsWith("-")) {
    negative = true;
    body = body.slice(1);
  }
  if (stripMark(body, FOREIGN_MARKS) !== body) return fail("wrongCurrency", { currency: code, text: text.trim() });
  if (!/^[\d.,]+$/.test(body) || !/\d/.test(body)) return fail("notANumber", { text: text.trim() });
  if (negative) return fail("negative", { text: text.trim() });

  const dots = body.split(".").length - 1;
  const commas = body.split(",").length - 1;
  let intPart: string;
  let fracPart = "";
  let group: string | null = null;

  if (dots > 0 && commas > 0) {
    const decimal = body.lastIndexOf(".") > body.lastIndexOf(",") ? "." : ",";
    const other = decimal === "." ? "," : ".";
    if ((decimal === "." ? dots : commas) !== 1) return fail("badGrouping", { text: text.trim(), example: conv.example });
    const at = body.lastIndexOf(decimal);
    intPart = body.slice(0, at);
    fracPart = body.slice(at + 1);
    group = other;
  } else if (dots + commas > 1) {
    group = dots > 0 ? "." : ",";
    intPart = body;
  } else if (dots + commas === 1) {
    const sep = dots === 1 ? "." : ",";
    const at = body.indexOf(sep);
    const before = body.slice(0, at);
    const after = body.slice(at + 1);
    if (after.length === 3 && before.length > 0) {
      if (sep !== conv.group) return fail("ambiguous", { text: text.trim(), example: conv.example });
      group = sep;
      intPart = body;
    } else {
      intPart = before;
      fracPart = after;
    }
  } else {
    intPart = body;
  }

  if (group !== null) {
    if (!wellGrouped(intPart, group)) return fail("badGrouping", { text: text.trim(), example: conv.example });
    intPart = intPart.split(group).join("");
  }
  if (intPart === "") intPart = "0";
  if (!/^\d+$/.test(intPart) || (fracPart !== "" && !/^\d+$/.test(fracPart))) return fail("notANumber", { text: text.trim() });
  if (body.endsWith(".") || body.endsWith(",")) return fail("notANumber", { text: text.trim() });
  if (fracPart.length > conv.exponent) return fail("tooManyDecimals", { text: text.trim(), decimals: String(conv.exponent) });

  const whole = BigInt(intPart);
  if (whole > AMOUNT_MAJOR_MAX) return fail("tooLarge", { text: text.trim() });
  const unit = 10n ** BigInt(conv.exponent);
  const frac = BigInt(fracPart.padEnd(conv.exponent, "0") || "0");
  const minor = whole * unit + frac;
  if (minor > AMOUNT_MAJOR_MAX * unit) return fail("tooLarge", { text: text.trim() });
  if (minor === 0n && !allowZero) return fail("zero");
  return { ok: true, minor, major: plainMajor(minor, conv.exponent) };
}

/** Major units of `minor` in the plain form the core parses ("1250000", "89.9"). */
export function plainMajor(minor: bigint, exponent = 2): string {
  const unit = 10n ** BigInt(exponent);
  const whole = minor / unit;
  const frac = minor % unit;
  if (frac === 0n) return whole.toString();
  return `${whole}.${frac.toString().padStart(exponent, "0").replace(/0+$/, "")}`;
}
