// A case file's voucher actions: issue a new voucher, extend a CIP, cancel an
// unpaid voucher. The core says which the operator may take now and why not
// (`voucher_actions`), calls the PSP, records the answer and queues the
// buyer's message; this panel asks, confirms and shows the result.

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError } from "../api/errors";
import type { Availability, VoucherAction, VoucherActions as Actions, VoucherOutcome } from "../bindings";
import { Dialog } from "./Dialog";
import { ErrorNotice } from "./ErrorNotice";
import { useSubmission } from "./useSubmission";
import { Money } from "./Money";

/** The validity a voucher may be given, in hours (the core refuses anything else). */
export const VOUCHER_HOURS_MIN = 24;
export const VOUCHER_HOURS_MAX = 72;

function Refusal({ a }: { a: Availability }) {
  const { t } = useTranslation();
  if (a.allowed || !a.code) return null;
  return (
    <span className="muted small" data-testid={`voucher-${a.action}-why`} data-code={a.code} title={a.reason ?? undefined}>
      {t(`vouchers.refusals.${a.code.replace(/\./g, "_")}`, { defaultValue: a.reason ?? a.code })}
    </span>
  );
}

export interface VoucherActionsProps {
  orderId: string;
  /** A new value opens the issue dialog (the verdict's button). */
  openIssue?: number;
  onDone: () => void;
  /** Tells the case file which actions are open (the verdict offers "issue" only then). */
  onLoaded?: (actions: Actions) => void;
}

export function VoucherActionsPanel({ orderId, openIssue, onDone, onLoaded }: VoucherActionsProps) {
  const { t } = useTranslation();
  const [actions, setActions] = useState<Actions | null>(null);
  const [asking, setAsking] = useState<VoucherAction | null>(null);
  const [hours, setHours] = useState(String(48));
  const { error, setError, busy, run: submit } = useSubmission();
  const [done, setDone] = useState<VoucherOutcome | null>(null);

  const load = useCallback(async () => {
    try {
      const a = await api.voucherActions(orderId);
      setActions(a);
      onLoaded?.(a);
      setHours(String(a.default_hours));
    } catch (e) {
      setError(toApiError(e));
    }
    // onLoaded is the case file's setter: stable.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [orderId]);

  useEffect(() => {
    setActions(null);
    setDone(null);
    void load();
  }, [load]);

  // The verdict's "issue a new voucher" opens the dialog here.
  useEffect(() => {
    if (openIssue) setAsking("issue");
  }, [openIssue]);

  const run = async () => {
    if (!asking) return;
    await submit(async () => {
      const n = Number(hours);
      const outcome =
        asking === "issue" ? await api.voucherIssue(orderId, n) : asking === "extend" ? await api.voucherExtend(orderId, n) : await api.voucherCancel(orderId);
      setDone(outcome);
      setAsking(null);
      onDone();
      await load();
    });
  };

  if (!actions) return error ? <ErrorNotice error={error} testId="voucher-actions-error" /> : null;
  const hoursValid = /^\d+$/.test(hours) && Number(hours) >= VOUCHER_HOURS_MIN && Number(hours) <= VOUCHER_HOURS_MAX;
  const button = (a: Availability, label: string) => (
    <span className="voucher-action">
      <button type="button" disabled={!a.allowed} onClick={() => setAsking(a.action)} data-testid={`voucher-${a.action}`}>
        {label}
      </button>
      <Refusal a={a} />
    </span>
  );

  return (
    <section className="panel" data-testid="voucher-actions">
      <h3>{t("vouchers.title")}</h3>
      <div className="button-row">
        {button(actions.issue, t("vouchers.issue"))}
        {button(actions.extend, t("vouchers.extend"))}
        {button(actions.cancel, t("vouchers.cancel"))}
      </div>
      {done && (
        <p className="notice notice-ok" data-testid="voucher-done" data-action={done.action} data-code={done.voucher_code} data-status={done.status}>
          {t(`vouchers.done.${done.action}`, { code: done.voucher_code })} <Money minor={done.amount_minor} currency={done.currency} />{" "}
          <span className="muted small">{t("vouchers.messagesQueued", { count: done.messages_queued.length })}</span>
        </p>
      )}
      {!asking && <ErrorNotice error={error} testId="voucher-error" full />}
      {asking && (
        <Dialog title={t(`vouchers.confirmTitle.${asking}`)} onClose={() => setAsking(null)} testId="voucher-dialog">
          <p>{t(`vouchers.confirm.${asking}`, { order: orderId })}</p>
          {asking !== "cancel" && (
            <label className="field">
              <span>{t("vouchers.hours", { min: VOUCHER_HOURS_MIN, max: VOUCHER_HOURS_MAX })}</span>
              <input inputMode="numeric" value={hours} onChange={(e) => setHours(e.target.value.trim())} data-testid="voucher-hours" />
            </label>
          )}
          <ErrorNotice error={error} testId="voucher-error" full />
          <div className="button-row">
            <button type="button" onClick={() => setAsking(null)} data-testid="voucher-dialog-back">
              {t("common.cancel")}
            </button>
            <button type="button" className="primary" disabled={busy || (asking !== "cancel" && !hoursValid)} onClick={() => void run()} data-testid="voucher-confirm">
              {busy ? t("vouchers.asking") : t(`vouchers.${asking}`)}
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
