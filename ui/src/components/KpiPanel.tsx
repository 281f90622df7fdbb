// The dashboard's operations KPIs (seeds 001 and 004, step 6): how many
// vouchers get paid and how fast, how many expire unpaid, how late we learn
// of a payment and how often the PSP's notification never came, how the PSP
// answers refunds, and settlements against each account's terms. Every figure
// and every target is the core's (`kpis::panel`); the charts draw one point
// per market day with the target as a dashed line.

import type { ChartOptions } from "chart.js";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { Line } from "react-chartjs-2";
import { call } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { KpiPanel as Panel, Market } from "../bindings";
import { formatCount } from "../lib/format";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration } from "./RefundStats";

/** Market days the panel covers, ending on the dashboard's as-of date. */
export const KPI_PANEL_DAYS = 30;

const COLORS = { success: "#16a34a", expired: "#d97706", missed: "#7c3aed", delay: "#2563eb", target: "#64748b" };

/** `to` minus `days - 1` days, as a market date. */
export function rangeStart(to: string, days: number): string {
  const d = new Date(`${to}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - (days - 1));
  return d.toISOString().slice(0, 10);
}

const bpText = (bp: number | null) => (bp === null ? "—" : `${(bp / 100).toFixed(1)} %`);
const minutesText = (m: number | null) => (m === null ? "—" : formatDuration(m * 60));

/** Whether a figure meets its target (no figure: nothing to judge). */
function meets(value: number | null, target: number, at: "most" | "least"): boolean {
  if (value === null) return true;
  return at === "most" ? value <= target : value >= target;
}

function Card(props: { id: string; label: string; value: string; note: string; ok: boolean }) {
  return (
    <div className={`card${props.ok ? "" : " card-warn"}`} data-testid={`kpi-${props.id}`} data-ok={props.ok}>
      <span className="card-label">{props.label}</span>
      <span className="card-value">{props.value}</span>
      <span className="muted small">{props.note}</span>
    </div>
  );
}

function percentOptions(lang: string): ChartOptions<"line"> {
  return {
    maintainAspectRatio: false,
    animation: false,
    scales: { y: { beginAtZero: true, max: 100, ticks: { callback: (v) => `${formatCount(Number(v), lang)} %` } } },
  };
}

export function KpiPanel({ market, asOf }: { market: Market; asOf: string }) {
  const { t, i18n } = useTranslation();
  const lang = i18n.language;
  const [panel, setPanel] = useState<Panel | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    call<Panel>("kpis_panel", { from: rangeStart(asOf, KPI_PANEL_DAYS), to: asOf, market })
      .then((p) => {
        if (!live) return;
        setPanel(p);
        setError(null);
      })
      .catch((e: unknown) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [market, asOf]);
  if (error) return <ErrorNotice error={error} testId="kpi-error" />;
  if (!panel) return <p className="muted">{t("common.loading")}</p>;
  // An older core (or a test's stand-in) without the KPI panel: nothing to show.
  if (!panel.overall || !Array.isArray(panel.days)) return null;

  const k = panel.overall;
  const goal = panel.targets;
  const labels = panel.days.map((d) => d.date.slice(5));
  const pct = (bp: number | null) => (bp === null ? null : bp / 100);
  const flat = (value: number) => panel.days.map(() => value);
  const dashed = { borderColor: COLORS.target, backgroundColor: COLORS.target, borderDash: [6, 4], pointRadius: 0, borderWidth: 1 };
  const settlement = k.settlement;
  return (
    <section className="kpi-panel" data-testid="kpi-panel" data-from={panel.from} data-to={panel.to}>
      <h3>{t("kpis.title", { from: panel.from, to: panel.to })}</h3>
      {k.refund_failure.warning && (
        <div className="banner banner-warn" role="alert" data-testid="kpi-refund-failure-banner">
          {t("kpis.refundFailureBanner", { rate: bpText(k.refund_failure.rate_bp), failed: k.refund_failure.failed, finished: k.refund_failure.finished })}
        </div>
      )}
      <div className="cards">
        <Card
          id="success-rate"
          label={t("kpis.successRate")}
          value={bpText(k.success_rate_bp)}
          note={t("kpis.successNote", { paid: formatCount(k.paid, lang), vouchers: formatCount(k.vouchers, lang), target: bpText(goal.success_rate_min_bp) })}
          ok={meets(k.success_rate_bp, goal.success_rate_min_bp, "least")}
        />
        <Card
          id="expired-unpaid"
          label={t("kpis.expiredUnpaid")}
          value={bpText(k.expired_unpaid_bp)}
          note={t("kpis.expiredNote", { count: formatCount(k.expired_unpaid, lang), target: bpText(goal.expired_unpaid_max_bp) })}
          ok={meets(k.expired_unpaid_bp, goal.expired_unpaid_max_bp, "most")}
        />
        <Card
          id="time-to-pay"
          label={t("kpis.timeToPay")}
          value={minutesText(k.minutes_to_pay.median)}
          note={t("kpis.p90", { value: minutesText(k.minutes_to_pay.p90) })}
          ok
        />
        <Card
          id="sync-delay"
          label={t("kpis.syncDelay")}
          value={minutesText(k.sync_delay_minutes.median)}
          note={t("kpis.p90Target", { value: minutesText(k.sync_delay_minutes.p90), target: minutesText(goal.sync_delay_median_max_minutes) })}
          ok={meets(k.sync_delay_minutes.median, goal.sync_delay_median_max_minutes, "most")}
        />
        <Card
          id="callbacks-missed"
          label={t("kpis.callbacksMissed")}
          value={bpText(k.callbacks_missed_bp)}
          note={t("kpis.missedNote", { missed: formatCount(k.callbacks_missed, lang), observed: formatCount(k.paid_observed, lang), target: bpText(goal.callbacks_missed_max_bp) })}
          ok={meets(k.callbacks_missed_bp, goal.callbacks_missed_max_bp, "most")}
        />
        <Card
          id="refund-response"
          label={t("kpis.refundResponse")}
          value={minutesText(k.refund_response_minutes.median)}
          note={t("kpis.awaiting", { count: k.refunds_awaiting })}
          ok
        />
        <Card
          id="refund-failure"
          label={t("kpis.refundFailure")}
          value={bpText(k.refund_failure.rate_bp)}
          note={t("kpis.failedOf", { failed: k.refund_failure.failed, finished: k.refund_failure.finished })}
          ok={!k.refund_failure.warning}
        />
        <Card
          id="settlement"
          label={t("kpis.settlementOnTime")}
          value={settlement.settled === 0 ? "—" : bpText(Math.round((settlement.on_time * 10_000) / settlement.settled))}
          note={t("kpis.settlementNote", { late: settlement.late, settled: settlement.settled })}
          ok={settlement.late === 0}
        />
      </div>
      <div className="charts">
        <section className="panel chart chart-wide" data-testid="kpi-chart-rates">
          <h4>{t("kpis.ratesByDay")}</h4>
          <div className="chart-box">
            <Line
              data={{
                labels,
                datasets: [
                  { label: t("kpis.successRate"), data: panel.days.map((d) => pct(d.success_rate_bp)), borderColor: COLORS.success, backgroundColor: COLORS.success, spanGaps: true },
                  { label: t("kpis.expiredUnpaid"), data: panel.days.map((d) => pct(d.expired_unpaid_bp)), borderColor: COLORS.expired, backgroundColor: COLORS.expired, spanGaps: true },
                  { label: t("kpis.callbacksMissed"), data: panel.days.map((d) => pct(d.callbacks_missed_bp)), borderColor: COLORS.missed, backgroundColor: COLORS.missed, spanGaps: true },
                  { label: t("kpis.targetOf", { name: t("kpis.successRate") }), data: flat(goal.success_rate_min_bp / 100), ...dashed },
                  { label: t("kpis.targetOf", { name: t("kpis.expiredUnpaid") }), data: flat(goal.expired_unpaid_max_bp / 100), ...dashed, borderColor: COLORS.expired },
                ],
              }}
              options={percentOptions(lang)}
            />
          </div>
        </section>
        <section className="panel chart chart-wide" data-testid="kpi-chart-delay">
          <h4>{t("kpis.delayByDay")}</h4>
          <div className="chart-box">
            <Line
              data={{
                labels,
                datasets: [
                  { label: t("kpis.syncDelay"), data: panel.days.map((d) => d.sync_delay_median_minutes), borderColor: COLORS.delay, backgroundColor: COLORS.delay, spanGaps: true },
                  { label: t("kpis.targetOf", { name: t("kpis.syncDelay") }), data: flat(goal.sync_delay_median_max_minutes), ...dashed },
                ],
              }}
              options={{ maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true, ticks: { callback: (v) => `${formatCount(Number(v), lang)} min` } } } }}
            />
          </div>
        </section>
      </div>
    </section>
  );
}
