//! The IPC command of team mode (docs/IPC.md "Team mode"): where
//! this desktop's copy stands, for the offline banner, the header and
//! Settings → Team. Reads what the store and the background refresher
//! already know: it never waits on the network.

use crate::dto_team as dto;
use crate::error::ApiError;
use crate::state::AppState;
use tauri::State;

type Reply<T> = Result<T, ApiError>;

/// Null in local mode. No session needed: the banner shows on the sign-in screen too.
#[tauri::command(rename_all = "snake_case")]
pub async fn team_status(state: State<'_, AppState>) -> Reply<Option<dto::TeamStatus>> {
    let holder = state.desktop().holder.clone();
    Ok(state.team_status().await?.map(|(link, runner)| dto::TeamStatus::new(link, runner, &holder)))
}
