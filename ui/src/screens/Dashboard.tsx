import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from "chart.js";
import { Bar, Line } from "react-chartjs-2";
import { api } from "../api/commands";
import { isUnavailable, toApiError, type ApiError } from "../api/errors";
import { AGE_BUCKETS, EXCEPTION_KINDS, type CurrencyTotal, type Dashboard, type Market } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { RefundStats } from "../components/RefundStats";
import { formatAmount, formatCount, formatPercent } from "../lib/format";

ChartJS.register(CategoryScale, LinearScale, BarElement, LineElement, PointElement, Tooltip, Legend);

const MARKETS: readonly Market[] = ["all", "CO", "PE"];
const COLORS = { primary: "#2563eb", ok: "#16a34a", warn: "#d97706", bad: "#dc2626", muted: "#94a3b8" };

ChartJS.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
/** Chart axes are in major units (every supported currency has exponent 2). */
const MINOR_PER_MAJOR = 100;

function currencies(d: Dashboard): string[] {
  const set = new Set<string>();
  for (const m of [...(d.paid ?? []), ...(d.settled ?? [])]) set.add(m.currency);
  return [...set].sort();
}

function sumOf(list: CurrencyTotal[] | undefined, currency: string): number {
  return (list ?? []).filter((m) => m.currency === currency).reduce((a, m) => a + m.amount_minor, 0);
}

export function DashboardScreen() {
  const { t, i18n } = useTranslation();
  const [market, setMarket] = useState<Market>("all");
  const [data, setData] = useState<Dashboard | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    let live = true;
    setLoading(true);
    api
      .dashboard(market)
      .then((d) => {
        if (!live) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setData(null);
        setError(toApiError(e));
      })
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [market]);

  const byKind = data?.open_by_kind ?? {};
  const byAge = data?.open_by_age ?? {};
  const openTotal = data?.open_total ?? Object.values(byKind).reduce((a, n) => a + n, 0);
  const trend = data?.trend ?? [];
  const days = [...new Set(trend.map((p) => p.day))].sort();
  const trendCurrencies = [...new Set(trend.map((p) => p.currency))].sort();
  const trendColors = [COLORS.primary, COLORS.warn, COLORS.ok, COLORS.bad];

  return (
    <div className="dashboard">
      <div className="toolbar-row">
        <h2>{t("dashboard.title")}</h2>
        <div className="segmented" role="tablist" aria-label={t("dashboard.market")}>
          {MARKETS.map((m) => (
            <button key={m} type="button" role="tab" aria-selected={m === market} className={m === market ? "active" : ""} onClick={() => setMarket(m)} data-testid={`dashboard-market-${m}`}>
              {t(`markets.${m}`)}
            </button>
          ))}
        </div>
      </div>

      {error && isUnavailable(error) && (
        <div className="empty-state" data-testid="dashboard-unavailable">
          <p>{t("dashboard.unavailable")}</p>
        </div>
      )}
      {error && !isUnavailable(error) && <ErrorNotice error={error} testId="dashboard-error" />}
      {loading && !data && !error && <p className="muted">{t("common.loading")}</p>}
      {data && (data.orders === 0 || data.as_of === null) && (
        <div className="empty-state" data-testid="dashboard-empty">
          <p>{t("dashboard.empty")}</p>
        </div>
      )}

      {data && data.orders > 0 && data.as_of !== null && (
        <>
          <p className="muted small" data-testid="dashboard-as-of">
            {t("dashboard.asOf", { date: data.as_of })}
          </p>
          <div className="cards">
            <div className="card" data-testid="dashboard-match-rate">
              <span className="card-label">{t("dashboard.matchRate")}</span>
              <span className="card-value">{formatPercent(data.match_rate_bp === null ? null : data.match_rate_bp / 10_000)}</span>
              <span className="muted small">{t("dashboard.matchedOf", { matched: formatCount(data.matched, i18n.language), orders: formatCount(data.paid_orders, i18n.language) })}</span>
            </div>
            <div className="card" data-testid="dashboard-open">
              <span className="card-label">{t("dashboard.openExceptions")}</span>
              <span className="card-value">{formatCount(openTotal, i18n.language)}</span>
            </div>
            {currencies(data).map((c) => (
              <div className="card" key={c} data-testid={`dashboard-money-${c}`}>
                <span className="card-label">
                  {t("dashboard.paidVsSettled")} · {c}
                </span>
                <span className="card-value small-value">{formatAmount(sumOf(data.paid, c), c)}</span>
                <span className="muted small">
                  {t("dashboard.settled")}: {formatAmount(sumOf(data.settled, c), c)}
                </span>
              </div>
            ))}
          </div>

          <div className="charts">
            <section className="panel chart" data-testid="chart-by-kind">
              <h3>{t("dashboard.byKind")}</h3>
              <div className="chart-box">
                <Bar
                  data={{
                    labels: EXCEPTION_KINDS.map((k) => t(`kinds.${k}`)),
                    datasets: [{ label: t("dashboard.openExceptions"), data: EXCEPTION_KINDS.map((k) => byKind[k] ?? 0), backgroundColor: COLORS.warn }],
                  }}
                  options={{ indexAxis: "y", maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } }}
                />
              </div>
            </section>
            <section className="panel chart" data-testid="chart-by-age">
              <h3>{t("dashboard.byAge")}</h3>
              <div className="chart-box">
                <Bar
                  data={{
                    labels: AGE_BUCKETS.map((a) => t(`ages.${a}`)),
                    datasets: [{ label: t("dashboard.openExceptions"), data: AGE_BUCKETS.map((a) => byAge[a] ?? 0), backgroundColor: [COLORS.ok, COLORS.primary, COLORS.warn, COLORS.bad] }],
                  }}
                  options={{ maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } } }}
                />
              </div>
            </section>
            {/* One chart per currency: COP amounts are ~1,000 times PEN's, so a shared axis would flatten PEN to nothing. */}
            {currencies(data).map((c) => (
              <section className="panel chart" key={c} data-testid={`chart-paid-settled-${c}`}>
                <h3>
                  {t("dashboard.paidVsSettled")} · {c}
                </h3>
                <div className="chart-box">
                  <Bar
                    data={{
                      labels: [t("dashboard.paid"), t("dashboard.settled")],
                      datasets: [
                        {
                          label: c,
                          data: [sumOf(data.paid, c) / MINOR_PER_MAJOR, sumOf(data.settled, c) / MINOR_PER_MAJOR],
                          backgroundColor: [COLORS.primary, COLORS.ok],
                        },
                      ],
                    }}
                    options={{
                      maintainAspectRatio: false,
                      animation: false,
                      plugins: { legend: { display: false } },
                      scales: { y: { beginAtZero: true, title: { display: true, text: c } } },
                    }}
                  />
                </div>
              </section>
            ))}
            <section className="panel chart chart-wide" data-testid="chart-trend">
              <h3>{t("dashboard.trend")}</h3>
              <div className="chart-box">
                <Line
                  data={{
                    labels: days.map((d) => d.slice(5)),
                    datasets: trendCurrencies.map((c, i) => ({
                      label: t("dashboard.trendPaid", { currency: c }),
                      data: days.map((d) => trend.find((p) => p.day === d && p.currency === c)?.paid_count ?? 0),
                      borderColor: trendColors[i % trendColors.length],
                      backgroundColor: trendColors[i % trendColors.length],
                      tension: 0.25,
                    })),
                  }}
                  options={{ maintainAspectRatio: false, animation: false }}
                />
              </div>
            </section>
          </div>
        </>
      )}
      <RefundStats />
    </div>
  );
}
