//! Delivery settings: the SMTP server and the SMS provider. Stored in the
//! settings table (key [`SETTINGS_KEY`]), changed by admins only and audited.
//! The SMTP password and the SMS auth token are secrets: they live in the OS
//! credential store through [`crate::credentials::SecretVault`] (service
//! `voucherdesk`, users [`SMTP_PASSWORD_USER`] and [`SMS_TOKEN_USER`]), never
//! in SQLite or the audit log.

use super::NotificationError;
use crate::audit::audit_entry;
use crate::credentials::SecretVault;
use crate::operators::{Operator, Permission};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub const SETTINGS_KEY: &str = "notifications";
pub const SMTP_PASSWORD_USER: &str = "notifications:smtp-password";
pub const SMS_TOKEN_USER: &str = "notifications:sms-token";
pub const HOST_CHARS_MAX: usize = 253;
pub const URL_CHARS_MAX: usize = 512;
pub const SENDER_CHARS_MAX: usize = 64;
pub const SECRET_CHARS_MAX: usize = 512;
/// Default submission port with STARTTLS.
pub const SMTP_PORT_DEFAULT: u16 = 587;

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (required, never optional).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
    /// No encryption: loopback hosts only (a local relay, the tests' sink).
    None,
}

impl SmtpSecurity {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::Starttls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }

    pub fn parse(text: &str) -> Result<SmtpSecurity, NotificationError> {
        match text.trim() {
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            other => Err(NotificationError::BadSettings(format!(
                "unknown SMTP security {other:?} (expected starttls, tls or none)"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    #[serde(default)]
    pub username: String,
    /// The From mailbox: `Tienda Ñandú <no-reply@tienda.example>`.
    pub from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SmsSettings {
    /// The provider's send endpoint (https, or http on loopback).
    pub url: String,
    /// The sender id or number the buyer sees.
    pub sender: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NotificationSettings {
    #[serde(default)]
    pub smtp: Option<SmtpSettings>,
    #[serde(default)]
    pub sms: Option<SmsSettings>,
    /// An image URL with `{code}` for the voucher's barcode (the PSP's
    /// hosted barcode); none: the email shows the code in large digits only.
    #[serde(default)]
    pub barcode_url_template: Option<String>,
}

pub fn get(store: &Store) -> Result<NotificationSettings, NotificationError> {
    Ok(store.setting(SETTINGS_KEY)?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_host(host: &str) -> Result<(), NotificationError> {
    let ok = !host.is_empty()
        && host.len() <= HOST_CHARS_MAX
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if ok { Ok(()) } else { Err(NotificationError::BadSettings(format!("{host:?} is not a host name"))) }
}

/// Checks every field; nothing is stored unless all are right.
pub fn validate(settings: &NotificationSettings) -> Result<(), NotificationError> {
    if let Some(smtp) = &settings.smtp {
        check_host(&smtp.host)?;
        if smtp.port == 0 {
            return Err(NotificationError::BadSettings("the SMTP port must be 1 to 65535".into()));
        }
        if smtp.security == SmtpSecurity::None && !is_loopback(&smtp.host) {
            return Err(NotificationError::BadSettings(format!(
                "SMTP without TLS is only allowed to a loopback host, not {:?}: use starttls or tls",
                smtp.host
            )));
        }
        smtp.from.parse::<lettre::message::Mailbox>().map_err(|_| {
            NotificationError::BadSettings(format!("{:?} is not a From mailbox (Name <address@domain>)", smtp.from))
        })?;
        if smtp.username.chars().any(char::is_control) || smtp.username.len() > SENDER_CHARS_MAX * 4 {
            return Err(NotificationError::BadSettings("bad SMTP user name".into()));
        }
    }
    if let Some(sms) = &settings.sms {
        let url = sms.url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://").filter(|rest| is_loopback(host_of(rest))))
            .ok_or_else(|| {
                NotificationError::BadSettings(format!(
                    "the SMS provider URL must be https:// (http:// only on loopback), not {url:?}"
                ))
            })?;
        if url.len() > URL_CHARS_MAX || host_of(rest).is_empty() || rest.contains('@') {
            return Err(NotificationError::BadSettings(format!("bad SMS provider URL {url:?}")));
        }
        if sms.sender.trim().is_empty()
            || sms.sender.chars().count() > SENDER_CHARS_MAX
            || sms.sender.chars().any(char::is_control)
        {
            return Err(NotificationError::BadSettings(format!(
                "the SMS sender is 1 to {SENDER_CHARS_MAX} printable characters"
            )));
        }
    }
    let bad_barcode_url = |t: &String| !t.starts_with("https://") || !t.contains("{code}") || t.len() > URL_CHARS_MAX;
    if settings.barcode_url_template.as_ref().is_some_and(bad_barcode_url) {
        return Err(NotificationError::BadSettings("the barcode URL must be https:// and contain {code}".into()));
    }
    Ok(())
}

/// The host part of `host[:port]/path...` (IPv6 in brackets kept whole).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.starts_with('[') {
        return authority.split(']').next().map(|h| &h[1..]).unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

/// Replaces the delivery settings (admins only; audited with before/after).
pub fn set(
    store: &mut Store,
    operator: &Operator,
    new: &NotificationSettings,
) -> Result<NotificationSettings, NotificationError> {
    operator.require(Permission::ChangeSettings)?;
    validate(new)?;
    let before = serde_json::to_string(&get(store)?).unwrap_or_default();
    let after = serde_json::to_string(new).unwrap_or_default();
    let entry = audit_entry(&operator.name, "notifications.settings", "notification settings", &before, &after);
    store.put_setting(SETTINGS_KEY, &after, &entry)?;
    Ok(new.clone())
}

/// Which secret [`set_secret`] stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    SmtpPassword,
    SmsToken,
}

impl SecretKind {
    pub fn vault_user(self) -> &'static str {
        match self {
            SecretKind::SmtpPassword => SMTP_PASSWORD_USER,
            SecretKind::SmsToken => SMS_TOKEN_USER,
        }
    }
}

/// Stores the SMTP password or SMS token in the OS credential store (admins
/// only). The audit log records that it changed, never the value.
pub fn set_secret(
    store: &mut Store,
    vault: &dyn SecretVault,
    operator: &Operator,
    kind: SecretKind,
    value: &str,
) -> Result<(), NotificationError> {
    operator.require(Permission::ChangeSettings)?;
    let value = check_secret(value)?;
    vault.write(kind.vault_user(), value)?;
    let entry = audit_entry(&operator.name, "notifications.secret", kind.vault_user(), "", "(changed)");
    store.append_audit(&entry)?;
    Ok(())
}

pub fn read_secret(vault: &dyn SecretVault, kind: SecretKind) -> Result<Option<Zeroizing<String>>, NotificationError> {
    Ok(vault.read(kind.vault_user())?)
}

/// The settings as Settings → Notifications shows them: never a secret,
/// only whether the keyring holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "NotificationSettingsView"))]
pub struct SettingsView {
    pub settings: NotificationSettings,
    pub smtp_password_present: bool,
    pub sms_token_present: bool,
}

/// The delivery settings for the admin's form (admins only).
pub fn describe(
    store: &Store,
    vault: &dyn SecretVault,
    operator: &Operator,
) -> Result<SettingsView, NotificationError> {
    operator.require(Permission::ChangeSettings)?;
    Ok(SettingsView {
        settings: get(store)?,
        smtp_password_present: read_secret(vault, SecretKind::SmtpPassword)?.is_some(),
        sms_token_present: read_secret(vault, SecretKind::SmsToken)?.is_some(),
    })
}

fn check_secret(value: &str) -> Result<&str, NotificationError> {
    let value = value.trim_end_matches(['\r', '\n']);
    if value.is_empty() || value.chars().count() > SECRET_CHARS_MAX || value.chars().any(char::is_control) {
        return Err(NotificationError::BadSettings(format!(
            "the secret must be 1 to {SECRET_CHARS_MAX} printable characters"
        )));
    }
    Ok(value)
}

/// The form's save: the settings and, when typed, a new SMTP password and
/// SMS token. Everything is checked before anything is written; an absent
/// (or empty) secret keeps the stored one.
pub fn save(
    store: &mut Store,
    vault: &dyn SecretVault,
    operator: &Operator,
    new: &NotificationSettings,
    smtp_password: Option<&str>,
    sms_token: Option<&str>,
) -> Result<SettingsView, NotificationError> {
    operator.require(Permission::ChangeSettings)?;
    validate(new)?;
    let smtp_password = smtp_password.filter(|v| !v.is_empty()).map(check_secret).transpose()?;
    let sms_token = sms_token.filter(|v| !v.is_empty()).map(check_secret).transpose()?;
    if let Some(value) = smtp_password {
        set_secret(store, vault, operator, SecretKind::SmtpPassword, value)?;
    }
    if let Some(value) = sms_token {
        set_secret(store, vault, operator, SecretKind::SmsToken, value)?;
    }
    set(store, operator, new)?;
    describe(store, vault, operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_and_http_sms_only_on_loopback() {
        let smtp = |host: &str, security| NotificationSettings {
            smtp: Some(SmtpSettings {
                host: host.into(),
                port: 2525,
                security,
                username: String::new(),
                from: "Tienda <no-reply@tienda.example>".into(),
            }),
            ..Default::default()
        };
        assert!(validate(&smtp("127.0.0.1", SmtpSecurity::None)).is_ok());
        assert!(validate(&smtp("smtp.example.com", SmtpSecurity::None)).is_err());
        assert!(validate(&smtp("smtp.example.com", SmtpSecurity::Starttls)).is_ok());
        let sms = |url: &str| NotificationSettings {
            sms: Some(SmsSettings { url: url.into(), sender: "Tienda".into() }),
            ..Default::default()
        };
        assert!(validate(&sms("http://127.0.0.1:9000/messages")).is_ok());
        assert!(validate(&sms("http://sms.example.com/messages")).is_err());
        assert!(validate(&sms("https://user:pw@sms.example.com/")).is_err());
        assert!(validate(&sms("https://sms.example.com/v1/messages")).is_ok());
    }
}
