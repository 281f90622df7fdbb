// A case file's refunds: what each payment can still give back, its
// refund history (status, tier, approvals with who and when, PSP reference,
// withdrawal code, locked exchange rate), the archived receipt of a
// succeeded refund, and the "Request refund" dialog.

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import { allRefunds, refundsApi } from "../api/refunds";
import type { CaseFile, PaymentRecord, PickedFile, Refund, Refundable } from "../bindings";
import { ErrorNotice } from "./ErrorNotice";
import { Money } from "./Money";
import { RefundDialog, Refusal } from "./RefundDialog";
import { probeRefundRule, type RefundRule } from "./refundRule";
import { When } from "./When";
import { useTeamRefresh } from "../team/TeamContext";
import { usePolling } from "../lib/usePolling";

/** Today's date in the browser's calendar, YYYY-MM-DD (the core checks it against the market's). */
function todayIso(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Finance records the bank transfer of an approved `bank_transfer` refund: reference, date, proof file. */
export function RecordTransfer({ r, onChanged }: { r: Refund; onChanged?: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [reference, setReference] = useState("");
  const [date, setDate] = useState(todayIso());
  const [proof, setProof] = useState<PickedFile | null>(null);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const pick = async () => {
    setRefusal(null);
    try {
      const picked = await refundsApi.pickProofFile(t("refunds.transfer.proofTitle"));
      if (picked) setProof(picked);
    } catch (e) {
      setRefusal(toApiError(e));
    }
  };
  const save = async () => {
    if (!proof || reference.trim() === "" || busy) return;
    setBusy(true);
    setRefusal(null);
    try {
      await refundsApi.recordTransfer(r.id, reference.trim(), date, proof.token);
      setOpen(false);
      onChanged?.();
    } catch (e) {
      setRefusal(toApiError(e));
    } finally {
      setBusy(false);
    }
  };
  if (!open) {
    return (
      <div className="button-row">
        <span className="muted small">{t("refunds.transfer.awaiting")}</span>
        <button type="button" className="primary" onClick={() => setOpen(true)} data-testid={`refund-record-transfer-${r.id}`}>
          {t("refunds.transfer.record")}
        </button>
      </div>
    );
  }
  return (
    <div className="record-transfer" data-testid={`refund-transfer-form-${r.id}`}>
      <strong>{t("refunds.transfer.title", { id: r.id })}</strong>
      <div className="field-grid">
        <label className="field">
          <span>{t("refunds.transfer.reference")}</span>
          <input value={reference} onChange={(e) => setReference(e.target.value)} data-testid="refund-transfer-reference" />
        </label>
        <label className="field">
          <span>{t("refunds.transfer.date")}</span>
          <input type="date" value={date} onChange={(e) => setDate(e.target.value)} data-testid="refund-transfer-date" />
        </label>
        <div className="field">
          <span>{t("refunds.transfer.proof")}</span>
          <button type="button" onClick={() => void pick()} data-testid="refund-transfer-pick">
            {t("refunds.transfer.pickProof")}
          </button>
          <span className="mono small" data-testid="refund-transfer-proof-name">
            {proof ? proof.name : t("refunds.transfer.noProof")}
          </span>
        </div>
      </div>
      <Refusal error={refusal} testId="refund-transfer-refusal" />
      <div className="button-row">
        <button type="button" onClick={() => setOpen(false)}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="primary"
          disabled={!proof || reference.trim() === "" || busy}
          onClick={() => void save()}
          data-testid="refund-transfer-save"
        >
          {t("refunds.transfer.save")}
        </button>
      </div>
    </div>
  );
}

export function RefundRow({ r, country, onChanged }: { r: Refund; country: string; onChanged?: () => void }) {
  const { t } = useTranslation();
  const [receipt, setReceipt] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const getReceipt = async () => {
    setError(null);
    try {
      setReceipt((await refundsApi.receipt(r.id)).path);
      onChanged?.();
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const [savedAt, setSavedAt] = useState<string | null>(null);
  const saveCopy = async () => {
    setError(null);
    try {
      const picked = await api.pickSaveFile(t("refunds.receiptSaveTitle"), `refund-${r.id}-receipt.pdf`, "pdf");
      if (!picked) return;
      setSavedAt((await refundsApi.saveReceipt(r.id, picked.token)).path);
    } catch (e) {
      setError(toApiError(e));
    }
  };
  const fx = r.fx ?? r.fx_quote;
  const transfer = r.details.kind === "bank_transfer" ? r.details.transfer ?? null : null;
  return (
    <li className="refund-item" data-testid={`refund-row-${r.id}`} data-status={r.status} data-tier={r.tier}>
      <div className="hit-line">
        <span className="mono small">#{r.id}</span>
        <span className={`badge status-${r.status}`} data-testid="refund-status">
          {t(`refunds.statuses.${r.status}`)}
        </span>
        <span className="badge" data-testid="refund-row-tier">
          {t("refunds.tierN", { tier: r.tier })}
        </span>
        <Money minor={r.amount_minor} currency={r.currency} testId="refund-row-amount" />
        <span>{t(`refunds.methods.${r.method}`)}</span>
        <span className="muted">{t(`refunds.reasons.${r.reason}`)}</span>
        {r.note && <span className="muted small">“{r.note}”</span>}
      </div>
      <p className="muted small">
        {t("refunds.requestedBy", { name: r.requested_by })} · <When at={r.requested_at} country={country} />
        {r.awaiting.length > 0 && (
          <span data-testid="refund-awaiting"> · {t("refunds.awaiting", { roles: r.awaiting.map((a) => t(`roles.${a}`)).join(" + ") })}</span>
        )}
      </p>
      {r.approvals.length > 0 && (
        <ul className="plain-list small" data-testid="refund-approvals">
          {r.approvals.map((a, i) => (
            <li key={i} data-testid="refund-approval" data-operator={a.operator} data-decision={a.decision}>
              {t(a.decision === "approve" ? "refunds.approvedBy" : "refunds.rejectedBy", { name: a.operator, role: t(`roles.${a.role}`, { defaultValue: a.role }) })}{" "}
              · <When at={a.at} country={country} />
              {a.comment && <span className="muted"> · “{a.comment}”</span>}
            </li>
          ))}
        </ul>
      )}
      <dl className="kv small">
        {transfer && (
          <>
            <dt>{t("refunds.methods.bank_transfer")}</dt>
            <dd data-testid="refund-transfer">
              {t("refunds.transfer.recorded", { date: transfer.date, reference: transfer.reference, name: transfer.recorded_by })}
            </dd>
            <dt>{t("refunds.transfer.proofFile")}</dt>
            <dd className="mono small" data-testid="refund-transfer-proof">
              {transfer.proof_file} · SHA-256 {transfer.proof_sha256.slice(0, 16)}…
            </dd>
          </>
        )}
        {r.psp_refund_id && !transfer && (
          <>
            <dt>{t("refunds.pspReference")}</dt>
            <dd className="mono" data-testid="refund-psp-ref">
              {r.psp_refund_id} {r.psp_status && <span className="muted">({r.psp_status})</span>}
            </dd>
          </>
        )}
        {r.withdrawal_code && (
          <>
            <dt>{t("refunds.withdrawalCode")}</dt>
            <dd className="mono" data-testid="refund-withdrawal-code">
              {r.withdrawal_code}
            </dd>
          </>
        )}
        {r.submit_attempts > 0 && (
          <>
            <dt>{t("refunds.attempts")}</dt>
            <dd>{r.submit_attempts}</dd>
          </>
        )}
        {fx && (
          <>
            <dt>{r.fx ? t("refunds.fxLocked") : t("refunds.fxQuote")}</dt>
            <dd data-testid="refund-fx">
              1 {fx.order_currency} = {fx.rate} {r.currency} · {fx.order_amount} {fx.order_currency}
              <span className="muted"> · {fx.source}</span>
            </dd>
          </>
        )}
        {r.last_error && (
          <>
            <dt>{t("refunds.lastError")}</dt>
            <dd className="warn" data-testid="refund-last-error">
              {r.last_error}
            </dd>
          </>
        )}
      </dl>
      {r.method === "bank_transfer" && r.status === "approved" && <RecordTransfer r={r} onChanged={onChanged} />}
      {r.status === "succeeded" && (
        <div className="button-row">
          <button type="button" onClick={() => void getReceipt()} data-testid={`refund-receipt-${r.id}`}>
            {t("refunds.receipt")}
          </button>
          <button type="button" onClick={() => void saveCopy()} data-testid={`refund-receipt-save-${r.id}`}>
            {t("refunds.receiptSave")}
          </button>
          {receipt && (
            <span className="mono small" data-testid="refund-receipt-path">
              {t("refunds.receiptAt", { path: receipt })}
            </span>
          )}
          {savedAt && (
            <span className="mono small" data-testid="refund-receipt-saved">
              {t("refunds.receiptSaved", { path: savedAt })}
            </span>
          )}
        </div>
      )}
      <ErrorNotice error={error} testId="refund-receipt-error" />
    </li>
  );
}

function PaymentRefunds({
  payment,
  refunds,
  orderCurrency,
  onChanged,
}: {
  payment: PaymentRecord;
  refunds: Refund[];
  orderCurrency: string | null;
  onChanged: () => void;
}) {
  const { t } = useTranslation();
  const [refundable, setRefundable] = useState<Refundable | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  /** The rule the dialog was opened with: a refresh behind it does not change or close it. */
  const [asking, setAsking] = useState<Extract<RefundRule, { kind: "open" }> | null>(null);
  const [rule, setRule] = useState<RefundRule | null>(null);
  const load = useCallback(async () => {
    try {
      const r = await refundsApi.refundable(payment.payment_id, payment.psp);
      setRefundable(r);
      setRule(await probeRefundRule(payment, r));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [payment.payment_id, payment.psp, payment.status]);
  useEffect(() => {
    void load();
  }, [load, refunds]);
  return (
    <div className="payment-refunds" data-testid={`refunds-of-${payment.payment_id}`}>
      <div className="hit-line">
        <span className="mono small">
          {payment.psp} {payment.payment_id}
        </span>
        {refundable && (
          <span data-testid="refundable-amount" data-minor={refundable.refundable_minor}>
            {t("refunds.refundable")}: <Money minor={refundable.refundable_minor} currency={refundable.currency} />
            <span className="muted small">
              {" "}
              ({t("refunds.paid")} <Money minor={refundable.paid_minor} currency={refundable.currency} /> · {t("refunds.refunded")}{" "}
              <Money minor={refundable.succeeded_minor} currency={refundable.currency} /> · {t("refunds.inFlight")}{" "}
              <Money minor={refundable.in_flight_minor} currency={refundable.currency} />)
            </span>
          </span>
        )}
        {rule && (
          <button
            type="button"
            className={rule.kind === "open" ? "primary" : undefined}
            disabled={rule.kind !== "open"}
            aria-describedby={rule.kind === "blocked" ? `refund-blocked-${payment.payment_id}` : undefined}
            onClick={() => rule.kind === "open" && setAsking(rule)}
            data-testid={`request-refund-${payment.payment_id}`}
            data-method={rule.kind === "open" ? rule.method : undefined}
            data-blocked={rule.kind === "blocked" ? rule.reason : undefined}
          >
            {t("refunds.request")}
          </button>
        )}
      </div>
      {rule?.kind === "blocked" && (
        <div className="muted small blocked-reason" id={`refund-blocked-${payment.payment_id}`} data-testid={`refund-blocked-${payment.payment_id}`} data-reason={rule.reason}>
          {t(`refunds.blocked.${rule.reason}`, { psp: t(`pspAccounts.psps.${payment.psp}`, { defaultValue: payment.psp }) })}
          {rule.error && (
            <details className="error-details">
              <summary>{t("errors.details")}</summary>
              <span className="mono">{rule.error.code}</span> {rule.error.message}
            </details>
          )}
        </div>
      )}
      <Refusal error={error} testId="refundable-error" />
      {refunds.length === 0 ? (
        <p className="muted small">{t("refunds.none")}</p>
      ) : (
        <ul className="plain-list">
          {refunds.map((r) => (
            <RefundRow key={r.id} r={r} country={payment.country} onChanged={onChanged} />
          ))}
        </ul>
      )}
      {asking && refundable && (
        <RefundDialog
          payment={payment}
          refundable={refundable}
          rule={asking}
          orderCurrency={orderCurrency}
          onClose={() => setAsking(null)}
          onRequested={() => {
            setAsking(null);
            onChanged();
          }}
        />
      )}
    </div>
  );
}

/** Refunds follow the PSP in the background: the panel re-reads them this often, in ms. */
export const REFUNDS_REFRESH_MS = 5_000;

export function RefundsPanel({ file }: { file: CaseFile }) {
  const { t } = useTranslation();
  const [refunds, setRefunds] = useState<Refund[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  const load = useCallback(async () => {
    try {
      setRefunds(await allRefunds({ status: null, method: null, reason: null, tier: null, psp: null, order_id: file.order_id }));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [file.order_id]);
  usePolling(load, REFUNDS_REFRESH_MS);
  useTeamRefresh(() => void load());
  const paid = file.payments.filter((p) => p.status === "paid" || refunds.some((r) => r.payment_id === p.payment_id));
  return (
    <section className="panel" data-testid="case-refunds">
      <h3>{t("refunds.title")}</h3>
      <ErrorNotice error={error} testId="case-refunds-error" />
      {paid.length === 0 && <p className="muted">{t("refunds.nothingPaid")}</p>}
      {paid.map((p) => (
        <PaymentRefunds
          key={`${p.psp}:${p.payment_id}`}
          payment={p}
          refunds={refunds.filter((r) => r.payment_id === p.payment_id && r.psp === p.psp)}
          orderCurrency={file.order?.currency ?? null}
          onChanged={() => void load()}
        />
      ))}
    </section>
  );
}
