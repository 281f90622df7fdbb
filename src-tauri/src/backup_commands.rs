//! Scheduled backups in Settings (docs/IPC.md "Scheduled backups"): what the
//! schedule is and how its last attempts went, the folder dialog, changing
//! the schedule (admins, checked by the library) and a backup now.

use crate::dto;
use crate::error::ApiError;
use crate::file_dialog;
use crate::picked_files::FileUse;
use crate::state::AppState;
use tauri::State;
use voucherdesk::backup_schedule::{self, BackupOverview, BackupSchedule};

type Reply<T> = Result<T, ApiError>;

/// The schedule, the last success and failure, and whether to warn (every
/// signed-in operator: the warning banner is everyone's).
#[tauri::command(rename_all = "snake_case")]
pub async fn backup_overview(state: State<'_, AppState>) -> Reply<BackupOverview> {
    state.as_reader(|s, _| Ok(backup_schedule::overview(s, chrono::Utc::now())?)).await
}

/// The operator picks the backup folder (None when cancelled); the token is
/// good for one `backup_schedule_set`.
#[tauri::command(rename_all = "snake_case")]
pub async fn backup_pick_folder(state: State<'_, AppState>, title: String) -> Reply<Option<dto::PickedFile>> {
    let chosen: Vec<_> =
        file_dialog::ask(file_dialog::DialogRequest::Folder { title }).await?.into_iter().take(1).collect();
    Ok(state.picked_files().answer(chosen, FileUse::Folder).pop())
}

/// Changes the schedule: the folder of `folder_token` (a `backup_pick_folder`
/// answer), or the current one when none is given; `off` clears the folder.
/// The round then checks at once whether a backup is due.
#[tauri::command(rename_all = "snake_case")]
pub async fn backup_schedule_set(
    state: State<'_, AppState>,
    folder_token: Option<String>,
    off: bool,
    every_hours: u32,
) -> Reply<BackupOverview> {
    let picked = folder_token.map(|token| state.picked_files().for_folder(&token)).transpose()?;
    let overview = state
        .as_operator(move |s, operator| {
            let folder = match (off, picked) {
                (true, _) => None,
                (false, Some(path)) => Some(path.display().to_string()),
                (false, None) => backup_schedule::get(s)?.folder,
            };
            backup_schedule::set(s, operator, &BackupSchedule { folder, every_hours })?;
            Ok(backup_schedule::overview(s, chrono::Utc::now())?)
        })
        .await?;
    crate::wake::wake_all();
    Ok(overview)
}

/// A backup now into the chosen folder (admins), whatever the schedule says.
#[tauri::command(rename_all = "snake_case")]
pub async fn backup_now(state: State<'_, AppState>) -> Reply<BackupOverview> {
    state.backup_now().await?;
    state.as_reader(|s, _| Ok(backup_schedule::overview(s, chrono::Utc::now())?)).await
}
