// The daily report on the dashboard (seeds 001 and 004: the day's
// transactions to compare with the PSP's report and to keep): made now into a
// folder the operator picks, and emailed each market day at a market time to
// a list a manager keeps. Every rule (who may schedule, what an address is,
// when the email goes) is the core's (`daily_report`, `daily_report::schedule`).

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { call } from "../api/commands";
import { toApiError } from "../api/errors";
import type { Country, DailyReport, DailyReportSchedule, Market, PickedFile, ReportDataFormat } from "../bindings";
import { useSession } from "../session";
import { DateField } from "./DateField";
import { ErrorNotice } from "./ErrorNotice";
import { OkNotice } from "./OkNotice";
import { useSubmission } from "./useSubmission";

const MARKETS: readonly Country[] = ["CO", "PE"];

/** The data files' format: an Excel workbook or CSV (the core's `DataFormat`). */
export function DataFormatSelect(props: { label: string; value: ReportDataFormat; onChange: (format: ReportDataFormat) => void; testId: string }) {
  return (
    <label className="field compact">
      <span>{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value as ReportDataFormat)} data-testid={props.testId}>
        <option value="xlsx">Excel (.xlsx)</option>
        <option value="csv">CSV</option>
      </select>
    </label>
  );
}

/** Whether a role may set the email schedule (core: Permission::ScheduleReports). */
export function maySchedule(role: string): boolean {
  return role === "manager" || role === "admin";
}

/** The recipients as typed: one address per line or separated by commas. */
export function recipientList(text: string): string[] {
  return text
    .split(/[\n,;]/)
    .map((r) => r.trim())
    .filter((r) => r !== "");
}

export function DailyReportPanel({ market, asOf }: { market: Market; asOf: string }) {
  const { t } = useTranslation();
  const { operator } = useSession();
  const canSchedule = maySchedule(operator.role);
  const [date, setDate] = useState(asOf);
  const [format, setFormat] = useState<ReportDataFormat>("xlsx");
  const [made, setMade] = useState<DailyReport | null>(null);
  const [schedule, setSchedule] = useState<DailyReportSchedule | null>(null);
  const [at, setAt] = useState("07:00");
  const [markets, setMarkets] = useState<Country[]>(["CO", "PE"]);
  const [recipients, setRecipients] = useState("");
  const [mailFormat, setMailFormat] = useState<ReportDataFormat>("xlsx");
  /** A catalogue key, so the notice follows a change of language. */
  const [notice, setNotice] = useState<string | null>(null);
  const { error, setError, busy, run } = useSubmission();

  const show = (s: DailyReportSchedule | null) => {
    // An older core (or a test's stand-in) answers something else: no schedule.
    const valid = s && Array.isArray(s.markets) && Array.isArray(s.recipients) ? s : null;
    setSchedule(valid);
    if (valid) {
      setAt(valid.at);
      setMarkets(valid.markets);
      setRecipients(valid.recipients.join("\n"));
      setMailFormat(valid.format);
    }
  };

  useEffect(() => setDate(asOf), [asOf]);
  useEffect(() => {
    let live = true;
    call<DailyReportSchedule | null>("daily_report_schedule")
      .then((s) => live && show(s))
      .catch((e: unknown) => live && setError(toApiError(e)));
    return () => {
      live = false;
    };
  }, []);

  const write = () =>
    run(async () => {
      setNotice(null);
      const folder = await call<PickedFile | null>("backup_pick_folder", { title: t("dailyReport.dialogTitle") });
      if (!folder) return;
      const report = await call<DailyReport>("daily_report_write", {
        date,
        market: market === "all" ? null : market,
        format,
        folder_token: folder.token,
      });
      setMade(report);
    });

  const save = (off: boolean) =>
    run(async () => {
      setNotice(null);
      const answer = await call<DailyReportSchedule | null>("daily_report_schedule_set", {
        at,
        markets,
        recipients: recipientList(recipients),
        format: mailFormat,
        off,
      });
      show(answer);
      if (!answer) {
        setSchedule(null);
        setRecipients("");
      }
      setNotice(off ? "dailyReport.stopped" : "common.saved");
    });

  const toggle = (m: Country) => setMarkets((now) => MARKETS.filter((x) => (x === m ? !now.includes(m) : now.includes(x))));
  const files = made?.markets.flatMap((m) => m.files) ?? [];

  return (
    <section className="panel daily-report" data-testid="daily-report">
      <h3>{t("dailyReport.title")}</h3>
      <p className="muted small">{t("dailyReport.intro")}</p>
      <div className="filters">
        <label className="field compact">
          <span>{t("dailyReport.date")}</span>
          <DateField value={date} onChange={setDate} testId="daily-report-date" />
        </label>
        <DataFormatSelect label={t("dailyReport.format")} value={format} onChange={setFormat} testId="daily-report-format" />
        <button type="button" className="primary" disabled={busy || date === ""} onClick={() => void write()} data-testid="daily-report-write">
          {market === "all" ? t("dailyReport.writeAll") : t("dailyReport.writeOne", { market })}
        </button>
      </div>
      {made && (
        <div className="notice notice-ok" data-testid="daily-report-made">
          <p>{t("dailyReport.made", { count: files.length, date: made.date })}</p>
          <ul className="plain mono small">
            {files.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </div>
      )}

      <h4>{t("dailyReport.emailTitle")}</h4>
      <p data-testid="daily-report-schedule-state">
        {schedule
          ? t("dailyReport.scheduled", {
              at: schedule.at,
              markets: schedule.markets.join(", "),
              recipients: schedule.recipients.join(", "),
              by: schedule.set_by,
            })
          : t("dailyReport.notScheduled")}
      </p>
      {!canSchedule && <p className="notice notice-info small">{t("dailyReport.managersOnly")}</p>}
      {canSchedule && (
        <div className="filters">
          <label className="field compact">
            <span>{t("dailyReport.at")}</span>
            <input className="mono" value={at} onChange={(e) => setAt(e.target.value)} placeholder="07:00" size={6} data-testid="daily-report-at" />
          </label>
          <div className="field compact" role="group" aria-label={t("dailyReport.markets")}>
            <span>{t("dailyReport.markets")}</span>
            {MARKETS.map((m) => (
              <label key={m} className="inline">
                <input type="checkbox" checked={markets.includes(m)} onChange={() => toggle(m)} data-testid={`daily-report-market-${m}`} /> {m}
              </label>
            ))}
          </div>
          <label className="field compact">
            <span>{t("dailyReport.recipients")}</span>
            <textarea rows={3} cols={34} value={recipients} onChange={(e) => setRecipients(e.target.value)} placeholder="finanzas@tienda.example" data-testid="daily-report-recipients" />
          </label>
          <DataFormatSelect label={t("dailyReport.format")} value={mailFormat} onChange={setMailFormat} testId="daily-report-mail-format" />
          <span className="button-row">
            <button type="button" className="primary" disabled={busy} onClick={() => void save(false)} data-testid="daily-report-schedule-save">
              {t("common.save")}
            </button>
            {schedule && (
              <button type="button" className="link-button" disabled={busy} onClick={() => void save(true)} data-testid="daily-report-schedule-stop">
                {t("dailyReport.stop")}
              </button>
            )}
          </span>
        </div>
      )}
      <p className="muted small">{t("dailyReport.how")}</p>
      <OkNotice text={notice ? t(notice) : null} testId="daily-report-notice" />
      <ErrorNotice error={error} testId="daily-report-error" />
    </section>
  );
}
