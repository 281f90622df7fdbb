import { memo, useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { CaseFile, ExceptionRecord, NotificationKind, ResolutionAction } from "../bindings";
import { BuyerNotifications } from "../components/BuyerNotifications";
import { ErrorNotice } from "../components/ErrorNotice";
import { Money } from "../components/Money";
import { RefreshFromPsp } from "../components/RefreshFromPsp";
import { RefundsPanel } from "../components/RefundsPanel";
import { ResolveDialog } from "../components/ResolveDialog";
import { VerdictPanel } from "../components/VerdictPanel";
import { VoucherActionsPanel } from "../components/VoucherActions";
import { VoucherCard, voucherFromOrder, voucherFromPayment } from "../components/VoucherCard";
import { When } from "../components/When";
import { exceptionHint } from "../lib/exceptionText";
import { offeredActions } from "../lib/roles";
import { useSession } from "../session";
import { useTeamRefresh } from "../team/TeamContext";

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** "shop-orders.csv:2" from "/long/path/shop-orders.csv:2". */
export function shortSource(source: string): string {
  return baseName(source);
}

interface TimelineEntry {
  key: string;
  status: string;
  pspStatus: string;
  at: string | null;
  observedAt: string;
  source: string;
  sourceTitle: string;
  payment: string;
  country: string;
}

function timeline(file: CaseFile, apiLabel: string): TimelineEntry[] {
  const rows: TimelineEntry[] = [];
  for (const p of file.payments) {
    p.history.forEach((h, i) => {
      const fromFile = h.file !== null && h.file !== undefined;
      rows.push({
        key: `${p.psp}:${p.payment_id}:${i}`,
        status: h.status,
        pspStatus: h.psp_status,
        at: h.status_at,
        observedAt: h.observed_at,
        source: fromFile ? `${baseName(h.file ?? "")}${h.line !== null ? `:${h.line}` : ""}` : h.source === "file" ? "file" : apiLabel,
        sourceTitle: fromFile ? `${h.file}${h.line !== null ? `:${h.line}` : ""}` : h.source,
        payment: `${p.psp} ${p.payment_id}`,
        country: p.country,
      });
    });
  }
  const key = (e: TimelineEntry) => e.at ?? e.observedAt;
  return rows.sort((a, b) => key(a).localeCompare(key(b)));
}

function ExceptionItem({ e, onResolve }: { e: ExceptionRecord; onResolve: (action: ResolutionAction) => void }) {
  const { t } = useTranslation();
  const { operator } = useSession();
  return (
    <li className="case-exception" data-testid={`case-exception-${e.id}`} data-kind={e.kind} data-status={e.status}>
      <div className="hit-line">
        <span className="badge">{t(`kinds.${e.kind}`, { defaultValue: e.kind })}</span>
        <span className={`badge status-${e.status}`}>{t(`statuses.${e.status}`)}</span>
        <span className="mono small">{e.id}</span>
        {e.amount_minor !== null && <Money minor={e.amount_minor} currency={e.currency} />}
      </div>
      <p className="small" data-testid={`case-exception-${e.id}-hint`}>
        {exceptionHint(e, t)}
      </p>
      <details className="small muted">
        <summary>{t("exceptionHints.english")}</summary>
        <span data-testid={`case-exception-${e.id}-detail`}>{e.detail}</span>
      </details>
      <p className="muted small">
        <span data-testid={`case-exception-${e.id}-age`} title={e.occurred_at}>
          {t("times.age", { days: e.age_days })}
        </span>{" "}
        · {t("times.detected")} <When at={e.detected_at} country={e.country} />
        {e.resolution && ` · ${t(`actions.${e.resolution}`, { defaultValue: e.resolution })} — ${e.resolved_by ?? ""}`}
        {e.note && ` · “${e.note}”`}
      </p>
      {e.status === "open" && (
        <div className="button-row">
          {offeredActions(operator.role).map((a) => (
            <button key={a} type="button" onClick={() => onResolve(a)} data-testid={`case-exception-${e.id}-${a}`}>
              {t(`actions.${a}`)}
            </button>
          ))}
        </div>
      )}
    </li>
  );
}

/** Memoized: typing in the lookup box above does not render the case file again. */
export const CaseFileView = memo(function CaseFileView({ orderId }: { orderId: string }) {
  const { t } = useTranslation();
  const { operator } = useSession();
  const [file, setFile] = useState<CaseFile | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [resolving, setResolving] = useState<{ id: string; action: ResolutionAction; country: string } | null>(null);
  // A message the verdict asked to send: the notifications panel opens its preview.
  const [messageRequest, setMessageRequest] = useState<{ kind: NotificationKind; nonce: number } | null>(null);
  // Whether a new voucher may be issued now (the voucher panel asks the core), and the verdict's request to.
  const [canIssue, setCanIssue] = useState(false);
  const [issueRequest, setIssueRequest] = useState(0);

  const load = useCallback(async () => {
    try {
      setFile(await api.caseFile(orderId));
      setError(null);
    } catch (e) {
      setError(toApiError(e));
    }
  }, [orderId]);

  useEffect(() => {
    setFile(null);
    void load();
  }, [load]);
  useTeamRefresh(() => void load());

  if (error) return <ErrorNotice error={error} testId="case-error" />;
  if (!file) return <p className="muted">{t("common.loading")}</p>;

  const o = file.order;
  const vouchers = file.payments.length > 0 ? file.payments.map(voucherFromPayment) : o ? [voucherFromOrder(o)].filter((v) => v !== null) : [];
  const entries = timeline(file, t("caseFile.fromApi"));
  const country = o?.country ?? file.payments[0]?.country ?? "";

  return (
    <article className="case-file" data-testid="case-file" data-order={file.order_id}>
      <h2>{t("caseFile.title", { id: file.order_id })}</h2>
      <VerdictPanel
        file={file}
        onResolve={(id, action, c) => setResolving({ id, action, country: c || country })}
        onSendMessage={(kind) => setMessageRequest((r) => ({ kind, nonce: (r?.nonce ?? 0) + 1 }))}
        onIssueVoucher={canIssue ? () => setIssueRequest((n) => n + 1) : undefined}
      />

      <div className="case-grid">
        <section className="panel" data-testid="case-order">
          <h3>{t("caseFile.order")}</h3>
          {o ? (
            <dl className="kv">
              <dt>{t("caseFile.buyer")}</dt>
              <dd data-testid="case-buyer">{o.buyer_name}</dd>
              <dt>{t("caseFile.email")}</dt>
              <dd>{o.buyer_email}</dd>
              <dt>{t("caseFile.phone")}</dt>
              <dd>{o.buyer_phone}</dd>
              <dt>{t("caseFile.document")}</dt>
              <dd>{o.buyer_document}</dd>
              <dt>{t("caseFile.store")}</dt>
              <dd>
                {o.store} · {o.country}
              </dd>
              <dt>{t("caseFile.amount")}</dt>
              <dd>
                <Money minor={o.amount_minor} currency={o.currency} testId="case-amount" />
              </dd>
              <dt>{t("caseFile.shopStatus")}</dt>
              <dd>
                <span className={`badge status-${o.status}`} data-testid="case-shop-status" data-status={o.status}>
                  {t(`shopStatuses.${o.status}`, { defaultValue: o.status })}
                </span>
              </dd>
              <dt>{t("caseFile.created")}</dt>
              <dd>
                <When at={o.created_at} country={o.country} testId="case-created" />
              </dd>
              <dt>{t("caseFile.source")}</dt>
              <dd className="mono small" title={o.source}>
                {shortSource(o.source)}
              </dd>
            </dl>
          ) : (
            <p className="muted">{t("caseFile.unknownOrder", { id: file.order_id })}</p>
          )}
        </section>

        <section className="vouchers" data-testid="case-vouchers">
          {vouchers.length === 0 && <p className="muted">{t("caseFile.noPayments")}</p>}
          {vouchers.map((v) => (
            <VoucherCard key={v.key} v={v} />
          ))}
          {file.payments.map((p) => (
            <RefreshFromPsp key={`refresh:${p.psp}:${p.payment_id}`} psp={p.psp} paymentId={p.payment_id} onRefreshed={() => void load()} />
          ))}
        </section>
      </div>

      {o && (
        <VoucherActionsPanel orderId={file.order_id} openIssue={issueRequest} onDone={() => void load()} onLoaded={(a) => setCanIssue(a.issue.allowed)} />
      )}

      <section className="panel" data-testid="case-timeline">
        <h3>{t("caseFile.timeline")}</h3>
        {entries.length === 0 ? (
          <p className="muted">{t("caseFile.noPayments")}</p>
        ) : (
          <ol className="timeline">
            {entries.map((e) => (
              <li key={e.key} data-testid="timeline-entry" data-status={e.status}>
                <span className={`badge status-${e.status}`}>{t(`paymentStatuses.${e.status}`, { defaultValue: e.status })}</span>
                <span className="muted small">{e.pspStatus}</span>
                <When at={e.at ?? e.observedAt} country={e.country} />
                <span className="mono small" title={e.sourceTitle} data-testid="timeline-source">
                  {e.source}
                </span>
                <span className="muted small">{e.payment}</span>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section className="panel" data-testid="case-settlements">
        <h3>{t("caseFile.settlements")}</h3>
        {file.settlements.length === 0 ? (
          <p className="muted">{t("caseFile.noSettlements")}</p>
        ) : (
          <table className="table">
            <thead>
              <tr>
                <th>{t("caseFile.settledOn")}</th>
                <th>{t("caseFile.rowType")}</th>
                <th>{t("caseFile.local")}</th>
                <th>{t("caseFile.gross")}</th>
                <th>{t("caseFile.fee")}</th>
                <th>{t("caseFile.net")}</th>
                <th>{t("caseFile.source")}</th>
              </tr>
            </thead>
            <tbody>
              {file.settlements.map((s, i) => (
                <tr key={`${s.psp}:${s.payment_id}:${i}`} data-testid="settlement-row">
                  <td>{s.settled_on ?? "—"}</td>
                  <td title={s.row_type}>{t(`rowTypes.${s.row_type}`, { defaultValue: s.row_type })}</td>
                  <td>
                    <Money minor={s.local_amount_minor} currency={s.local_currency} />
                  </td>
                  <td>
                    <Money minor={s.gross_minor} currency={s.settlement_currency} />
                  </td>
                  <td>
                    <Money minor={s.fee_minor} currency={s.settlement_currency} />
                  </td>
                  <td>
                    <Money minor={s.net_minor} currency={s.settlement_currency} />
                  </td>
                  <td className="mono small" title={s.source}>
                    {shortSource(s.source)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section className="panel" data-testid="case-exceptions">
        <h3>{t("caseFile.exceptions")}</h3>
        {file.exceptions.length === 0 ? (
          <p className="muted">{t("caseFile.noExceptions")}</p>
        ) : (
          <ul className="plain-list">
            {file.exceptions.map((e) => (
              <ExceptionItem key={e.id} e={e} onResolve={(action) => setResolving({ id: e.id, action, country: e.country || country })} />
            ))}
          </ul>
        )}
      </section>

      <RefundsPanel file={file} />

      {o && <BuyerNotifications orderId={file.order_id} country={country} suggested={file.verdict.buyer_message} request={messageRequest} />}

      {resolving && (
        <ResolveDialog
          ids={[resolving.id]}
          role={operator.role}
          initialAction={resolving.action}
          country={resolving.country}
          onClose={() => setResolving(null)}
          onResolved={() => void load()}
        />
      )}
    </article>
  );
});
