//! The IPC commands of the PSP sync and the PSP accounts (
//! docs/IPC.md "PSP sync and accounts"). Thin, as every command: the library
//! checks roles (pause/resume: ControlSync; accounts: ManageCredentials,
//! admins only) and keeps secrets out of every answer and error.

use crate::dto_psp as dto;
use crate::error::ApiError;
use crate::state::AppState;
use std::collections::BTreeMap;
use tauri::State;
use voucherdesk::credentials::{self, AccountSecrets, PspKind};
use voucherdesk::sync::{self, SyncConfig, SyncEngine};

type Reply<T> = Result<T, ApiError>;

async fn indicator(state: &AppState) -> Reply<dto::SyncIndicator> {
    let runner = state.sync_runner_state();
    state.with_store(move |s| Ok(dto::SyncIndicator::new(sync::status(s, chrono::Utc::now())?, runner))).await
}

/// The sync indicator: last success, errors, queue size, paused, what the background task does.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(state: State<'_, AppState>) -> Reply<dto::SyncIndicator> {
    state.as_operator(|_, _| Ok(())).await?;
    indicator(&state).await
}

/// Managers and admins (the library refuses the others).
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_pause(state: State<'_, AppState>) -> Reply<dto::SyncIndicator> {
    state.as_operator(|s, op| Ok(sync::pause(s, op).map(|_| ())?)).await?;
    indicator(&state).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_resume(state: State<'_, AppState>) -> Reply<dto::SyncIndicator> {
    state.as_operator(|s, op| Ok(sync::resume(s, op).map(|_| ())?)).await?;
    indicator(&state).await
}

/// "Refresh from PSP" on a case file: asks the PSP now and applies its answer.
#[tauri::command(rename_all = "snake_case")]
pub async fn refresh_from_psp(state: State<'_, AppState>, psp: String, payment_id: String) -> Reply<sync::Refreshed> {
    let vault = state.vault();
    let (operator, sources) =
        state.as_operator(move |s, op| Ok((op.clone(), sync::sources_from_config(s, &*vault)?))).await?;
    let engine = SyncEngine::new(operator, SyncConfig::default());
    Ok(engine.refresh_one(state.db_path(), &sources, &psp, &payment_id, chrono::Utc::now()).await?)
}

/// The secrets typed into the form, checked by the library.
fn secrets_of(psp: PspKind, fields: BTreeMap<String, String>) -> Result<AccountSecrets, ApiError> {
    Ok(AccountSecrets::from_fields(psp, &fields)?)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn psp_accounts_list(state: State<'_, AppState>) -> Reply<Vec<credentials::AccountListing>> {
    let vault = state.vault();
    state.as_operator(move |s, op| Ok(credentials::list(s, &*vault, op)?)).await
}

/// An account whose secrets this command has just written to the keyring.
fn just_stored(account: credentials::PspAccount) -> credentials::AccountListing {
    credentials::AccountListing { account, secret_present: true }
}

/// `secrets`: dLocal `login`, `trans_key`, `secret`; PagoEfectivo `service_id`, `access_key`, `secret`.
#[tauri::command(rename_all = "snake_case")]
pub async fn psp_account_add(
    state: State<'_, AppState>,
    name: String,
    psp: credentials::PspKind,
    base_url: String,
    secrets: BTreeMap<String, String>,
) -> Reply<credentials::AccountListing> {
    let vault = state.vault();
    state
        .as_operator(move |s, op| {
            let secrets = secrets_of(psp, secrets)?;
            Ok(just_stored(credentials::add(s, &*vault, op, &name, &base_url, &secrets)?))
        })
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn psp_account_rotate(
    state: State<'_, AppState>,
    name: String,
    secrets: BTreeMap<String, String>,
) -> Reply<credentials::AccountListing> {
    let vault = state.vault();
    state
        .as_operator(move |s, op| {
            let secrets = secrets_of(credentials::psp_of(s, op, &name)?, secrets)?;
            Ok(just_stored(credentials::rotate(s, &*vault, op, &name, &secrets)?))
        })
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn psp_account_remove(state: State<'_, AppState>, name: String) -> Reply<()> {
    let vault = state.vault();
    state.as_operator(move |s, op| Ok(credentials::remove(s, &*vault, op, &name)?)).await
}

/// "connection OK", or the PSP's refusal with its code; recorded on the account.
#[tauri::command(rename_all = "snake_case")]
pub async fn psp_account_test(state: State<'_, AppState>, name: String) -> Reply<credentials::ConnectionTestResult> {
    let vault = state.vault();
    let (prepared, operator) =
        state.as_operator(move |s, op| Ok((credentials::prepare_test(s, &*vault, op, &name)?, op.clone()))).await?;
    let result = credentials::run_test(&prepared, &credentials::connection::PspClientTester).await;
    let account = prepared.account.name.clone();
    let recorded = result.clone();
    state.with_store(move |s| Ok(credentials::record_test(s, &operator, &account, &recorded).map(|_| ())?)).await?;
    Ok(result)
}
