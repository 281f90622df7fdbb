// The ledger's payments or settlement rows for a range of market dates
// (seeds 001 and 004: compare with the PSP's report, keep for Peru's tax
// rules), optionally one PSP and store, in the dashboard's market: the same
// files as `voucherdesk export payments|settlements`, through the core's one
// formula-safe writer (CSV, or an Excel workbook).

import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { call } from "../api/commands";
import type { LedgerRows, Market, PickedFile, ReportDataFormat } from "../bindings";
import { DataFormatSelect } from "./DailyReportPanel";
import { DateField } from "./DateField";
import { ErrorNotice } from "./ErrorNotice";
import { OkNotice } from "./OkNotice";
import { rangeStart } from "./KpiPanel";
import { useSubmission } from "./useSubmission";

/** Market days the range covers by default, ending on the dashboard's as-of date. */
export const EXPORT_DEFAULT_DAYS = 7;

const PSPS = ["dlocal", "pagoefectivo"] as const;

/** The file name the save dialog suggests. */
export function suggestedName(rows: LedgerRows, from: string, to: string, market: Market, format: ReportDataFormat): string {
  const where = market === "all" ? "" : `-${market}`;
  return `voucherdesk-${rows}-${from}-${to}${where}.${format}`;
}

export function LedgerExportPanel({ market, asOf }: { market: Market; asOf: string }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<LedgerRows>("payments");
  const [from, setFrom] = useState(rangeStart(asOf, EXPORT_DEFAULT_DAYS));
  const [to, setTo] = useState(asOf);
  const [psp, setPsp] = useState("");
  const [store, setStore] = useState("");
  const [format, setFormat] = useState<ReportDataFormat>("xlsx");
  const [done, setDone] = useState<{ rows: number; path: string } | null>(null);
  const { error, busy, run } = useSubmission();

  useEffect(() => {
    setFrom(rangeStart(asOf, EXPORT_DEFAULT_DAYS));
    setTo(asOf);
  }, [asOf]);

  const exportRows = () =>
    run(async () => {
      setDone(null);
      const file = await call<PickedFile | null>("pick_save_path", {
        title: t("ledgerExport.dialogTitle"),
        file_name: suggestedName(rows, from, to, market, format),
        kind: format,
      });
      if (!file) return;
      const outcome = await call<{ rows: number }>("export_ledger", {
        rows,
        from,
        to,
        psp: psp === "" ? null : psp,
        market: market === "all" ? null : market,
        store: store.trim() === "" ? null : store.trim(),
        token: file.token,
      });
      setDone({ rows: outcome.rows, path: file.path });
    });

  return (
    <section className="panel" data-testid="ledger-export">
      <h3>{t("ledgerExport.title")}</h3>
      <p className="muted small">{market === "all" ? t("ledgerExport.introAll") : t("ledgerExport.introOne", { market })}</p>
      <div className="filters">
        <label className="field compact">
          <span>{t("ledgerExport.rows")}</span>
          <select value={rows} onChange={(e) => setRows(e.target.value as LedgerRows)} data-testid="ledger-export-rows">
            <option value="payments">{t("ledgerExport.payments")}</option>
            <option value="settlements">{t("ledgerExport.settlements")}</option>
          </select>
        </label>
        <label className="field compact">
          <span>{t("ledgerExport.from")}</span>
          <DateField value={from} onChange={setFrom} testId="ledger-export-from" />
        </label>
        <label className="field compact">
          <span>{t("ledgerExport.to")}</span>
          <DateField value={to} onChange={setTo} testId="ledger-export-to" />
        </label>
        <label className="field compact">
          <span>{t("ledgerExport.psp")}</span>
          <select value={psp} onChange={(e) => setPsp(e.target.value)} data-testid="ledger-export-psp">
            <option value="">{t("ledgerExport.anyPsp")}</option>
            {PSPS.map((p) => (
              <option key={p} value={p}>
                {p === "dlocal" ? "dLocal" : "PagoEfectivo"}
              </option>
            ))}
          </select>
        </label>
        <label className="field compact">
          <span>{t("ledgerExport.store")}</span>
          <input value={store} onChange={(e) => setStore(e.target.value)} placeholder={t("ledgerExport.anyStore")} data-testid="ledger-export-store" />
        </label>
        <DataFormatSelect label={t("dailyReport.format")} value={format} onChange={setFormat} testId="ledger-export-format" />
        <button type="button" className="primary" disabled={busy || from === "" || to === ""} onClick={() => void exportRows()} data-testid="ledger-export-save">
          {t("ledgerExport.save")}
        </button>
      </div>
      <OkNotice text={done ? t("ledgerExport.done", { count: done.rows, path: done.path }) : null} testId="ledger-export-done" />
      <ErrorNotice error={error} testId="ledger-export-error" />
    </section>
  );
}
