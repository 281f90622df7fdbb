// The dashboard's refund panel: refunds pending by tier, the median
// time to approve, amounts by reason, and the 7-day refund failure rate with
// its warning banner. Every figure (and the 3 % threshold) is the core's.

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { toApiError, type ApiError } from "../api/errors";
import { refundsApi } from "../api/refunds";
import type { RefundDashboard } from "../bindings";
import { formatAmount, formatCount } from "../lib/format";
import { ErrorNotice } from "./ErrorNotice";

/** "2 h 05 min" / "3 d 4 h" / "12 min" for a number of seconds. */
export function formatDuration(seconds: number): string {
  const m = Math.round(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function RefundStats() {
  const { t, i18n } = useTranslation();
  const [d, setD] = useState<RefundDashboard | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    refundsApi
      .dashboard()
      .then((x) => live && setD(x))
      .catch((e: unknown) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, []);
  if (error) return <ErrorNotice error={error} testId="refund-stats-error" />;
  // An older core (or a test's stand-in) without the refund panel: nothing to show.
  if (!d || !d.failure) return null;
  const rate = d.failure.rate_bp === null ? "—" : `${(d.failure.rate_bp / 100).toFixed(2)} %`;
  return (
    <section className="refund-stats" data-testid="refund-stats">
      <h3>{t("refundStats.title")}</h3>
      {d.failure.warning && (
        <div className="banner banner-warn" role="alert" data-testid="refund-failure-banner">
          {t("refundStats.failureBanner", { rate, failed: d.failure.failed, finished: d.failure.finished, days: d.failure_window_days })}
        </div>
      )}
      <div className="cards">
        <div className="card" data-testid="refund-failure-rate" data-bp={d.failure.rate_bp ?? ""}>
          <span className="card-label">{t("refundStats.failureRate", { days: d.failure_window_days })}</span>
          <span className="card-value">{rate}</span>
          <span className="muted small">{t("refundStats.failedOf", { failed: d.failure.failed, finished: d.failure.finished })}</span>
        </div>
        <div className="card" data-testid="refund-median-approve">
          <span className="card-label">{t("refundStats.medianApprove", { days: d.stats_days })}</span>
          <span className="card-value">{d.median_approve_seconds === null ? "—" : formatDuration(d.median_approve_seconds)}</span>
          <span className="muted small">{t("refundStats.approvedCount", { count: d.approved_count })}</span>
        </div>
        {/* Tier 1 is approved as requested: only tiers 2 and 3 ever wait. */}
        {[2, 3].map((tier) => {
          const rows = d.pending_by_tier.filter((p) => p.tier === tier);
          const count = rows.reduce((a, p) => a + p.count, 0);
          return (
            <div className="card" key={tier} data-testid={`refund-pending-tier-${tier}`} data-count={count}>
              <span className="card-label">{t("refundStats.pendingTier", { tier })}</span>
              <span className="card-value">{formatCount(count, i18n.language)}</span>
              <span className="muted small">{rows.map((p) => formatAmount(p.amount_minor, p.currency)).join(" · ") || "—"}</span>
            </div>
          );
        })}
      </div>
      <div className="panel">
        <h4>{t("refundStats.byReason", { days: d.stats_days })}</h4>
        {d.by_reason.length === 0 ? (
          <p className="muted">{t("refundStats.none")}</p>
        ) : (
          <table className="table" data-testid="refund-by-reason">
            <tbody>
              {d.by_reason.map((r) => (
                <tr key={`${r.reason}:${r.currency}`} data-testid={`refund-reason-${r.reason}`}>
                  <td>{t(`refunds.reasons.${r.reason}`, { defaultValue: r.reason })}</td>
                  <td className="num">{r.count}</td>
                  <td className="num">{formatAmount(r.amount_minor, r.currency)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
