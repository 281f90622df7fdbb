import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { CrashReports } from "../bindings";
import { ErrorNotice } from "./ErrorNotice";

/**
 * Crash reports the app wrote since the operator last looked (they stay on
 * this computer): open their folder, or dismiss the notice until the next one.
 */
export function CrashNotice({ reports, onDismissed }: { reports: CrashReports; onDismissed: () => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<ApiError | null>(null);
  const act = (action: () => Promise<void>, then?: () => void) => {
    setError(null);
    action()
      .then(() => then?.())
      .catch((e) => setError(toApiError(e)));
  };
  return (
    <div className="notice notice-info crash-notice" role="status" data-testid="crash-notice">
      <span>
        <strong>{t("crashNotice.title")}</strong> {t("crashNotice.text", { n: reports.count })}
        <span className="notice-detail" data-testid="crash-notice-folder">
          {reports.folder}
        </span>
      </span>
      <span className="button-row">
        <button type="button" onClick={() => act(api.crashReportsOpenFolder)} data-testid="crash-notice-open">
          {t("crashNotice.openFolder")}
        </button>
        <button
          type="button"
          className="link-button"
          onClick={() => act(api.crashReportsDismiss, onDismissed)}
          data-testid="crash-notice-dismiss"
        >
          {t("crashNotice.dismiss")}
        </button>
      </span>
      {error && <ErrorNotice error={error} />}
    </div>
  );
}
