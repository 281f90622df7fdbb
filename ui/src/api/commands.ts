// The one place that knows command names and argument shapes (docs/IPC.md).
// Screens call these; nothing else calls `invoke`.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { toApiError } from "./errors";
import type {
  AppStatus,
  AssignOutcome,
  BackupOverview,
  AuditRow,
  BatchInfo,
  BulkOutcome,
  Candidate,
  CaseFile,
  ConnectionTest,
  Dashboard,
  DelivererStatus,
  ExceptionCursor,
  ExceptionQuery,
  ExceptionSort,
  ExportOutcome,
  HistoryRecord,
  ImportKind,
  ImportOutcome,
  ImportProgress,
  Language,
  LinkTarget,
  Market,
  NotificationChannel,
  NotificationKind,
  NotificationLocale,
  NotificationLogEntry,
  NotificationPreview,
  NotificationSettings,
  NotificationSettingsView,
  NotificationStatus,
  Operator,
  OperatorSummary,
  OrderHit,
  PickedFile,
  ProfileSuggestion,
  PspAccountRow,
  PspName,
  QueueCounts,
  QueuePage,
  ReconcileSummary,
  Refreshed,
  ResolutionAction,
  RetryOutcome,
  Role,
  RunFileEnded,
  RunFileRequest,
  RunFileStarted,
  Settings,
  SyncIndicator,
  TeamChanged,
  TeamStatus,
  TestMessageSent,
  VerifyReport,
  VoucherActions,
  VoucherOutcome,
} from "../bindings";
import type { AuditQuery } from "./types";

/** Codes that end or lock the session wherever they come from. */
export const SESSION_CODES = ["auth.locked", "auth.required"] as const;
type SessionListener = (code: (typeof SESSION_CODES)[number]) => void;
let sessionListener: SessionListener | null = null;

/** The app shell listens here to show the lock or sign-in screen. */
export function onSessionError(listener: SessionListener | null): void {
  sessionListener = listener;
}

/** `invoke` with errors normalised to ApiError. */
export async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const error = toApiError(e);
    const code = SESSION_CODES.find((c) => c === error.code);
    if (code && sessionListener) sessionListener(code);
    throw error;
  }
}

/** Drops absent filter fields so the core sees `None`, not `""`. */
export function cleanQuery(q: ExceptionQuery): ExceptionQuery {
  const out: ExceptionQuery = {};
  for (const [k, v] of Object.entries(q) as [keyof ExceptionQuery, string | null | undefined][]) {
    // assignee "" means "unassigned only" and must be kept.
    if (v === undefined || v === null) continue;
    if (v === "" && k !== "assignee") continue;
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

export const SEARCH_LIMIT = 20;
export const QUEUE_PAGE_LIMIT = 200;
/** The queue's first page: a screenful and some (a 200-row page is ~90 KB of JSON to cross IPC and parse). */
export const QUEUE_FIRST_PAGE_LIMIT = 50;
export const AUDIT_PAGE_LIMIT = 100;
/** A case file's notification log: one page, newest first (the core caps it at 500). */
export const NOTIFICATION_LOG_LIMIT = 100;
/** The notifications screen's lists: one page each, newest first (the core caps a page at 500). */
export const OUTBOX_PAGE_LIMIT = 200;

export const api = {
  // session
  appStatus: () => call<AppStatus>("app_status"),
  createFirstAdmin: (name: string, password: string) => call<Operator>("create_first_admin", { name, password }),
  signIn: (name: string, password: string) => call<Operator>("sign_in", { name, password }),
  signOut: () => call<void>("sign_out"),
  setLanguage: (language: Language) => call<Operator>("set_language", { language }),

  // scheduled backups: the overview is everyone's (the warning banner); changes are the admin's
  backupOverview: () => call<BackupOverview>("backup_overview"),
  /** The folder dialog; the answer's token is good for one `backupScheduleSet`. */
  backupPickFolder: (title: string) => call<PickedFile | null>("backup_pick_folder", { title }),
  /** `folderToken`: a `backupPickFolder` answer, or null to keep the folder; `off` clears it. */
  backupScheduleSet: (folderToken: string | null, off: boolean, everyHours: number) =>
    call<BackupOverview>("backup_schedule_set", { folder_token: folderToken, off, every_hours: everyHours }),
  backupNow: () => call<BackupOverview>("backup_now"),

  // crash reports (no session needed)
  crashReportsOpenFolder: () => call<void>("crash_reports_open_folder"),
  crashReportsDismiss: () => call<void>("crash_reports_dismiss"),

  // lookup
  searchOrders: (query: string, limit = SEARCH_LIMIT) => call<OrderHit[]>("search_orders", { query, limit }),
  caseFile: (order_id: string) => call<CaseFile>("case_file", { order_id }),

  // exceptions
  exceptionCounts: (filter: ExceptionQuery) => call<QueueCounts>("exception_counts", { filter: cleanQuery(filter) }),
  exceptionPage: (filter: ExceptionQuery, sort: ExceptionSort, after: ExceptionCursor | null, limit = QUEUE_PAGE_LIMIT) =>
    call<QueuePage>("exception_page", {
      filter: cleanQuery(filter),
      sort,
      page: after ? { after, limit } : { limit },
    }),
  exceptionHistory: (id: string) => call<HistoryRecord[]>("exception_history", { id }),
  resolveExceptions: (ids: string[], action: ResolutionAction, note: string, link?: LinkTarget) =>
    call<BulkOutcome>("resolve_exceptions", link ? { ids, action, note, link } : { ids, action, note }),
  assignExceptions: (ids: string[], assignee: string | null) =>
    call<AssignOutcome>("assign_exceptions", { ids, assignee }),
  linkCandidates: (id: string) => call<Candidate[]>("link_candidates", { id }),
  /** `token`: a CSV answer of `pickSaveFile`, good for one export. */
  exportExceptions: (filter: ExceptionQuery, token: string) =>
    call<ExportOutcome>("export_exceptions", { filter: cleanQuery(filter), token }),

  // File dialogs (shown by a child process of the app: src-tauri/src/file_dialog.rs). The file
  // commands take the token of an answer, never a path: the shell keeps what each token stands for.
  pickImportFiles: (title: string) => call<PickedFile[]>("pick_import_files", { title }),
  pickSaveFile: (title: string, fileName: string, kind: "csv" | "pdf" = "csv") =>
    call<PickedFile | null>("pick_save_path", { title, file_name: fileName, kind }),
  /** Files dropped on the window, as the shell remembered them (the page is never given a drop's authority). */
  onFilesDropped: (cb: (files: PickedFile[]) => void): Promise<UnlistenFn> =>
    listen<PickedFile[]>("files-dropped", (e) => cb(e.payload)),

  // imports: `token` from `pickImportFiles` or a drop; it serves the suggestion and the import
  suggestProfile: (token: string) => call<ProfileSuggestion>("suggest_profile", { token }),
  importFile: (token: string, kind: ImportKind, profile: string) =>
    call<ImportOutcome>("import_file", { token, kind, profile }),
  /** Several chosen files as one run; each file's end is also told by `onImportFileEnded`. */
  importFiles: (files: RunFileRequest[]) => call<RunFileEnded[]>("import_files", { files }),
  onImportFileStarted: (cb: (started: RunFileStarted) => void): Promise<UnlistenFn> =>
    listen<RunFileStarted>("import-file-started", (e) => cb(e.payload)),
  onImportFileEnded: (cb: (ended: RunFileEnded) => void): Promise<UnlistenFn> =>
    listen<RunFileEnded>("import-file-ended", (e) => cb(e.payload)),
  importHistory: (limit = 50) => call<BatchInfo[]>("import_history", { limit }),
  reconcileNow: (as_of?: string) => call<ReconcileSummary>("reconcile_now", as_of ? { as_of } : {}),
  onImportProgress: (cb: (p: ImportProgress) => void): Promise<UnlistenFn> =>
    listen<ImportProgress>("import-progress", (e) => cb(e.payload)),

  // dashboard
  dashboard: (market: Market, as_of?: string) => call<Dashboard>("dashboard", as_of ? { market, as_of } : { market }),

  // audit
  auditPage: (q: AuditQuery) => {
    const args: Record<string, unknown> = { limit: q.limit };
    for (const k of ["operator", "action", "from", "to", "after_id"] as const) {
      const v = q[k];
      if (v !== undefined && v !== null && v !== "") args[k] = v;
    }
    return call<AuditRow[]>("audit_page", args);
  },
  auditVerify: () => call<VerifyReport>("audit_verify"),

  // settings and operators
  settingsGet: () => call<Settings>("settings_get"),
  settingsSet: (settings: Settings) => call<Settings>("settings_set", { settings }),
  operatorsList: () => call<OperatorSummary[]>("operators_list"),
  operatorAdd: (name: string, role: Role, password: string) =>
    call<Operator>("operator_add", { name, role, password }),
  operatorSetRole: (name: string, role: Role) => call<void>("operator_set_role", { name, role }),
  operatorDisable: (name: string) => call<void>("operator_disable", { name }),

  // PSP sync and accounts
  syncStatus: () => call<SyncIndicator>("sync_status"),
  syncPause: () => call<SyncIndicator>("sync_pause"),
  syncResume: () => call<SyncIndicator>("sync_resume"),
  refreshFromPsp: (psp: string, payment_id: string) => call<Refreshed>("refresh_from_psp", { psp, payment_id }),
  // Voucher actions on a case file (the core checks roles and calls the PSP).
  voucherActions: (order_id: string) => call<VoucherActions>("voucher_actions", { order_id }),
  voucherIssue: (order_id: string, hours: number | null) => call<VoucherOutcome>("voucher_issue", { order_id, hours }),
  voucherExtend: (order_id: string, hours: number) => call<VoucherOutcome>("voucher_extend", { order_id, hours }),
  voucherCancel: (order_id: string) => call<VoucherOutcome>("voucher_cancel", { order_id }),
  pspAccountsList: () => call<PspAccountRow[]>("psp_accounts_list"),
  /** `secrets` are sent once and never come back (the answer has only `secret_present`). */
  pspAccountAdd: (name: string, psp: PspName, base_url: string, secrets: Record<string, string>) =>
    call<PspAccountRow>("psp_account_add", { name, psp, base_url, secrets }),
  pspAccountTest: (name: string) => call<ConnectionTest>("psp_account_test", { name }),
  pspAccountRotate: (name: string, secrets: Record<string, string>) =>
    call<PspAccountRow>("psp_account_rotate", { name, secrets }),
  pspAccountRemove: (name: string) => call<void>("psp_account_remove", { name }),

  // buyer notifications
  notificationPreview: (order_id: string, kind: NotificationKind, channel: NotificationChannel, locale?: NotificationLocale) =>
    call<NotificationPreview>("notification_preview", locale ? { order_id, kind, channel, locale } : { order_id, kind, channel }),
  /** Returns the queued message's id. */
  notificationResend: (order_id: string, kind: NotificationKind, channel: NotificationChannel, override_limit: boolean) =>
    call<number>("notification_resend", { order_id, kind, channel, override_limit }),
  notificationLog: (order_id: string, limit = NOTIFICATION_LOG_LIMIT) => call<NotificationLogEntry[]>("notification_log", { order_id, limit }),
  // ---- buyer notifications: the notifications screen and Settings → Notifications
  /** The whole outbox (every order), optionally one status; newest first. */
  notificationOutbox: (status: NotificationStatus | null, limit = OUTBOX_PAGE_LIMIT) =>
    call<NotificationLogEntry[]>("notification_log", status ? { status, limit } : { limit }),
  notificationRetry: (ids: number[]) => call<RetryOutcome>("notification_retry", { ids }),
  notificationDelivererStatus: () => call<DelivererStatus>("notification_deliverer_status"),
  notificationSettingsGet: () => call<NotificationSettingsView>("notification_settings_get"),
  /** The secrets only when typed; they never come back (the answer has only `*_present`). */
  notificationSettingsSet: (settings: NotificationSettings, secrets: { smtp_password?: string; sms_token?: string }) => {
    const args: Record<string, unknown> = { settings };
    if (secrets.smtp_password) args.smtp_password = secrets.smtp_password;
    if (secrets.sms_token) args.sms_token = secrets.sms_token;
    return call<NotificationSettingsView>("notification_settings_set", args);
  },
  notificationSendTest: (channel: NotificationChannel, to: string) => call<TestMessageSent>("notification_send_test", { channel, to }),

  // team mode: null in local mode
  teamStatus: () => call<TeamStatus | null>("team_status"),
  /** Other desktops' changes arrived in this copy, or the server went away or came back. */
  onTeamChanged: (cb: (c: TeamChanged) => void): Promise<UnlistenFn> => listen<TeamChanged>("team-changed", (e) => cb(e.payload)),
};

export type Api = typeof api;
