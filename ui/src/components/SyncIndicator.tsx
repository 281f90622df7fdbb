// The header's PSP sync indicator: what the background sync is
// doing, its last success, errors in the last hour, the queue, and
// pause/resume for managers and admins (the core enforces ControlSync).

import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { SyncIndicator as Indicator } from "../bindings";
import { isManagerLike } from "../lib/roles";
import { useSession } from "../session";
import { When } from "./When";
import { errorHeadlineKey } from "./ErrorNotice";
import { PopoverButton } from "./Popover";
import { usePolling } from "../lib/usePolling";

/** How often the indicator asks the core for the sync's state. */
export const SYNC_STATUS_REFRESH_MS = 5_000;

/** The one word the pill shows. */
export function syncState(s: Indicator): "paused" | "problem" | "error" | "ok" | "waiting" | "no_accounts" | "starting" | "stopped" {
  if (s.paused) return "paused";
  switch (s.runner) {
    case "problem":
      return "problem";
    case "no_accounts":
      return "no_accounts";
    case "waiting_for_operator":
      return "waiting";
    case "starting":
      return "starting";
    case "stopped":
      return "stopped";
    case "running":
      return s.errors_last_hour > 0 ? "error" : "ok";
  }
}

export function SyncIndicator() {
  const { t } = useTranslation();
  const { operator } = useSession();
  const [status, setStatus] = useState<Indicator | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const load = useCallback(async () => {
    try {
      setStatus(await api.syncStatus());
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, []);

  usePolling(load, SYNC_STATUS_REFRESH_MS);

  const toggle = async () => {
    if (!status) return;
    try {
      setStatus(status.paused ? await api.syncResume() : await api.syncPause());
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  };

  if (!status) {
    const label = `${t("sync.title")}: ${error ? t(errorHeadlineKey(error.code)) : "…"}`;
    return (
      <span className="sync-indicator sync-loading" data-testid="sync-indicator" data-state="loading" title={label}>
        <span className="sync-icon" role="img" aria-label={label}>
          <span className="sync-dot" aria-hidden="true" />
        </span>
      </span>
    );
  }
  const state = syncState(status);
  const detail = status.runner_message ?? status.last_error_message ?? "";
  const code = status.runner_code ?? (state === "error" ? status.last_error_code : null);
  const title = [
    t(`sync.states.${state}`),
    status.runner_operator ? t("sync.runsAs", { name: status.runner_operator }) : "",
    t("sync.queue", { count: status.queue_size }),
    t("sync.errors", { count: status.errors_last_hour }),
    status.holds.map((h) => t("sync.held", { psp: h.psp, until: h.until })).join("; "),
  ]
    .filter(Boolean)
    .join("\n");
  // The header shows the state as a coloured icon; its words are the tooltip and
  // the accessible name, and the details (and pause/resume) open from it.
  return (
    <span className={`sync-indicator sync-${state}`} data-testid="sync-indicator" data-state={state} title={title}>
      <PopoverButton
        className="sync-button"
        label={t(`sync.states.${state}`)}
        title={title}
        testId="sync-details-button"
        panelTestId="sync-details"
        panelLabel={t("sync.title")}
        buttonContent={<span className="sync-dot" aria-hidden="true" />}
      >
        <div className="sync-panel">
          <strong data-testid="sync-state">{t(`sync.states.${state}`)}</strong>
          {status.runner_operator && <span className="small">{t("sync.runsAs", { name: status.runner_operator })}</span>}
          <span className="small" data-testid="sync-last-success">
            {t("sync.lastSuccess")}: {status.last_success_at ? <When at={status.last_success_at} /> : t("sync.never")}
          </span>
          <span className="small" data-testid="sync-queue" data-count={status.queue_size}>
            {t("sync.queue", { count: status.queue_size })}
          </span>
          <span className="small" data-testid="sync-errors" data-count={status.errors_last_hour}>
            {t("sync.errors", { count: status.errors_last_hour })}
          </span>
          {status.holds.length > 0 && <span className="small">{status.holds.map((h) => t("sync.held", { psp: h.psp, until: h.until })).join("; ")}</span>}
          {code && (
            <details className="error-details">
              <summary>{t("errors.details")}</summary>
              <span className="mono small" data-testid="sync-error-code">
                {code}
              </span>{" "}
              <span className="small">{detail}</span>
            </details>
          )}
          {isManagerLike(operator.role) && (
            <button type="button" onClick={() => void toggle()} data-testid={status.paused ? "sync-resume" : "sync-pause"}>
              {status.paused ? t("sync.resume") : t("sync.pause")}
            </button>
          )}
          {error && (
            <span className="small" role="alert" data-testid="sync-indicator-error" data-code={error.code}>
              {t(errorHeadlineKey(error.code))} <span className="mono">{error.code}</span>
            </span>
          )}
        </div>
      </PopoverButton>
    </span>
  );
}
