import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { parseBadRows, toApiError, type ApiError } from "../api/errors";
import type {
  BatchInfo,
  ImportKind,
  ImportOutcome,
  ImportProgress,
  PickedFile,
  ProfileSuggestion,
  ReconcileSummary,
  RunFileEnded,
} from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { When } from "../components/When";
import { formatDay } from "../lib/dates";
import { formatCount } from "../lib/format";
import { listenWhileMounted } from "../lib/listenWhileMounted";
import { canImport } from "../lib/roles";
import { useSession } from "../session";

/** The built-in profiles (README "Built-in profiles") and what each imports. */
export const BUILTIN_PROFILES: readonly { name: string; kind: ImportKind }[] = [
  { name: "shop", kind: "orders" },
  { name: "dlocal", kind: "payments" },
  { name: "pagoefectivo", kind: "payments" },
  { name: "dlocal-settlement", kind: "settlements" },
  { name: "pagoefectivo-settlement", kind: "settlements" },
];

/** `queued`: in an Import all run, waiting for the files before it. */
type ItemState = "suggesting" | "ready" | "queued" | "importing" | "done" | "failed";

interface ImportItem {
  id: number;
  /** What the shell gave for the chosen file: the commands take `file.token`; name and path are for showing. */
  file: PickedFile;
  suggestion: ProfileSuggestion | null;
  profile: string;
  kind: ImportKind | "";
  state: ItemState;
  outcome: ImportOutcome | null;
  error: ApiError | null;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return i >= 0 ? path.slice(i + 1) : path;
}

function kindOf(profile: string, suggestion: ProfileSuggestion | null): ImportKind | "" {
  const builtin = BUILTIN_PROFILES.find((p) => p.name === profile);
  if (builtin) return builtin.kind;
  if (suggestion && suggestion.profile === profile && suggestion.kind) return suggestion.kind;
  return "";
}

function Outcome({ outcome }: { outcome: ImportOutcome }) {
  const { t, i18n } = useTranslation();
  const n = (x: number) => formatCount(x, i18n.language);
  if (outcome.outcome === "already_imported") {
    return (
      <p className="notice notice-info" data-testid="import-already">
        {t("imports.alreadyImported", { batch: outcome.batch_id, at: outcome.imported_at, operator: outcome.operator })}
      </p>
    );
  }
  const r = outcome.rows;
  return (
    <div className="notice notice-ok" data-testid="import-summary" data-new={r.new} data-updated={r.updated} data-unchanged={r.unchanged} data-duplicate={r.duplicate}>
      <strong>{t("imports.summary", { total: n(r.total), new: n(r.new), updated: n(r.updated), unchanged: n(r.unchanged), duplicate: n(r.duplicate) })}</strong>
      <span className="notice-detail">
        {t("imports.summaryMeta", { batch: outcome.batch_id, encoding: outcome.encoding, delimiter: outcome.delimiter, ms: outcome.elapsed_ms })}
      </span>
    </div>
  );
}

function BadRows({ error }: { error: ApiError }) {
  const { t } = useTranslation();
  const rows = parseBadRows(error.message);
  return (
    <div data-testid="import-bad-rows">
      <ErrorNotice error={error} testId="import-error" />
      {rows.length > 0 && (
        <table className="table compact">
          <caption>{t("imports.badRowsTitle")}</caption>
          <thead>
            <tr>
              <th>{t("imports.line")}</th>
              <th>{t("imports.column")}</th>
              <th>{t("imports.reason")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={i} data-testid={`bad-row-${r.line}`} data-line={r.line}>
                <td className="num">{r.line}</td>
                <td className="mono">{r.column}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

export function ImportsScreen() {
  const { t, i18n } = useTranslation();
  const n = (x: number) => formatCount(x, i18n.language);
  const { operator } = useSession();
  const [items, setItems] = useState<ImportItem[]>([]);
  const [progress, setProgress] = useState<ImportProgress | null>(null);
  const [history, setHistory] = useState<BatchInfo[] | null>(null);
  const [historyError, setHistoryError] = useState<ApiError | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [reconciled, setReconciled] = useState<ReconcileSummary | null>(null);
  /** While "Import all" runs: how many of its files have ended. */
  const [run, setRun] = useState<{ done: number; total: number } | null>(null);
  /** The token of the run's file being written (the progress events are its rows). */
  const [current, setCurrent] = useState<string | null>(null);
  const nextId = useRef(1);

  const loadHistory = useCallback(() => {
    api
      .importHistory(50)
      .then((h) => {
        setHistory(h);
        setHistoryError(null);
      })
      .catch((e: unknown) => setHistoryError(toApiError(e)));
  }, []);

  useEffect(() => {
    loadHistory();
  }, [loadHistory]);

  const update = (id: number, patch: Partial<ImportItem>) => setItems((xs) => xs.map((x) => (x.id === id ? { ...x, ...patch } : x)));

  const addFiles = useCallback((files: PickedFile[]) => {
    const added: ImportItem[] = files.map((file) => ({
      id: nextId.current++,
      file,
      suggestion: null,
      profile: "",
      kind: "",
      state: "suggesting",
      outcome: null,
      error: null,
    }));
    setItems((xs) => [...xs, ...added]);
    for (const item of added) {
      api
        .suggestProfile(item.file.token)
        .then((s) => {
          const profile = s.profile ?? "";
          setItems((xs) => xs.map((x) => (x.id === item.id ? { ...x, suggestion: s, profile, kind: s.kind ?? kindOf(profile, s), state: "ready" } : x)));
        })
        .catch((e: unknown) => setItems((xs) => xs.map((x) => (x.id === item.id ? { ...x, state: "ready", error: toApiError(e) } : x))));
    }
  }, []);

  // Progress events from the core while a file imports.
  useEffect(() => listenWhileMounted(() => api.onImportProgress((p) => setProgress(p))), []);

  // Dragging over the window highlights the drop zone.
  useEffect(
    () =>
      // No webview (tests, plain browser): nothing to listen to.
      listenWhileMounted(() =>
        import("@tauri-apps/api/webview").then(({ getCurrentWebview }) =>
          getCurrentWebview().onDragDropEvent((event) => {
            const p = event.payload;
            if (p.type === "enter" || p.type === "over") setDragging(true);
            else setDragging(false);
          }),
        ),
      ),
    [],
  );

  // The dropped files themselves come from the shell, each with its token (the drop's paths are not enough).
  useEffect(
    () =>
      listenWhileMounted(() =>
        api.onFilesDropped((files) => {
          if (files.length > 0) addFiles(files);
        }),
      ),
    [addFiles],
  );

  const choose = async () => {
    setError(null);
    try {
      const picked = await api.pickImportFiles(t("common.pickImportTitle"));
      if (picked.length > 0) addFiles(picked);
    } catch (e) {
      setError(toApiError(e));
    }
  };

  const importOne = async (item: ImportItem) => {
    if (!item.profile || !item.kind) return;
    update(item.id, { state: "importing", error: null, outcome: null });
    setProgress(null);
    try {
      const outcome = await api.importFile(item.file.token, item.kind, item.profile);
      update(item.id, { state: "done", outcome });
    } catch (e) {
      update(item.id, { state: "failed", error: toApiError(e) });
    } finally {
      setProgress(null);
    }
  };

  /** The ready files as one run: each item ends as its file does (told by an event), the reply settles them all. */
  const importAll = async () => {
    const ready = items.filter((x) => x.state === "ready" && x.profile && x.kind);
    if (ready.length === 0) return;
    const byToken = new Map(ready.map((x) => [x.file.token, x.id]));
    const ended = new Set<string>();
    const settle = (e: RunFileEnded) => {
      const id = byToken.get(e.token);
      if (id === undefined || ended.has(e.token)) return;
      ended.add(e.token);
      update(id, e.outcome ? { state: "done", outcome: e.outcome, error: null } : { state: "failed", outcome: null, error: toApiError(e.error) });
      setRun({ done: ended.size, total: ready.length });
    };
    setBusy(true);
    setError(null);
    setProgress(null);
    setRun({ done: 0, total: ready.length });
    setItems((xs) => xs.map((x) => (byToken.has(x.file.token) ? { ...x, state: "queued", outcome: null, error: null } : x)));
    const started = (token: string) => {
      const id = byToken.get(token);
      if (id === undefined) return;
      setProgress(null);
      setCurrent(token);
      setItems((xs) => xs.map((x) => (x.id === id && x.state === "queued" ? { ...x, state: "importing" } : x)));
    };
    const unlisten = await Promise.all([
      api.onImportFileStarted((e) => started(e.token)).catch(() => null),
      api.onImportFileEnded(settle).catch(() => null),
    ]);
    try {
      const files = ready.map((x) => ({ token: x.file.token, kind: x.kind as ImportKind, profile: x.profile }));
      (await api.importFiles(files)).forEach(settle);
    } catch (e) {
      // Refused whole (the role) or stopped by a fault: the files it did not end say why.
      const error = toApiError(e);
      const unended = (x: ImportItem) => byToken.has(x.file.token) && (x.state === "queued" || x.state === "importing");
      setItems((xs) => xs.map((x) => (unended(x) ? { ...x, state: "failed", error } : x)));
    } finally {
      unlisten.forEach((u) => u?.());
      setRun(null);
      setCurrent(null);
      setProgress(null);
      setBusy(false);
      loadHistory();
    }
  };

  const reconcile = async () => {
    setBusy(true);
    setError(null);
    try {
      setReconciled(await api.reconcileNow());
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  };

  const profiles = (item: ImportItem) => {
    const list = [...BUILTIN_PROFILES];
    if (item.suggestion?.profile && !list.some((p) => p.name === item.suggestion?.profile)) {
      list.push({ name: item.suggestion.profile, kind: item.suggestion.kind ?? "payments" });
    }
    return list;
  };

  return (
    <div className="imports">
      <div className="toolbar-row">
        <h2>{t("imports.title")}</h2>
        <div className="button-row">
          {canImport(operator.role) && (
            <button type="button" onClick={() => void reconcile()} disabled={busy} data-testid="reconcile-now">
              {t("imports.reconcile")}
            </button>
          )}
        </div>
      </div>
      <div className={`drop-zone${dragging ? " dragging" : ""}`} data-testid="import-drop-zone">
        <button type="button" className="primary" onClick={() => void choose()} data-testid="import-choose">
          {t("imports.choose")}
        </button>
        <span className="muted">{t("imports.drop")}</span>
      </div>
      <ErrorNotice error={error} testId="imports-error" />
      {reconciled && (
        <p className="notice notice-ok" data-testid="reconcile-result">
          {t("imports.reconciled", { asOf: formatDay(reconciled.as_of, i18n.language), matched: reconciled.matched, orders: reconciled.orders, open: reconciled.open_exceptions })}
          <br />
          <span className="muted" data-testid="reconcile-scope">
            {reconciled.rechecked_orders === null ? t("imports.reconciledFull") : t("imports.reconciledScope", { count: reconciled.rechecked_orders })}
          </span>
        </p>
      )}

      {items.length > 0 && (
        <section className="panel">
          <ul className="plain-list import-items">
            {items.map((item) => (
              <li key={item.id} className="import-item" data-testid={`import-item-${item.id}`} data-file={item.file.name} data-state={item.state}>
                <div className="import-row">
                  <span className="mono" title={item.file.path} data-testid="import-file-name">
                    {item.file.name}
                  </span>
                  <label className="field compact">
                    <span>
                      {t("imports.profile")}
                      {item.suggestion?.profile && item.suggestion.profile === item.profile ? ` (${t("imports.suggested")})` : ""}
                    </span>
                    <select
                      value={item.profile}
                      disabled={item.state === "queued" || item.state === "importing" || item.state === "done"}
                      onChange={(e) => update(item.id, { profile: e.target.value, kind: kindOf(e.target.value, item.suggestion) })}
                      data-testid="import-profile"
                      data-raw
                    >
                      <option value="">—</option>
                      {profiles(item).map((p) => (
                        <option key={p.name} value={p.name}>
                          {p.name} · {t(`imports.kinds.${p.kind}`)}
                        </option>
                      ))}
                    </select>
                  </label>
                  <span className="muted small" data-testid="import-kind">
                    {item.kind ? t(`imports.kinds.${item.kind}`) : ""}
                  </span>
                  {(item.state === "ready" || item.state === "failed") && (
                    <button type="button" className="primary" disabled={!item.profile || !item.kind || busy} onClick={() => void importOne(item).then(loadHistory)} data-testid="import-start">
                      {t("imports.import")}
                    </button>
                  )}
                  {item.state !== "importing" && item.state !== "queued" && (
                    <button type="button" className="link-button" onClick={() => setItems((xs) => xs.filter((x) => x.id !== item.id))} data-testid="import-remove">
                      {t("imports.remove")}
                    </button>
                  )}
                </div>
                {item.state === "ready" && item.suggestion && !item.suggestion.profile && (
                  <p className="muted small" data-testid="import-no-suggestion">
                    {t("imports.noSuggestion")} — {t("imports.headers")}: {item.suggestion.headers.join(", ")}
                  </p>
                )}
                {item.state === "queued" && (
                  <p className="muted small" data-testid="import-queued">
                    {t("imports.waiting")}
                  </p>
                )}
                {item.state === "importing" && (
                  <div className="progress" data-testid="import-progress">
                    <div className="progress-bar indeterminate" />
                    <span className="small" data-testid="import-progress-text">
                      {progress && (!run || current === item.file.token) ? t("imports.progress", { rows: n(progress.rows), rate: n(progress.rows_per_s) }) : t("imports.importing")}
                    </span>
                  </div>
                )}
                {item.outcome && <Outcome outcome={item.outcome} />}
                {item.error && (item.error.code === "import.bad_rows" ? <BadRows error={item.error} /> : <ErrorNotice error={item.error} testId="import-error" full />)}
              </li>
            ))}
          </ul>
          {run && (
            <p className="small" data-testid="import-run-progress" data-done={run.done} data-total={run.total}>
              {t("imports.runProgress", { done: n(run.done), total: n(run.total) })}
            </p>
          )}
          {items.filter((x) => x.state === "ready").length > 1 && (
            <button type="button" className="primary" disabled={busy} onClick={() => void importAll()} data-testid="import-all">
              {t("imports.importAll")}
            </button>
          )}
        </section>
      )}

      <section className="panel" data-testid="import-history">
        <h3>{t("imports.history")}</h3>
        <ErrorNotice error={historyError} testId="import-history-error" />
        {history && history.length === 0 && <p className="muted">{t("imports.historyEmpty")}</p>}
        {history && history.length > 0 && (
          <table className="table">
            <thead>
              <tr>
                <th>#</th>
                <th>{t("imports.importedAt")}</th>
                <th>{t("imports.file")}</th>
                <th>{t("imports.profile")}</th>
                <th className="num">{t("imports.rows")}</th>
                <th className="num">{t("imports.newRows")}</th>
                <th className="num">{t("imports.updatedRows")}</th>
                <th className="num">{t("imports.unchangedRows")}</th>
                <th className="num">{t("imports.duplicateRows")}</th>
                <th>{t("imports.operator")}</th>
              </tr>
            </thead>
            <tbody>
              {history.map((b) => (
                <tr key={b.id} data-testid={`import-batch-${b.id}`}>
                  <td className="num">{b.id}</td>
                  <td>
                    <When at={b.imported_at} />
                  </td>
                  <td className="mono small" title={b.file_name}>
                    {baseName(b.file_name)}
                  </td>
                  <td className="mono small">{b.profile}</td>
                  <td className="num">{n(b.rows_total)}</td>
                  <td className="num">{n(b.rows_new)}</td>
                  <td className="num">{n(b.rows_updated)}</td>
                  <td className="num">{n(b.rows_unchanged)}</td>
                  <td className="num">{n(b.rows_duplicate)}</td>
                  <td>{b.operator}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
