import { memo } from "react";
import { useTranslation } from "react-i18next";
import { formatDual, marketOf } from "../lib/format";

/**
 * An instant in the operator's time and the market's:
 * `2026-03-05 11:30 (Bogotá 2026-03-04 22:30)`. Instants that belong to no
 * one market (imports, audit entries) show the market time both share
 * (Bogotá and Lima are both UTC−5 all year) as "Bogotá/Lima".
 */
export const When = memo(function When({ at, country, testId }: { at: string | null | undefined; country?: string | null | undefined; testId?: string }) {
  const { t } = useTranslation();
  const market = marketOf(country);
  const text = market
    ? formatDual(at, market.country, { city: t(`cities.${market.country}`) })
    : formatDual(at, "CO", { city: t("cities.both") });
  return (
    <time className="when" dateTime={at ?? undefined} title={at ?? undefined} data-testid={testId}>
      {text}
    </time>
  );
});
