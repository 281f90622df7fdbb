//! The desktop's integration tests: one module per subject, linked into one
//! test binary (each binary links Tauri and the whole library).
//! Run one module with `cargo test -p voucherdesk-desktop --test suite MODULE::`.

mod common;
#[path = "../../cli/tests/support/team.rs"]
mod team_support;

mod bindings;
mod file_dialog;
mod ipc;
mod ipc_json;
mod ipc_notify;
mod ipc_psp;
mod ipc_refunds;
mod ipc_team;
