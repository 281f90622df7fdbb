//! The case file's voucher actions: issue a new voucher, extend a CIP,
//! cancel an unpaid one. Thin: the library checks roles, calls the PSP,
//! records the result and queues the buyer's message.

use crate::error::ApiError;
use crate::state::AppState;
use chrono::Utc;
use std::time::Duration;
use tauri::State;
use voucherdesk::operators::Operator;
use voucherdesk::store::Store;
use voucherdesk::vouchers::{
    self, CancelRequest, ExtendRequest, IssueRequest, VOUCHER_REQUEST_TIMEOUT_MS, VoucherActions, VoucherClients,
    VoucherOutcome,
};

type Reply<T> = Result<T, ApiError>;

/// Which actions the case file may offer for an order now, and why not.
#[tauri::command(rename_all = "snake_case")]
pub async fn voucher_actions(state: State<'_, AppState>, order_id: String) -> Reply<VoucherActions> {
    state.as_operator(move |s, op| Ok(vouchers::available(s, op, &order_id, Utc::now())?)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn voucher_issue(state: State<'_, AppState>, order_id: String, hours: Option<u32>) -> Reply<VoucherOutcome> {
    act(&state, Action::Issue(IssueRequest { order_id, hours })).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn voucher_extend(state: State<'_, AppState>, order_id: String, hours: u32) -> Reply<VoucherOutcome> {
    act(&state, Action::Extend(ExtendRequest { order_id, payment_id: None, hours })).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn voucher_cancel(state: State<'_, AppState>, order_id: String) -> Reply<VoucherOutcome> {
    act(&state, Action::Cancel(CancelRequest { order_id, payment_id: None })).await
}

enum Action {
    Issue(IssueRequest),
    Extend(ExtendRequest),
    Cancel(CancelRequest),
}

/// Runs one action on its own connection and its own small runtime, off the
/// UI's threads: the PSP call and the ledger write happen as the CLI does them.
async fn act(state: &AppState, action: Action) -> Reply<VoucherOutcome> {
    let operator: Operator = state.as_operator(|_, op| Ok(op.clone())).await?;
    let (path, vault) = (state.db_path().to_path_buf(), state.vault());
    tauri::async_runtime::spawn_blocking(move || -> Reply<VoucherOutcome> {
        let mut store = Store::open(&path)?;
        let clients = VoucherClients::from_config(&store, &*vault, Duration::from_millis(VOUCHER_REQUEST_TIMEOUT_MS))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ApiError::new(crate::error::codes::INTERNAL, e))?;
        let now = Utc::now();
        Ok(runtime.block_on(async {
            match &action {
                Action::Issue(r) => vouchers::issue(&mut store, &clients, &operator, r, now).await,
                Action::Extend(r) => vouchers::extend(&mut store, &clients, &operator, r, now).await,
                Action::Cancel(r) => vouchers::cancel(&mut store, &clients, &operator, r, now).await,
            }
        })?)
    })
    .await
    .map_err(|e| ApiError::new(crate::error::codes::INTERNAL, e))?
}
