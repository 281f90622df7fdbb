import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import type { BackupOverview } from "../bindings";
import { isAdmin } from "../lib/roles";
import { useSession } from "../session";
import { BackupTime } from "../screens/BackupSettings";

/** How often the banner asks again how the scheduled backups went, in milliseconds. */
export const BACKUP_WARNING_POLL_MS = 60_000;

/**
 * A warning above every screen while the last scheduled backup failed, or
 * none has succeeded for longer than the schedule and its grace. Admins get
 * the way to Settings; everyone else is asked to tell one.
 */
export function BackupWarning() {
  const { t } = useTranslation();
  const { operator, navigate } = useSession();
  const [overview, setOverview] = useState<BackupOverview | null>(null);

  useEffect(() => {
    let live = true;
    const load = () =>
      api
        .backupOverview()
        .then((o) => live && setOverview(o ?? null))
        // The banner is a courtesy: a failed read shows nothing rather than an error above every screen.
        .catch(() => undefined);
    void load();
    const timer = setInterval(() => void load(), BACKUP_WARNING_POLL_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);

  if (!overview || (overview.health !== "failed" && overview.health !== "overdue")) return null;
  const status = overview.status;
  return (
    <div className="banner banner-warn backup-warning" role="alert" data-testid="backup-warning" data-health={overview.health}>
      <span>
        {overview.health === "failed"
          ? t("backups.warningFailed", { reason: status.last_failure_reason ?? "" })
          : t("backups.warningOverdue", { hours: overview.schedule.every_hours + overview.grace_hours })}{" "}
        <span className="small">
          {t("backups.lastSuccess")}: <BackupTime at={status.last_success_at} testId="backup-warning-last-success" />
        </span>
      </span>{" "}
      {isAdmin(operator.role) ? (
        <button type="button" className="link-button" onClick={() => navigate("settings")} data-testid="backup-warning-open-settings">
          {t("backups.openSettings")}
        </button>
      ) : (
        <span className="small">{t("backups.tellAdmin")}</span>
      )}
    </div>
  );
}
