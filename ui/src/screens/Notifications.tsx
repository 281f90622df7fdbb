// The notifications screen: what the app's background deliverer is
// doing, the failures to act on (retry one or the selected ones; the core
// re-queues a failed message under its own id and reference, and refuses
// anything else), and the recent outbox with a status filter. Every rule is
// the core's; this screen asks and shows.

import { useCallback, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { DelivererStatus, NotificationLogEntry, NotificationStatus, RetryOutcome } from "../bindings";
import { DeliveryCells } from "../components/BuyerNotifications";
import { ErrorNotice } from "../components/ErrorNotice";
import { FilterSelect } from "../components/FilterSelect";
import { useSubmission } from "../components/useSubmission";
import { When } from "../components/When";
import { useSession } from "../session";
import { usePolling } from "../lib/usePolling";

/** How often the screen asks the core again (the deliverer runs on its own tick). */
export const NOTIFICATIONS_REFRESH_MS = 5_000;
export const NOTIFICATION_STATUSES: readonly NotificationStatus[] = ["queued", "sending", "sent", "failed", "unknown"];

function DelivererHeader({ status, error }: { status: DelivererStatus | null; error: ApiError | null }) {
  const { t } = useTranslation();
  if (error) return <ErrorNotice error={error} testId="deliverer-error" />;
  if (!status) return <p className="muted">{t("common.loading")}</p>;
  return (
    <p className={`notice ${status.state === "problem" ? "notice-error" : status.state === "running" ? "notice-ok" : "notice-info"}`} data-testid="deliverer-status" data-state={status.state}>
      <strong>{t(`outbox.deliverer.${status.state}`)}</strong>
      {status.state === "running" && <span> · {t("outbox.deliverer.lastRound", { sent: status.last_sent, retrying: status.last_retrying, failed: status.last_failed })}</span>}
      {status.state === "problem" && (
        <span className="small" data-testid="deliverer-problem" data-code={status.error_code ?? ""}>
          {" "}
          · {status.error_message} <span className="mono">[{status.error_code}]</span>
        </span>
      )}
      {status.last_round_at && (
        <span className="muted small">
          {" "}
          · {t("outbox.deliverer.at")} <When at={status.last_round_at} />
        </span>
      )}
    </p>
  );
}

function Row({ n, prefix, selectable, selected, onSelect, onRetry, busy }: { n: NotificationLogEntry; prefix: string; selectable: boolean; selected: boolean; onSelect?: (on: boolean) => void; onRetry?: () => void; busy: boolean }) {
  const { t } = useTranslation();
  const { openCase } = useSession();
  return (
    <tr data-testid={`${prefix}-row-${n.id}`} data-status={n.status} data-order={n.order_id}>
      {selectable && (
        <td>
          <input type="checkbox" aria-label={t("outbox.select", { id: n.id })} checked={selected} disabled={n.status !== "failed"} onChange={(e) => onSelect?.(e.target.checked)} data-testid={`failure-select-${n.id}`} />
        </td>
      )}
      <td>{t(`notifications.kinds.${n.kind}`, { defaultValue: n.kind })}</td>
      <td>{t(`notifications.channels.${n.channel}`, { defaultValue: n.channel })}</td>
      <td className="mono small">{n.recipient}</td>
      <td>
        {n.kind === "daily_report" ? (
          // A staff email names its report where a buyer's names the order: there is no case file to open.
          <span className="mono small" data-testid={`${prefix}-order-${n.id}`}>
            {n.order_id}
          </span>
        ) : (
          <button type="button" className="link" onClick={() => openCase(n.order_id)} data-testid={`${prefix}-order-${n.id}`}>
            {n.order_id}
          </button>
        )}
      </td>
      <DeliveryCells n={n} testIdPrefix="outbox" />
      <td className="small">
        <When at={n.sent_at ?? n.queued_at} />
      </td>
      {selectable && (
        <td>
          {n.status === "failed" ? (
            <button type="button" disabled={busy} onClick={onRetry} data-testid={`failure-retry-${n.id}`}>
              {t("outbox.retry")}
            </button>
          ) : (
            <span className="muted small">{t("outbox.unknownHint")}</span>
          )}
        </td>
      )}
    </tr>
  );
}

function Head({ selectable }: { selectable: boolean }) {
  const { t } = useTranslation();
  return (
    <thead>
      <tr>
        {selectable && <th />}
        <th>{t("notifications.kind")}</th>
        <th>{t("notifications.channel")}</th>
        <th>{t("notifications.recipient")}</th>
        <th>{t("outbox.order")}</th>
        <th>{t("notifications.status")}</th>
        <th>{t("notifications.attempts")}</th>
        <th>{t("notifications.lastError")}</th>
        <th>{t("outbox.when")}</th>
        {selectable && <th />}
      </tr>
    </thead>
  );
}

export function NotificationsScreen() {
  const { t } = useTranslation();
  const [deliverer, setDeliverer] = useState<DelivererStatus | null>(null);
  const [delivererError, setDelivererError] = useState<ApiError | null>(null);
  const [failures, setFailures] = useState<NotificationLogEntry[] | null>(null);
  const [outbox, setOutbox] = useState<NotificationLogEntry[] | null>(null);
  const [filter, setFilter] = useState<NotificationStatus | "">("");
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const { error, setError, busy, run } = useSubmission();
  const [outcome, setOutcome] = useState<RetryOutcome | null>(null);

  const load = useCallback(async () => {
    try {
      setDeliverer(await api.notificationDelivererStatus());
      setDelivererError(null);
    } catch (e) {
      setDelivererError(toApiError(e));
    }
    try {
      const [failed, unknown, recent] = await Promise.all([
        api.notificationOutbox("failed"),
        api.notificationOutbox("unknown"),
        api.notificationOutbox(filter === "" ? null : filter),
      ]);
      setFailures([...failed, ...unknown].sort((a, b) => b.id - a.id));
      setOutbox(recent);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [filter]);

  usePolling(load, NOTIFICATIONS_REFRESH_MS);

  const retry = async (ids: number[]) => {
    setOutcome(null);
    await run(async () => {
      setOutcome(await api.notificationRetry(ids));
      setSelected(new Set());
      await load();
    });
  };

  const toggle = (id: number, on: boolean) => {
    const next = new Set(selected);
    if (on) next.add(id);
    else next.delete(id);
    setSelected(next);
  };

  return (
    <div className="notifications-screen">
      <h2>{t("outbox.title")}</h2>
      <DelivererHeader status={deliverer} error={delivererError} />
      <ErrorNotice error={error} testId="outbox-error-notice" full />
      {outcome && (
        <p className={`notice ${outcome.refused.length ? "notice-error" : "notice-ok"}`} data-testid="retry-outcome" data-retried={outcome.retried.length} data-refused={outcome.refused.length}>
          {t("outbox.retried", { count: outcome.retried.length })}
          {outcome.refused.map((r) => (
            <span key={r.id} className="small" data-testid={`retry-refused-${r.id}`} data-code={r.code}>
              {" "}
              · {r.message}
            </span>
          ))}
        </p>
      )}

      <section className="panel" data-testid="outbox-failures">
        <h3>{t("outbox.failures")}</h3>
        {failures !== null && failures.length === 0 && (
          <p className="muted" data-testid="outbox-failures-empty">
            {t("outbox.noFailures")}
          </p>
        )}
        {failures !== null && failures.length > 0 && (
          <>
            <div className="button-row">
              <button type="button" className="primary" disabled={busy || selected.size === 0} onClick={() => void retry([...selected])} data-testid="outbox-retry-selected">
                {t("outbox.retrySelected", { count: selected.size })}
              </button>
            </div>
            <table className="table compact" data-testid="outbox-failures-table">
              <Head selectable />
              <tbody>
                {failures.map((n) => (
                  <Row key={n.id} n={n} prefix="failure" selectable selected={selected.has(n.id)} onSelect={(on) => toggle(n.id, on)} onRetry={() => void retry([n.id])} busy={busy} />
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>

      <section className="panel" data-testid="outbox-recent">
        <h3>{t("outbox.recent")}</h3>
        <FilterSelect
          label={t("notifications.status")}
          value={filter || null}
          options={NOTIFICATION_STATUSES}
          name={(s) => t(`notifications.statuses.${s}`)}
          onChange={(status) => setFilter(status ?? "")}
          testId="outbox-filter"
        />
        {outbox !== null && outbox.length === 0 && <p className="muted">{t("outbox.empty")}</p>}
        {outbox !== null && outbox.length > 0 && (
          <table className="table compact" data-testid="outbox-table">
            <Head selectable={false} />
            <tbody>
              {outbox.map((n) => (
                <Row key={n.id} n={n} prefix="outbox" selectable={false} selected={false} busy={busy} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
