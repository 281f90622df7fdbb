import { lazy, memo, Suspense, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { OrderHit } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { Money } from "../components/Money";
import { When } from "../components/When";
import { MARKS, markPainted } from "../lib/perfMarks";
import { SEARCH_DEBOUNCE_MS, useDebounced } from "../lib/useDebounced";

// The case file (with the barcode library) is its own chunk: the search box
// paints without it, and it is fetched while the operator types.
const loadCaseFile = () => import("./CaseFile");
const CaseFileView = lazy(() => loadCaseFile().then((m) => ({ default: m.CaseFileView })));
/** How long after the lookup first shows the case file's code is fetched, in ms. */
const PRELOAD_CASE_FILE_AFTER_MS = 300;

/** One search result: rendered again only when it or its selection changes. */
const HitRow = memo(function HitRow({ h, selected, onSelect }: { h: OrderHit; selected: boolean; onSelect: (orderId: string) => void }) {
  const { t } = useTranslation();
  return (
    <li>
      <button type="button" className={selected ? "hit selected" : "hit"} onClick={() => onSelect(h.order_id)} data-testid={`lookup-result-${h.order_id}`}>
        <span className="hit-line">
          <span className="mono">{h.order_id}</span>
          <span className={`badge status-${h.status}`}>{t(`shopStatuses.${h.status}`, { defaultValue: h.status })}</span>
          <Money minor={h.amount_minor} currency={h.currency} />
        </span>
        <span className="hit-line muted small">
          <span>{h.buyer_name || "—"}</span>
          <span>{h.buyer_email}</span>
        </span>
        {h.status !== "unknown_order" && (
          <span className="hit-line muted small">
            <When at={h.created_at} country={h.country} />
          </span>
        )}
      </button>
    </li>
  );
});

/** Support's home: one search box, results as you type, the case file. */
export function LookupScreen({ initialOrder, onOrderShown }: { initialOrder?: string | null; onOrderShown?: () => void }) {
  const { t } = useTranslation();
  const [query, setQuery] = useState("");
  const settled = useDebounced(query, SEARCH_DEBOUNCE_MS);
  const [hits, setHits] = useState<OrderHit[] | null>(null);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [selected, setSelected] = useState<string | null>(initialOrder ?? null);
  const seq = useRef(0);

  useEffect(() => {
    markPainted(MARKS.lookupReady);
    const timer = setTimeout(() => loadCaseFile().catch(() => undefined), PRELOAD_CASE_FILE_AFTER_MS);
    return () => clearTimeout(timer);
  }, []);

  useEffect(() => {
    if (initialOrder) {
      setSelected(initialOrder);
      onOrderShown?.();
    }
  }, [initialOrder, onOrderShown]);

  useEffect(() => {
    const q = settled.trim();
    const mine = ++seq.current;
    if (!q) {
      setHits(null);
      setError(null);
      setSearching(false);
      return;
    }
    setSearching(true);
    api
      .searchOrders(q)
      .then((h) => {
        if (mine !== seq.current) return; // a newer search is under way
        setHits(h);
        setError(null);
      })
      .catch((e: unknown) => {
        if (mine !== seq.current) return;
        setHits(null);
        setError(toApiError(e));
      })
      .finally(() => {
        if (mine === seq.current) setSearching(false);
      });
  }, [settled]);

  return (
    <div className="lookup">
      <section className="lookup-search panel">
        <label className="field">
          <span>{t("lookup.searchLabel")}</span>
          <input
            type="search"
            value={query}
            placeholder={t("lookup.searchPlaceholder")}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && hits && hits[0]) setSelected(hits[0].order_id);
            }}
            autoFocus
            spellCheck={false}
            data-testid="lookup-search"
          />
        </label>
        {searching && (
          <p className="muted small" data-testid="lookup-searching">
            {t("lookup.searching")}
          </p>
        )}
        <ErrorNotice error={error} testId="lookup-error" />
        {!query.trim() && !hits && <p className="muted">{t("lookup.hint")}</p>}
        {hits && hits.length === 0 && (
          <p className="muted" data-testid="lookup-no-hits">
            {t("lookup.noHits", { query: settled.trim() })}
          </p>
        )}
        {hits && hits.length > 0 && (
          <ul className="hit-list" data-testid="lookup-results" aria-label={t("lookup.results")}>
            {hits.map((h) => (
              <HitRow key={h.order_id} h={h} selected={h.order_id === selected} onSelect={setSelected} />
            ))}
          </ul>
        )}
      </section>
      <section className="lookup-case">
        <Suspense fallback={<p className="muted">{t("app.loading")}</p>}>{selected && <CaseFileView orderId={selected} key={selected} />}</Suspense>
      </section>
    </div>
  );
}
