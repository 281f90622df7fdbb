//! The message templates: files under `assets/templates/` (one folder per
//! language, four files per kind: `.subject.txt`, `.txt`, `.html`,
//! `.sms.txt`), compiled into the binary and rendered with minijinja. Files
//! ending in `.html` are HTML-escaped automatically; the others are plain text.

use super::{Channel, Kind, Locale, NotificationError};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use std::sync::OnceLock;

/// Every template file, by its path under `assets/templates/`.
const TEMPLATE_FILES: &[(&str, &str)] = &[
    ("en/base.html", include_str!("../../assets/templates/en/base.html")),
    ("en/cash_ready_for_pickup.html", include_str!("../../assets/templates/en/cash_ready_for_pickup.html")),
    ("en/cash_ready_for_pickup.sms.txt", include_str!("../../assets/templates/en/cash_ready_for_pickup.sms.txt")),
    (
        "en/cash_ready_for_pickup.subject.txt",
        include_str!("../../assets/templates/en/cash_ready_for_pickup.subject.txt"),
    ),
    ("en/cash_ready_for_pickup.txt", include_str!("../../assets/templates/en/cash_ready_for_pickup.txt")),
    ("en/expiry_reminder.html", include_str!("../../assets/templates/en/expiry_reminder.html")),
    ("en/expiry_reminder.sms.txt", include_str!("../../assets/templates/en/expiry_reminder.sms.txt")),
    ("en/expiry_reminder.subject.txt", include_str!("../../assets/templates/en/expiry_reminder.subject.txt")),
    ("en/expiry_reminder.txt", include_str!("../../assets/templates/en/expiry_reminder.txt")),
    ("en/payment_received.html", include_str!("../../assets/templates/en/payment_received.html")),
    ("en/payment_received.sms.txt", include_str!("../../assets/templates/en/payment_received.sms.txt")),
    ("en/payment_received.subject.txt", include_str!("../../assets/templates/en/payment_received.subject.txt")),
    ("en/payment_received.txt", include_str!("../../assets/templates/en/payment_received.txt")),
    ("en/refund_approved.html", include_str!("../../assets/templates/en/refund_approved.html")),
    ("en/refund_approved.sms.txt", include_str!("../../assets/templates/en/refund_approved.sms.txt")),
    ("en/refund_approved.subject.txt", include_str!("../../assets/templates/en/refund_approved.subject.txt")),
    ("en/refund_approved.txt", include_str!("../../assets/templates/en/refund_approved.txt")),
    ("en/refund_completed.html", include_str!("../../assets/templates/en/refund_completed.html")),
    ("en/refund_completed.sms.txt", include_str!("../../assets/templates/en/refund_completed.sms.txt")),
    ("en/refund_completed.subject.txt", include_str!("../../assets/templates/en/refund_completed.subject.txt")),
    ("en/refund_completed.txt", include_str!("../../assets/templates/en/refund_completed.txt")),
    ("en/voucher_cancelled.html", include_str!("../../assets/templates/en/voucher_cancelled.html")),
    ("en/voucher_cancelled.sms.txt", include_str!("../../assets/templates/en/voucher_cancelled.sms.txt")),
    ("en/voucher_cancelled.subject.txt", include_str!("../../assets/templates/en/voucher_cancelled.subject.txt")),
    ("en/voucher_cancelled.txt", include_str!("../../assets/templates/en/voucher_cancelled.txt")),
    ("en/voucher_instructions.html", include_str!("../../assets/templates/en/voucher_instructions.html")),
    ("en/voucher_instructions.sms.txt", include_str!("../../assets/templates/en/voucher_instructions.sms.txt")),
    ("en/voucher_instructions.subject.txt", include_str!("../../assets/templates/en/voucher_instructions.subject.txt")),
    ("en/voucher_instructions.txt", include_str!("../../assets/templates/en/voucher_instructions.txt")),
    ("es/base.html", include_str!("../../assets/templates/es/base.html")),
    ("es/cash_ready_for_pickup.html", include_str!("../../assets/templates/es/cash_ready_for_pickup.html")),
    ("es/cash_ready_for_pickup.sms.txt", include_str!("../../assets/templates/es/cash_ready_for_pickup.sms.txt")),
    (
        "es/cash_ready_for_pickup.subject.txt",
        include_str!("../../assets/templates/es/cash_ready_for_pickup.subject.txt"),
    ),
    ("es/cash_ready_for_pickup.txt", include_str!("../../assets/templates/es/cash_ready_for_pickup.txt")),
    ("es/expiry_reminder.html", include_str!("../../assets/templates/es/expiry_reminder.html")),
    ("es/expiry_reminder.sms.txt", include_str!("../../assets/templates/es/expiry_reminder.sms.txt")),
    ("es/expiry_reminder.subject.txt", include_str!("../../assets/templates/es/expiry_reminder.subject.txt")),
    ("es/expiry_reminder.txt", include_str!("../../assets/templates/es/expiry_reminder.txt")),
    ("es/payment_received.html", include_str!("../../assets/templates/es/payment_received.html")),
    ("es/payment_received.sms.txt", include_str!("../../assets/templates/es/payment_received.sms.txt")),
    ("es/payment_received.subject.txt", include_str!("../../assets/templates/es/payment_received.subject.txt")),
    ("es/payment_received.txt", include_str!("../../assets/templates/es/payment_received.txt")),
    ("es/refund_approved.html", include_str!("../../assets/templates/es/refund_approved.html")),
    ("es/refund_approved.sms.txt", include_str!("../../assets/templates/es/refund_approved.sms.txt")),
    ("es/refund_approved.subject.txt", include_str!("../../assets/templates/es/refund_approved.subject.txt")),
    ("es/refund_approved.txt", include_str!("../../assets/templates/es/refund_approved.txt")),
    ("es/refund_completed.html", include_str!("../../assets/templates/es/refund_completed.html")),
    ("es/refund_completed.sms.txt", include_str!("../../assets/templates/es/refund_completed.sms.txt")),
    ("es/refund_completed.subject.txt", include_str!("../../assets/templates/es/refund_completed.subject.txt")),
    ("es/refund_completed.txt", include_str!("../../assets/templates/es/refund_completed.txt")),
    ("es/voucher_cancelled.html", include_str!("../../assets/templates/es/voucher_cancelled.html")),
    ("es/voucher_cancelled.sms.txt", include_str!("../../assets/templates/es/voucher_cancelled.sms.txt")),
    ("es/voucher_cancelled.subject.txt", include_str!("../../assets/templates/es/voucher_cancelled.subject.txt")),
    ("es/voucher_cancelled.txt", include_str!("../../assets/templates/es/voucher_cancelled.txt")),
    ("es/voucher_instructions.html", include_str!("../../assets/templates/es/voucher_instructions.html")),
    ("es/voucher_instructions.sms.txt", include_str!("../../assets/templates/es/voucher_instructions.sms.txt")),
    ("es/voucher_instructions.subject.txt", include_str!("../../assets/templates/es/voucher_instructions.subject.txt")),
    ("es/voucher_instructions.txt", include_str!("../../assets/templates/es/voucher_instructions.txt")),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // A misspelt variable is an error, never an empty gap in a buyer's message.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATE_FILES {
            // The files are part of the build; a broken one fails the template tests.
            if let Err(e) = env.add_template(name, source) {
                panic!("template {name} does not compile: {e}");
            }
        }
        env
    })
}

/// What the templates of one message produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rendered {
    /// Email subject; empty for SMS.
    pub subject: String,
    /// Plain text: the email's text part, or the whole SMS.
    pub text: String,
    /// HTML part of an email; empty for SMS.
    pub html: String,
}

fn render_one(name: &str, context: &impl Serialize) -> Result<String, NotificationError> {
    let template = environment().get_template(name).map_err(|e| NotificationError::Template(format!("{name}: {e}")))?;
    template.render(minijinja::value::Serde(context)).map_err(|e| NotificationError::Template(format!("{name}: {e}")))
}

pub(crate) fn render(
    kind: Kind,
    locale: Locale,
    channel: Channel,
    context: &impl Serialize,
) -> Result<Rendered, NotificationError> {
    let base = format!("{}/{}", locale.template_folder(), kind.as_str());
    match channel {
        Channel::Email => Ok(Rendered {
            subject: render_one(&format!("{base}.subject.txt"), context)?.trim().to_string(),
            text: render_one(&format!("{base}.txt"), context)?,
            html: render_one(&format!("{base}.html"), context)?,
        }),
        Channel::Sms => Ok(Rendered {
            subject: String::new(),
            text: render_one(&format!("{base}.sms.txt"), context)?.trim().to_string(),
            html: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATE_FILES {
            environment().get_template(name).unwrap();
        }
        assert_eq!(TEMPLATE_FILES.len(), 2 * (1 + 4 * Kind::ALL.len()));
    }
}
