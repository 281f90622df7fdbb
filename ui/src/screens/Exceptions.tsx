import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, QUEUE_FIRST_PAGE_LIMIT, QUEUE_PAGE_LIMIT } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type {
  AgeBucket,
  Country,
  ExceptionCursor,
  ExceptionQuery,
  ExceptionRecord,
  ExceptionSort,
  HistoryRecord,
  QueueCounts,
} from "../bindings";
import { AGE_BUCKETS, EXCEPTION_KINDS, EXCEPTION_SORTS, EXCEPTION_STATUSES } from "../api/types";
import { AssignDialog } from "../components/AssignDialog";
import { Drawer } from "../components/Dialog";
import { ErrorNotice } from "../components/ErrorNotice";
import { FilterSelect } from "../components/FilterSelect";
import { OkNotice } from "../components/OkNotice";
import { Money } from "../components/Money";
import { ResolveDialog } from "../components/ResolveDialog";
import { VirtualRows } from "../components/VirtualRows";
import { When } from "../components/When";
import { exceptionHint } from "../lib/exceptionText";
import { useDebounced } from "../lib/useDebounced";
import { useSession } from "../session";
import { useTeamRefresh } from "../team/TeamContext";
import { takeQueueFilter } from "../lib/queueFilter";
import { CaseFileView } from "./CaseFile";

const ROW_HEIGHT_PX = 36;
/** Rows rendered beyond each edge of the viewport (scrolling shows them without a render). */
const OVERSCAN_ROWS = 8;
/** Start fetching the next page this many rows before the end of what is loaded. */
const PREFETCH_ROWS = 40;
const TEXT_FILTER_DEBOUNCE_MS = 300;
const KNOWN_PSPS = ["dlocal", "pagoefectivo", "payu", "kushki"];
const COUNTRIES: readonly Country[] = ["CO", "PE"];

/** The core's history event text ("detected", "resolved: accept", "assigned to ana"…) as a catalogue key and values. */
export function historyEvent(event: string): { key: string; values: Record<string, string> } | null {
  const e = event.trim();
  if (e === "detected") return { key: "events.detected", values: {} };
  if (e === "unassigned") return { key: "events.unassigned", values: {} };
  if (e === "reappeared") return { key: "events.reappeared", values: {} };
  if (e === "facts changed") return { key: "events.factsChanged", values: {} };
  if (e === "cleared by data") return { key: "events.cleared", values: {} };
  if (e.startsWith("reopened")) return { key: "events.reopened", values: {} };
  const resolved = /^resolved: (\w+)$/.exec(e);
  if (resolved) return { key: "events.resolved", values: { action: resolved[1] ?? "" } };
  const assigned = /^assigned to (.+)$/.exec(e);
  if (assigned) return { key: "events.assigned", values: { name: assigned[1] ?? "" } };
  return null;
}

export const DEFAULT_QUERY: ExceptionQuery = { status: "open" };

/**
 * A queue row opened (click or Enter): the case file of its order, with its
 * actions, and the exception's own history below. Esc closes it and focus goes
 * back to the row.
 */
function HistoryDrawer({ row, onClose }: { row: ExceptionRecord; onClose: () => void }) {
  const { t } = useTranslation();
  const { openCase } = useSession();
  const [history, setHistory] = useState<HistoryRecord[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let live = true;
    setHistory(null);
    api
      .exceptionHistory(row.id)
      .then((h) => live && setHistory(h))
      .catch((e: unknown) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [row.id]);
  return (
    <Drawer title={row.order_id ? t("caseFile.title", { id: row.order_id }) : t("exceptions.historyTitle", { id: row.id })} onClose={onClose} testId="history-drawer" wide>
      {row.order_id && <CaseFileView orderId={row.order_id} />}
      <details className="panel" data-testid="history-details" open={!row.order_id}>
        <summary>
          <strong>{t("exceptions.historyTitle", { id: row.id })}</strong>
        </summary>
      <dl className="kv">
        <dt>{t("exceptions.col.kind")}</dt>
        <dd>{t(`kinds.${row.kind}`, { defaultValue: row.kind })}</dd>
        <dt>{t("exceptions.col.status")}</dt>
        <dd>{t(`statuses.${row.status}`)}</dd>
        <dt>{t("exceptions.col.order")}</dt>
        <dd>
          {row.order_id ? (
            <button type="button" className="link-button" onClick={() => openCase(row.order_id)} data-testid="history-open-case">
              {row.order_id} — {t("exceptions.openCase")}
            </button>
          ) : (
            "—"
          )}
        </dd>
        <dt>{t("exceptions.col.amount")}</dt>
        <dd>
          <Money minor={row.amount_minor} currency={row.currency} />
        </dd>
        <dt>{t("exceptions.col.detail")}</dt>
        <dd>
          <span data-testid="history-hint">{exceptionHint(row, t)}</span>
          <details className="small muted">
            <summary>{t("exceptionHints.english")}</summary>
            {row.detail}
          </details>
        </dd>
        {row.resolution && (
          <>
            <dt>{t("exceptions.resolution")}</dt>
            <dd>
              {t(`actions.${row.resolution}`, { defaultValue: row.resolution })} · {row.note}
            </dd>
          </>
        )}
      </dl>
      <ErrorNotice error={error} testId="history-error" />
      {history && history.length === 0 && <p className="muted">{t("exceptions.historyEmpty")}</p>}
      {history && history.length > 0 && (
        <ol className="timeline" data-testid="history-list">
          {history.map((h, i) => (
            <li key={i} data-testid="history-entry" data-event={h.event}>
              <span className="badge" title={h.event}>
                {(() => {
                  const ev = historyEvent(h.event);
                  if (!ev) return h.event;
                  const action = ev.values.action;
                  return t(ev.key, action ? { ...ev.values, action: t(`actions.${action}`, { defaultValue: action }) } : ev.values);
                })()}
              </span>
              <span className="small">
                {h.from_status ? `${t(`statuses.${h.from_status}`, { defaultValue: h.from_status })} → ` : ""}
                {t(`statuses.${h.to_status}`, { defaultValue: h.to_status })}
              </span>
              <When at={h.at} country={row.country} />
              <span className="small">{h.operator}</span>
              {h.note && <span className="muted small">“{h.note}”</span>}
            </li>
          ))}
        </ol>
      )}
      </details>
    </Drawer>
  );
}

const CountChips = memo(function CountChips({ counts, query, onKind, onAge }: { counts: QueueCounts | null; query: ExceptionQuery; onKind: (k: string | null) => void; onAge: (a: AgeBucket | null) => void }) {
  const { t } = useTranslation();
  if (!counts) return null;
  return (
    <div className="chips" data-testid="exception-counts">
      <span className="chip chip-total" data-testid="count-total" data-count={counts.total}>
        {t("exceptions.countsTotal", { count: counts.total })}
      </span>
      {EXCEPTION_KINDS.map((k) => {
        const n = counts.by_kind[k] ?? 0;
        const active = query.kind === k;
        return (
          <button
            key={k}
            type="button"
            className={`chip${active ? " active" : ""}${n === 0 ? " zero" : ""}`}
            onClick={() => onKind(active ? null : k)}
            data-testid={`count-kind-${k}`}
            data-count={n}
          >
            {t(`kinds.${k}`)} <b>{n}</b>
          </button>
        );
      })}
      <span className="chip-sep" />
      {AGE_BUCKETS.map((a) => {
        const n = counts.by_age[a] ?? 0;
        const active = query.age === a;
        return (
          <button key={a} type="button" className={`chip${active ? " active" : ""}`} onClick={() => onAge(active ? null : a)} data-testid={`count-age-${a}`} data-count={n}>
            {t(`ages.${a}`)} <b>{n}</b>
          </button>
        );
      })}
    </div>
  );
});

/** One row of the queue: rendered again only when its record or selection changes. */
const QueueRow = memo(function QueueRow({
  r,
  index,
  start,
  isSel,
  allColumns,
  onOpen,
  onToggle,
}: {
  r: ExceptionRecord;
  index: number;
  start: number;
  isSel: boolean;
  allColumns: boolean;
  onOpen: (r: ExceptionRecord) => void;
  onToggle: (id: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <div
      role="row"
      tabIndex={0}
      aria-selected={isSel}
      className={`vrow${isSel ? " selected" : ""}${index % 2 ? " odd" : ""}`}
      style={{ transform: `translateY(${start}px)`, height: ROW_HEIGHT_PX }}
      onClick={() => onOpen(r)}
      onKeyDown={(e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === "Enter") {
          e.preventDefault();
          onOpen(r);
        } else if (e.key === " ") {
          e.preventDefault();
          onToggle(r.id);
        }
      }}
      data-testid={`row-${r.id}`}
      data-kind={r.kind}
      data-status={r.status}
    >
      <span role="cell" className="c-check" onClick={(e) => e.stopPropagation()}>
        <input type="checkbox" checked={isSel} onChange={() => onToggle(r.id)} aria-label={t("exceptions.selectRow", { id: r.id })} data-testid={`row-select-${r.id}`} />
      </span>
      <span role="cell" className="c-kind" title={t(`kinds.${r.kind}`, { defaultValue: r.kind })}>
        {t(`kinds.${r.kind}`, { defaultValue: r.kind })}
      </span>
      <span role="cell" className="c-status">
        <span className={`badge status-${r.status}`}>{t(`statuses.${r.status}`)}</span>
      </span>
      <span role="cell" className="c-order mono">{r.order_id || "—"}</span>
      <span role="cell" className="c-psp">{r.psp || "—"}</span>
      <span role="cell" className="c-country">{r.country}</span>
      <span role="cell" className="c-store" title={r.store}>{r.store}</span>
      <span role="cell" className="c-amount num">
        <Money minor={r.amount_minor} currency={r.currency} />
      </span>
      <span role="cell" className="c-detected small">
        <When at={r.detected_at} country={r.country} />
      </span>
      <span role="cell" className="c-age num">{r.age_days}</span>
      {allColumns && (
        <>
          <span role="cell" className="c-assignee">{r.assignee ?? "—"}</span>
          <span role="cell" className="c-id mono small" title={r.id}>
            {r.id}
          </span>
        </>
      )}
    </div>
  );
});

/**
 * The virtualized rows. Scrolling re-renders this alone (not the filters and
 * counts above it), and only the rows that come into view are rendered.
 */
const QueueBody = memo(function QueueBody({
  rows,
  hasMore,
  showEmpty,
  selected,
  allColumns,
  onOpen,
  onToggle,
  onNearEnd,
}: {
  rows: ExceptionRecord[];
  hasMore: boolean;
  showEmpty: boolean;
  selected: Set<string>;
  allColumns: boolean;
  onOpen: (r: ExceptionRecord) => void;
  onToggle: (id: string) => void;
  onNearEnd: () => void;
}) {
  const { t } = useTranslation();
  return (
    <VirtualRows
      rows={rows}
      hasMore={hasMore}
      rowHeightPx={ROW_HEIGHT_PX}
      overscanRows={OVERSCAN_ROWS}
      prefetchRows={PREFETCH_ROWS}
      onNearEnd={onNearEnd}
      scrollTestId="exception-scroll"
      empty={
        showEmpty && (
          <p className="muted empty" data-testid="exceptions-empty">
            {t("exceptions.empty")}
          </p>
        )
      }
      loadingText={t("exceptions.loadingMore")}
      renderRow={(r, index, start) => (
        <QueueRow key={r.id} r={r} index={index} start={start} isSel={selected.has(r.id)} allColumns={allColumns} onOpen={onOpen} onToggle={onToggle} />
      )}
    />
  );
});

export function ExceptionsScreen() {
  const { t } = useTranslation();
  const { operator } = useSession();
  const [query, setQuery] = useState<ExceptionQuery>(() => takeQueueFilter(DEFAULT_QUERY));
  const [sort, setSort] = useState<ExceptionSort>("age_desc");
  // Free-text filters settle before they query.
  const [pspDraft, setPspDraft] = useState("");
  const [storeDraft, setStoreDraft] = useState("");
  const [assigneeDraft, setAssigneeDraft] = useState("");
  const [unassigned, setUnassigned] = useState(false);
  const psp = useDebounced(pspDraft, TEXT_FILTER_DEBOUNCE_MS);
  const store = useDebounced(storeDraft, TEXT_FILTER_DEBOUNCE_MS);
  const assignee = useDebounced(assigneeDraft, TEXT_FILTER_DEBOUNCE_MS);

  const filter = useMemo<ExceptionQuery>(
    () => ({
      ...query,
      psp: psp.trim() || null,
      store: store.trim() || null,
      assignee: unassigned ? "" : assignee.trim() || null,
    }),
    [query, psp, store, assignee, unassigned],
  );

  const [counts, setCounts] = useState<QueueCounts | null>(null);
  const [rows, setRows] = useState<ExceptionRecord[]>([]);
  const [next, setNext] = useState<ExceptionCursor | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [dialog, setDialog] = useState<"resolve" | "assign" | null>(null);
  const [historyRow, setHistoryRow] = useState<ExceptionRecord | null>(null);
  /** Assignee and id: optional columns, hidden until asked for. */
  const [allColumns, setAllColumns] = useState(false);
  /** A dialog changed something: the queue reloads when it closes (a cancelled one keeps the selection). */
  const changed = useRef(false);
  const [notice, setNotice] = useState<string | null>(null);
  const generation = useRef(0);
  const loadingRef = useRef(false);

  const fetchPage = useCallback(
    async (gen: number, after: ExceptionCursor | null) => {
      loadingRef.current = true;
      setLoading(true);
      try {
        // A short first page paints sooner; the rest comes in full pages as the operator scrolls.
        const page = await api.exceptionPage(filter, sort, after, after ? QUEUE_PAGE_LIMIT : QUEUE_FIRST_PAGE_LIMIT);
        if (gen !== generation.current) return;
        setRows((old) => (after ? old.concat(page.rows) : page.rows));
        setNext(page.next_after);
        setError(null);
      } catch (e) {
        if (gen === generation.current) setError(toApiError(e));
      } finally {
        if (gen === generation.current) {
          loadingRef.current = false;
          setLoading(false);
        }
      }
    },
    [filter, sort],
  );

  const reload = useCallback((keepSelection = false) => {
    const gen = ++generation.current;
    // Keeping the selection keeps the rows on screen until the new page replaces
    // them, so that focus can go back to the row a drawer was opened from.
    if (!keepSelection) {
      setRows([]);
      setNext(null);
      setSelected(new Set());
    }
    void fetchPage(gen, null);
    api
      .exceptionCounts(filter)
      .then((c) => gen === generation.current && setCounts(c))
      .catch((e: unknown) => gen === generation.current && setError(toApiError(e)));
  }, [fetchPage, filter]);

  useEffect(() => {
    reload();
  }, [reload]);
  useTeamRefresh(reload);

  const loadMore = useCallback(() => {
    if (next && !loadingRef.current) void fetchPage(generation.current, next);
  }, [next, fetchPage]);

  const set = (patch: Partial<ExceptionQuery>) => setQuery((q) => ({ ...q, ...patch }));
  const onKind = useCallback((k: string | null) => setQuery((q) => ({ ...q, kind: k })), []);
  const onAge = useCallback((a: AgeBucket | null) => setQuery((q) => ({ ...q, age: a })), []);
  const toggle = useCallback(
    (id: string) =>
      setSelected((s) => {
        const n = new Set(s);
        if (n.has(id)) n.delete(id);
        else n.add(id);
        return n;
      }),
    [],
  );
  const allSelected = useMemo(() => rows.length > 0 && rows.every((r) => selected.has(r.id)), [rows, selected]);
  const selectedIds = useMemo(() => [...selected], [selected]);

  const exportCsv = async () => {
    setNotice(null);
    try {
      const picked = await api.pickSaveFile(t("common.pickSaveTitle"), `exceptions-${new Date().toISOString().slice(0, 10)}.csv`);
      if (!picked) return;
      const r = await api.exportExceptions(filter, picked.token);
      setNotice(t("exceptions.exported", { rows: r.rows, path: picked.path }));
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const markChanged = () => {
    changed.current = true;
  };
  const closeDialog = () => {
    setDialog(null);
    if (changed.current) reload();
    changed.current = false;
  };

  const clearFilters = () => {
    setQuery(DEFAULT_QUERY);
    setPspDraft("");
    setStoreDraft("");
    setAssigneeDraft("");
    setUnassigned(false);
  };

  return (
    <div className="exceptions">
      <div className="toolbar-row">
        <h2>{t("exceptions.title")}</h2>
        <div className="button-row">
          <span className="muted small" data-testid="selection-count">
            {t("exceptions.selected", { count: selected.size })}
          </span>
          <button type="button" disabled={selected.size === 0} onClick={() => setDialog("assign")} data-testid="bulk-assign">
            {t("exceptions.assign")}
          </button>
          <button type="button" className="primary" disabled={selected.size === 0} onClick={() => setDialog("resolve")} data-testid="bulk-resolve">
            {t("exceptions.resolve")}
          </button>
          <button type="button" onClick={() => void exportCsv()} data-testid="export-csv">
            {t("exceptions.export")}
          </button>
          <button type="button" onClick={() => reload()} data-testid="exceptions-refresh">
            {t("common.refresh")}
          </button>
          <button type="button" aria-pressed={allColumns} onClick={() => setAllColumns((v) => !v)} data-testid="queue-columns-toggle">
            {allColumns ? t("exceptions.fewerColumns") : t("exceptions.moreColumns")}
          </button>
        </div>
      </div>

      <CountChips counts={counts} query={query} onKind={onKind} onAge={onAge} />

      <div className="filters" aria-label={t("exceptions.filters")}>
        <FilterSelect label={t("exceptions.kind")} value={query.kind} options={EXCEPTION_KINDS} name={(k) => t(`kinds.${k}`)} onChange={(kind) => set({ kind })} testId="filter-kind" />
        <FilterSelect label={t("exceptions.status")} value={query.status} options={EXCEPTION_STATUSES} name={(s) => t(`statuses.${s}`)} onChange={(status) => set({ status })} testId="filter-status" />
        <FilterSelect label={t("exceptions.age")} value={query.age} options={AGE_BUCKETS} name={(a) => t(`ages.${a}`)} onChange={(age) => set({ age })} testId="filter-age" />
        <label className="field compact">
          <span>{t("exceptions.psp")}</span>
          <input list="known-psps" value={pspDraft} onChange={(e) => setPspDraft(e.target.value)} data-testid="filter-psp" />
          <datalist id="known-psps">
            {KNOWN_PSPS.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <FilterSelect label={t("exceptions.country")} value={query.country} options={COUNTRIES} name={(c) => t(`markets.${c}`)} onChange={(country) => set({ country })} testId="filter-country" />
        <label className="field compact">
          <span>{t("exceptions.store")}</span>
          <input value={storeDraft} onChange={(e) => setStoreDraft(e.target.value)} data-testid="filter-store" />
        </label>
        <label className="field compact">
          <span>{t("exceptions.assignee")}</span>
          <input value={assigneeDraft} disabled={unassigned} onChange={(e) => setAssigneeDraft(e.target.value)} data-testid="filter-assignee" />
        </label>
        <label className="field compact checkbox">
          <input type="checkbox" checked={unassigned} onChange={(e) => setUnassigned(e.target.checked)} data-testid="filter-unassigned" />
          <span>{t("exceptions.unassigned")}</span>
        </label>
        <label className="field compact">
          <span>{t("exceptions.sort")}</span>
          <select value={sort} onChange={(e) => setSort(e.target.value as ExceptionSort)} data-testid="sort">
            {EXCEPTION_SORTS.map((s) => (
              <option key={s} value={s}>
                {t(`sorts.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="link-button" onClick={clearFilters} data-testid="filter-clear">
          {t("exceptions.clearFilters")}
        </button>
      </div>

      <ErrorNotice error={error} testId="exceptions-error" />
      <OkNotice text={notice} testId="export-result" />

      <div className={`vtable${allColumns ? " all-columns" : ""}`} role="table" aria-rowcount={counts?.total ?? rows.length} data-testid="exception-table" data-loaded={rows.length}>
        <div className="vrow vhead" role="row">
          <span role="columnheader" className="c-check">
            <input
              type="checkbox"
              aria-label={t("exceptions.selectAll")}
              checked={allSelected}
              onChange={() => setSelected(allSelected ? new Set() : new Set(rows.map((r) => r.id)))}
              data-testid="select-all"
            />
          </span>
          <span role="columnheader" className="c-kind">{t("exceptions.col.kind")}</span>
          <span role="columnheader" className="c-status">{t("exceptions.col.status")}</span>
          <span role="columnheader" className="c-order">{t("exceptions.col.order")}</span>
          <span role="columnheader" className="c-psp">{t("exceptions.col.psp")}</span>
          <span role="columnheader" className="c-country">{t("exceptions.col.country")}</span>
          <span role="columnheader" className="c-store">{t("exceptions.col.store")}</span>
          <span role="columnheader" className="c-amount">{t("exceptions.col.amount")}</span>
          <span role="columnheader" className="c-detected">{t("exceptions.col.detected")}</span>
          <span role="columnheader" className="c-age">{t("exceptions.col.age")}</span>
          {allColumns && (
            <>
              <span role="columnheader" className="c-assignee">{t("exceptions.col.assignee")}</span>
              <span role="columnheader" className="c-id">{t("exceptions.col.id")}</span>
            </>
          )}
        </div>
        <QueueBody
          rows={rows}
          hasMore={next !== null}
          showEmpty={!loading && rows.length === 0 && !error}
          selected={selected}
          allColumns={allColumns}
          onOpen={setHistoryRow}
          onToggle={toggle}
          onNearEnd={loadMore}
        />
      </div>

      {dialog === "resolve" && (
        <ResolveDialog
          ids={selectedIds}
          role={operator.role}
          country={query.country ?? undefined}
          onClose={closeDialog}
          onResolved={markChanged}
        />
      )}
      {dialog === "assign" && (
        <AssignDialog
          ids={selectedIds}
          onClose={closeDialog}
          onAssigned={markChanged}
        />
      )}
      {historyRow && (
        <HistoryDrawer
          row={historyRow}
          onClose={() => {
            setHistoryRow(null);
            // What was done in the case file shows in the queue; the selection stays.
            reload(true);
          }}
        />
      )}
    </div>
  );
}
