// The finance inbox: refunds pending approval, sorted by amount or by age,
// each with who collects the money and whether that is the buyer, the case
// file inline, approve (after a confirm step naming amount, payee and tier) /
// reject with a comment, and a bulk approval offered for tier-2 refunds only.
// The core decides every one (maker-checker, the role a tier awaits) and its
// refusals are shown; a decision leaves a visible notice behind.

import { useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import type { TFunction } from "i18next";
import { toApiError, type ApiError } from "../api/errors";
import { allRefunds, refundsApi } from "../api/refunds";
import type { BulkApproval, PayeeCheck, Refund } from "../bindings";
import { Money } from "../components/Money";
import { formatAmount } from "../lib/format";
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

/** An account number with all but its last four characters hidden: `•••• 6789`. */
export function maskAccount(account: string): string {
  const compact = account.replace(/[\s-]/g, "");
  if (compact.length <= 4) return compact;
  return `•••• ${compact.slice(-4)}`;
}

export type PayeeMatch = "match" | "name_differs" | "document_differs" | "neither" | "no_order";

/** The library's comparison with the buyer, as one verdict. */
export function payeeMatch(check: PayeeCheck | null): PayeeMatch {
  if (!check) return "no_order";
  if (check.name_matches && check.document_matches) return "match";
  if (check.document_matches) return "name_differs";
  if (check.name_matches) return "document_differs";
  return "neither";
}

/** Who gets the money, as the approver compares it with the buyer. */
export function payeeName(r: Refund): string {
  return r.details.kind === "cash_pickup" ? r.details.payee.name : r.details.beneficiary.name;
}

/** Who collects the money: name, document, phone or bank account, and the KYC match. */
export function PayeeSummary({ r }: { r: Refund }) {
  const { t } = useTranslation();
  const match = payeeMatch(r.payee_check);
  const d = r.details;
  return (
    <div className="payee" data-testid={`inbox-payee-${r.id}`} data-match={match}>
      <span className="payee-name">{payeeName(r)}</span>
      {d.kind === "cash_pickup" ? (
        <span className="small">
          {t("inbox.payee.collectsCash")} · <span className="mono">{`${d.payee.document_type} ${d.payee.document_number}`}</span> ·{" "}
          <span className="mono" data-testid={`inbox-payee-phone-${r.id}`}>
            {d.payee.phone}
          </span>
        </span>
      ) : (
        <span className="small">
          {t("inbox.payee.bankTransfer")} · <span className="mono">{d.beneficiary.document}</span> · {d.beneficiary.bank} ·{" "}
          {t(`inbox.payee.accountTypes.${d.beneficiary.account_type === "C" ? "C" : "S"}`)}{" "}
          <span className="mono" data-testid={`inbox-payee-account-${r.id}`}>
            {maskAccount(d.beneficiary.account)}
          </span>
        </span>
      )}
      <span className={`badge payee-match payee-match-${match === "match" ? "ok" : "bad"}`}>{t(`inbox.payee.match.${match}`)}</span>
    </div>
  );
}

export interface Decided {
  id: number;
  /** The refund's status after the decision (`pending_approval` while another role must approve). */
  status: string;
  text: string;
}

/** The notice a decision leaves: "Refund 12 approved: awaiting manager". */
export function decisionNotice(r: Refund, approved: boolean, t: TFunction): Decided {
  let text: string;
  if (!approved) text = t("inbox.notice.rejected", { id: r.id });
  else if (r.awaiting.length > 0) text = t("inbox.notice.awaiting", { id: r.id, roles: r.awaiting.map((a) => t(`roles.${a}`)).join(" + ") });
  else text = t("inbox.notice.approved", { id: r.id });
  return { id: r.id, status: r.status, text };
}

function Decision({ r, onDone }: { r: Refund; onDone: (d: Decided) => void }) {
  const { t } = useTranslation();
  const [comment, setComment] = useState("");
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const decide = async (approve: boolean) => {
    setRefusal(null);
    setBusy(true);
    try {
      const after = approve ? await refundsApi.approve(r.id, comment.trim() === "" ? null : comment) : await refundsApi.reject(r.id, comment);
      onDone(decisionNotice(after, approve, t));
    } catch (e) {
      setRefusal(toApiError(e));
      setConfirming(false);
    } finally {
      setBusy(false);
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
      {confirming ? (
        <div
          className="confirm-step"
          role="alertdialog"
          aria-labelledby={`inbox-confirm-title-${r.id}`}
          onKeyDown={(e) => {
            if (e.key === "Escape" && !busy) {
              e.stopPropagation();
              setConfirming(false);
            }
          }}
          data-testid={`inbox-confirm-step-${r.id}`}
        >
          <strong id={`inbox-confirm-title-${r.id}`}>{t("inbox.confirm.title", { id: r.id })}</strong>
          <p>
            {t("inbox.confirm.body", {
              amount: formatAmount(r.amount_minor, r.currency),
              payee: payeeName(r),
              tier: r.tier,
            })}
          </p>
          {payeeMatch(r.payee_check) !== "match" && <p className="small warn-text">{t(`inbox.payee.match.${payeeMatch(r.payee_check)}`)}</p>}
          <div className="button-row">
            <button type="button" className="primary" disabled={busy} autoFocus onClick={() => void decide(true)} data-testid={`inbox-confirm-${r.id}`}>
              {t("inbox.confirm.yes")}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)} data-testid={`inbox-confirm-cancel-${r.id}`}>
              {t("common.cancel")}
            </button>
          </div>
        </div>
      ) : (
        <div className="button-row">
          <button type="button" className="primary" onClick={() => setConfirming(true)} data-testid={`inbox-approve-${r.id}`}>
            {t("inbox.approve")}
          </button>
          <button type="button" disabled={comment.trim() === "" || busy} title={t("inbox.rejectNeedsComment")} onClick={() => void decide(false)} data-testid={`inbox-reject-${r.id}`}>
            {t("inbox.reject")}
          </button>
        </div>
      )}
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
  const [notice, setNotice] = useState<Decided | null>(null);

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
      {notice && (
        <div className="notice notice-ok" role="status" data-testid="inbox-notice" data-id={notice.id} data-status={notice.status}>
          {notice.text}
          <button type="button" className="icon-button" onClick={() => setNotice(null)} aria-label={t("common.close")}>
            ×
          </button>
        </div>
      )}
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
              <th>{t("inbox.payee.title")}</th>
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
                <td>
                  <PayeeSummary r={r} />
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
              onDone={(d) => {
                setNotice(d);
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
