//! The command line's integration tests: one module per capability, linked
//! into one test binary (each binary links the whole library, and one per file
//! cost CI minutes and gigabytes). `credentials` is a binary of its own: it
//! points this process at a private D-Bus session, which nothing else shares.
//! Run one module with `cargo test -p voucherdesk-cli --test suite MODULE::`.

mod support;

mod backup;
mod chargeback_sync;
mod console_core;
mod daily_report;
mod exception_queue;
mod exports;
mod fx_match;
mod garbage_input;
mod import_files;
mod import_rejects;
mod import_run;
mod kpis;
mod lifecycle;
mod lookup;
mod notifications;
mod operators;
mod order_independence;
mod psp_cli;
mod psp_dlocal;
mod psp_pagoefectivo;
mod reconcile_rules;
mod reconcile_scoped;
mod refunds;
mod refunds_cli;
mod refunds_desk;
mod refunds_invariant;
mod refunds_limits;
mod refunds_receipt;
mod refunds_submit;
mod refunds_transfer;
mod report_schedule;
mod security;
mod settlement_reports;
mod sync_engine;
mod sync_sandbox;
mod team_auth;
mod team_replica;
mod team_store;
mod terms;
mod vouchers;
mod webhooks;
