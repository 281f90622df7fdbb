//! The window's mode when the database cannot be opened because a newer
//! VoucherDesk wrote it: `app_status` says so (`cannot_open`) and is the only
//! command, so nothing can touch the file.

use crate::dto;
use tauri::{Builder, Runtime};

/// The status of a window that refused `cannot_open`'s database: nobody signed in, no first run.
pub fn status(cannot_open: &dto::CannotOpen) -> dto::AppStatus {
    dto::AppStatus {
        first_run: false,
        db_path: cannot_open.db_path.clone(),
        operator: None,
        idle_lock_minutes: 0,
        version: voucherdesk::version::version_line(env!("VOUCHERDESK_COMMIT")),
        crash_reports: None,
        cannot_open: Some(cannot_open.clone()),
    }
}

/// `app_status` alone on a builder (the real one or tauri's mock); every
/// other command answers "not found". Written by hand rather than with
/// `#[tauri::command]`, whose `app_status` the full app already declares.
pub fn with_refusal<R: Runtime>(builder: Builder<R>, cannot_open: dto::CannotOpen) -> Builder<R> {
    let answer = status(&cannot_open);
    builder.invoke_handler(move |invoke: tauri::ipc::Invoke<R>| {
        if invoke.message.command() != "app_status" {
            return false;
        }
        invoke.resolver.resolve(answer.clone());
        true
    })
}
