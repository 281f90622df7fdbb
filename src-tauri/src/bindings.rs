//! Writes the TypeScript types of every IPC payload (ts-rs) into a folder:
//! `ui/src/bindings/` in the repository, one file per type plus `index.ts`.
//! The `bindings` test fails when the committed files differ from what the
//! Rust types produce; `make bindings` rewrites them.

use crate::dto;
use crate::error::ApiError;
use std::path::{Path, PathBuf};
use ts_rs::{Config, TS};
use voucherdesk::{
    audit, credentials, exceptions, import, lookup, notifications, operators, refunds, settings, store, sync, vouchers,
};

/// Where the UI imports them from, relative to the repository root.
pub const BINDINGS_DIR: &str = "ui/src/bindings";
/// The re-exporting module written beside the type files.
pub const INDEX_FILE: &str = "index.ts";

fn config(dir: &Path) -> Config {
    // 64-bit integers cross as JSON numbers; every amount and count is far below 2^53.
    Config::new().with_large_int("number").with_out_dir(dir)
}

/// Exports one type and every type it uses.
fn export<T: TS + 'static>(cfg: &Config) -> Result<(), String> {
    T::export_all(cfg).map_err(|e| format!("{}: {e}", std::any::type_name::<T>()))
}

/// Writes every payload type (and `index.ts`) into `dir`; returns the files written.
pub fn export_bindings(dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cfg = config(dir);
    export::<ApiError>(&cfg)?;
    // Shell-only payloads, and the JSON types whose form differs from the core's (see `dto`).
    export::<dto::AppStatus>(&cfg)?;
    export::<dto::Language>(&cfg)?;
    export::<dto::PageRequest>(&cfg)?;
    export::<dto::AssignOutcome>(&cfg)?;
    export::<dto::ExportOutcome>(&cfg)?;
    export::<dto::RunFileRequest>(&cfg)?;
    export::<dto::RunFileStarted>(&cfg)?;
    export::<dto::RunFileEnded>(&cfg)?;
    export::<crate::report_commands::LedgerRows>(&cfg)?;
    export::<dto::ReconcileSummary>(&cfg)?;
    export::<dto::Market>(&cfg)?;
    export::<dto::RefundPage>(&cfg)?;
    export::<dto::ReceiptPath>(&cfg)?;
    export::<dto::PickedFile>(&cfg)?;
    export::<dto::RefundDashboard>(&cfg)?;
    export::<crate::dto_notify::DelivererStatus>(&cfg)?;
    export::<crate::dto_notify::TestMessageSent>(&cfg)?;
    export::<crate::dto_psp::SyncIndicator>(&cfg)?;
    export::<crate::dto_team::TeamStatus>(&cfg)?;
    export::<crate::dto_team::TeamChanged>(&cfg)?;
    // The core's own types (feature `ts`), with every type they use.
    export::<operators::OperatorSummary>(&cfg)?;
    export::<operators::Role>(&cfg)?;
    export::<store::OrderHit>(&cfg)?;
    export::<lookup::CaseFile>(&cfg)?;
    export::<voucherdesk::dashboard::Dashboard>(&cfg)?;
    export::<exceptions::ExceptionKind>(&cfg)?;
    export::<exceptions::ExceptionQuery>(&cfg)?;
    export::<store::ExceptionSort>(&cfg)?;
    export::<exceptions::QueuePage>(&cfg)?;
    export::<exceptions::QueueCounts>(&cfg)?;
    export::<exceptions::AgeBucket>(&cfg)?;
    export::<store::HistoryRecord>(&cfg)?;
    export::<exceptions::ResolutionAction>(&cfg)?;
    export::<exceptions::LinkTarget>(&cfg)?;
    export::<exceptions::BulkOutcome>(&cfg)?;
    export::<store::LinkCandidate>(&cfg)?;
    export::<import::profile::ImportKind>(&cfg)?;
    export::<import::ProfileSuggestion>(&cfg)?;
    export::<import::ImportOutcome>(&cfg)?;
    export::<import::ImportProgress>(&cfg)?;
    export::<store::BatchInfo>(&cfg)?;
    export::<store::StoredAuditEntry>(&cfg)?;
    export::<audit::VerifyReport>(&cfg)?;
    export::<settings::Settings>(&cfg)?;
    export::<voucherdesk::kpis::KpiPanel>(&cfg)?;
    export::<voucherdesk::backup_schedule::BackupOverview>(&cfg)?;
    export::<voucherdesk::daily_report::DailyReport>(&cfg)?;
    export::<voucherdesk::daily_report::schedule::ReportSchedule>(&cfg)?;
    // buyer notifications
    export::<notifications::Kind>(&cfg)?;
    export::<notifications::Channel>(&cfg)?;
    export::<notifications::Locale>(&cfg)?;
    export::<notifications::Status>(&cfg)?;
    export::<notifications::Preview>(&cfg)?;
    export::<notifications::LogEntry>(&cfg)?;
    export::<notifications::RetryOutcome>(&cfg)?;
    export::<notifications::config::NotificationSettings>(&cfg)?;
    export::<notifications::config::SettingsView>(&cfg)?;
    // PSP sync and accounts
    export::<sync::Refreshed>(&cfg)?;
    export::<credentials::AccountListing>(&cfg)?;
    // voucher actions
    export::<vouchers::VoucherActions>(&cfg)?;
    export::<vouchers::VoucherOutcome>(&cfg)?;
    // refunds
    export::<refunds::RefundRequestInput>(&cfg)?;
    export::<refunds::Refund>(&cfg)?;
    export::<refunds::RefundQuery>(&cfg)?;
    export::<refunds::Refundable>(&cfg)?;
    export::<refunds::transfer::TransferInput>(&cfg)?;
    export::<refunds::preview::TierPreview>(&cfg)?;
    export::<refunds::bulk::BulkApproval>(&cfg)?;
    write_index(dir)
}

/// `index.ts`: `export type { T } from "./T";` for every type file, sorted.
fn write_index(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ts") && p.file_name().is_some_and(|n| n != INDEX_FILE))
        .collect();
    files.sort();
    let mut index = String::from("// Generated by src-tauri (bindings.rs). Do not edit: run `make bindings`.\n");
    for file in &files {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        index.push_str(&format!("export type {{ {stem} }} from \"./{stem}\";\n"));
    }
    let index_path = dir.join(INDEX_FILE);
    std::fs::write(&index_path, index).map_err(|e| format!("{}: {e}", index_path.display()))?;
    files.push(index_path);
    Ok(files)
}
