//! `voucherdesk notifications ...`: the CLI face of `voucherdesk::notifications`
//! (buyer emails and SMS). Parses flags, calls the library, prints.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Subcommand;
use std::path::PathBuf;
use voucherdesk::credentials::OsKeyring;
use voucherdesk::daily_report::schedule::{self, ReportAttachments};
use voucherdesk::notifications::config::{
    self, NotificationSettings, SecretKind, SmsSettings, SmtpSecurity, SmtpSettings,
};
use voucherdesk::notifications::delivery::{self, ConfiguredTransports, CrashPoint, Transports};
use voucherdesk::notifications::{self, Channel, ContactField, Kind, Locale, Status};

/// Test hook: `after_claim` or `after_send` makes `deliver` abort there (crash-safety tests).
const CRASH_ENV: &str = "VOUCHERDESK_NOTIFY_CRASH_AT";
/// Pause between rounds of `deliver` without `--once`.
const DELIVER_INTERVAL_SECONDS_DEFAULT: u64 = 30;
const DELIVER_INTERVAL_SECONDS_MAX: u64 = 3_600;

#[derive(Subcommand)]
pub(crate) enum NotificationsCommand {
    /// Render a message for an order without sending it.
    Preview {
        #[arg(long)]
        order: String,
        /// voucher_instructions, expiry_reminder, payment_received, refund_approved, refund_completed, cash_ready_for_pickup, voucher_cancelled.
        #[arg(long)]
        kind: String,
        /// es-CO, es-PE or en (default: the order's market).
        #[arg(long)]
        locale: Option<String>,
        #[arg(long, default_value = "email")]
        channel: String,
        #[arg(long)]
        json: bool,
    },
    /// Queue a re-send (support: 3 per order per 24 h; managers may --override).
    Resend {
        #[arg(long)]
        order: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        channel: String,
        /// Past the limit (managers and admins only; audited).
        #[arg(long = "override")]
        override_limit: bool,
    },
    /// The notification log, newest first.
    List {
        #[arg(long)]
        order: Option<String>,
        /// queued, sending, sent, failed or unknown.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Run the outbox: send what is due, retry with backoff (until Ctrl-C, or one round with --once).
    /// Each round first queues the daily report emails whose time has come (`report schedule`).
    Deliver {
        #[arg(long)]
        once: bool,
        /// A message in `sending` longer than this is from a deliverer that died.
        #[arg(long, default_value_t = delivery::SEND_LEASE_SECONDS)]
        lease_seconds: i64,
        #[arg(long, default_value_t = DELIVER_INTERVAL_SECONDS_DEFAULT)]
        interval_seconds: u64,
        #[arg(long)]
        json: bool,
    },
    /// Correct the buyer's email or phone (recorded with who changed it).
    SetContact {
        #[arg(long)]
        order: String,
        #[arg(long, conflicts_with = "phone", required_unless_present = "phone")]
        email: Option<String>,
        #[arg(long)]
        phone: Option<String>,
    },
    /// Show the delivery settings.
    Settings {
        #[arg(long)]
        json: bool,
    },
    /// Change the delivery settings (admins only). Flags not given keep their value.
    Configure(ConfigureArgs),
    /// Store the SMTP password or SMS token in the OS keyring, read from standard input (admins only).
    SetSecret {
        /// smtp-password or sms-token.
        which: String,
    },
}

#[derive(clap::Args)]
pub(crate) struct ConfigureArgs {
    #[arg(long)]
    smtp_host: Option<String>,
    #[arg(long)]
    smtp_port: Option<u16>,
    /// starttls (default), tls, or none (loopback only).
    #[arg(long)]
    smtp_security: Option<String>,
    #[arg(long)]
    smtp_user: Option<String>,
    /// The From mailbox: "Tienda <no-reply@tienda.example>".
    #[arg(long)]
    smtp_from: Option<String>,
    #[arg(long)]
    sms_url: Option<String>,
    #[arg(long)]
    sms_sender: Option<String>,
    /// An https image URL containing {code} for the voucher barcode.
    #[arg(long)]
    barcode_url: Option<String>,
    #[arg(long)]
    no_smtp: bool,
    #[arg(long)]
    no_sms: bool,
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: NotificationsCommand) -> Result<(), Failure> {
    let mut store = open(db)?;
    match cmd {
        NotificationsCommand::Preview { order, kind, locale, channel, json } => {
            let op = acting(&store, operator)?;
            let kind = Kind::parse(&kind)?;
            let locale = locale.as_deref().map(Locale::parse).transpose()?;
            let channel = Channel::parse(&channel)?;
            let preview = notifications::preview(&store, &op, &order, kind, locale, channel)?;
            if json {
                return print_json(&preview);
            }
            out!("To: {}  ({}, {}, {})", preview.recipient, preview.channel, preview.locale.as_str(), preview.kind);
            match preview.channel {
                Channel::Email => {
                    out!(
                        "Subject: {}\n\n--- text ---\n{}\n\n--- html ---\n{}",
                        preview.rendered.subject,
                        preview.rendered.text,
                        preview.rendered.html
                    );
                }
                Channel::Sms => out!("{}", preview.rendered.text),
            }
        }
        NotificationsCommand::Resend { order, kind, channel, override_limit } => {
            let op = acting(&store, operator)?;
            let kind = Kind::parse(&kind)?;
            let channel = Channel::parse(&channel)?;
            let id = change(&mut store, |s| notifications::resend(s, &op, &order, kind, channel, override_limit))??;
            out!(
                "queued notification {id}: {kind} by {channel} for order {} (sent by `notifications deliver`)",
                order.trim()
            );
        }
        NotificationsCommand::List { order, status, limit, json } => {
            let op = acting(&store, operator)?;
            let status = status.as_deref().map(Status::parse).transpose()?;
            let log = notifications::list(&store, &op, order.as_deref(), status, None, limit)?;
            if json {
                return print_json(&log);
            }
            for e in log {
                out!(
                    "{:>5} {:<10} {:<22} {:<5} {:<32} {:<8} attempts {} by {} ({}){}{}",
                    e.id,
                    e.order_id,
                    e.kind,
                    e.channel,
                    e.recipient,
                    e.status,
                    e.attempts,
                    e.triggered_by,
                    e.trigger,
                    e.next_attempt_at
                        .map(|t| format!(", next attempt {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
                        .unwrap_or_default(),
                    e.last_error.map(|m| format!(": {m}")).unwrap_or_default()
                );
            }
        }
        NotificationsCommand::Deliver { once, lease_seconds, interval_seconds, json } => {
            if !(1..=DELIVER_INTERVAL_SECONDS_MAX).contains(&interval_seconds) {
                return Err(Failure::refusal(format!(
                    "--interval-seconds must be 1 to {DELIVER_INTERVAL_SECONDS_MAX}"
                )));
            }
            let crash = std::env::var(CRASH_ENV).ok().as_deref().and_then(CrashPoint::parse);
            let settings = config::get(&store)?;
            let vault = OsKeyring::new();
            let configured = ConfiguredTransports::from_settings(&settings, &vault)?;
            let me = voucherdesk::team::desktop_name(&voucherdesk::team::this_host(), "cli");
            loop {
                let now = chrono::Utc::now();
                // Team mode: one desktop delivers the outbox at a time (a lease).
                let lease = voucherdesk::team::LeaseName::NotificationOutbox;
                if let Some(desktop) = voucherdesk::team::claim_round(&mut store, lease, &me).map_err(Failure::fault)? {
                    eprintln!("the outbox is delivered by {desktop}; waiting");
                    if once {
                        return Ok(());
                    }
                    std::thread::sleep(std::time::Duration::from_secs(interval_seconds));
                    continue;
                }
                let reconciled = change(&mut store, |s| delivery::reconcile_interrupted(s, now, lease_seconds))??;
                // A report that cannot be queued is said; the buyers' messages still go.
                let reports = change(&mut store, |s| schedule::queue_due(s, now))?.unwrap_or_else(|e| {
                    eprintln!("daily report: {e} [{}]", e.code());
                    Vec::new()
                });
                let transports = Transports { attachments: Some(&ReportAttachments), ..configured.transports() };
                let report = change(&mut store, |s| delivery::deliver_due(s, &transports, now, crash))??;
                if json {
                    print_json(
                        &serde_json::json!({"reconciled": reconciled, "reports_queued": reports, "delivered": report}),
                    )?;
                } else {
                    if !reports.is_empty() {
                        out!("queued {} daily report email(s)", reports.len());
                    }
                    out!(
                        "sent {}, retrying {}, failed {} (of {} attempted); after a crash: {} SMS re-queued, {} emails marked unknown",
                        report.sent,
                        report.retrying,
                        report.failed,
                        report.attempted,
                        reconciled.requeued.len(),
                        reconciled.unknown.len()
                    );
                }
                if once {
                    return Ok(());
                }
                std::thread::sleep(std::time::Duration::from_secs(interval_seconds));
            }
        }
        NotificationsCommand::SetContact { order, email, phone } => {
            let op = acting(&store, operator)?;
            let (field, value) = match (email, phone) {
                (Some(email), None) => (ContactField::Email, email),
                (None, Some(phone)) => (ContactField::Phone, phone),
                (Some(_), Some(_)) | (None, None) => return Err(Failure::refusal("give --email or --phone (one)")),
            };
            let stored = change(&mut store, |s| notifications::set_contact(s, &op, &order, field, &value))??;
            out!("order {}: {} is now {stored} (changed by {})", order.trim(), field.as_str(), op.name);
        }
        NotificationsCommand::Settings { json } => {
            let settings = config::get(&store)?;
            if json {
                return print_json(&settings);
            }
            match &settings.smtp {
                Some(s) => out!(
                    "smtp: {}:{} ({}), from {}, user {:?}",
                    s.host,
                    s.port,
                    s.security.as_str(),
                    s.from,
                    s.username
                ),
                None => out!("smtp: not configured"),
            }
            match &settings.sms {
                Some(s) => out!("sms: {} as {:?}", s.url, s.sender),
                None => out!("sms: not configured"),
            }
        }
        NotificationsCommand::Configure(args) => {
            let op = acting(&store, operator)?;
            let new = configured(config::get(&store)?, args)?;
            change(&mut store, |s| config::set(s, &op, &new))??;
            out!("notification settings saved");
        }
        NotificationsCommand::SetSecret { which } => {
            let op = acting(&store, operator)?;
            let kind = match which.as_str() {
                "smtp-password" => SecretKind::SmtpPassword,
                "sms-token" => SecretKind::SmsToken,
                other => {
                    return Err(Failure::refusal(format!(
                        "unknown secret {other:?} (expected smtp-password or sms-token)"
                    )));
                }
            };
            let mut value = zeroize::Zeroizing::new(String::new());
            std::io::stdin().read_line(&mut value).map_err(Failure::fault)?;
            change(&mut store, |s| config::set_secret(s, &OsKeyring::new(), &op, kind, &value))??;
            out!("{which} stored in the OS keyring");
        }
    }
    Ok(())
}

fn configured(mut s: NotificationSettings, a: ConfigureArgs) -> Result<NotificationSettings, Failure> {
    let smtp_given = a.smtp_host.is_some()
        || a.smtp_port.is_some()
        || a.smtp_security.is_some()
        || a.smtp_user.is_some()
        || a.smtp_from.is_some();
    if a.no_smtp {
        s.smtp = None;
    } else if smtp_given {
        let security = a.smtp_security.as_deref().map(SmtpSecurity::parse).transpose()?;
        let old = s.smtp.take();
        let host = a.smtp_host.or_else(|| old.as_ref().map(|o| o.host.clone()));
        let from = a.smtp_from.or_else(|| old.as_ref().map(|o| o.from.clone()));
        let (Some(host), Some(from)) = (host, from) else {
            return Err(Failure::refusal("SMTP needs --smtp-host and --smtp-from"));
        };
        s.smtp = Some(SmtpSettings {
            host,
            port: a.smtp_port.or(old.as_ref().map(|o| o.port)).unwrap_or(config::SMTP_PORT_DEFAULT),
            security: security.or(old.as_ref().map(|o| o.security)).unwrap_or(SmtpSecurity::Starttls),
            username: a.smtp_user.or_else(|| old.as_ref().map(|o| o.username.clone())).unwrap_or_default(),
            from,
        });
    }
    if a.no_sms {
        s.sms = None;
    } else if a.sms_url.is_some() || a.sms_sender.is_some() {
        let old = s.sms.take();
        let url = a.sms_url.or_else(|| old.as_ref().map(|o| o.url.clone()));
        let sender = a.sms_sender.or_else(|| old.as_ref().map(|o| o.sender.clone()));
        let (Some(url), Some(sender)) = (url, sender) else {
            return Err(Failure::refusal("SMS needs --sms-url and --sms-sender"));
        };
        s.sms = Some(SmsSettings { url, sender });
    }
    if let Some(url) = a.barcode_url {
        s.barcode_url_template = if url.is_empty() { None } else { Some(url) };
    }
    Ok(s)
}
