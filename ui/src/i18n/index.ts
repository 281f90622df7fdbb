// i18next with the three catalogues bundled (no remote loading: the CSP is
// default-src 'self'). The language is remembered per operator in the core
// (set_language); before sign-in, the last one used on this machine.

import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en";
import es from "./es";
import zh from "./zh";
import type { Language } from "../bindings";

export const catalogues = { en, es, zh } as const;

const STORAGE_KEY = "voucherdesk.language";

export function normaliseLanguage(tag: string | null | undefined): Language {
  const t = (tag ?? "").toLowerCase();
  if (t.startsWith("zh")) return "zh";
  if (t.startsWith("es")) return "es";
  return "en";
}

export function initialLanguage(): Language {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored) return normaliseLanguage(stored);
  } catch {
    // storage unavailable: fall through
  }
  return normaliseLanguage(typeof navigator !== "undefined" ? navigator.language : "en");
}

/**
 * The operator's language when this machine says it (the last one used here,
 * or a browser language we have); null when it does not.
 */
export function knownLanguage(): Language | null {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (stored) return normaliseLanguage(stored);
  } catch {
    // storage unavailable: fall through
  }
  const tag = (typeof navigator !== "undefined" ? navigator.language : "").toLowerCase();
  return /^(en|es|zh)\b/.test(tag) ? normaliseLanguage(tag) : null;
}

export function rememberLanguage(lang: Language): void {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // ignore
  }
}

/** The <html lang> value, so the webview picks CJK glyphs for Chinese. */
export function htmlLang(lang: Language): string {
  return lang === "zh" ? "zh-CN" : lang;
}

export async function changeLanguage(lang: Language): Promise<void> {
  rememberLanguage(lang);
  if (typeof document !== "undefined") document.documentElement.lang = htmlLang(lang);
  await i18n.changeLanguage(lang);
}

void i18n.use(initReactI18next).init({
  resources: {
    en: { translation: en },
    es: { translation: es },
    zh: { translation: zh },
  },
  lng: initialLanguage(),
  fallbackLng: "en",
  supportedLngs: ["en", "es", "zh"],
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});

export default i18n;
