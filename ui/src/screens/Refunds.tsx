// The refunds list: filters by status, method, reason, tier and PSP,
// a virtualized table paged from the core, a row opens the case file, and
// the CSV export (the core writes it to the file the save dialog returns).

import { memo, useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import { REASON_CODES, REFUND_METHODS, REFUND_STATUSES, TIERS, refundsApi } from "../api/refunds";
import type { Refund, RefundQuery } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { FilterSelect } from "../components/FilterSelect";
import { OkNotice } from "../components/OkNotice";
import { Money } from "../components/Money";
import { VirtualRows } from "../components/VirtualRows";
import { When } from "../components/When";
import { useSession } from "../session";
import { useTeamRefresh } from "../team/TeamContext";

export const REFUND_ROW_HEIGHT_PX = 36;
const OVERSCAN_ROWS = 10;
/** Rows before the end at which the next page is fetched. */
const PREFETCH_ROWS = 40;
const PSPS: readonly string[] = ["dlocal", "pagoefectivo"];

const EMPTY_QUERY: RefundQuery = { status: null, method: null, reason: null, tier: null, psp: null, order_id: null };

function countryOf(r: Refund): string {
  return r.currency === "PEN" ? "PE" : "CO";
}

const Row = memo(function Row({ r, index, start, onOpen }: { r: Refund; index: number; start: number; onOpen: (r: Refund) => void }) {
  const { t } = useTranslation();
  return (
    <div
      role="row"
      className={`vrow refund-vrow${index % 2 ? " odd" : ""}`}
      style={{ transform: `translateY(${start}px)`, height: REFUND_ROW_HEIGHT_PX }}
      onClick={() => onOpen(r)}
      data-testid={`refunds-row-${r.id}`}
      data-status={r.status}
      data-tier={r.tier}
    >
      <span role="cell" className="mono small">#{r.id}</span>
      <span role="cell">
        <span className={`badge status-${r.status}`}>{t(`refunds.statuses.${r.status}`)}</span>
      </span>
      <span role="cell">{t("refunds.tierN", { tier: r.tier })}</span>
      <span role="cell" className="num">
        <Money minor={r.amount_minor} currency={r.currency} />
      </span>
      <span role="cell" title={t(`refunds.methods.${r.method}`)}>
        {t(`refunds.methods.${r.method}`)}
      </span>
      <span role="cell" title={t(`refunds.reasons.${r.reason}`)}>
        {t(`refunds.reasons.${r.reason}`)}
      </span>
      <span role="cell">{r.psp}</span>
      <span role="cell" className="mono">{r.order_id}</span>
      <span role="cell" title={r.requested_by}>
        {r.requested_by}
      </span>
      <span role="cell" className="small">
        <When at={r.requested_at} country={countryOf(r)} />
      </span>
      <span role="cell" className="mono small" title={r.last_error ?? undefined}>
        {r.withdrawal_code ?? r.psp_refund_id ?? (r.last_error ? "⚠" : "—")}
      </span>
    </div>
  );
});

export function RefundsScreen() {
  const { t } = useTranslation();
  const { openCase } = useSession();
  const [query, setQuery] = useState<RefundQuery>(EMPTY_QUERY);
  const [rows, setRows] = useState<Refund[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const generation = useRef(0);

  const load = useCallback(async (q: RefundQuery, after: number | null) => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const page = await refundsApi.list(q, after);
      if (mine !== generation.current) return;
      setRows((old) => (after === null ? page.items : [...old, ...page.items]));
      setNext(page.next_after);
      setError(null);
    } catch (e) {
      if (mine === generation.current) setError(toApiError(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    void load(query, null);
  }, [query, load]);
  useTeamRefresh(() => void load(query, null));

  const hasMore = next !== null;
  const loadNext = useCallback(() => {
    if (!loading) void load(query, next);
  }, [loading, next, query, load]);

  const exportCsv = async () => {
    setNotice(null);
    try {
      const picked = await api.pickSaveFile(t("common.pickSaveTitle"), `refunds-${new Date().toISOString().slice(0, 10)}.csv`);
      if (!picked) return;
      const r = await refundsApi.exportCsv(query, picked.token);
      setNotice(t("refunds.exported", { rows: r.rows, path: picked.path }));
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const select = <K extends keyof RefundQuery>(key: K, label: string, options: readonly (string | number)[], name: (v: string) => string) => (
    <FilterSelect
      className="field inline"
      label={label}
      value={query[key] === null || query[key] === undefined ? null : String(query[key])}
      options={options.map(String)}
      name={name}
      onChange={(v) => setQuery({ ...query, [key]: v === null ? null : key === "tier" ? Number(v) : v })}
      testId={`refunds-filter-${key}`}
    />
  );

  return (
    <div className="refunds-screen list-screen" data-testid="refunds-screen">
      <div className="toolbar-row">
        <h2>{t("refunds.listTitle")}</h2>
        <button type="button" onClick={() => void exportCsv()} data-testid="refunds-export">
          {t("refunds.exportCsv")}
        </button>
      </div>
      <div className="filters" data-testid="refunds-filters">
        {select("status", t("refunds.col.status"), REFUND_STATUSES, (v) => t(`refunds.statuses.${v}`))}
        {select("method", t("refunds.col.method"), REFUND_METHODS, (v) => t(`refunds.methods.${v}`))}
        {select("reason", t("refunds.col.reason"), REASON_CODES, (v) => t(`refunds.reasons.${v}`))}
        {select("tier", t("refunds.col.tier"), TIERS, (v) => t("refunds.tierN", { tier: v }))}
        {select("psp", t("refunds.col.psp"), PSPS, (v) => v)}
        <button type="button" onClick={() => setQuery(EMPTY_QUERY)} data-testid="refunds-filter-clear">
          {t("common.clear")}
        </button>
      </div>
      <ErrorNotice error={error} testId="refunds-error" />
      <OkNotice text={notice} testId="refunds-export-result" />
      <div className="vtable" role="table" data-testid="refunds-table" data-loaded={rows.length}>
        <div className="vrow vhead refund-vrow" role="row">
          {(["id", "status", "tier", "amount", "method", "reason", "psp", "order", "requestedBy", "requestedAt", "reference"] as const).map((c) => (
            <span key={c} role="columnheader">
              {t(`refunds.col.${c}`)}
            </span>
          ))}
        </div>
        <VirtualRows
          rows={rows}
          hasMore={hasMore}
          rowHeightPx={REFUND_ROW_HEIGHT_PX}
          overscanRows={OVERSCAN_ROWS}
          prefetchRows={PREFETCH_ROWS}
          onNearEnd={loadNext}
          scrollTestId="refunds-scroll"
          empty={
            !loading &&
            rows.length === 0 && (
              <p className="muted empty" data-testid="refunds-empty">
                {t("refunds.listEmpty")}
              </p>
            )
          }
          loadingText={t("common.loading")}
          renderRow={(r, index, start) => <Row key={r.id} r={r} index={index} start={start} onOpen={(x) => openCase(x.order_id)} />}
        />
      </div>
    </div>
  );
}
