//! The one CSV writer every export goes through (refunds, exceptions, and any
//! later report): UTF-8 with a BOM, so spreadsheet programs read accents, and
//! formula-safe, so text from buyers, PSPs or operators never runs in the
//! spreadsheet of whoever opens the file.
//!
//! A text cell that a spreadsheet would read as a formula (it starts with
//! `=`, `+`, `-`, `@`, a tab or a carriage return, or the full-width `＝`,
//! `＋`, `－`, `＠` that some spreadsheets fold to ASCII) is written with a `'`
//! in front, which spreadsheets show as text and do not evaluate. A number
//! that we wrote ourselves (an amount, a rate, a count) is written as is when
//! it is a plain decimal (`-1500.50`), so a negative amount stays a number
//! finance can add up; anything else given as a number is treated as text.

use std::borrow::Cow;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a spreadsheet program reads first to know the file is UTF-8.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The characters a cell may not start with unless neutralised.
const FORMULA_LEADS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}'];

#[derive(Debug, thiserror::Error)]
pub enum ExportCsvError {
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// One cell of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell<'a> {
    /// Anything a person or a PSP may have typed: neutralised when it could be a formula.
    Text(&'a str),
    /// A number we formatted (amount, rate, count): kept as is when it is a
    /// plain decimal, otherwise neutralised like text.
    Number(&'a str),
}

/// A text cell as a spreadsheet may safely read it (see the module documentation).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if FORMULA_LEADS.contains(&first) => Cow::Owned(format!("'{cell}")),
        Some(_) | None => Cow::Borrowed(cell),
    }
}

/// `-?digits(.digits)?`: what a spreadsheet reads as a number and never as a formula.
pub fn is_plain_decimal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

impl Cell<'_> {
    /// The text written to the file.
    pub fn safe(&self) -> Cow<'_, str> {
        match *self {
            Cell::Text(text) => neutralise(text),
            Cell::Number(text) if is_plain_decimal(text) => Cow::Borrowed(text),
            Cell::Number(text) => neutralise(text),
        }
    }
}

/// A CSV file being written; [`ExportWriter::finish`] flushes it.
pub struct ExportWriter {
    path: PathBuf,
    writer: csv::Writer<std::io::BufWriter<std::fs::File>>,
}

impl ExportWriter {
    /// Creates (or replaces) `path`, writes the BOM and the header row.
    pub fn create(path: &Path, header: &[&str]) -> Result<ExportWriter, ExportCsvError> {
        let failed =
            |e: &dyn std::fmt::Display| ExportCsvError::Write { path: path.to_path_buf(), reason: e.to_string() };
        let file = std::fs::File::create(path).map_err(|e| failed(&e))?;
        let mut out = std::io::BufWriter::new(file);
        out.write_all(UTF8_BOM).map_err(|e| failed(&e))?;
        let mut export = ExportWriter { path: path.to_path_buf(), writer: csv::Writer::from_writer(out) };
        let cells: Vec<Cell<'_>> = header.iter().map(|h| Cell::Text(h)).collect();
        export.row(&cells)?;
        Ok(export)
    }

    /// Writes one row, every cell made safe.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportCsvError> {
        let path = &self.path;
        self.writer
            .write_record(cells.iter().map(|c| c.safe().into_owned()))
            .map_err(|e| ExportCsvError::Write { path: path.clone(), reason: e.to_string() })
    }

    pub fn finish(mut self) -> Result<(), ExportCsvError> {
        let path = &self.path;
        self.writer.flush().map_err(|e| ExportCsvError::Write { path: path.clone(), reason: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_in_ascii_and_full_width() {
        for (given, written) in [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+57 300", "'+57 300"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("＝1+1", "'＝1+1"),
            ("＋1", "'＋1"),
            ("－1", "'－1"),
            ("＠SUM(A1)", "'＠SUM(A1)"),
            ("Núñez", "Núñez"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(Cell::Text(given).safe(), written, "{given:?}");
        }
    }

    #[test]
    fn numbers_we_wrote_stay_numbers_and_anything_else_is_text() {
        assert_eq!(Cell::Number("-1500").safe(), "-1500");
        assert_eq!(Cell::Number("-1500.50").safe(), "-1500.50");
        assert_eq!(Cell::Number("89.90").safe(), "89.90");
        assert_eq!(Cell::Text("-1500").safe(), "'-1500");
        assert_eq!(Cell::Number("-1+1").safe(), "'-1+1");
        assert_eq!(Cell::Number("=1").safe(), "'=1");
        assert_eq!(Cell::Number("-").safe(), "'-");
        assert_eq!(Cell::Number("1.").safe(), "1.");
        assert!(!is_plain_decimal("1."));
        assert!(!is_plain_decimal(".5"));
        assert!(!is_plain_decimal("1e5"));
        assert!(is_plain_decimal("0"));
    }
}
