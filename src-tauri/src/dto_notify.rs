//! The payloads of the notifications screen and Settings → Notifications
//! (docs/IPC.md "Buyer notifications"). Same conventions as `dto`:
//! mirrors of core types, converted with exhaustive destructuring. No secret
//! ever crosses back: the settings say only whether the keyring holds one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use voucherdesk::jobs::outbox_delivery::DelivererState;
use voucherdesk::notifications::{self, config, delivery};

type Instant = DateTime<Utc>;

/// What the app's background deliverer is doing (the notifications screen's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum DelivererPhase {
    Starting,
    Running,
    NotConfigured,
    Problem,
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct DelivererStatus {
    pub state: DelivererPhase,
    pub last_round_at: Option<Instant>,
    /// The last round's counts (running only).
    pub last_sent: u32,
    pub last_retrying: u32,
    pub last_failed: u32,
    /// Why the last round could not run (problem only).
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl From<DelivererState> for DelivererStatus {
    fn from(s: DelivererState) -> DelivererStatus {
        let base = |state, last_round_at| DelivererStatus {
            state,
            last_round_at,
            last_sent: 0,
            last_retrying: 0,
            last_failed: 0,
            error_code: None,
            error_message: None,
        };
        match s {
            DelivererState::Starting => base(DelivererPhase::Starting, None),
            DelivererState::Stopped => base(DelivererPhase::Stopped, None),
            DelivererState::NotConfigured { last_round_at } => base(DelivererPhase::NotConfigured, Some(last_round_at)),
            DelivererState::Running { last_round_at, last } => {
                let delivery::DeliveryReport { attempted: _, sent, retrying, failed } = last;
                DelivererStatus {
                    last_sent: sent,
                    last_retrying: retrying,
                    last_failed: failed,
                    ..base(DelivererPhase::Running, Some(last_round_at))
                }
            }
            DelivererState::Problem { last_round_at, code, message } => DelivererStatus {
                error_code: Some(code),
                error_message: Some(message),
                ..base(DelivererPhase::Problem, Some(last_round_at))
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RetryRefusal {
    pub id: i64,
    pub code: String,
    pub message: String,
}

/// What a retry did, per message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct RetryOutcome {
    pub retried: Vec<i64>,
    pub refused: Vec<RetryRefusal>,
}

impl From<notifications::RetryOutcome> for RetryOutcome {
    fn from(o: notifications::RetryOutcome) -> RetryOutcome {
        let notifications::RetryOutcome { retried, refused } = o;
        RetryOutcome {
            retried,
            refused: refused
                .into_iter()
                .map(|r| {
                    let notifications::RetryRefusal { id, code, message } = r;
                    RetryRefusal { id, code, message }
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl From<SmtpSecurity> for config::SmtpSecurity {
    fn from(s: SmtpSecurity) -> config::SmtpSecurity {
        match s {
            SmtpSecurity::Starttls => config::SmtpSecurity::Starttls,
            SmtpSecurity::Tls => config::SmtpSecurity::Tls,
            SmtpSecurity::None => config::SmtpSecurity::None,
        }
    }
}

impl From<config::SmtpSecurity> for SmtpSecurity {
    fn from(s: config::SmtpSecurity) -> SmtpSecurity {
        match s {
            config::SmtpSecurity::Starttls => SmtpSecurity::Starttls,
            config::SmtpSecurity::Tls => SmtpSecurity::Tls,
            config::SmtpSecurity::None => SmtpSecurity::None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    pub username: String,
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SmsSettings {
    pub url: String,
    pub sender: String,
}

/// What the form sends and gets back (without secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct NotificationSettings {
    pub smtp: Option<SmtpSettings>,
    pub sms: Option<SmsSettings>,
    pub barcode_url_template: Option<String>,
}

impl From<NotificationSettings> for config::NotificationSettings {
    fn from(s: NotificationSettings) -> config::NotificationSettings {
        let NotificationSettings { smtp, sms, barcode_url_template } = s;
        config::NotificationSettings {
            smtp: smtp.map(|m| {
                let SmtpSettings { host, port, security, username, from } = m;
                config::SmtpSettings { host, port, security: security.into(), username, from }
            }),
            sms: sms.map(|m| {
                let SmsSettings { url, sender } = m;
                config::SmsSettings { url, sender }
            }),
            barcode_url_template,
        }
    }
}

impl From<config::NotificationSettings> for NotificationSettings {
    fn from(s: config::NotificationSettings) -> NotificationSettings {
        let config::NotificationSettings { smtp, sms, barcode_url_template } = s;
        NotificationSettings {
            smtp: smtp.map(|m| {
                let config::SmtpSettings { host, port, security, username, from } = m;
                SmtpSettings { host, port, security: security.into(), username, from }
            }),
            sms: sms.map(|m| {
                let config::SmsSettings { url, sender } = m;
                SmsSettings { url, sender }
            }),
            barcode_url_template,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct NotificationSettingsView {
    pub settings: NotificationSettings,
    pub smtp_password_present: bool,
    pub sms_token_present: bool,
}

impl From<config::SettingsView> for NotificationSettingsView {
    fn from(v: config::SettingsView) -> NotificationSettingsView {
        let config::SettingsView { settings, smtp_password_present, sms_token_present } = v;
        NotificationSettingsView { settings: settings.into(), smtp_password_present, sms_token_present }
    }
}

/// The server's answer to a test message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
pub struct TestMessageSent {
    pub answer: String,
}
