// The header's PSP sync indicator (issue 4): what the background sync is
// doing, its last success, errors in the last hour, the queue, and
// pause/resume for managers and admins (the core enforces ControlSync).

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { SyncIndicator as Indicator } from "../bindings";
import { isManagerLike } from "../lib/roles";
import { useSession } from "../session";
import { When } from "./When";

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

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), SYNC_STATUS_REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

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
    return (
      <span className="sync-indicator" data-testid="sync-indicator" data-state="loading" title={error ? `${error.code}: ${error.message}` : undefined}>
        {t("sync.title")}: {error ? <span className="mono">{error.code}</span> : "…"}
      </span>
    );
  }
  const state = syncState(status);
  const detail = status.runner_message ?? status.last_error_message ?? "";
  const code = status.runner_code ?? (state === "error" ? status.last_error_code : null);
  const title = [
    t(`sync.states.${state}`),
    status.runner_operator ? t("sync.runsAs", { name: status.runner_operator }) : "",
    code ? `${code}: ${detail}` : "",
    status.holds.map((h) => t("sync.held", { psp: h.psp, until: h.until })).join("; "),
  ]
    .filter(Boolean)
    .join("\n");
  return (
    <span className={`sync-indicator sync-${state}`} data-testid="sync-indicator" data-state={state} title={title}>
      <span className="sync-dot" aria-hidden="true" />
      <strong data-testid="sync-state">{t(`sync.states.${state}`)}</strong>
      <span className="small" data-testid="sync-last-success">
        {t("sync.lastSuccess")}: {status.last_success_at ? <When at={status.last_success_at} /> : t("sync.never")}
      </span>
      <span className="small" data-testid="sync-queue" data-count={status.queue_size}>
        {t("sync.queue", { count: status.queue_size })}
      </span>
      <span className="small" data-testid="sync-errors" data-count={status.errors_last_hour}>
        {t("sync.errors", { count: status.errors_last_hour })}
      </span>
      {code && (
        <span className="mono small" data-testid="sync-error-code">
          {code}
        </span>
      )}
      {isManagerLike(operator.role) && (
        <button type="button" className="small-button" onClick={() => void toggle()} data-testid={status.paused ? "sync-resume" : "sync-pause"}>
          {status.paused ? t("sync.resume") : t("sync.pause")}
        </button>
      )}
      {error && (
        <span className="mono small" role="alert" data-testid="sync-indicator-error" data-code={error.code}>
          {error.code}
        </span>
      )}
    </span>
  );
}
