//! The daily report on the dashboard (docs/IPC.md): made into a folder the
//! operator picks, and its email schedule (managers, checked by the library);
//! the outbox deliverer queues and sends the emails. And the ledger's payments
//! and settlement rows exported for a range, as `voucherdesk export` does.

use crate::error::ApiError;
use crate::picked_files::SaveKind;
use crate::state::AppState;
use serde::Deserialize;
use tauri::State;
use voucherdesk::daily_report::schedule::{self, ReportSchedule};
use voucherdesk::daily_report::{self, DailyReport, DataFormat};
use voucherdesk::exports::{self, ExportQuery};
use voucherdesk::market::Country;

type Reply<T> = Result<T, ApiError>;

/// The report of market date `date` (each market, or `market` only) into the
/// folder of `folder_token` (a `backup_pick_folder` answer).
#[tauri::command(rename_all = "snake_case")]
pub async fn daily_report_write(
    state: State<'_, AppState>,
    date: String,
    market: Option<Country>,
    format: DataFormat,
    folder_token: String,
) -> Reply<DailyReport> {
    let date = crate::commands::market_date(&date)?;
    let folder = state.picked_files().for_folder(&folder_token)?;
    state
        .as_reader(move |s, op| Ok(daily_report::daily(s, op, date, market, &folder, format, chrono::Utc::now())?))
        .await
}

/// The email schedule, if any (every signed-in operator may see it).
#[tauri::command(rename_all = "snake_case")]
pub async fn daily_report_schedule(state: State<'_, AppState>) -> Reply<Option<ReportSchedule>> {
    state.as_reader(|s, _| Ok(schedule::get(s)?)).await
}

/// Sets the schedule, or stops it with `off`; the deliverer looks at once.
#[tauri::command(rename_all = "snake_case")]
pub async fn daily_report_schedule_set(
    state: State<'_, AppState>,
    at: String,
    markets: Vec<Country>,
    recipients: Vec<String>,
    format: DataFormat,
    off: bool,
) -> Reply<Option<ReportSchedule>> {
    let changed = state
        .as_operator(move |s, op| {
            if off {
                schedule::clear(s, op)?;
                return Ok(None);
            }
            Ok(Some(schedule::set(s, op, &at, &markets, &recipients, format)?))
        })
        .await?;
    crate::wake::wake_all();
    Ok(changed)
}

/// Which ledger rows `export_ledger` writes.
#[derive(Debug, Clone, Copy, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LedgerRows {
    Payments,
    Settlements,
}

/// The ledger's payments or settlement rows of market dates `from`..=`to`
/// (optionally one PSP, market, store) into the file of `token`: a `csv` or
/// `xlsx` answer of `pick_save_path`, spent by this call; the file's
/// extension picks the format. Any operator may export.
#[tauri::command(rename_all = "snake_case")]
#[allow(clippy::too_many_arguments)] // the export's filters, as the CLI's flags
pub async fn export_ledger(
    state: State<'_, AppState>,
    rows: LedgerRows,
    from: String,
    to: String,
    psp: Option<String>,
    market: Option<Country>,
    store: Option<String>,
    token: String,
) -> Reply<crate::dto::ExportOutcome> {
    let path = state.picked_files().for_writing_one_of(&token, &[SaveKind::Csv, SaveKind::Xlsx])?;
    let query = ExportQuery {
        from: crate::commands::market_date(&from)?,
        to: crate::commands::market_date(&to)?,
        psp: psp.filter(|p| !p.trim().is_empty()),
        market,
        store: store.filter(|s| !s.trim().is_empty()),
    };
    state
        .as_reader(move |s, op| {
            let rows = match rows {
                LedgerRows::Payments => exports::export_payments(s, op, &query, &path)?,
                LedgerRows::Settlements => exports::export_settlements(s, op, &query, &path)?,
            };
            Ok(crate::dto::ExportOutcome { rows })
        })
        .await
}
