import { useTranslation } from "react-i18next";
import { When } from "../components/When";
import { useTeam } from "./TeamContext";
import { bannerShown, teamIndicator } from "./teamState";

/** On every screen while this team desktop cannot reach its server. */
export function TeamBanner() {
  const { t } = useTranslation();
  const { status } = useTeam();
  if (!status || !bannerShown(status)) return null;
  return (
    <div className="notice notice-error team-banner" role="alert" data-testid="team-offline-banner">
      <strong>{t("team.banner")}</strong>
      <span className="notice-detail small">
        {t("team.bannerServer", { server: status.server })}
        {status.offline_since && (
          <>
            {" · "}
            {t("team.since")} <When at={status.offline_since} />
          </>
        )}
      </span>
    </div>
  );
}

/** The header's team indicator (nothing in local mode). */
export function TeamIndicatorBadge() {
  const { t } = useTranslation();
  const indicator = teamIndicator(useTeam().status);
  switch (indicator.kind) {
    case "local":
      return null;
    case "online":
    case "offline":
      return (
        <span
          className={`team-indicator team-${indicator.kind}`}
          title={t(indicator.kind === "online" ? "team.onlineTitle" : "team.offlineTitle", { server: indicator.server })}
          data-testid="team-indicator"
          data-server={indicator.server}
          data-online={indicator.kind === "online" ? "true" : "false"}
        >
          <span className="team-label">{t(indicator.kind === "online" ? "team.online" : "team.offline")}</span>
        </span>
      );
  }
}
