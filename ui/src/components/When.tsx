import { memo } from "react";
import { useTranslation } from "react-i18next";
import { dualTime, sameDay } from "../lib/dates";
import { marketOf } from "../lib/format";

/**
 * An instant in the operator's time and the market's, each labelled and
 * written as the UI language writes dates: `Mar 5, 2026, 11:30 your time ·
 * Mar 4, 2026, 22:30 Bogotá time` (the market date is left out when it is the
 * same day). Instants that belong to no one market (imports, audit entries)
 * show the market time both share (Bogotá and Lima are both UTC−5 all year)
 * as "Bogotá/Lima".
 */
export const When = memo(function When({ at, country, testId, localZone }: { at: string | null | undefined; country?: string | null | undefined; testId?: string; localZone?: string }) {
  const { t, i18n } = useTranslation();
  if (!at) {
    return (
      <time className="when" data-testid={testId}>
        —
      </time>
    );
  }
  const market = marketOf(country);
  const city = market ? t(`cities.${market.country}`) : t("cities.both");
  const d = dualTime(at, country, i18n.language, localZone);
  const marketText = sameDay(at, d.localZone, d.zone) ? d.marketTime : d.market;
  return (
    <time className="when" dateTime={at} title={`${d.yours} (${t("times.yours")})\n${d.market} (${t("times.market", { city })})`} data-testid={testId}>
      <span className="when-yours">
        {d.yours} <span className="when-label">{t("times.yours")}</span>
      </span>{" "}
      ·{" "}
      <span className="when-market">
        {marketText} <span className="when-label">{t("times.market", { city })}</span>
      </span>
    </time>
  );
});
