//! The buyer's email and phone on an order: checked before they are kept or used.

use super::*;

/// A plausible address: one `@`, a dotted domain, no spaces, at most
/// [`EMAIL_CHARS_MAX`]. (Deliverability is the SMTP server's to judge.)
pub fn check_email(text: &str) -> Result<String, NotificationError> {
    let t = text.trim();
    let bad = || NotificationError::BadEmail(text.to_string());
    if t.is_empty() || t.chars().count() > EMAIL_CHARS_MAX || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = t.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    lettre::Address::new(local, domain).map_err(|_| bad())?;
    Ok(t.to_string())
}

/// The number in E.164 (`+573001234567`). Spaces, dashes, dots and brackets
/// are dropped; a national mobile number gets its market's country code
/// (Colombia: 10 digits starting with 3; Peru: 9 digits starting with 9).
pub fn check_phone(text: &str, country: Country) -> Result<String, NotificationError> {
    let bad = || NotificationError::BadPhone(text.to_string());
    let t = text.trim();
    let plus = t.starts_with('+');
    let body = if plus { &t[1..] } else { t };
    if body.chars().any(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))) {
        return Err(bad());
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    let e164 = if plus {
        digits
    } else {
        match (country, digits.len(), digits.chars().next()) {
            (Country::Colombia, 10, Some('3')) => format!("57{digits}"),
            (Country::Peru, 9, Some('9')) => format!("51{digits}"),
            (Country::Colombia | Country::Peru, _, _) => return Err(bad()),
        }
    };
    if !(PHONE_DIGITS_MIN..=PHONE_DIGITS_MAX).contains(&e164.len()) || e164.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{e164}"))
}

pub(super) fn recipient(facts: &OrderFacts, channel: Channel) -> Result<String, NotificationError> {
    let no_recipient = || NotificationError::NoRecipient { order: facts.order.order_id.clone(), channel };
    match channel {
        Channel::Email if facts.email.trim().is_empty() => Err(no_recipient()),
        Channel::Email => check_email(&facts.email),
        Channel::Sms if facts.phone.trim().is_empty() => Err(no_recipient()),
        Channel::Sms => check_phone(&facts.phone, facts.country),
    }
}

/// Which contact [`set_contact`] changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactField {
    Email,
    Phone,
}

impl ContactField {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactField::Email => "email",
            ContactField::Phone => "phone",
        }
    }
}

/// Corrects a buyer's email or phone for notifications; recorded with who
/// changed it (and audited). The imported order is left as it was.
pub fn set_contact(
    store: &mut Store,
    operator: &Operator,
    order_id: &str,
    field: ContactField,
    value: &str,
) -> Result<String, NotificationError> {
    operator.require(Permission::ResendNotification)?;
    let facts = load_order(store, order_id)?;
    let (old, new) = match field {
        ContactField::Email => (facts.email.clone(), check_email(value)?),
        ContactField::Phone => (facts.phone.clone(), check_phone(value, facts.country)?),
    };
    let subject = format!("order {}", facts.order.order_id);
    let action = format!("notifications.set_{}", field.as_str());
    let entry = audit_entry(&operator.name, &action, &subject, &old, &new);
    store.insert_buyer_contact_change(
        &facts.order.order_id,
        field.as_str(),
        &old,
        &new,
        &operator.name,
        Utc::now(),
        &entry,
    )?;
    Ok(new)
}
