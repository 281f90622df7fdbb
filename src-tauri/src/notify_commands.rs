//! The IPC commands of the notifications screen and Settings → Notifications
//! (docs/IPC.md "Buyer notifications"). Thin: the library checks
//! roles (retry: ResendNotification; settings and the test message:
//! ChangeSettings, admins only) and keeps the secrets out of every answer.

use crate::dto_notify as dto;
use crate::error::ApiError;
use crate::state::AppState;
use tauri::State;
use voucherdesk::notifications::{self, config, delivery::TestMessage};

type Reply<T> = Result<T, ApiError>;

/// What the background deliverer is doing (any signed-in operator).
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_deliverer_status(state: State<'_, AppState>) -> Reply<dto::DelivererStatus> {
    state.as_operator(|_, _| Ok(())).await?;
    Ok(state.notify_state().into())
}

/// Puts failed messages back in the queue (same id and client reference); per-message outcome.
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_retry(state: State<'_, AppState>, ids: Vec<i64>) -> Reply<notifications::RetryOutcome> {
    state.as_operator(move |s, op| Ok(notifications::retry(s, op, &ids)?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn notification_settings_get(state: State<'_, AppState>) -> Reply<config::SettingsView> {
    let vault = state.vault();
    state.as_operator(move |s, op| Ok(config::describe(s, &*vault, op)?)).await
}

/// `smtp_password` / `sms_token`: only when typed (absent or empty keeps the stored one).
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_settings_set(
    state: State<'_, AppState>,
    settings: config::NotificationSettings,
    smtp_password: Option<String>,
    sms_token: Option<String>,
) -> Reply<config::SettingsView> {
    let vault = state.vault();
    state
        .as_operator(move |s, op| {
            Ok(config::save(s, &*vault, op, &settings, smtp_password.as_deref(), sms_token.as_deref())?)
        })
        .await
}

/// Sends one test message with the saved settings (prepared under the lock, sent without it).
#[tauri::command(rename_all = "snake_case")]
pub async fn notification_send_test(
    state: State<'_, AppState>,
    channel: notifications::Channel,
    to: String,
) -> Reply<dto::TestMessageSent> {
    let vault = state.vault();
    let message = state.as_operator(move |s, op| Ok(TestMessage::prepare(s, &*vault, op, channel, &to)?)).await?;
    let answer = tauri::async_runtime::spawn_blocking(move || message.send())
        .await
        .map_err(|e| ApiError::new(crate::error::codes::INTERNAL, format!("the test failed: {e}")))??;
    Ok(dto::TestMessageSent { answer })
}
