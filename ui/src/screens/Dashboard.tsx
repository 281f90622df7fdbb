import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from "chart.js";
import type { ActiveElement, ChartEvent, ChartOptions } from "chart.js";
import { Bar, Line } from "react-chartjs-2";
import { api } from "../api/commands";
import { isUnavailable, toApiError, type ApiError } from "../api/errors";
import type { AgeBucket, CurrencyTotal, Dashboard, ExceptionKind, ExceptionQuery, Market, SettledOut } from "../bindings";
import { AGE_BUCKETS, EXCEPTION_KINDS } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { DailyReportPanel } from "../components/DailyReportPanel";
import { KpiPanel } from "../components/KpiPanel";
import { LedgerExportPanel } from "../components/LedgerExportPanel";
import { RefundStats } from "../components/RefundStats";
import { formatDay, formatDayShort } from "../lib/dates";
import { formatAmount, formatCount, formatPercent } from "../lib/format";
import { handQueueFilter } from "../lib/queueFilter";
import { useSession } from "../session";

ChartJS.register(CategoryScale, LinearScale, BarElement, LineElement, PointElement, Tooltip, Legend);

const MARKETS: readonly Market[] = ["all", "CO", "PE"];
const COLORS = { primary: "#2563eb", ok: "#16a34a", warn: "#d97706", bad: "#dc2626", muted: "#94a3b8" };

ChartJS.defaults.font.family =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
/** Chart axes are in major units (every supported currency has exponent 2). */
const MINOR_PER_MAJOR = 100;

/** Height of one labelled bar in the by-kind chart: every kind keeps its label. */
const KIND_BAR_PX = 30;
/** The by-kind chart's axis and padding. */
const KIND_CHART_EXTRA_PX = 48;

/** An axis amount in major units, grouped as the language writes it: `$1,000,000,000`, `$ 1.000.000.000`. */
/** Longest line of a kind's label on the chart's axis, in characters; longer labels wrap at a space. */
const KIND_LABEL_LINE_CHARS_MAX = 24;

/** A label as Chart.js draws it on several lines (an array) when it is long, so none is cut at the edge. */
export function wrapLabel(text: string, max = KIND_LABEL_LINE_CHARS_MAX): string | string[] {
  if (text.length <= max || !text.includes(" ")) return text;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function formatAxisAmount(major: number, currency: string, language: string): string {
  const locale = language.startsWith("zh") ? "zh-CN" : language.startsWith("es") ? (currency === "PEN" ? "es-PE" : "es-CO") : "en-US";
  try {
    return new Intl.NumberFormat(locale, { style: "currency", currency, currencyDisplay: "narrowSymbol", maximumFractionDigits: 0 }).format(major);
  } catch {
    return `${formatCount(major, language)} ${currency}`;
  }
}

type OnPick = (index: number) => void;

function clickable(onPick: OnPick): Pick<ChartOptions<"bar">, "onClick" | "onHover"> {
  return {
    onClick: (_e: ChartEvent, elements: ActiveElement[]) => {
      const index = elements[0]?.index;
      if (index !== undefined) onPick(index);
    },
    onHover: (e: ChartEvent, elements: ActiveElement[]) => {
      const target = e.native?.target as HTMLElement | undefined;
      if (target) target.style.cursor = elements.length > 0 ? "pointer" : "default";
    },
  };
}

/** Horizontal bars, one per kind, every label drawn; counts grouped per language. */
export function kindChartOptions(language: string, onPick: OnPick): ChartOptions<"bar"> {
  return {
    indexAxis: "y",
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { display: false } },
    scales: {
      y: { ticks: { autoSkip: false } },
      x: { beginAtZero: true, ticks: { precision: 0, callback: (v) => formatCount(Number(v), language) } },
    },
    ...clickable(onPick),
  };
}

export function ageChartOptions(language: string, onPick: OnPick): ChartOptions<"bar"> {
  return {
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { display: false } },
    scales: {
      x: { ticks: { autoSkip: false, maxRotation: 0 } },
      y: { beginAtZero: true, ticks: { precision: 0, callback: (v) => formatCount(Number(v), language) } },
    },
    ...clickable(onPick),
  };
}

export function moneyChartOptions(currency: string, language: string): ChartOptions<"bar"> {
  return {
    maintainAspectRatio: false,
    animation: false,
    plugins: {
      legend: { display: false },
      tooltip: { callbacks: { label: (item) => formatAxisAmount(Number(item.raw), currency, language) } },
    },
    scales: {
      x: { ticks: { autoSkip: false } },
      y: { beginAtZero: true, title: { display: true, text: currency }, ticks: { callback: (v) => formatAxisAmount(Number(v), currency, language) } },
    },
  };
}

/** The queue filter behind a bar: open exceptions of that kind or age, in the market shown. */
export function sliceQuery(market: Market, slice: { kind?: ExceptionKind; age?: AgeBucket }): ExceptionQuery {
  return { status: "open", country: market === "all" ? null : market, kind: slice.kind ?? null, age: slice.age ?? null };
}

function currencies(d: Dashboard): string[] {
  const set = new Set<string>();
  for (const m of [...(d.paid ?? []), ...(d.settled ?? [])]) set.add(m.currency);
  return [...set].sort();
}

function sumOf(list: CurrencyTotal[] | undefined, currency: string): number {
  return (list ?? []).filter((m) => m.currency === currency).reduce((a, m) => a + m.amount_minor, 0);
}

/** What settlement reports took out again in `currency` (refunds, chargebacks, fees): why settled is below paid. */
function SettledOutLine({ settledOut, currency }: { settledOut: SettledOut[]; currency: string }) {
  const { t, i18n } = useTranslation();
  const rows = settledOut.filter((o) => o.currency === currency && o.count > 0);
  if (rows.length === 0) return null;
  // One figure never breaks across lines; the list wraps between figures.
  return (
    <span className="muted small" data-testid={`dashboard-settled-out-${currency}`}>
      {t("dashboard.settledOut")}:{" "}
      {rows.map((o, i) => (
        <span key={o.row_type}>
          {i > 0 && " · "}
          <span className="nowrap">{`${t(`rowTypes.${o.row_type}`, { defaultValue: o.row_type })} ${formatAmount(o.amount_minor, currency)} (${formatCount(o.count, i18n.language)})`}</span>
        </span>
      ))}
    </span>
  );
}

/**
 * A chart's open slices as buttons, so the keyboard opens the queue on one as
 * a click on its bar does; `names` is the catalogue section that names them.
 */
function SliceButtons<S extends string>({
  slices,
  counts,
  names,
  testIdPrefix,
  onOpen,
}: {
  slices: readonly S[];
  counts: Record<string, number>;
  names: "kinds" | "ages";
  testIdPrefix: string;
  onOpen: (slice: S) => void;
}) {
  const { t, i18n } = useTranslation();
  return (
    <ul className="chart-slices" aria-label={t("dashboard.openInQueue")}>
      {slices
        .filter((s) => (counts[s] ?? 0) > 0)
        .map((s) => (
          <li key={s}>
            <button type="button" className="link-button" onClick={() => onOpen(s)} data-testid={`${testIdPrefix}-${s}`}>
              {t(`${names}.${s}`)} · {formatCount(counts[s] ?? 0, i18n.language)}
            </button>
          </li>
        ))}
    </ul>
  );
}

export function DashboardScreen() {
  const { t, i18n } = useTranslation();
  const { navigate } = useSession();
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
  const lang = i18n.language;
  const openQueue = (slice: { kind?: ExceptionKind; age?: AgeBucket }) => {
    handQueueFilter(sliceQuery(market, slice));
    navigate("exceptions");
  };
  const pickKind = (i: number) => {
    const kind = EXCEPTION_KINDS[i];
    if (kind) openQueue({ kind });
  };
  const pickAge = (i: number) => {
    const age = AGE_BUCKETS[i];
    if (age) openQueue({ age });
  };

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
            {t("dashboard.asOf", { date: formatDay(data.as_of, lang) })}
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
                <SettledOutLine settledOut={data.settled_out} currency={c} />
              </div>
            ))}
          </div>

          <div className="charts">
            <section className="panel chart" data-testid="chart-by-kind">
              <h3>{t("dashboard.byKind")}</h3>
              <div className="chart-box" style={{ height: EXCEPTION_KINDS.length * KIND_BAR_PX + KIND_CHART_EXTRA_PX }}>
                <Bar
                  data={{
                    labels: EXCEPTION_KINDS.map((k) => wrapLabel(t(`kinds.${k}`))),
                    datasets: [{ label: t("dashboard.openExceptions"), data: EXCEPTION_KINDS.map((k) => byKind[k] ?? 0), backgroundColor: COLORS.warn }],
                  }}
                  options={kindChartOptions(lang, pickKind)}
                />
              </div>
              <SliceButtons slices={EXCEPTION_KINDS} counts={byKind} names="kinds" testIdPrefix="dashboard-slice-kind" onOpen={(kind) => openQueue({ kind })} />
            </section>
            <section className="panel chart" data-testid="chart-by-age">
              <h3>{t("dashboard.byAge")}</h3>
              <p className="muted small">{t("dashboard.ageFrom")}</p>
              <div className="chart-box">
                <Bar
                  data={{
                    labels: AGE_BUCKETS.map((a) => t(`ages.${a}`)),
                    datasets: [{ label: t("dashboard.openExceptions"), data: AGE_BUCKETS.map((a) => byAge[a] ?? 0), backgroundColor: [COLORS.ok, COLORS.primary, COLORS.warn, COLORS.bad] }],
                  }}
                  options={ageChartOptions(lang, pickAge)}
                />
              </div>
              <SliceButtons slices={AGE_BUCKETS} counts={byAge} names="ages" testIdPrefix="dashboard-slice-age" onOpen={(age) => openQueue({ age })} />
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
                    options={moneyChartOptions(c, lang)}
                  />
                </div>
              </section>
            ))}
            <section className="panel chart chart-wide" data-testid="chart-trend">
              <h3>{t("dashboard.trend")}</h3>
              <div className="chart-box">
                <Line
                  data={{
                    labels: days.map((d) => formatDayShort(d, lang)),
                    datasets: trendCurrencies.map((c, i) => ({
                      label: t("dashboard.trendPaid", { currency: c }),
                      data: days.map((d) => trend.find((p) => p.day === d && p.currency === c)?.paid_count ?? 0),
                      borderColor: trendColors[i % trendColors.length],
                      backgroundColor: trendColors[i % trendColors.length],
                      tension: 0.25,
                    })),
                  }}
                  options={{
                    maintainAspectRatio: false,
                    animation: false,
                    scales: { y: { beginAtZero: true, ticks: { precision: 0, callback: (v) => formatCount(Number(v), lang) } } },
                  }}
                />
              </div>
            </section>
          </div>
          <KpiPanel market={market} asOf={data.as_of} />
          <DailyReportPanel market={market} asOf={data.as_of} />
          <LedgerExportPanel market={market} asOf={data.as_of} />
        </>
      )}
      <RefundStats />
    </div>
  );
}
