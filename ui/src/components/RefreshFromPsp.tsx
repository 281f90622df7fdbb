// "Refresh from PSP" on a case file: asks the PSP about one
// payment now; the core records its answer (timeline source = API) and
// recomputes the verdict, which the case file then reloads.

import { useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import type { Refreshed } from "../bindings";
import { ErrorNotice } from "./ErrorNotice";
import { useSubmission } from "./useSubmission";

export function RefreshFromPsp({ psp, paymentId, onRefreshed }: { psp: string; paymentId: string; onRefreshed: () => void }) {
  const { t } = useTranslation();
  const [result, setResult] = useState<Refreshed | null>(null);
  const { error, busy, run } = useSubmission();

  const refresh = async () => {
    setResult(null);
    await run(async () => {
      setResult(await api.refreshFromPsp(psp, paymentId));
      onRefreshed();
    });
  };

  return (
    <div className="refresh-psp" data-testid={`refresh-psp-${paymentId}`}>
      <button type="button" disabled={busy} onClick={() => void refresh()} data-testid="refresh-psp-button">
        {busy ? t("refresh.asking") : t("refresh.button")}
      </button>
      {result && (
        <p
          className={`notice ${result.before === result.after ? "notice-info" : "notice-ok"}`}
          data-testid="refresh-result"
          data-before={result.before}
          data-after={result.after}
          data-recorded={String(result.recorded)}
        >
          <strong>{t("refresh.says", { psp: result.psp, status: result.psp_status })}</strong>{" "}
          <span data-testid="refresh-change">
            {result.before === result.after
              ? t("refresh.unchanged", { status: t(`paymentStatuses.${result.after}`, { defaultValue: result.after }) })
              : t("refresh.changed", {
                  before: t(`paymentStatuses.${result.before}`, { defaultValue: result.before }),
                  after: t(`paymentStatuses.${result.after}`, { defaultValue: result.after }),
                })}
          </span>{" "}
          <span className="muted small">{result.recorded ? t("refresh.recorded") : t("refresh.nothingNew")}</span>
        </p>
      )}
      {error && (
        <div data-testid="refresh-error" data-code={error.code}>
          <ErrorNotice error={error} testId="refresh-error-notice" full />
          <span className="mono small" data-testid="refresh-error-code">
            {error.code}
          </span>
        </div>
      )}
    </div>
  );
}
