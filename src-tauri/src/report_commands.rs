//! The daily report on the dashboard (docs/IPC.md "Daily report"): made into a
//! folder the operator picks, and its email schedule (managers, checked by the
//! library). The outbox deliverer queues and sends the emails.

use crate::error::ApiError;
use crate::state::AppState;
use tauri::State;
use voucherdesk::daily_report::schedule::{self, ReportSchedule};
use voucherdesk::daily_report::{self, DailyReport, DataFormat};
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
