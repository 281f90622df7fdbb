// "Buyer notifications" on a case file: the order's notification
// log, newest first, and a manual re-send with a preview. The core renders,
// queues, and enforces the re-send limit and who may override it; this panel
// only asks and shows (a manager/admin is offered the override checkbox).

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { NotificationChannel, NotificationKind, NotificationLogEntry, NotificationPreview } from "../bindings";
import { isManagerLike } from "../lib/roles";
import { useSession } from "../session";
import { Dialog } from "./Dialog";
import { ErrorNotice } from "./ErrorNotice";
import { useSubmission } from "./useSubmission";
import { When } from "./When";

/** Every kind, in the order support meets them (matches `NotificationKind`). */
export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  "voucher_instructions",
  "expiry_reminder",
  "payment_received",
  "refund_approved",
  "refund_completed",
  "cash_ready_for_pickup",
  "voucher_cancelled",
];
export const NOTIFICATION_CHANNELS: readonly NotificationChannel[] = ["email", "sms"];
/** While a message is queued or being sent, the log is asked again this often (the app's deliverer sends it). */
export const LOG_REFRESH_WHILE_PENDING_MS = 2_000;

/** A message's delivery as table cells: its status, the attempts so far and the last error. */
export function DeliveryCells({ n, testIdPrefix }: { n: NotificationLogEntry; testIdPrefix: string }) {
  const { t } = useTranslation();
  return (
    <>
      <td>
        <span className={`badge status-${n.status}`} data-testid={`${testIdPrefix}-status`}>
          {t(`notifications.statuses.${n.status}`, { defaultValue: n.status })}
        </span>
      </td>
      <td className="num">{n.attempts}</td>
      <td className="small" data-testid={`${testIdPrefix}-error`} data-raw>
        {n.last_error ?? "—"}
      </td>
    </>
  );
}

function LogRow({ n, country }: { n: NotificationLogEntry; country: string }) {
  const { t } = useTranslation();
  return (
    <tr data-testid={`notification-row-${n.id}`} data-status={n.status} data-kind={n.kind} data-channel={n.channel} data-trigger={n.trigger}>
      <td>{t(`notifications.kinds.${n.kind}`, { defaultValue: n.kind })}</td>
      <td>{t(`notifications.channels.${n.channel}`, { defaultValue: n.channel })}</td>
      <td className="mono small" title={n.subject}>
        {n.recipient}
      </td>
      <td>
        <When at={n.queued_at} country={country} />
      </td>
      <td>{n.sent_at ? <When at={n.sent_at} country={country} /> : "—"}</td>
      <DeliveryCells n={n} testIdPrefix="notification" />
      <td className="small">
        {t(`notifications.triggers.${n.trigger}`, { defaultValue: n.trigger })}
        {n.triggered_by && <span className="muted"> · {n.triggered_by}</span>}
      </td>
    </tr>
  );
}

export interface BuyerNotificationsProps {
  orderId: string;
  country: string;
  /** The message that fits the order now (the verdict's): chosen first, marked in the list. */
  suggested?: NotificationKind | null;
  /** A request from the verdict to preview one kind; a new nonce asks again. */
  request?: { kind: NotificationKind; nonce: number } | null;
}

export function BuyerNotifications({ orderId, country, suggested = null, request = null }: BuyerNotificationsProps) {
  const { t } = useTranslation();
  const { operator } = useSession();
  const [log, setLog] = useState<NotificationLogEntry[] | null>(null);
  const [logError, setLogError] = useState<ApiError | null>(null);
  // Never "voucher instructions" by default: for a paid order they would ask the buyer to pay again.
  const [kind, setKind] = useState<NotificationKind>(suggested ?? "payment_received");
  const [channel, setChannel] = useState<NotificationChannel>("email");
  const [overrideLimit, setOverrideLimit] = useState(false);
  const [preview, setPreview] = useState<NotificationPreview | null>(null);
  const { error, busy, run } = useSubmission();
  const [queuedId, setQueuedId] = useState<number | null>(null);
  const mayOverride = isManagerLike(operator.role);

  const load = useCallback(async () => {
    try {
      setLog(await api.notificationLog(orderId));
      setLogError(null);
    } catch (e) {
      setLogError(toApiError(e));
    }
  }, [orderId]);

  useEffect(() => {
    setLog(null);
    void load();
  }, [load]);

  const pending = log?.some((n) => n.status === "queued" || n.status === "sending") ?? false;
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(() => void load(), LOG_REFRESH_WHILE_PENDING_MS);
    return () => clearInterval(timer);
  }, [pending, load]);

  useEffect(() => {
    if (suggested) setKind(suggested);
  }, [suggested]);

  const showPreview = async (chosen: NotificationKind = kind) => {
    await run(async () => {
      setPreview(await api.notificationPreview(orderId, chosen, channel));
    });
  };

  useEffect(() => {
    if (!request) return;
    setKind(request.kind);
    void showPreview(request.kind);
    // Only a new request (its nonce) opens the preview again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [request?.nonce]);

  const resend = async () => {
    setQueuedId(null);
    await run(async () => {
      const id = await api.notificationResend(orderId, kind, channel, mayOverride && overrideLimit);
      setQueuedId(id);
      setPreview(null);
      setOverrideLimit(false);
      await load();
    });
  };

  const submitButton = (testId: string) => (
    <button type="button" className="primary" disabled={busy} onClick={() => void resend()} data-testid={testId}>
      {t("notifications.queue")}
    </button>
  );

  return (
    <section className="panel" data-testid="notifications-panel">
      <h3>{t("notifications.title")}</h3>

      <div className="filters" data-testid="resend-form">
        <label className="field compact">
          <span>{t("notifications.kind")}</span>
          <select value={kind} onChange={(e) => setKind(e.target.value as NotificationKind)} data-testid="resend-kind">
            {NOTIFICATION_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`notifications.kinds.${k}`)}
                {k === suggested ? ` — ${t("notifications.suggested")}` : ""}
              </option>
            ))}
          </select>
        </label>
        <label className="field compact">
          <span>{t("notifications.channel")}</span>
          <select value={channel} onChange={(e) => setChannel(e.target.value as NotificationChannel)} data-testid="resend-channel">
            {NOTIFICATION_CHANNELS.map((c) => (
              <option key={c} value={c}>
                {t(`notifications.channels.${c}`)}
              </option>
            ))}
          </select>
        </label>
        {mayOverride && (
          <label className="field compact checkbox">
            <input type="checkbox" checked={overrideLimit} onChange={(e) => setOverrideLimit(e.target.checked)} data-testid="resend-override" />
            {t("notifications.override")}
          </label>
        )}
        <div className="button-row">
          <button type="button" disabled={busy} onClick={() => void showPreview()} data-testid="resend-preview">
            {t("notifications.preview")}
          </button>
          {submitButton("resend-submit")}
        </div>
      </div>
      {!preview && <ErrorNotice error={error} testId="resend-error" full />}
      {queuedId !== null && (
        <p className="notice notice-ok" data-testid="resend-queued" data-id={queuedId}>
          {t("notifications.queued", { id: queuedId })}
        </p>
      )}

      <ErrorNotice error={logError} testId="notifications-log-error" />
      {log === null && !logError && <p className="muted">{t("common.loading")}</p>}
      {log !== null && log.length === 0 && (
        <p className="muted" data-testid="notifications-empty">
          {t("notifications.none")}
        </p>
      )}
      {log !== null && log.length > 0 && (
        <table className="table compact" data-testid="notifications-log">
          <thead>
            <tr>
              <th>{t("notifications.kind")}</th>
              <th>{t("notifications.channel")}</th>
              <th>{t("notifications.recipient")}</th>
              <th>{t("notifications.queuedAt")}</th>
              <th>{t("notifications.sentAt")}</th>
              <th>{t("notifications.status")}</th>
              <th>{t("notifications.attempts")}</th>
              <th>{t("notifications.lastError")}</th>
              <th>{t("notifications.trigger")}</th>
            </tr>
          </thead>
          <tbody>
            {[...log]
              .sort((a, b) => b.id - a.id)
              .map((n) => (
                <LogRow key={n.id} n={n} country={country} />
              ))}
          </tbody>
        </table>
      )}

      {preview && (
        <Dialog title={t("notifications.previewTitle")} onClose={() => setPreview(null)} testId="resend-preview-dialog" wide>
          <dl className="kv">
            <dt>{t("notifications.recipient")}</dt>
            <dd className="mono" data-testid="preview-recipient">
              {preview.recipient}
            </dd>
            <dt>{t("notifications.language")}</dt>
            <dd data-testid="preview-locale">{preview.locale}</dd>
            {preview.channel === "email" && (
              <>
                <dt>{t("notifications.subject")}</dt>
                <dd data-testid="preview-subject">{preview.subject}</dd>
              </>
            )}
          </dl>
          <pre className="preview-text" data-testid="preview-text">
            {preview.text}
          </pre>
          <ErrorNotice error={error} testId="resend-error" full />
          <div className="button-row">
            <button type="button" onClick={() => setPreview(null)} data-testid="resend-preview-close-button">
              {t("common.close")}
            </button>
            {submitButton("resend-preview-submit")}
          </div>
        </Dialog>
      )}
    </section>
  );
}
