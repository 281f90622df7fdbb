//! The one writer every export goes through (refunds, exceptions, payments,
//! settlements, the daily report): CSV, UTF-8 with a BOM, so spreadsheet
//! programs read accents, and formula-safe, so text from buyers, PSPs or
//! operators never runs in the spreadsheet of whoever opens the file; or, for
//! a path ending in `.xlsx`, an Excel workbook (`rust_xlsxwriter`, kept by the
//! author of Python's XlsxWriter), where text goes into string cells, which
//! Excel never evaluates, and our numbers into number cells.
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

/// Rows one `.xlsx` sheet holds, the header included (Excel's own limit).
pub const XLSX_ROWS_MAX: u32 = 1_048_576;

/// An export file being written; [`ExportWriter::finish`] completes it.
pub struct ExportWriter {
    path: PathBuf,
    out: Out,
}

enum Out {
    Csv(csv::Writer<std::io::BufWriter<std::fs::File>>),
    /// Rows stream to a temporary file (constant memory); saved on `finish`.
    Xlsx {
        book: rust_xlsxwriter::Workbook,
        next_row: u32,
        money: rust_xlsxwriter::Format,
    },
}

/// Whether `path` names an Excel workbook (`.xlsx`, any case).
pub fn is_xlsx(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("xlsx"))
}

impl ExportWriter {
    /// Creates (or replaces) `path` and writes the header row: CSV with its
    /// BOM, or, for `.xlsx`, a workbook with one sheet named `sheet`.
    pub fn create(path: &Path, header: &[&str]) -> Result<ExportWriter, ExportCsvError> {
        ExportWriter::create_sheet(path, "Export", header)
    }

    pub fn create_sheet(path: &Path, sheet: &str, header: &[&str]) -> Result<ExportWriter, ExportCsvError> {
        let failed =
            |e: &dyn std::fmt::Display| ExportCsvError::Write { path: path.to_path_buf(), reason: e.to_string() };
        let out = if is_xlsx(path) {
            let mut book = rust_xlsxwriter::Workbook::new();
            book.add_worksheet_with_constant_memory().set_name(sheet).map_err(|e| failed(&e))?;
            Out::Xlsx { book, next_row: 0, money: rust_xlsxwriter::Format::new().set_num_format("#,##0.00") }
        } else {
            let file = std::fs::File::create(path).map_err(|e| failed(&e))?;
            let mut out = std::io::BufWriter::new(file);
            out.write_all(UTF8_BOM).map_err(|e| failed(&e))?;
            Out::Csv(csv::Writer::from_writer(out))
        };
        let mut export = ExportWriter { path: path.to_path_buf(), out };
        let cells: Vec<Cell<'_>> = header.iter().map(|h| Cell::Text(h)).collect();
        export.row(&cells)?;
        Ok(export)
    }

    /// Writes one row, every cell made safe.
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), ExportCsvError> {
        let path = &self.path;
        let failed = |reason: String| ExportCsvError::Write { path: path.clone(), reason };
        match &mut self.out {
            Out::Csv(writer) => {
                writer.write_record(cells.iter().map(|c| c.safe().into_owned())).map_err(|e| failed(e.to_string()))
            }
            Out::Xlsx { book, next_row, money } => {
                if *next_row >= XLSX_ROWS_MAX {
                    return Err(failed(format!(
                        "an .xlsx sheet holds at most {XLSX_ROWS_MAX} rows: narrow the range or export to .csv"
                    )));
                }
                let sheet = book.worksheet_from_index(0).map_err(|e| failed(e.to_string()))?;
                for (col, cell) in cells.iter().enumerate() {
                    let col = u16::try_from(col).map_err(|_| failed("too many columns".into()))?;
                    let written = match *cell {
                        // Excel keeps numbers as doubles: a two-decimal amount stays exact
                        // far beyond any ledger's (2^53 minor units), and finance can add them up.
                        Cell::Number(text) if is_plain_decimal(text) => match text.parse::<f64>() {
                            Ok(n) if text.contains('.') => sheet.write_number_with_format(*next_row, col, n, money),
                            Ok(n) => sheet.write_number(*next_row, col, n),
                            Err(_) => sheet.write_string(*next_row, col, text),
                        },
                        // A string cell is never evaluated: the text goes in as typed.
                        Cell::Number(text) | Cell::Text(text) => sheet.write_string(*next_row, col, text),
                    };
                    written.map_err(|e| failed(e.to_string()))?;
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    pub fn finish(self) -> Result<(), ExportCsvError> {
        let path = self.path;
        let failed = |reason: String| ExportCsvError::Write { path: path.clone(), reason };
        match self.out {
            Out::Csv(mut writer) => writer.flush().map_err(|e| failed(e.to_string())),
            Out::Xlsx { mut book, .. } => book.save(&path).map_err(|e| failed(e.to_string())),
        }
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
