//! The crash-report notice's commands (docs/IPC.md "Crash reports"): open
//! the reports' folder, or dismiss the notice. No session needed: the notice
//! shows on the sign-in screen too, and a report holds no buyer data.

use crate::error::{ApiError, codes};
use crate::state::AppState;
use std::path::Path;
use tauri::State;

type Reply<T> = Result<T, ApiError>;

/// The OS's own "open this folder" program.
#[cfg(target_os = "macos")]
const FOLDER_OPENER: &str = "open";
#[cfg(target_os = "windows")]
const FOLDER_OPENER: &str = "explorer";
#[cfg(not(any(target_os = "macos", target_os = "windows")))]
const FOLDER_OPENER: &str = "xdg-open";

/// Opens `dir` in the file manager and waits for the opener (it returns once it has handed the folder over).
pub fn show_folder(dir: &Path) -> Result<(), ApiError> {
    let status = std::process::Command::new(FOLDER_OPENER)
        .arg(dir)
        .status()
        .map_err(|e| ApiError::new(codes::INTERNAL, format!("{FOLDER_OPENER} {}: {e}", dir.display())))?;
    // Explorer answers 1 even when it opened the folder.
    if !status.success() && !cfg!(target_os = "windows") {
        return Err(ApiError::new(codes::INTERNAL, format!("{FOLDER_OPENER} {}: {status}", dir.display())));
    }
    Ok(())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn crash_reports_open_folder(state: State<'_, AppState>) -> Reply<()> {
    state.open_crash_folder().await
}

/// Marks the reports there now as seen; the notice stays away until the next crash.
#[tauri::command(rename_all = "snake_case")]
pub async fn crash_reports_dismiss(state: State<'_, AppState>) -> Reply<()> {
    state.dismiss_crash_reports().await
}
