//! The daily report by email. A manager picks a market time of day, the
//! markets and the recipients; once that time has passed in a market, the
//! previous market day's report is queued in the outbox as one email to the
//! list (kind [`OUTBOX_KIND`]), once per market and date, whichever desktop
//! (or CLI deliverer) notices first. A desktop that was off catches up the
//! last market day only: a report of last week is made by hand.
//!
//! The email's text is the summary page as it stood when queued; the data
//! files and the PDF are made from the ledger when the email is sent (a
//! retry carries them too) and say when they were made. They are made as the
//! operator who set the schedule: if that operator is disabled, the schedule
//! stops with a clear error instead of sending as nobody.

use super::{DailyReportError, DataFormat, daily, market_figures, summary_lines};
use crate::audit::audit_entry;
use crate::market::Country;
use crate::notifications::delivery::{AttachmentSource, MailAttachment, SendError};
use crate::operators::{self, Operator, Permission};
use crate::store::{BuyerNotificationRow, NewBuyerNotification, Store};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The settings key the schedule is kept under.
pub const SETTINGS_KEY: &str = "daily_report_schedule";
/// The outbox kind of a report email (its `order_id` names the report: [`report_ref`]).
pub const OUTBOX_KIND: &str = "daily_report";
/// Recipients one schedule may name.
pub const RECIPIENTS_MAX: usize = 20;
/// The most the files of one email may weigh; a larger report is refused at
/// sending (most mail servers refuse 10 MB and more once encoded).
pub const ATTACHMENTS_BYTES_MAX: u64 = 7 * 1024 * 1024;
/// Who queues the emails, in the audit log.
pub const SCHEDULER: &str = "(daily report)";

/// When the report goes out, where, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "DailyReportSchedule"))]
pub struct ReportSchedule {
    /// The time of day, "HH:MM", on each market's own clock.
    pub at: String,
    pub markets: Vec<Country>,
    pub recipients: Vec<String>,
    pub format: DataFormat,
    /// Who set it: the report is made as this operator.
    pub set_by: String,
}

impl ReportSchedule {
    fn time(&self) -> Result<NaiveTime, DailyReportError> {
        NaiveTime::parse_from_str(self.at.trim(), "%H:%M").map_err(|_| {
            DailyReportError::BadSchedule(format!("{:?} is not a time of day (HH:MM, 00:00-23:59)", self.at))
        })
    }
}

/// What the outbox row of a report says (its `params`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReportParams {
    date: NaiveDate,
    market: Country,
    format: DataFormat,
    made_by: String,
}

/// The `order_id` of a report's outbox row: the outbox is keyed by order, and
/// a report names its market and date there instead.
pub fn report_ref(market: Country, date: NaiveDate) -> String {
    format!("daily-report {} {date}", market.code())
}

pub fn get(store: &Store) -> Result<Option<ReportSchedule>, DailyReportError> {
    match store.setting(SETTINGS_KEY)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| DailyReportError::BadSchedule(format!("the stored schedule cannot be read: {e}"))),
    }
}

/// Sets the schedule (managers and admins; audited). Recipients are checked
/// as email addresses, duplicates dropped.
pub fn set(
    store: &mut Store,
    operator: &Operator,
    at: &str,
    markets: &[Country],
    recipients: &[String],
    format: DataFormat,
) -> Result<ReportSchedule, DailyReportError> {
    operator.require(Permission::ScheduleReports)?;
    let mut chosen_markets: Vec<Country> = Vec::new();
    for market in markets {
        if !chosen_markets.contains(market) {
            chosen_markets.push(*market);
        }
    }
    if chosen_markets.is_empty() {
        return Err(DailyReportError::BadSchedule("name at least one market (CO, PE)".into()));
    }
    let mut list: Vec<String> = Vec::new();
    for recipient in recipients.iter().flat_map(|r| r.split(',')).map(str::trim).filter(|r| !r.is_empty()) {
        let mailbox = recipient
            .parse::<lettre::message::Mailbox>()
            .map_err(|_| DailyReportError::BadSchedule(format!("{recipient:?} is not an email address")))?;
        let address = mailbox.email.to_string().to_lowercase();
        if !list.contains(&address) {
            list.push(address);
        }
    }
    if list.is_empty() {
        return Err(DailyReportError::BadSchedule("name at least one recipient".into()));
    }
    if list.len() > RECIPIENTS_MAX {
        return Err(DailyReportError::BadSchedule(format!(
            "{} recipients: at most {RECIPIENTS_MAX} (a mailing list address counts as one)",
            list.len()
        )));
    }
    let schedule = ReportSchedule {
        at: at.trim().to_string(),
        markets: chosen_markets,
        recipients: list,
        format,
        set_by: operator.name.clone(),
    };
    let at = schedule.time()?;
    let schedule = ReportSchedule { at: at.format("%H:%M").to_string(), ..schedule };
    write(store, operator, Some(&schedule))?;
    Ok(schedule)
}

/// Stops the emails (managers and admins; audited).
pub fn clear(store: &mut Store, operator: &Operator) -> Result<(), DailyReportError> {
    operator.require(Permission::ScheduleReports)?;
    write(store, operator, None)
}

fn write(store: &mut Store, operator: &Operator, schedule: Option<&ReportSchedule>) -> Result<(), DailyReportError> {
    let before = store.setting(SETTINGS_KEY)?.unwrap_or_else(|| "null".into());
    let after = serde_json::to_string(&schedule).unwrap_or_else(|_| "null".into());
    let entry = audit_entry(&operator.name, "reports.schedule", "daily report email", &before, &after);
    store.put_setting(SETTINGS_KEY, &after, &entry)?;
    Ok(())
}

/// Queues every report whose time has come (as of `now`) and that is not in
/// the outbox yet; returns the new rows' ids. Without a schedule, or while no
/// SMTP server is set up (a month of reports must not pile up and go out in
/// one burst the day it is), nothing.
pub fn queue_due(store: &mut Store, now: DateTime<Utc>) -> Result<Vec<i64>, DailyReportError> {
    let Some(schedule) = get(store)? else { return Ok(Vec::new()) };
    if crate::notifications::config::get(store)?.smtp.is_none() {
        return Ok(Vec::new());
    }
    let at = schedule.time()?;
    let mut queued = Vec::new();
    for market in &schedule.markets {
        let local = now.with_timezone(&market.zone());
        if local.time() < at {
            continue;
        }
        let Some(date) = local.date_naive().pred_opt() else { continue };
        let event_key = format!("{OUTBOX_KIND}:{}:{date}", market.code());
        if store.notification_event_exists(&event_key)? {
            continue;
        }
        let operator = operators::act_as(store, &schedule.set_by).map_err(|e| {
            DailyReportError::BadSchedule(format!(
                "the daily report is made as {}, who cannot act now ({e}): a manager sets the schedule again",
                schedule.set_by
            ))
        })?;
        let figures = market_figures(store, &operator, date, *market, now)?;
        let lines = summary_lines(date, &figures, now);
        let body_text = lines.join("\n") + "\n";
        let body_html = format!("<pre style=\"font-family: monospace\">{}</pre>", escape_html(&body_text));
        let subject = format!("VoucherDesk daily report / Reporte diario {date} {}", market.code());
        let params = ReportParams { date, market: *market, format: schedule.format, made_by: schedule.set_by.clone() };
        let params = serde_json::to_string(&params).unwrap_or_default();
        let recipients = schedule.recipients.join(", ");
        let order_id = report_ref(*market, date);
        let client_ref = crate::notifications::new_client_ref();
        let row = NewBuyerNotification {
            order_id: &order_id,
            kind: OUTBOX_KIND,
            channel: "email",
            locale: "en",
            recipient: &recipients,
            subject: &subject,
            body_text: &body_text,
            body_html: &body_html,
            params: &params,
            client_ref: &client_ref,
            trigger: "event",
            triggered_by: SCHEDULER,
            event_key: Some(&event_key),
            barcode: None,
            now,
        };
        let entry = audit_entry(SCHEDULER, "reports.queued", &order_id, "", &recipients);
        if let Some(id) = store.queue_event_notification(&row, &entry)? {
            queued.push(id);
        }
    }
    Ok(queued)
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The report's files, made when its email is sent.
pub struct ReportAttachments;

impl AttachmentSource for ReportAttachments {
    fn attachments(&self, store: &Store, message: &BuyerNotificationRow) -> Result<Vec<MailAttachment>, SendError> {
        if message.kind != OUTBOX_KIND {
            return Ok(Vec::new());
        }
        let params: ReportParams = serde_json::from_str(&message.params)
            .map_err(|e| SendError::Permanent(format!("the report's parameters cannot be read: {e}")))?;
        let operator = operators::act_as(store, &params.made_by).map_err(|e| {
            SendError::Permanent(format!("the report is made as {}, who cannot act now: {e}", params.made_by))
        })?;
        let folder = std::env::temp_dir().join(format!(
            "voucherdesk-mail-{}-{}-{}",
            std::process::id(),
            message.id,
            Utc::now().timestamp_micros()
        ));
        let made = daily(store, &operator, params.date, Some(params.market), &folder, params.format, Utc::now());
        let files = made
            .map_err(|e| SendError::Transient(format!("the report could not be made: {e}")))
            .and_then(|report| read_files(report.markets.iter().flat_map(|m| m.files.iter()).map(|p| p.as_path())));
        // The files were only the email's: they go whatever happened.
        let _ = std::fs::remove_dir_all(&folder);
        files
    }
}

fn read_files<'a>(paths: impl Iterator<Item = &'a Path>) -> Result<Vec<MailAttachment>, SendError> {
    let mut out = Vec::new();
    let mut total: u64 = 0;
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| SendError::Transient(format!("{}: {e}", path.display())))?;
        total += bytes.len() as u64;
        if total > ATTACHMENTS_BYTES_MAX {
            return Err(SendError::Permanent(format!(
                "the report's files weigh more than {} MiB: make it with `voucherdesk report daily` and share the folder",
                ATTACHMENTS_BYTES_MAX / 1024 / 1024
            )));
        }
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let content_type = match path.extension().and_then(|e| e.to_str()) {
            Some("pdf") => "application/pdf",
            Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _ => "text/csv; charset=utf-8",
        };
        out.push(MailAttachment { file_name, content_type, bytes });
    }
    Ok(out)
}
