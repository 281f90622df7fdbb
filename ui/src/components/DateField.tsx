import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { formatDay, isIsoDate } from "../lib/dates";

/**
 * A calendar date typed as `YYYY-MM-DD` (the same in every language, unlike a
 * native date input, which follows the system's locale: US `12/06/2026` under
 * a Chinese UI) and echoed beside it as the UI language writes it.
 * `onChange` receives a valid date or "" (cleared), never a half-typed one.
 */
export function DateField({ value, onChange, testId }: { value: string; onChange: (date: string) => void; testId: string }) {
  const { t, i18n } = useTranslation();
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const text = draft.trim();
  const valid = text === "" || isIsoDate(text);
  return (
    <span className="date-field">
      <input
        type="text"
        inputMode="numeric"
        placeholder={t("times.datePlaceholder")}
        value={draft}
        aria-invalid={!valid}
        onChange={(e) => {
          setDraft(e.target.value);
          const v = e.target.value.trim();
          if (v === "" || isIsoDate(v)) onChange(v);
        }}
        data-testid={testId}
      />
      <span className={valid ? "muted small" : "small error-text"} data-testid={`${testId}-shown`}>
        {!valid ? t("times.dateInvalid") : text ? formatDay(text, i18n.language) : ""}
      </span>
    </span>
  );
}
