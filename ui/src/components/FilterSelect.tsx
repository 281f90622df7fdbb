import { useTranslation } from "react-i18next";

/** A labelled filter: "any" (no filter, null) first, then one choice per option. */
export function FilterSelect<V extends string>({
  label,
  value,
  options,
  name,
  onChange,
  testId,
  className = "field compact",
}: {
  label: string;
  value: V | null | undefined;
  options: readonly V[];
  /** An option's text for people. */
  name: (option: V) => string;
  onChange: (value: V | null) => void;
  testId: string;
  className?: string;
}) {
  const { t } = useTranslation();
  return (
    <label className={className}>
      <span>{label}</span>
      <select value={value ?? ""} onChange={(e) => onChange((e.target.value || null) as V | null)} data-testid={testId}>
        <option value="">{t("common.any")}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {name(o)}
          </option>
        ))}
      </select>
    </label>
  );
}
