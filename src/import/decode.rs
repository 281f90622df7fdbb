//! Turning a file's bytes into UTF-8 text with a known delimiter: BOMs,
//! Windows-1252/ISO-8859-1 exports, `,` `;` or tab, and refusing binaries.

use std::borrow::Cow;

/// Largest file we import in one go.
pub const IMPORT_FILE_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;

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
    /// A byte no text report holds (a NUL past the first bytes, or a byte
    /// that is not UTF-8 in a file that is UTF-8 elsewhere), located.
    #[error("{line}: {column}: {reason}")]
    BadByte { line: u64, column: String, reason: String },
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
    if let Some(pos) = memchr_nul(body) {
        // A file whose first line reads as a header is a damaged report, and
        // the NUL is located; otherwise it is some binary file.
        let first_line = &body[..body.iter().position(|b| *b == b'\n').unwrap_or(body.len())];
        let header_like = pos > first_line.len() && first_line.iter().any(|b| matches!(b, b',' | b';' | b'\t'));
        if !header_like {
            return Err(DecodeError::Binary(pos + usize::from(bom) * 3));
        }
        return Err(bad_byte(body, pos, format!("NUL byte at offset {}", pos + usize::from(bom) * 3)));
    }
    let first_bad = match std::str::from_utf8(body) {
        Ok(text) => {
            return Ok(Decoded {
                text: Cow::Borrowed(text),
                encoding: if bom { Encoding::Utf8Bom } else { Encoding::Utf8 },
            });
        }
        Err(e) => e.valid_up_to(),
    };
    match utf8_shape(body, first_bad) {
        Utf8Shape::Broken => Err(bad_byte(
            body,
            first_bad,
            format!(
                "byte 0x{:02X} at offset {} is not UTF-8 in a file that is UTF-8 elsewhere; save the file again as UTF-8",
                body[first_bad],
                first_bad + usize::from(bom) * 3
            ),
        )),
        Utf8Shape::SingleByte if bom => {
            Err(bad_byte(body, first_bad, "the file starts with a UTF-8 mark but is not UTF-8".to_string()))
        }
        Utf8Shape::SingleByte => {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(body);
            Ok(Decoded { text: Cow::Owned(text.into_owned()), encoding: Encoding::Windows1252 })
        }
    }
}

/// Decodes the first bytes of a file (for recognising its layout): a UTF-8
/// sequence cut by the end of the sample is left out rather than refused.
pub fn decode_head(head: &[u8], whole_file: bool) -> Result<Decoded<'_>, DecodeError> {
    if whole_file {
        return decode(head);
    }
    let cut = match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Ok(_) | Err(_) => head.len(),
    };
    decode(&head[..cut])
}

fn memchr_nul(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(0, bytes)
}

/// A file that is not UTF-8 throughout.
enum Utf8Shape {
    /// Valid UTF-8 multi-byte sequences, and bytes that are not: a UTF-8 file
    /// with damage, which read as Windows-1252 would garble every accent.
    Broken,
    /// Not one valid multi-byte sequence: a single-byte (Windows-1252) export.
    SingleByte,
}

/// `first_bad`: where UTF-8 decoding first fails (everything before is valid).
fn utf8_shape(bytes: &[u8], first_bad: usize) -> Utf8Shape {
    let (valid, mut rest) = bytes.split_at(first_bad);
    if !valid.is_ascii() {
        return Utf8Shape::Broken;
    }
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => return if valid.is_ascii() { Utf8Shape::SingleByte } else { Utf8Shape::Broken },
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                if !valid.is_ascii() {
                    return Utf8Shape::Broken;
                }
                // error_len None: a sequence cut by the end of the file.
                rest = &after[e.error_len().unwrap_or(after.len())..];
            }
        }
    }
}

/// A located refusal: the line of byte `pos` and, when the header names it,
/// its column.
fn bad_byte(body: &[u8], pos: usize, reason: String) -> DecodeError {
    let line = 1 + body[..pos].iter().filter(|b| **b == b'\n').count() as u64;
    DecodeError::BadByte { line, column: column_at(body, pos).unwrap_or_else(|| "(row)".to_string()), reason }
}

/// The header name of the column byte `pos` falls in, counting delimiters
/// outside quotes on its line (a quoted field over several lines is not
/// followed: the answer is then "(row)").
fn column_at(body: &[u8], pos: usize) -> Option<String> {
    let header_end = body.iter().position(|b| *b == b'\n').unwrap_or(body.len());
    let header = String::from_utf8_lossy(&body[..header_end]);
    let delimiter = detect_delimiter(&header);
    let line_start = body[..pos].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let mut index = 0usize;
    let mut in_quotes = false;
    for b in &body[line_start..pos] {
        match *b {
            b'"' => in_quotes = !in_quotes,
            b if b == delimiter && !in_quotes => index += 1,
            _ => {}
        }
    }
    let names: Vec<&str> = split_header(&header, delimiter);
    names.get(index).map(|n| n.trim().trim_matches('"').to_string()).filter(|n| !n.is_empty())
}

fn split_header(header: &str, delimiter: u8) -> Vec<&str> {
    header.trim_end_matches('\r').split(char::from(delimiter)).collect()
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
    fn refuses_a_nul_far_into_the_file_and_a_utf8_file_with_a_bad_byte() {
        let mut big = b"order_id,buyer_name\n".to_vec();
        while big.len() < 64 * 1024 + 10 {
            big.extend_from_slice(b"A-1,Ana\n");
        }
        let lines = big.iter().filter(|b| **b == b'\n').count() as u64;
        big.extend_from_slice(b"A-2,An\x00a\n");
        assert_eq!(
            decode(&big).err(),
            Some(DecodeError::BadByte {
                line: lines + 1,
                column: "buyer_name".into(),
                reason: format!("NUL byte at offset {}", big.len() - 3),
            })
        );
        let damaged = "order_id;buyer_name\nA-1;José\nA-2;Ren\u{e9}\n".as_bytes().to_vec();
        let mut damaged = damaged;
        let at = damaged.len() - 3;
        damaged[at] = 0xE9; // "Ren" + a lone Windows-1252 é inside a UTF-8 file
        assert_eq!(
            decode(&damaged).err(),
            Some(DecodeError::BadByte {
                line: 3,
                column: "buyer_name".into(),
                reason: format!(
                    "byte 0xE9 at offset {at} is not UTF-8 in a file that is UTF-8 elsewhere; save the file again as UTF-8"
                ),
            })
        );
    }

    #[test]
    fn detects_delimiters_outside_quotes() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3"), b',');
        assert_eq!(detect_delimiter("CIP;CODIGO;\"A,B,C,D\"\n"), b';');
        assert_eq!(detect_delimiter("a\tb\tc\n"), b'\t');
        assert_eq!(detect_delimiter("\n\nonly\n"), b',');
    }
}
