//! VoucherDesk core: a local ledger of shop orders, PSP payments and
//! settlements for cash vouchers (Efecty, PagoEfectivo), the importers for the
//! files shops and PSPs produce, the reconciliation engine and its exception
//! queue, and case-file lookup. The CLI and the desktop app are thin faces of
//! this library.

pub mod audit;
// Business days per market from the holiday files under assets/holidays/.
pub mod calendar;
// Local crash reports written by a panic hook; nothing is sent anywhere.
pub mod crash;
pub mod credentials;
pub mod daily_report;
pub mod dashboard;
pub mod demo;
pub mod exceptions;
// The one formula-safe CSV writer every export goes through.
pub mod export_csv;
pub mod exports;
pub mod fx;
pub mod import;
// The background rounds (PSP sync, refund submission, outbox delivery, team refresh) every face runs.
pub mod jobs;
// Operations KPIs over a range of market dates, per PSP and market.
pub mod kpis;
pub mod lookup;
pub mod market;
// The shared types and pure rules; imports nothing else of the crate.
pub mod model;
pub mod money;
// Outbound buyer notifications (email/SMS outbox); `webhooks` is the inbound PSP side.
pub mod notifications;
pub mod observations;
pub mod operators;
pub mod orders;
pub mod payments;
pub mod psp;
pub mod reconcile;
// The one redaction of secrets in PSP, SMTP and SMS errors before they are kept or audited.
pub mod pdf_page;
pub mod redact;
// Tiered maker-checker refunds.
pub mod refunds;
pub mod settings;
pub mod settlements;
pub mod store;
// Settlement terms, ship policy and the post-expiry thresholds per PSP and market.
pub mod sync;
pub mod terms;
// Team mode on PostgreSQL.
pub mod team;
// Voucher actions from the console: issue, extend, cancel at the PSP.
pub mod backup;
// Automatic backups: the schedule, the retention rule, the status beside the database.
pub mod backup_schedule;
pub mod version;
pub mod vouchers;
pub mod webhooks;
