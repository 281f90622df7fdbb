//! How buyers read amounts, dates and SMS: the local way, in market time.

use super::Locale;
use crate::market::Country;
use crate::money::Currency;
use chrono::{DateTime, Datelike, Timelike, Utc};

/// One SMS segment: 160 GSM-7 septets. Longer texts are refused, not split
/// (a split message costs double and may arrive in pieces).
pub const SMS_GSM7_SEPTETS_MAX: usize = 160;

/// `$ 1.250.000` (COP: no decimals unless there are cents, then `,50`),
/// `S/ 1,250.50` (PEN, always two decimals), `US$ 1,250.50`. The currency
/// decides, not the language: a Colombian amount reads the same in English.
pub fn amount(minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent();
    let scale = 10_i64.pow(exponent);
    let (major, cents) = (minor.unsigned_abs() / scale as u64, minor.unsigned_abs() % scale as u64);
    let sign = if minor < 0 { "-" } else { "" };
    match currency {
        Currency::Cop => {
            let whole = group(major, '.');
            if cents == 0 {
                format!("{sign}$ {whole}")
            } else {
                format!("{sign}$ {whole},{cents:0width$}", width = exponent as usize)
            }
        }
        Currency::Pen => format!("{sign}S/ {}.{cents:0width$}", group(major, ','), width = exponent as usize),
        Currency::Usd => format!("{sign}US$ {}.{cents:0width$}", group(major, ','), width = exponent as usize),
    }
}

fn group(mut n: u64, separator: char) -> String {
    let mut groups = Vec::new();
    loop {
        if n < 1000 {
            groups.push(n.to_string());
            break;
        }
        groups.push(format!("{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join(&separator.to_string())
}

const MONTHS_ES: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// An instant in the market's time, the way the buyer says it:
/// `4 de marzo de 2026, 9:15 a. m. (hora de Bogotá)`,
/// `March 4, 2026, 9:15 PM (Lima time)`.
pub fn market_time(instant: DateTime<Utc>, country: Country, locale: Locale) -> String {
    let local = instant.with_timezone(&country.zone());
    let (pm, hour12) = local.hour12();
    let month = local.month0() as usize;
    match locale {
        Locale::EsCo | Locale::EsPe => format!(
            "{} de {} de {}, {}:{:02} {} (hora de {})",
            local.day(),
            MONTHS_ES[month],
            local.year(),
            hour12,
            local.minute(),
            if pm { "p. m." } else { "a. m." },
            country.city()
        ),
        Locale::En => format!(
            "{} {}, {}, {}:{:02} {} ({} time)",
            MONTHS_EN[month],
            local.day(),
            local.year(),
            hour12,
            local.minute(),
            if pm { "PM" } else { "AM" },
            country.city()
        ),
    }
}

/// The short form for SMS: `04/03/2026 9:15 a. m.` / `03/04/2026 9:15 AM`.
pub fn market_time_short(instant: DateTime<Utc>, country: Country, locale: Locale) -> String {
    let local = instant.with_timezone(&country.zone());
    let (pm, hour12) = local.hour12();
    match locale {
        Locale::EsCo | Locale::EsPe => format!(
            "{:02}/{:02}/{} {}:{:02} {}",
            local.day(),
            local.month(),
            local.year(),
            hour12,
            local.minute(),
            if pm { "p. m." } else { "a. m." }
        ),
        Locale::En => format!(
            "{:02}/{:02}/{} {}:{:02} {}",
            local.month(),
            local.day(),
            local.year(),
            hour12,
            local.minute(),
            if pm { "PM" } else { "AM" }
        ),
    }
}

/// GSM 03.38 basic set (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (two septets each: escape + char).
const GSM7_EXTENDED: &str = "^{}\\[~]|€\u{000C}";

/// Makes `text` GSM-7 so one SMS holds 160 characters instead of 70 (a single
/// `á` would switch the whole message to UCS-2): accents GSM-7 lacks lose
/// them (`á→a`, `í→i`, `ó→o`, `ú→u`; `é`, `ñ`, `ü`, `¿`, `¡` are kept),
/// typographic quotes and dashes become plain ones, anything else becomes `?`.
pub fn to_gsm7(text: &str) -> String {
    text.chars()
        .map(|c| {
            if GSM7_BASIC.contains(c) || GSM7_EXTENDED.contains(c) {
                return c;
            }
            match c {
                'á' | 'â' | 'ã' => 'a',
                'Á' | 'À' | 'Â' | 'Ã' => 'A',
                'í' | 'ï' | 'î' => 'i',
                'Í' | 'Ì' | 'Ï' | 'Î' => 'I',
                'ó' | 'ô' | 'õ' => 'o',
                'Ó' | 'Ò' | 'Ô' | 'Õ' => 'O',
                'ú' | 'û' => 'u',
                'Ú' | 'Ù' | 'Û' => 'U',
                'ê' | 'ë' => 'e',
                'È' | 'Ê' | 'Ë' => 'E',
                'ç' => 'c',
                '‘' | '’' | '´' | '`' => '\'',
                '“' | '”' | '«' | '»' => '"',
                '–' | '—' => '-',
                '\u{00A0}' | '\t' => ' ',
                _ => '?',
            }
        })
        .collect()
}

/// Septets `text` takes in GSM-7 (extension characters count two); `None`
/// when it is not GSM-7 at all.
pub fn gsm7_septets(text: &str) -> Option<usize> {
    text.chars().try_fold(0usize, |n, c| {
        if GSM7_BASIC.contains(c) {
            Some(n + 1)
        } else if GSM7_EXTENDED.contains(c) {
            Some(n + 2)
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_the_local_way() {
        assert_eq!(amount(125_000_000, Currency::Cop), "$ 1.250.000");
        assert_eq!(amount(125_000_050, Currency::Cop), "$ 1.250.000,50");
        assert_eq!(amount(89_900, Currency::Cop), "$ 899");
        assert_eq!(amount(125_050, Currency::Pen), "S/ 1,250.50");
        assert_eq!(amount(8_990, Currency::Pen), "S/ 89.90");
        assert_eq!(amount(100_000_000_000, Currency::Pen), "S/ 1,000,000,000.00");
        assert_eq!(amount(5, Currency::Usd), "US$ 0.05");
    }

    #[test]
    fn dates_are_in_market_time() {
        let t = DateTime::parse_from_rfc3339("2026-03-05T03:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(market_time(t, Country::Colombia, Locale::EsCo), "4 de marzo de 2026, 10:30 p. m. (hora de Bogotá)");
        assert_eq!(market_time(t, Country::Peru, Locale::En), "March 4, 2026, 10:30 PM (Lima time)");
        assert_eq!(market_time_short(t, Country::Peru, Locale::EsPe), "04/03/2026 10:30 p. m.");
    }

    #[test]
    fn sms_text_is_made_gsm7() {
        assert_eq!(to_gsm7("Código: pagá en Perú ¿sí? ñandú “ok”"), "Codigo: paga en Peru ¿si? ñandu \"ok\"");
        assert_eq!(gsm7_septets("ñé€"), Some(4));
        assert_eq!(gsm7_septets("á"), None);
    }
}
