//! The IPC commands (docs/IPC.md). Each is thin: take the state, call one
//! library function off the main thread, return the core's answer, map the error.
//! Roles are checked by the library on every state-changing call; the shell
//! only says who is acting.
//!
//! Arguments keep their snake_case names on the JavaScript side
//! (`rename_all = "snake_case"`), as the contract writes them.

use crate::dto;
use crate::error::{ApiError, codes};
use crate::file_dialog;
use crate::picked_files::{FileUse, SaveKind};
use crate::state::AppState;
use tauri::{AppHandle, Emitter, Runtime, State};
use voucherdesk::import::{self, ImportRequest, profile};
use voucherdesk::operators::{self, Role};
use voucherdesk::{audit, dashboard, exceptions, kpis, lookup, reconcile, refunds, settings};

type Reply<T> = Result<T, ApiError>;

/// The event `import_file` emits as rows are written (payload: `ImportProgress`).
pub const IMPORT_PROGRESS_EVENT: &str = "import-progress";
/// The event `import_files` emits as each file's write begins (payload: `RunFileStarted`).
pub const IMPORT_FILE_STARTED_EVENT: &str = "import-file-started";
/// The event `import_files` emits as each file ends (payload: `RunFileEnded`).
pub const IMPORT_FILE_ENDED_EVENT: &str = "import-file-ended";
/// Files one `import_files` call takes: a month of a merchant's reports.
pub const IMPORT_RUN_FILES_MAX: usize = 100;
/// The event emitted once the search index is level after an orders import
/// (payload: how many orders the background round indexed).
pub const SEARCH_INDEX_LEVEL_EVENT: &str = "search-index-level";
/// Search results one call may return (the core caps it lower still).
pub const SEARCH_LIMIT_MAX: u32 = 50;

include!(concat!(env!("OUT_DIR"), "/commands.rs"));

/// The invoke handler for every command: the one list of the app's commands.
/// build.rs reads it for the app manifest, the capability's grants and `COMMANDS`.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        app_status,
        create_first_admin,
        sign_in,
        sign_out,
        set_language,
        search_orders,
        case_file,
        exception_counts,
        exception_page,
        exception_history,
        resolve_exceptions,
        assign_exceptions,
        link_candidates,
        export_exceptions,
        suggest_profile,
        import_file,
        import_files,
        import_history,
        reconcile_now,
        dashboard,
        audit_page,
        audit_verify,
        settings_get,
        settings_set,
        operators_list,
        operator_add,
        operator_set_role,
        operator_disable,
        notification_preview,
        notification_resend,
        notification_log,
        // ---- buyer notifications: the deliverer, retry, settings
        crate::notify_commands::notification_deliverer_status,
        crate::notify_commands::notification_retry,
        crate::backup_commands::backup_overview,
        crate::backup_commands::backup_pick_folder,
        crate::backup_commands::backup_schedule_set,
        crate::backup_commands::backup_now,
        crate::notify_commands::notification_settings_get,
        crate::notify_commands::notification_settings_set,
        crate::notify_commands::notification_send_test,
        // PSP sync and accounts
        crate::psp_commands::sync_status,
        crate::psp_commands::sync_pause,
        crate::psp_commands::sync_resume,
        crate::psp_commands::refresh_from_psp,
        crate::voucher_commands::voucher_actions,
        crate::voucher_commands::voucher_issue,
        crate::voucher_commands::voucher_extend,
        crate::voucher_commands::voucher_cancel,
        crate::psp_commands::psp_accounts_list,
        crate::psp_commands::psp_account_add,
        crate::psp_commands::psp_account_test,
        crate::psp_commands::psp_account_rotate,
        crate::psp_commands::psp_account_remove,
        // ---- refunds
        refunds_request,
        refunds_approve,
        refunds_reject,
        refunds_cancel,
        refunds_list,
        refunds_show,
        refunds_refundable,
        refunds_receipt,
        refunds_preview,
        refunds_bulk_approve,
        refunds_export_csv,
        dashboard_refunds,
        kpis_panel,
        pick_import_files,
        pick_save_path,
        refunds_receipt_save,
        pick_proof_file,
        refunds_record_transfer,
        // the daily report and its email schedule
        crate::report_commands::daily_report_write,
        crate::report_commands::daily_report_schedule,
        crate::report_commands::daily_report_schedule_set,
        crate::report_commands::export_ledger,
        // team mode
        crate::team_commands::team_status,
        // crash reports
        crate::crash_commands::crash_reports_open_folder,
        crate::crash_commands::crash_reports_dismiss,
    ]
}

pub(crate) fn market_date(text: &str) -> Result<chrono::NaiveDate, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::new(codes::VALIDATION, format!("{text:?} is not a date (expected YYYY-MM-DD)")))
}

fn instant_secs(text: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp())
        .map_err(|_| ApiError::new(codes::VALIDATION, format!("{text:?} is not an RFC 3339 instant")))
}

// ------------------------------------------------------------------ session

#[tauri::command(rename_all = "snake_case")]
pub async fn app_status(state: State<'_, AppState>) -> Reply<dto::AppStatus> {
    state.status().await
}

/// First run only: the library refuses once any operator exists.
#[tauri::command(rename_all = "snake_case")]
pub async fn create_first_admin(state: State<'_, AppState>, name: String, password: String) -> Reply<dto::Operator> {
    let admin = state.with_store(move |s| Ok(operators::add(s, None, &name, Role::Admin, Some(&password))?)).await?;
    state.begin_session(&admin);
    Ok(admin.into())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(state: State<'_, AppState>, name: String, password: String) -> Reply<dto::Operator> {
    state.end_session();
    state.sign_in_to_team(name.clone(), password.clone()).await?;
    let operator = state.with_store(move |s| Ok(operators::sign_in(s, &name, &password)?)).await?;
    state.begin_session(&operator);
    Ok(operator.into())
}

/// Ends the session (also when it had already locked itself) and audits it.
#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(state: State<'_, AppState>) -> Reply<()> {
    let audited = state.as_operator(|s, op| Ok(operators::sign_out(s, op)?)).await;
    state.end_session();
    match audited {
        Err(e) if e.code == codes::AUTH_REQUIRED || e.code == codes::AUTH_LOCKED => Ok(()),
        other => other,
    }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn set_language(state: State<'_, AppState>, language: String) -> Reply<dto::Operator> {
    state
        .as_operator(move |s, op| {
            operators::set_language(s, op, &language)?;
            Ok(operators::act_as(s, &op.name)?.into())
        })
        .await
}

// ------------------------------------------------------------------ lookup

#[tauri::command(rename_all = "snake_case")]
pub async fn search_orders(state: State<'_, AppState>, query: String, limit: u32) -> Reply<Vec<dto::OrderHit>> {
    let limit = limit.min(SEARCH_LIMIT_MAX);
    state.as_operator_looking_up(move |s, _| Ok(lookup::search_hits(s, &query, limit)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn case_file(state: State<'_, AppState>, order_id: String) -> Reply<dto::CaseFile> {
    state.as_reader(move |s, op| Ok(lookup::case_file(s, &order_id, Some(op))?)).await
}

// ------------------------------------------------------------------ exceptions

#[tauri::command(rename_all = "snake_case")]
pub async fn exception_counts(state: State<'_, AppState>, filter: dto::ExceptionQuery) -> Reply<dto::QueueCounts> {
    state.as_reader(move |s, _| Ok(exceptions::counts(s, &filter)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn exception_page(
    state: State<'_, AppState>,
    filter: dto::ExceptionQuery,
    sort: Option<dto::ExceptionSort>,
    page: dto::PageRequest,
) -> Reply<dto::QueuePage> {
    // The queue opens oldest first.
    let sort = sort.unwrap_or(dto::ExceptionSort::AgeDesc);
    let after = page.after;
    state.as_reader(move |s, _| Ok(exceptions::page(s, &filter, sort, after.as_ref(), page.limit)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn exception_history(state: State<'_, AppState>, id: String) -> Reply<Vec<dto::HistoryRecord>> {
    state.as_reader(move |s, _| Ok(exceptions::history(s, &id)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn resolve_exceptions(
    state: State<'_, AppState>,
    ids: Vec<String>,
    action: dto::ResolutionAction,
    note: String,
    link: Option<dto::LinkTarget>,
) -> Reply<dto::BulkOutcome> {
    let link = link;
    state.as_operator(move |s, op| Ok(exceptions::resolve_many(s, op, &ids, action, &note, link)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn assign_exceptions(
    state: State<'_, AppState>,
    ids: Vec<String>,
    assignee: Option<String>,
) -> Reply<dto::AssignOutcome> {
    state
        .as_operator(move |s, op| {
            let assigned = exceptions::assign(s, op, &ids, assignee.as_deref())?;
            Ok(dto::AssignOutcome { assigned })
        })
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn link_candidates(state: State<'_, AppState>, id: String) -> Reply<Vec<dto::Candidate>> {
    state.as_reader(move |s, _| Ok(exceptions::link_candidates(s, &id)?)).await
}

/// `token`: a CSV save answer of `pick_save_path`, spent by this call.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_exceptions(
    state: State<'_, AppState>,
    filter: dto::ExceptionQuery,
    token: String,
) -> Reply<dto::ExportOutcome> {
    let path = state.picked_files().for_writing(&token, SaveKind::Csv)?;
    state
        .as_operator(move |s, _| {
            let rows = exceptions::export_csv(s, &filter, &path)?;
            Ok(dto::ExportOutcome { rows })
        })
        .await
}

// ------------------------------------------------------------------ imports

/// `token`: a file of `pick_import_files` (or dropped on the window); it stays valid for `import_file`.
#[tauri::command(rename_all = "snake_case")]
pub async fn suggest_profile(state: State<'_, AppState>, token: String) -> Reply<dto::ProfileSuggestion> {
    let path = state.picked_files().for_reading(&token)?;
    state.as_operator(move |_, _| Ok(import::suggest_profile(&path)?)).await
}

/// Imports one chosen file (`token`, spent once imported) with a built-in
/// profile, emitting `import-progress` as it goes.
#[tauri::command(rename_all = "snake_case")]
pub async fn import_file<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    token: String,
    kind: dto::ImportKind,
    profile: String,
) -> Reply<dto::ImportOutcome> {
    let files = state.picked_files();
    let path = files.for_reading(&token)?;
    let level_app = app.clone();
    let outcome = state
        .as_operator(move |s, op| {
            let profile = profile::built_in(&profile).ok_or(profile::ProfileError::Unknown { name: profile })?;
            let request = ImportRequest { kind: kind, profile: &profile, path: &path, operator: op };
            let mut progress = |p: import::ImportProgress| {
                // A window that is gone just misses the progress.
                let _ = app.emit(IMPORT_PROGRESS_EVENT, p);
            };
            Ok(import::import_file_with_progress(s, &request, &mut progress)?)
        })
        .await?;
    files.forget(&token);
    if kind == dto::ImportKind::Orders && matches!(outcome, import::ImportOutcome::Imported(_)) {
        state.level_search_index(move |indexed| {
            let _ = level_app.emit(SEARCH_INDEX_LEVEL_EVENT, indexed);
        });
    }
    Ok(outcome)
}

/// Imports the chosen files (`files`) as one run (`import::import_run_in_order`):
/// orders, then payments, then settlement reports, each file atomic on its own, the next read while
/// one is written, the search index level at the end. Emits `import-file-started`
/// as each file's write begins, `import-progress` as its rows are written and
/// `import-file-ended` as it ends; replies with
/// every file's end in the order given. A file imported (or imported before)
/// spends its token; a refused one keeps it.
#[tauri::command(rename_all = "snake_case")]
pub async fn import_files<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    files: Vec<dto::RunFileRequest>,
) -> Reply<Vec<dto::RunFileEnded>> {
    if files.len() > IMPORT_RUN_FILES_MAX {
        return Err(ApiError::new(codes::VALIDATION, format!("at most {IMPORT_RUN_FILES_MAX} files in one import")));
    }
    let picked = state.picked_files();
    let mut chosen = Vec::with_capacity(files.len());
    for file in files {
        let path = picked.for_reading(&file.token)?;
        let profile = profile::built_in(&file.profile)
            .ok_or_else(|| ApiError::from(profile::ProfileError::Unknown { name: file.profile.clone() }))?;
        chosen.push((file.token, file.kind, path, profile));
    }
    let ended = state
        .as_operator_in_run(move |s, op| {
            // Refused whole, as one file would be, before any file is read.
            op.require(operators::Permission::Import)?;
            let run: Vec<import::RunFile<'_>> =
                chosen.iter().map(|(_, kind, path, profile)| import::RunFile { path, kind: *kind, profile }).collect();
            let token = |index: usize| chosen[index].0.clone();
            let mut events = |event: import::RunEvent<'_>| match event {
                // A window that is gone just misses the event.
                import::RunEvent::Started { index } => {
                    drop(app.emit(IMPORT_FILE_STARTED_EVENT, dto::RunFileStarted { token: token(index) }))
                }
                import::RunEvent::Progress { progress, .. } => drop(app.emit(IMPORT_PROGRESS_EVENT, progress)),
                import::RunEvent::Ended { index, result } => {
                    drop(app.emit(IMPORT_FILE_ENDED_EVENT, file_ended(token(index), result)))
                }
            };
            let report = s.with_one_checkpoint(|s| import::import_run_in_order(s, &run, op, false, &mut events))??;
            Ok(report.ended.iter().map(|(index, result)| file_ended(token(*index), result)).collect::<Vec<_>>())
        })
        .await?;
    for file in ended.iter().filter(|e| e.outcome.is_some()) {
        picked.forget(&file.token);
    }
    Ok(ended)
}

fn file_ended(token: String, result: &Result<import::ImportOutcome, import::ImportError>) -> dto::RunFileEnded {
    let (outcome, error) = match result {
        Ok(outcome) => (Some(outcome.clone()), None),
        Err(e) => (None, Some(ApiError::new(e.code(), e))),
    };
    dto::RunFileEnded { token, outcome, error }
}

#[tauri::command(rename_all = "snake_case")]
pub async fn import_history(state: State<'_, AppState>, limit: u32) -> Reply<Vec<dto::BatchInfo>> {
    state.as_operator(move |s, _| Ok(s.import_history(limit)?)).await
}

/// Reconciles as of `as_of` (a market date; default today) with the settings' lag and tolerance.
#[tauri::command(rename_all = "snake_case")]
pub async fn reconcile_now(state: State<'_, AppState>, as_of: Option<String>) -> Reply<dto::ReconcileSummary> {
    let as_of = as_of.as_deref().map(market_date).transpose()?;
    state
        .as_operator(move |s, op| {
            let options = reconcile::ReconcileOptions::load(s, as_of)?;
            Ok(reconcile::reconcile(s, &options, op)?.into())
        })
        .await
}

// ------------------------------------------------------------------ dashboard, audit

#[tauri::command(rename_all = "snake_case")]
pub async fn dashboard(
    state: State<'_, AppState>,
    market: dto::Market,
    as_of: Option<String>,
) -> Reply<dashboard::Dashboard> {
    let as_of = as_of.as_deref().map(market_date).transpose()?;
    state.as_reader(move |s, _| Ok(dashboard::summary(s, market.country(), as_of)?)).await
}

/// Newest first; `after_id` is the last id of the previous page; `from`/`to` are RFC 3339 instants.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_page(
    state: State<'_, AppState>,
    operator: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    after_id: Option<i64>,
    limit: u32,
) -> Reply<Vec<dto::AuditRow>> {
    let (from, to) = (from.as_deref().map(instant_secs).transpose()?, to.as_deref().map(instant_secs).transpose()?);
    let query = audit::AuditQuery { operator, action, from, to, before_id: after_id, limit };
    state.as_reader(move |s, _| Ok(audit::page(s, &query)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_verify(state: State<'_, AppState>) -> Reply<dto::VerifyReport> {
    state.as_operator(|s, _| Ok(audit::verify(s)?)).await
}

// ------------------------------------------------------------------ settings, operators

#[tauri::command(rename_all = "snake_case")]
pub async fn settings_get(state: State<'_, AppState>) -> Reply<dto::Settings> {
    state.as_operator(|s, _| Ok(settings::get(s)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn settings_set(state: State<'_, AppState>, settings: dto::Settings) -> Reply<dto::Settings> {
    state.as_operator(move |s, op| Ok(settings::set(s, op, &settings)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn operators_list(state: State<'_, AppState>) -> Reply<Vec<dto::OperatorSummary>> {
    state.as_operator(|s, _| Ok(operators::list(s)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn operator_add(
    state: State<'_, AppState>,
    name: String,
    role: dto::Role,
    password: Option<String>,
) -> Reply<dto::Operator> {
    state.as_operator(move |s, op| Ok(operators::add(s, Some(op), &name, role, password.as_deref())?.into())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn operator_set_role(state: State<'_, AppState>, name: String, role: dto::Role) -> Reply<()> {
    state.as_operator(move |s, op| Ok(operators::set_role(s, op, &name, role)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn operator_disable(state: State<'_, AppState>, name: String) -> Reply<()> {
    state.as_operator(move |s, op| Ok(operators::disable(s, op, &name)?)).await
}

// ------------------------------------------------------------------ buyer notifications

/// Renders a message for the preview pane; sends nothing.
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_preview(
    state: State<'_, AppState>,
    order_id: String,
    kind: dto::NotificationKind,
    locale: Option<dto::NotificationLocale>,
    channel: dto::NotificationChannel,
) -> Reply<dto::NotificationPreview> {
    let locale = locale;
    state
        .as_operator(move |s, op| Ok(voucherdesk::notifications::preview(s, op, &order_id, kind, locale, channel)?))
        .await
}

/// Queues a re-send from a case file (the library enforces the limit and who may override it).
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_resend(
    state: State<'_, AppState>,
    order_id: String,
    kind: dto::NotificationKind,
    channel: dto::NotificationChannel,
    override_limit: bool,
) -> Reply<i64> {
    state
        .as_operator(move |s, op| {
            Ok(voucherdesk::notifications::resend(s, op, &order_id, kind, channel, override_limit)?)
        })
        .await
}

/// A page of the notification log, newest first (`before_id` pages backwards).
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_log(
    state: State<'_, AppState>,
    order_id: Option<String>,
    status: Option<dto::NotificationStatus>,
    before_id: Option<i64>,
    limit: u32,
) -> Reply<Vec<dto::NotificationLogEntry>> {
    let status = status;
    state
        .as_operator(move |s, op| {
            Ok(voucherdesk::notifications::list(s, op, order_id.as_deref(), status, before_id, limit)?)
        })
        .await
}

// ---- refunds: every rule (tiers, maker-checker, KYC) is the library's.

#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_request(state: State<'_, AppState>, request: dto::RefundRequest) -> Reply<dto::Refund> {
    state.as_operator(move |s, op| Ok(refunds::request(s, op, &request, chrono::Utc::now())?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_approve(state: State<'_, AppState>, id: i64, comment: Option<String>) -> Reply<dto::Refund> {
    state.as_operator(move |s, op| Ok(refunds::approve(s, op, id, comment.as_deref(), chrono::Utc::now())?)).await
}

/// A rejection needs a comment: the library refuses an empty one.
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_reject(state: State<'_, AppState>, id: i64, comment: Option<String>) -> Reply<dto::Refund> {
    let comment = comment.unwrap_or_default();
    state.as_operator(move |s, op| Ok(refunds::reject(s, op, id, &comment, chrono::Utc::now())?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_cancel(state: State<'_, AppState>, id: i64, note: Option<String>) -> Reply<dto::Refund> {
    state.as_operator(move |s, op| Ok(refunds::cancel(s, op, id, note.as_deref(), chrono::Utc::now())?)).await
}

/// By id; `after_id` is the previous page's `next_after`.
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_list(
    state: State<'_, AppState>,
    filter: dto::RefundQuery,
    after_id: Option<i64>,
    limit: u32,
) -> Reply<dto::RefundPage> {
    let limit = limit.clamp(1, refunds::REFUND_PAGE_ROWS_MAX);
    state
        .as_operator(move |s, _| {
            let items: Vec<dto::Refund> = refunds::page(s, &filter, after_id.unwrap_or(0), limit)?;
            let next_after = if items.len() == limit as usize { items.last().map(|r| r.id) } else { None };
            Ok(dto::RefundPage { items, next_after })
        })
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_show(state: State<'_, AppState>, id: i64) -> Reply<dto::Refund> {
    state.as_operator(move |s, _| Ok(refunds::show(s, id)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_refundable(
    state: State<'_, AppState>,
    payment_id: String,
    psp: Option<String>,
) -> Reply<dto::Refundable> {
    state.as_operator(move |s, _| Ok(refunds::refundable(s, &payment_id, psp.as_deref())?)).await
}

/// The archived PDF receipt of a succeeded refund (written the first time).
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_receipt(state: State<'_, AppState>, id: i64) -> Reply<dto::ReceiptPath> {
    state
        .as_operator(move |s, _| Ok(dto::ReceiptPath { path: refunds::receipt::receipt(s, id)?.display().to_string() }))
        .await
}

/// The tier and approvers a request would get, before it is sent (nothing written).
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_preview(
    state: State<'_, AppState>,
    payment_id: String,
    psp: Option<String>,
    amount: String,
    method: String,
) -> Reply<dto::TierPreview> {
    state
        .as_reader(move |s, op| {
            let now = chrono::Utc::now();
            Ok(refunds::preview::preview(s, op, &payment_id, psp.as_deref(), &amount, &method, now)?)
        })
        .await
}

/// Approves tier-2 refunds, one audited transaction each (refunds::bulk).
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_bulk_approve(
    state: State<'_, AppState>,
    ids: Vec<i64>,
    comment: Option<String>,
) -> Reply<dto::BulkApproval> {
    state
        .as_operator(move |s, op| {
            Ok(refunds::bulk::approve_tier2(s, op, &ids, comment.as_deref(), chrono::Utc::now())?)
        })
        .await
}

/// `token`: a CSV save answer of `pick_save_path`, spent by this call.
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_export_csv(
    state: State<'_, AppState>,
    filter: dto::RefundQuery,
    token: String,
) -> Reply<dto::ExportOutcome> {
    let path = state.picked_files().for_writing(&token, SaveKind::Csv)?;
    state.as_reader(move |s, _| Ok(dto::ExportOutcome { rows: refunds::export::export_csv(s, &filter, &path)? })).await
}

/// The dashboard's refund panel (pending by tier, time to approve, by reason, failure rate).
#[tauri::command(rename_all = "snake_case")]
pub async fn dashboard_refunds(state: State<'_, AppState>) -> Reply<dto::RefundDashboard> {
    state.as_reader(move |s, _| Ok(dashboard::refunds(s, chrono::Utc::now())?.into())).await
}

/// The dashboard's operations KPIs over market days `from`..=`to` (at most
/// `kpis::KPI_SERIES_DAYS_MAX`), with one point per day and the targets.
#[tauri::command(rename_all = "snake_case")]
pub async fn kpis_panel(
    state: State<'_, AppState>,
    from: String,
    to: String,
    market: dto::Market,
) -> Reply<kpis::KpiPanel> {
    let query =
        kpis::KpiQuery { from: market_date(&from)?, to: market_date(&to)?, psp: None, market: market.country() };
    state.as_reader(move |s, op| Ok(kpis::panel(s, op, &query, chrono::Utc::now())?)).await
}

// ------------------------------------------------------------------ file dialogs

/// The operator picks the files to import (none when cancelled); each comes
/// back with the token `suggest_profile` and `import_file` take.
#[tauri::command(rename_all = "snake_case")]
pub async fn pick_import_files(state: State<'_, AppState>, title: String) -> Reply<Vec<dto::PickedFile>> {
    let request = file_dialog::DialogRequest::OpenFiles {
        title,
        filter_name: "CSV / TSV".into(),
        extensions: vec!["csv".into(), "tsv".into(), "txt".into()],
    };
    Ok(state.picked_files().answer(file_dialog::ask(request).await?, FileUse::Read))
}

/// The operator picks where an export goes (None when cancelled); `kind` is
/// `csv` or `pdf`, and the token is good for one save of that kind.
#[tauri::command(rename_all = "snake_case")]
pub async fn pick_save_path(
    state: State<'_, AppState>,
    title: String,
    file_name: String,
    kind: Option<String>,
) -> Reply<Option<dto::PickedFile>> {
    let (save, filter_name, extension) = match kind.as_deref() {
        None | Some("csv") => (SaveKind::Csv, "CSV", "csv"),
        Some("pdf") => (SaveKind::Pdf, "PDF", "pdf"),
        Some("xlsx") => (SaveKind::Xlsx, "Excel", "xlsx"),
        Some(other) => return Err(ApiError::new(codes::VALIDATION, format!("no save dialog for {other:?} files"))),
    };
    let request = file_dialog::DialogRequest::Save {
        title,
        filter_name: filter_name.into(),
        extensions: vec![extension.into()],
        file_name,
    };
    let chosen: Vec<_> = file_dialog::ask(request).await?.into_iter().take(1).collect();
    Ok(state.picked_files().answer(chosen, FileUse::Write(save)).pop())
}

/// The operator picks the bank's proof of a transfer (None when cancelled);
/// its token serves `refunds_record_transfer`.
#[tauri::command(rename_all = "snake_case")]
pub async fn pick_proof_file(state: State<'_, AppState>, title: String) -> Reply<Option<dto::PickedFile>> {
    let request = file_dialog::DialogRequest::OpenFiles {
        title,
        filter_name: "PDF / PNG / JPEG".into(),
        extensions: vec!["pdf".into(), "png".into(), "jpg".into(), "jpeg".into()],
    };
    let chosen: Vec<_> = file_dialog::ask(request).await?.into_iter().take(1).collect();
    Ok(state.picked_files().answer(chosen, FileUse::Read).pop())
}

/// Finance records the bank transfer of an approved `bank_transfer` refund
/// (`token`: a file of `pick_proof_file`, the bank's proof).
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_record_transfer(
    state: State<'_, AppState>,
    id: i64,
    transfer: refunds::transfer::TransferInput,
    token: String,
) -> Reply<dto::Refund> {
    let proof = state.picked_files().for_reading(&token)?;
    state
        .as_operator(move |s, op| {
            Ok(refunds::transfer::record_transfer(s, op, id, &transfer, &proof, chrono::Utc::now())?)
        })
        .await
}

/// A copy of a succeeded refund's PDF receipt, written where the operator
/// chose (`token`: a PDF save answer of `pick_save_path`, spent by this call).
#[tauri::command(rename_all = "snake_case")]
pub async fn refunds_receipt_save(state: State<'_, AppState>, id: i64, token: String) -> Reply<dto::ReceiptPath> {
    let path = state.picked_files().for_writing(&token, SaveKind::Pdf)?;
    state
        .as_operator(move |s, _| {
            let saved = refunds::receipt::save_copy(s, id, &path)?;
            Ok(dto::ReceiptPath { path: saved.display().to_string() })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::COMMANDS;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The `#[tauri::command]` functions of src/, by name: the commands the app defines.
    fn defined_commands() -> BTreeSet<String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut defined = BTreeSet::new();
        for entry in std::fs::read_dir(src).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let mut after_attribute = false;
            for line in text.lines().map(str::trim) {
                if line.starts_with("#[tauri::command") {
                    after_attribute = true;
                } else if after_attribute && let Some(at) = line.find("fn ") {
                    let name: String =
                        line[at + 3..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    defined.insert(name);
                    after_attribute = false;
                }
            }
        }
        defined
    }

    #[test]
    fn every_defined_command_is_registered_once_and_nothing_else_is() {
        let listed: BTreeSet<String> = COMMANDS.iter().map(|c| c.to_string()).collect();
        assert_eq!(listed.len(), COMMANDS.len(), "generate_handler! registers a command twice: {COMMANDS:?}");
        let defined = defined_commands();
        let unregistered: Vec<&String> = defined.difference(&listed).collect();
        assert!(unregistered.is_empty(), "{unregistered:?} are #[tauri::command]s missing from generate_handler!");
        let unknown: Vec<&String> = listed.difference(&defined).collect();
        assert!(unknown.is_empty(), "generate_handler! lists {unknown:?}, which no #[tauri::command] defines");
        assert_eq!(COMMANDS.len(), 78, "the app's commands: {COMMANDS:?}");
    }
}
