// "Request refund" from a case file. Before sending, the tier and
// who must approve come from the core (refunds_preview): the UI holds no tier
// table. Refusals are the core's, shown with their code and message.

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { toApiError, type ApiError } from "../api/errors";
import { REASON_CODES, REFUND_METHODS, refundsApi } from "../api/refunds";
import type { LimitView, PaymentRecord, ReasonCode, Refund, RefundMethod, Refundable, TierPreview } from "../bindings";
import { useDebounced } from "../lib/useDebounced";
import { formatAmount } from "../lib/format";
import { parseAmount } from "../lib/amount";
import { Dialog } from "./Dialog";
import { errorHeadlineKey } from "./ErrorNotice";
import type { RefundRule } from "./refundRule";

/** How long the amount must stay still before the tier is asked for, in ms. */
export const PREVIEW_DEBOUNCE_MS = 250;

/** Major units of `minor` in the plain form the core parses ("150000", "89.90"). */
export function plainMajor(minor: number, exponent = 2): string {
  const unit = 10 ** exponent;
  const whole = Math.trunc(minor / unit);
  const frac = Math.abs(minor % unit);
  return frac === 0 ? String(whole) : `${whole}.${String(frac).padStart(exponent, "0")}`;
}

/** A refusal in plain words; the core's code and message behind a "details" toggle. */
export function Refusal({ error, testId }: { error: ApiError | null; testId: string }) {
  const { t } = useTranslation();
  if (!error) return null;
  return (
    <div className="notice notice-error" role="alert" data-testid={testId} data-code={error.code}>
      <strong data-testid={`${testId}-headline`}>{t(errorHeadlineKey(error.code))}</strong>
      <details className="error-details">
        <summary>{t("errors.details")}</summary>
        <span className="mono small" data-testid={`${testId}-code`}>
          {error.code}
        </span>{" "}
        <span className="small" data-testid={`${testId}-message`}>
          {error.message}
        </span>
      </details>
    </div>
  );
}

/** Why the dialog starts on its method, in plain words. */
export function RuleLine({ rule, psp }: { rule: Extract<RefundRule, { kind: "open" }>; psp?: string }) {
  const { t } = useTranslation();
  const text = rule.manualOnly
    ? t("refunds.rule.manualOnly", { psp: t(`pspAccounts.psps.${psp ?? ""}`, { defaultValue: psp ?? "" }) })
    : rule.pspRefundAllowed
    ? t("refunds.rule.inWindow")
    : rule.paidOn && rule.windowDays !== null
      ? t("refunds.rule.windowPassed", { date: rule.paidOn, days: rule.windowDays })
      : t("refunds.rule.windowPassedNoDate");
  return (
    <p className="notice notice-info small" data-testid="refund-rule" data-method={rule.method}>
      {text}
    </p>
  );
}

export function TierLine({ preview }: { preview: TierPreview }) {
  const { t } = useTranslation();
  const who =
    preview.required_approvals.length === 0
      ? t("refunds.approvers.none")
      : preview.two_people
        ? t("refunds.approvers.two", { first: t(`roles.${preview.required_approvals[0]}`), second: t(`roles.${preview.required_approvals[1]}`) })
        : t("refunds.approvers.one", { role: t(`roles.${preview.required_approvals[0]}`) });
  return (
    <div className={`tier-preview tier-${preview.tier}`} data-testid="refund-tier-preview" data-tier={preview.tier}>
      <strong data-testid="refund-tier">{t("refunds.tierN", { tier: preview.tier })}</strong>
      <span data-testid="refund-approvers"> · {who}</span>
      {preview.finance_required && <span className="muted small"> · {t("refunds.pastWindow")}</span>}
      {preview.exceeds_refundable && (
        <span className="warn small" data-testid="refund-exceeds">
          {" "}
          · {t("refunds.exceeds", { amount: formatAmount(preview.refundable.refundable_minor, preview.currency) })}
        </span>
      )}
      {preview.payout_limit && <PayoutLimitLine limit={preview.payout_limit} />}
      {preview.exceeds_limit && (
        <p className="warn small" data-testid="refund-limit-exceeded">
          {t("refunds.errors.limit_exceeded")}: {preview.exceeds_limit}
        </p>
      )}
    </div>
  );
}

/** The PSP account's payout limits and what today already holds (market day). */
function PayoutLimitLine({ limit }: { limit: LimitView }) {
  const { t } = useTranslation();
  const money = (major: string | null) => (major === null ? t("refunds.limit.none") : `${major} ${limit.currency}`);
  return (
    <p className="muted small" data-testid="refund-payout-limit">
      {t("refunds.limit.line", {
        account: limit.account,
        perPayout: money(limit.per_payout),
        perDay: money(limit.per_day),
        used: `${limit.requested_today} ${limit.currency}`,
        date: limit.market_date,
      })}
    </p>
  );
}

const OPEN_IN_WINDOW: Extract<RefundRule, { kind: "open" }> = { kind: "open", method: "psp_refund", pspRefundAllowed: true, paidOn: null, windowDays: null };

export function RefundDialog({
  payment,
  refundable,
  rule = OPEN_IN_WINDOW,
  orderCurrency,
  onClose,
  onRequested,
}: {
  payment: PaymentRecord;
  refundable: Refundable;
  /** What the core's rules allow (probeRefundRule); the dialog starts on its method. */
  rule?: Extract<RefundRule, { kind: "open" }>;
  orderCurrency: string | null;
  onClose: () => void;
  onRequested: (r: Refund) => void;
}) {
  const { t } = useTranslation();
  const [full, setFull] = useState(true);
  const [amount, setAmount] = useState(plainMajor(refundable.refundable_minor));
  const [reason, setReason] = useState<ReasonCode | "">("");
  const [note, setNote] = useState("");
  const [method, setMethod] = useState<RefundMethod>(rule.method);
  const [additional, setAdditional] = useState(false);
  const [bank, setBank] = useState({ name: "", bank: "", account: "", account_type: "S", document: "" });
  const [payee, setPayee] = useState({ name: "", document_type: payment.country === "PE" ? "DNI" : "CC", document_number: "", phone: "" });
  const [preview, setPreview] = useState<TierPreview | null>(null);
  const [previewError, setPreviewError] = useState<ApiError | null>(null);
  const [refusal, setRefusal] = useState<ApiError | null>(null);
  const [sending, setSending] = useState(false);
  const parsed = full ? null : parseAmount(amount, payment.currency);
  const amountError = parsed && !parsed.ok ? parsed.error : null;
  const asked = full ? plainMajor(refundable.refundable_minor) : parsed?.ok ? parsed.major : "";
  const debounced = useDebounced(asked, PREVIEW_DEBOUNCE_MS);

  useEffect(() => {
    let live = true;
    if (debounced.trim() === "") {
      setPreview(null);
      setPreviewError(null);
      return;
    }
    refundsApi
      .preview(payment.payment_id, payment.psp, debounced, method)
      .then((p) => {
        if (!live) return;
        setPreview(p);
        setPreviewError(null);
      })
      .catch((e: unknown) => {
        if (!live) return;
        setPreview(null);
        setPreviewError(toApiError(e));
      });
    return () => {
      live = false;
    };
  }, [debounced, method, payment.payment_id, payment.psp]);

  const noteMissing = reason === "other" && note.trim() === "";
  const canSend = reason !== "" && !noteMissing && asked.trim() !== "" && !sending;

  const send = async () => {
    if (!canSend) return;
    setSending(true);
    setRefusal(null);
    try {
      const r = await refundsApi.request({
        payment_id: payment.payment_id,
        psp: payment.psp,
        amount: asked,
        currency: payment.currency,
        reason,
        note: note.trim() === "" ? null : note,
        method,
        beneficiary: method !== "cash_withdrawal" ? bank : { name: "", bank: "", account: "", account_type: "", document: "" },
        payee: method === "cash_withdrawal" ? payee : { name: "", document_type: "", document_number: "", phone: "" },
        additional,
      });
      onRequested(r);
    } catch (e) {
      setRefusal(toApiError(e));
    } finally {
      setSending(false);
    }
  };

  const field = (id: string, label: string, value: string, set: (v: string) => void) => (
    <label className="field" key={id}>
      <span>{label}</span>
      <input value={value} onChange={(e) => set(e.target.value)} data-testid={`refund-${id}`} />
    </label>
  );

  return (
    <Dialog title={t("refunds.requestTitle", { payment: payment.payment_id })} onClose={onClose} testId="refund-dialog" wide>
      <p className="muted small" data-testid="refund-refundable">
        {t("refunds.refundableOf", {
          refundable: formatAmount(refundable.refundable_minor, refundable.currency),
          paid: formatAmount(refundable.paid_minor, refundable.currency),
        })}
      </p>
      {orderCurrency && orderCurrency !== payment.currency && (
        <p className="muted small" data-testid="refund-fx-note">
          {t("refunds.fxNote", { order: orderCurrency, paid: payment.currency })}
        </p>
      )}
      <div className="field-row" role="radiogroup" aria-label={t("refunds.amount")}>
        <label>
          <input type="radio" checked={full} onChange={() => setFull(true)} data-testid="refund-full" /> {t("refunds.full")}
        </label>
        <label>
          <input type="radio" checked={!full} onChange={() => setFull(false)} data-testid="refund-partial" /> {t("refunds.partial")}
        </label>
        {!full && (
          <>
            <input
              className="amount-input"
              inputMode="decimal"
              value={amount}
              onChange={(e) => setAmount(e.target.value)}
              aria-label={t("refunds.amount")}
              aria-invalid={amountError !== null}
              aria-describedby={amountError ? "refund-amount-error" : undefined}
              data-testid="refund-amount"
            />
            <span className="muted">{payment.currency}</span>
          </>
        )}
      </div>
      {amountError && amount.trim() !== "" && (
        <p className="field-error" id="refund-amount-error" data-testid="refund-amount-error" data-kind={amountError.kind}>
          {t(amountError.key, amountError.params)}
        </p>
      )}

      <RuleLine rule={rule} psp={payment.psp} />
      {preview && <TierLine preview={preview} />}
      <Refusal error={previewError} testId="refund-preview-refusal" />

      <label className="field">
        <span>{t("refunds.reason")}</span>
        <select value={reason} onChange={(e) => setReason(e.target.value as ReasonCode)} data-testid="refund-reason">
          <option value="">{t("refunds.chooseReason")}</option>
          {REASON_CODES.map((r) => (
            <option key={r} value={r}>
              {t(`refunds.reasons.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>{reason === "other" ? t("refunds.noteRequired") : t("refunds.note")}</span>
        <textarea value={note} onChange={(e) => setNote(e.target.value)} data-testid="refund-note" />
      </label>
      {noteMissing && (
        <p className="warn small" data-testid="refund-note-missing">
          {t("refunds.otherNeedsNote")}
        </p>
      )}

      <label className="field">
        <span>{t("refunds.method")}</span>
        <select value={method} onChange={(e) => setMethod(e.target.value as RefundMethod)} data-testid="refund-method">
          {REFUND_METHODS.map((m) => {
            const throughPsp = m !== "bank_transfer";
            const closed = rule.manualOnly && throughPsp ? "methodManualOnly" : m === "psp_refund" && !rule.pspRefundAllowed ? "methodClosed" : null;
            return (
              <option key={m} value={m} disabled={closed !== null}>
                {t(`refunds.methods.${m}`)}
                {closed ? ` (${t(`refunds.rule.${closed}`)})` : ""}
              </option>
            );
          })}
        </select>
      </label>
      {method !== "cash_withdrawal" ? (
        <div className="field-grid" data-testid="refund-bank-fields">
          {field("beneficiary-name", t("refunds.beneficiaryName"), bank.name, (v) => setBank({ ...bank, name: v }))}
          {field("bank", t("refunds.bank"), bank.bank, (v) => setBank({ ...bank, bank: v }))}
          {field("account", t("refunds.account"), bank.account, (v) => setBank({ ...bank, account: v }))}
          <label className="field">
            <span>{t("refunds.accountType")}</span>
            <select value={bank.account_type} onChange={(e) => setBank({ ...bank, account_type: e.target.value })} data-testid="refund-account-type">
              <option value="S">{t("refunds.savings")}</option>
              <option value="C">{t("refunds.current")}</option>
            </select>
          </label>
          {field("beneficiary-document", t("refunds.document"), bank.document, (v) => setBank({ ...bank, document: v }))}
        </div>
      ) : (
        <div className="field-grid" data-testid="refund-kyc-fields">
          {field("payee-name", t("refunds.payeeName"), payee.name, (v) => setPayee({ ...payee, name: v }))}
          <label className="field">
            <span>{t("refunds.documentType")}</span>
            <select value={payee.document_type} onChange={(e) => setPayee({ ...payee, document_type: e.target.value })} data-testid="refund-doc-type">
              {["CC", "CE", "DNI", "PP"].map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
          {field("doc-number", t("refunds.documentNumber"), payee.document_number, (v) => setPayee({ ...payee, document_number: v }))}
          {field("phone", t("refunds.phone"), payee.phone, (v) => setPayee({ ...payee, phone: v }))}
        </div>
      )}
      <label className="checkbox">
        <input type="checkbox" checked={additional} onChange={(e) => setAdditional(e.target.checked)} data-testid="refund-additional" /> {t("refunds.additional")}
      </label>

      <Refusal error={refusal} testId="refund-refusal" />
      <div className="button-row">
        <button type="button" onClick={onClose} data-testid="refund-cancel">
          {t("common.cancel")}
        </button>
        <button type="button" className="primary" disabled={!canSend} onClick={() => void send()} data-testid="refund-send">
          {t("refunds.send")}
        </button>
      </div>
    </Dialog>
  );
}
