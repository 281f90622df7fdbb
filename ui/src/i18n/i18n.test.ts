import { describe, expect, it } from "vitest";
import en from "./en";
import es from "./es";
import zh from "./zh";
import { AGE_BUCKETS, EXCEPTION_KINDS, EXCEPTION_SORTS, EXCEPTION_STATUSES, NEXT_STEPS, RESOLUTION_ACTIONS, ROLES, VERDICT_CODES } from "../api/types";

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === "string") out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const catalogues = { en: flatten(en as Tree), es: flatten(es as Tree), zh: flatten(zh as Tree) };

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1] ?? "").sort();
}

describe("i18n catalogues", () => {
  for (const [lang, keys] of Object.entries(catalogues)) {
    it(`${lang} has every key the others have, and no empty text`, () => {
      for (const [other, otherKeys] of Object.entries(catalogues)) {
        const missing = [...otherKeys.keys()].filter((k) => !keys.has(k));
        expect(missing, `keys in ${other} missing from ${lang}`).toEqual([]);
      }
      const empty = [...keys].filter(([, v]) => v.trim() === "").map(([k]) => k);
      expect(empty, `empty texts in ${lang}`).toEqual([]);
    });
  }

  it("uses the same placeholders in every language", () => {
    for (const [key, text] of catalogues.en) {
      for (const lang of ["es", "zh"] as const) {
        expect(placeholders(catalogues[lang].get(key) ?? ""), `${lang}:${key}`).toEqual(placeholders(text));
      }
    }
  });

  it("names every verdict code, exception kind, status, age bucket, action, sort and role", () => {
    const needed = [
      ...VERDICT_CODES.map((c) => `verdicts.${c}`),
      ...VERDICT_CODES.map((c) => `verdictDetail.${c}`),
      ...NEXT_STEPS.map((s) => `nextSteps.${s}`),
      ...["pending_payment", "paid", "fulfilled", "cancelled", "expired", "refunded"].map((s) => `shopStatuses.${s}`),
      ...EXCEPTION_KINDS.map((k) => `kinds.${k}`),
      ...EXCEPTION_STATUSES.map((s) => `statuses.${s}`),
      ...AGE_BUCKETS.map((a) => `ages.${a}`),
      ...RESOLUTION_ACTIONS.map((a) => `actions.${a}`),
      ...EXCEPTION_SORTS.map((s) => `sorts.${s}`),
      ...ROLES.map((r) => `roles.${r}`),
      "cities.CO",
      "cities.PE",
      "markets.all",
      "markets.CO",
      "markets.PE",
      "languages.en",
      "languages.es",
      "languages.zh",
    ];
    for (const [lang, keys] of Object.entries(catalogues)) {
      const missing = needed.filter((k) => !keys.has(k));
      expect(missing, `missing in ${lang}`).toEqual([]);
    }
  });

  it("is really translated (Spanish and Chinese differ from English where words differ)", () => {
    expect(catalogues.es.get("errors.forbidden")).toBe("No permitido para su rol");
    expect(catalogues.zh.get("errors.forbidden")).toMatch(/[\u4e00-\u9fff]/);
    expect(catalogues.zh.get("verdicts.deliver_order")).not.toBe(catalogues.en.get("verdicts.deliver_order"));
  });
});
