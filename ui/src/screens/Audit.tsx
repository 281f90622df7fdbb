import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { DateTime } from "luxon";
import { api, AUDIT_PAGE_LIMIT } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { AuditRow, VerifyReport } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { When } from "../components/When";
import { DateField } from "../components/DateField";

const KNOWN_ACTIONS = ["sign_in", "sign_out", "import", "reconcile", "exception.resolve", "exception.assign", "operator.add", "operator.set_role", "operator.disable", "settings.set"];

/** A date input's day (operator's local calendar) as a UTC instant at its start; `+1` day for an exclusive end. */
export function dayStartUtc(date: string, plusDays = 0): string | null {
  if (!date) return null;
  const dt = DateTime.fromISO(date).startOf("day").plus({ days: plusDays });
  return dt.isValid ? dt.toUTC().toISO({ suppressMilliseconds: true }) : null;
}

/** An operator's name as it is; the app's own actors ("(deliverer)", "sync") in words. */
function AuditActor({ name }: { name: string }) {
  const { t } = useTranslation();
  const key = name.replace(/^\((.*)\)$/, "$1").replace(/ /g, "_");
  const word = t(`auditActors.${key}`, { defaultValue: "" });
  return word ? <span title={name}>{word}</span> : <span>{name}</span>;
}

/** "order CO-1" as the language says "order", the id kept as it is. */
function AuditSubject({ subject }: { subject: string }) {
  const { t } = useTranslation();
  const twoWords = subject.startsWith("psp account ");
  const space = twoWords ? "psp account".length : subject.indexOf(" ");
  const head = twoWords ? "psp_account" : space < 0 ? subject : subject.slice(0, space);
  const rest = space < 0 ? "" : subject.slice(space + 1);
  const word = t(`auditSubjects.${head}`, { defaultValue: "" });
  if (!word) return <span className="mono small">{subject}</span>;
  return (
    <span title={subject}>
      {word}
      {rest && <span className="mono small"> {rest}</span>}
    </span>
  );
}

function Change({ before, after }: { before: string; after: string }) {
  const { t } = useTranslation();
  if (!before && !after) return null;
  const short = (after || before).slice(0, 80);
  return (
    <details>
      <summary className="mono small">{short}{(after || before).length > 80 ? "…" : ""}</summary>
      {before && (
        <p className="small">
          <b>{t("audit.before")}:</b> <code className="wrap">{before}</code>
        </p>
      )}
      {after && (
        <p className="small">
          <b>{t("audit.after")}:</b> <code className="wrap">{after}</code>
        </p>
      )}
    </details>
  );
}

export function AuditScreen() {
  const { t } = useTranslation();
  const [operator, setOperator] = useState("");
  const [action, setAction] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [rows, setRows] = useState<AuditRow[]>([]);
  const [more, setMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const [verifying, setVerifying] = useState(false);
  const generation = useRef(0);

  const fetch = useCallback(
    async (afterId: number | null) => {
      const gen = afterId === null ? ++generation.current : generation.current;
      setLoading(true);
      try {
        const page = await api.auditPage({
          operator: operator.trim() || null,
          action: action.trim() || null,
          from: dayStartUtc(from),
          to: dayStartUtc(to, 1),
          after_id: afterId,
          limit: AUDIT_PAGE_LIMIT,
        });
        if (gen !== generation.current) return;
        setRows((old) => (afterId === null ? page : old.concat(page)));
        setMore(page.length === AUDIT_PAGE_LIMIT);
        setError(null);
      } catch (e) {
        if (gen === generation.current) setError(toApiError(e));
      } finally {
        if (gen === generation.current) setLoading(false);
      }
    },
    [operator, action, from, to],
  );

  useEffect(() => {
    void fetch(null);
    // first page on open; later searches are explicit
  }, []);

  const verify = async () => {
    setVerifying(true);
    setReport(null);
    try {
      setReport(await api.auditVerify());
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setVerifying(false);
    }
  };

  return (
    <div className="audit">
      <div className="toolbar-row">
        <h2>{t("audit.title")}</h2>
        <button type="button" onClick={() => void verify()} disabled={verifying} data-testid="audit-verify">
          {verifying ? t("audit.verifying") : t("audit.verify")}
        </button>
      </div>
      {report && (
        <p
          className={`notice ${report.first_broken ? "notice-error" : "notice-ok"}`}
          data-testid="audit-verify-result"
          data-intact={report.first_broken ? "false" : "true"}
          data-broken-id={report.first_broken?.id}
        >
          {report.first_broken
            ? t("audit.broken", { id: report.first_broken.id, reason: report.first_broken.reason })
            : t("audit.intact", { entries: report.entries })}
        </p>
      )}
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void fetch(null);
        }}
      >
        <label className="field compact">
          <span>{t("audit.operator")}</span>
          <input value={operator} onChange={(e) => setOperator(e.target.value)} data-testid="audit-filter-operator" />
        </label>
        <label className="field compact">
          <span>{t("audit.action")}</span>
          <input list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} data-testid="audit-filter-action" />
          <datalist id="audit-actions">
            {KNOWN_ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label className="field compact">
          <span>{t("audit.from")}</span>
          <DateField value={from} onChange={setFrom} testId="audit-filter-from" />
        </label>
        <label className="field compact">
          <span>{t("audit.to")}</span>
          <DateField value={to} onChange={setTo} testId="audit-filter-to" />
        </label>
        <button type="submit" className="primary" data-testid="audit-search">
          {t("audit.search")}
        </button>
      </form>
      <ErrorNotice error={error} testId="audit-error" />
      {!loading && rows.length === 0 && !error && (
        <p className="muted" data-testid="audit-empty">
          {t("audit.empty")}
        </p>
      )}
      {rows.length > 0 && (
        <table className="table" data-testid="audit-table">
          <thead>
            <tr>
              <th>#</th>
              <th>{t("audit.at")}</th>
              <th>{t("audit.operator")}</th>
              <th>{t("audit.action")}</th>
              <th>{t("audit.subject")}</th>
              <th>{t("audit.change")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-testid={`audit-row-${r.id}`} data-action={r.action}>
                <td className="num">{r.id}</td>
                <td className="nowrap">
                  <When at={r.at} />
                </td>
                <td>
                  <AuditActor name={r.operator} />
                </td>
                <td className="small" title={r.action} data-testid="audit-action">
                  {t(`auditActions.${r.action.replace(".", "__")}`, { defaultValue: r.action })}
                </td>
                <td data-testid="audit-subject">
                  <AuditSubject subject={r.subject} />
                </td>
                <td>
                  <Change before={r.before} after={r.after} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {more && (
        <button type="button" disabled={loading} onClick={() => void fetch(rows[rows.length - 1]?.id ?? null)} data-testid="audit-load-more">
          {t("common.loadMore")}
        </button>
      )}
    </div>
  );
}
