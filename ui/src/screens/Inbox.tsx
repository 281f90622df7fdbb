// The finance inbox (issue 5): refunds pending approval, sorted by amount or
// by age, the case file inline, approve / reject with a comment, and a bulk
// approval offered for tier-2 refunds only. The core decides every one
// (maker-checker, the role a tier awaits) and its refusals are shown.

import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { toApiError, type ApiError } from "../api/errors";
import { allRefunds, refundsApi } from "../api/refunds";
import type { BulkApproval, Refund } from "../bindings";
import { Money } from "../components/Money";
import { Refusal } from "../components/RefundDialog";
import { RefundRow } from "../components/RefundsPanel";
import { When } from "../components/When";
import { CaseFileView } from "./CaseFile";
import { useTeamRefresh } from "../team/TeamContext";

export type InboxSort = "amount" | "age";

/** Pending refunds in the inbox's order: largest first, or oldest first. */
export function sortInbox(items: Refund[], sort: InboxSort): Refund[] {
  const out = [...items];
  if (sort === "amount") out.sort((a, b) => b.amount_minor - a.amount_minor || a.id - b.id);
  else out.sort((a, b) => a.requested_at.localeCompare(b.requested_at) || a.id - b.id);
  return out;
}

/** Only tier-2 refunds may be bulk-approved (the core refuses any other). */
export function bulkOffered(r: Refund): boolean {
  return r.tier === 2;
}

function countryOf(r: Refund): string {
  return r.currency === "PEN" ? "PE" : "CO";
}

function Decision({ r, onDone }: { r: Refund; onDone: () => void }) {
  const { t } = useTranslation();
  const [comment, setComment] = useState("");
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const decide = async (approve: boolean) => {
    setRefusal(null);
    try {
      if (approve) await refundsApi.approve(r.id, comment.trim() === "" ? null : comment);
      else await refundsApi.reject(r.id, comment);
      onDone();
    } catch (e) {
      setRefusal(toApiError(e));
    }
  };
  return (
    <div className="decision" data-testid={`inbox-decision-${r.id}`}>
      <textarea
        placeholder={t("inbox.commentPlaceholder")}
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        aria-label={t("inbox.comment")}
        data-testid={`inbox-comment-${r.id}`}
      />
      <div className="button-row">
        <button type="button" className="primary" onClick={() => void decide(true)} data-testid={`inbox-approve-${r.id}`}>
          {t("inbox.approve")}
        </button>
        <button type="button" disabled={comment.trim() === ""} title={t("inbox.rejectNeedsComment")} onClick={() => void decide(false)} data-testid={`inbox-reject-${r.id}`}>
          {t("inbox.reject")}
        </button>
      </div>
      <Refusal error={refusal} testId={`inbox-refusal-${r.id}`} />
    </div>
  );
}

export function InboxScreen() {
  const { t } = useTranslation();
  const [items, setItems] = useState<Refund[]>([]);
  const [sort, setSort] = useState<InboxSort>("amount");
  const [open, setOpen] = useState<number | null>(null);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [error, setError] = useState<ApiError | null>(null);
  const [bulk, setBulk] = useState<BulkApproval | null>(null);
  const [loaded, setLoaded] = useState(false);

  const load = useCallback(async () => {
    try {
      const pending = await allRefunds({ status: "pending_approval", method: null, reason: null, tier: null, psp: null, order_id: null });
      setItems(pending);
      setSelected((s) => new Set([...s].filter((id) => pending.some((r) => r.id === id && bulkOffered(r)))));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setLoaded(true);
    }
  }, []);
  useEffect(() => {
    void load();
  }, [load]);
  useTeamRefresh(() => void load());

  const sorted = useMemo(() => sortInbox(items, sort), [items, sort]);
  const tier2 = sorted.filter(bulkOffered);
  const current = sorted.find((r) => r.id === open) ?? null;

  const toggle = (id: number) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const approveSelected = async () => {
    setError(null);
    try {
      setBulk(await refundsApi.bulkApprove([...selected], null));
      setSelected(new Set());
      await load();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  return (
    <div className="inbox" data-testid="inbox-screen">
      <div className="toolbar-row">
        <h2>{t("inbox.title")}</h2>
        <div className="segmented" role="tablist" aria-label={t("inbox.sortBy")}>
          {(["amount", "age"] as const).map((s) => (
            <button key={s} type="button" role="tab" aria-selected={s === sort} className={s === sort ? "active" : ""} onClick={() => setSort(s)} data-testid={`inbox-sort-${s}`}>
              {t(`inbox.sort.${s}`)}
            </button>
          ))}
        </div>
        {tier2.length > 0 && (
          <button type="button" className="primary" disabled={selected.size === 0} onClick={() => void approveSelected()} data-testid="inbox-bulk-approve">
            {t("inbox.bulkApprove", { count: selected.size })}
          </button>
        )}
      </div>
      <Refusal error={error} testId="inbox-error" />
      {bulk && (
        <div className="notice notice-ok" data-testid="inbox-bulk-result">
          {t("inbox.bulkDone", { approved: bulk.approved.length, refused: bulk.refused.length })}
          {bulk.refused.map((r) => (
            <div key={r.id} className="small" data-testid="inbox-bulk-refused" data-code={r.code}>
              #{r.id}: <span className="mono">{r.code}</span> {r.message}
            </div>
          ))}
        </div>
      )}
      {loaded && sorted.length === 0 && (
        <p className="muted empty" data-testid="inbox-empty">
          {t("inbox.empty")}
        </p>
      )}
      <div className={current ? "inbox-split" : ""}>
        <table className="table" data-testid="inbox-table">
          <thead>
            <tr>
              <th>{t("inbox.bulk")}</th>
              <th>#</th>
              <th>{t("refunds.col.tier")}</th>
              <th>{t("refunds.col.amount")}</th>
              <th className="opt">{t("refunds.col.reason")}</th>
              <th>{t("refunds.col.order")}</th>
              <th className="opt">{t("refunds.col.requestedBy")}</th>
              <th className="opt">{t("refunds.col.requestedAt")}</th>
              <th className="opt">{t("inbox.awaiting")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.id} data-testid={`inbox-row-${r.id}`} data-tier={r.tier} className={r.id === open ? "selected" : ""}>
                <td>
                  {bulkOffered(r) ? (
                    <input type="checkbox" checked={selected.has(r.id)} onChange={() => toggle(r.id)} aria-label={t("inbox.selectForBulk", { id: r.id })} data-testid={`inbox-select-${r.id}`} />
                  ) : (
                    <span className="muted small" title={t("inbox.oneByOne")}>
                      —
                    </span>
                  )}
                </td>
                <td className="mono small">{r.id}</td>
                <td>{t("refunds.tierN", { tier: r.tier })}</td>
                <td className="num">
                  <Money minor={r.amount_minor} currency={r.currency} />
                </td>
                <td className="opt">{t(`refunds.reasons.${r.reason}`)}</td>
                <td className="mono">{r.order_id}</td>
                <td className="opt">{r.requested_by}</td>
                <td className="small opt">
                  <When at={r.requested_at} country={countryOf(r)} />
                </td>
                <td className="opt">{r.awaiting.map((a) => t(`roles.${a}`)).join(" + ")}</td>
                <td>
                  <button type="button" onClick={() => setOpen(r.id === open ? null : r.id)} data-testid={`inbox-open-${r.id}`}>
                    {r.id === open ? t("common.close") : t("inbox.open")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {current && (
          <aside className="panel inbox-case" data-testid="inbox-case">
            <ul className="plain-list">
              <RefundRow r={current} country={countryOf(current)} />
            </ul>
            <Decision
              key={current.id}
              r={current}
              onDone={() => {
                setOpen(null);
                void load();
              }}
            />
            <CaseFileView orderId={current.order_id} />
          </aside>
        )}
      </div>
    </div>
  );
}
