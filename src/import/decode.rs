//! Turning a file's bytes into UTF-8 text with a known delimiter: BOMs,
//! Windows-1252/ISO-8859-1 exports, `,` `;` or tab, and refusing binaries.

use std::borrow::Cow;

/// Largest file we import in one go.
pub const IMPORT_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// How far we look for a NUL byte to call a file binary.
const BINARY_SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
    /// Windows-1252, which also reads ISO-8859-1 text the way Excel writes it.
    Windows1252,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 (BOM)",
            Encoding::Windows1252 => "Windows-1252/ISO-8859-1",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is binary, not a text report (NUL byte at offset {0})")]
    Binary(usize),
    #[error("the file is UTF-16; save it as UTF-8 or Windows-1252 CSV")]
    Utf16,
    #[error("the file is not valid CSV: {0}")]
    Malformed(String),
    #[error("the file is {0} bytes, over the {IMPORT_FILE_BYTES_MAX}-byte limit; split it")]
    TooLarge(u64),
}

pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: Encoding,
}

pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    if bytes.len() as u64 > IMPORT_FILE_BYTES_MAX {
        return Err(DecodeError::TooLarge(bytes.len() as u64));
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(DecodeError::Utf16);
    }
    let (body, bom) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (rest, true),
        None => (bytes, false),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::Empty);
    }
    let sniff = &body[..body.len().min(BINARY_SNIFF_BYTES)];
    if let Some(pos) = memchr_nul(sniff) {
        return Err(DecodeError::Binary(pos + usize::from(bom) * 3));
    }
    match std::str::from_utf8(body) {
        Ok(text) => {
            Ok(Decoded { text: Cow::Borrowed(text), encoding: if bom { Encoding::Utf8Bom } else { Encoding::Utf8 } })
        }
        Err(_) => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            if let Some(pos) = text.find('\0') {
                return Err(DecodeError::Binary(pos));
            }
            Ok(Decoded { text: Cow::Owned(text.into_owned()), encoding: Encoding::Windows1252 })
        }
    }
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == 0)
}

/// Picks the delimiter from the header line: the candidate that occurs most
/// often outside quotes (ties go to the comma).
pub fn detect_delimiter(text: &str) -> u8 {
    let header = first_record_text(text);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut in_quotes = false;
    for b in header.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            _ if in_quotes => {}
            _ => {
                if let Some(slot) = counts.iter_mut().find(|(d, _)| *d == b) {
                    slot.1 += 1;
                }
            }
        }
    }
    counts.iter().fold((b',', 0), |best, c| if c.1 > best.1 { *c } else { best }).0
}

fn first_record_text(text: &str) -> &str {
    let start = text.trim_start_matches(['\r', '\n']);
    start.split(['\n']).next().unwrap_or("")
}

pub fn delimiter_name(delimiter: u8) -> &'static str {
    match delimiter {
        b',' => "comma",
        b';' => "semicolon",
        b'\t' => "tab",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf8_bom_and_latin1() {
        let d = decode("a,b\n1,Núñez\n".as_bytes()).unwrap();
        assert_eq!(d.encoding, Encoding::Utf8);
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("a,b\n".as_bytes());
        let d = decode(&bom).unwrap();
        assert_eq!((d.encoding, &*d.text), (Encoding::Utf8Bom, "a,b\n"));
        let latin1 = b"nombre\nN\xfa\xf1ez\n";
        let d = decode(latin1).unwrap();
        assert_eq!((d.encoding, &*d.text), (Encoding::Windows1252, "nombre\nNúñez\n"));
    }

    #[test]
    fn refuses_empty_binary_and_utf16() {
        assert_eq!(decode(b"").err(), Some(DecodeError::Empty));
        assert_eq!(decode(b"\n\r\n  ").err(), Some(DecodeError::Empty));
        assert_eq!(decode(b"PK\x03\x04\x00\x00").err(), Some(DecodeError::Binary(4)));
        assert_eq!(decode(b"\xff\xfea\x00").err(), Some(DecodeError::Utf16));
    }

    #[test]
    fn detects_delimiters_outside_quotes() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3"), b',');
        assert_eq!(detect_delimiter("CIP;CODIGO;\"A,B,C,D\"\n"), b';');
        assert_eq!(detect_delimiter("a\tb\tc\n"), b'\t');
        assert_eq!(detect_delimiter("\n\nonly\n"), b',');
    }
}
