//! The files the operator chose, by token.
//!
//! The web view never names a file to read or write: a compromised or buggy
//! page could otherwise read or overwrite any file the operator can. The
//! shell keeps each answer of a file dialog (and each file dropped on the
//! window, which the OS reports to the shell, not the page) under a random
//! token, and the file commands take that token. A token that this shell did
//! not hand out, that an earlier session handed out, or that was handed out
//! for the other use is refused with `files.not_picked` before any file is
//! touched.
//!
//! Tokens live in memory only: a new sign-in (or sign-out) forgets them all,
//! so one operator's choices are never another's, and a restart forgets them.

use crate::dto;
use crate::error::{ApiError, codes};
use crate::file_dialog::FILE_DIALOG_PATHS_MAX;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Tokens held at once; the oldest is forgotten past it. Above
/// `FILE_DIALOG_PATHS_MAX`, so every file of one "open" answer fits.
pub const PICKED_FILE_TOKENS_MAX: usize = 256;
/// Random bytes in a token (128 bits, written as 32 hex digits).
pub const TOKEN_BYTES: usize = 16;

/// What a save dialog was asked to save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveKind {
    /// A CSV export.
    Csv,
    /// A PDF copy (a refund receipt).
    Pdf,
    /// An Excel workbook (a ledger export).
    Xlsx,
}

/// What the operator chose a file for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileUse {
    /// An existing file to read (an import): from the "open" dialog or a drop.
    Read,
    /// Where a file goes: from the "save" dialog.
    Write(SaveKind),
    /// A folder files are written into (scheduled backups): from the folder dialog.
    Folder,
}

impl FileUse {
    fn describe(self) -> &'static str {
        match self {
            FileUse::Read => "a file to open",
            FileUse::Write(SaveKind::Csv) => "where to save a CSV file",
            FileUse::Write(SaveKind::Pdf) => "where to save a PDF file",
            FileUse::Write(SaveKind::Xlsx) => "where to save an Excel workbook",
            FileUse::Folder => "a folder",
        }
    }
}

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    usage: FileUse,
}

#[derive(Debug, Default)]
struct Tokens {
    entries: HashMap<String, Entry>,
    /// Tokens oldest first, to forget the oldest when full.
    order: VecDeque<String>,
}

/// The shell's memory of the files the operator chose.
#[derive(Debug, Default)]
pub struct PickedFiles {
    tokens: Mutex<Tokens>,
}

fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn not_picked(message: impl std::fmt::Display) -> ApiError {
    ApiError::new(codes::FILES_NOT_PICKED, message)
}

impl PickedFiles {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers a file the operator chose for `usage`; returns its token.
    pub fn remember(&self, path: PathBuf, usage: FileUse) -> String {
        let mut tokens = self.lock();
        let mut token = new_token();
        while tokens.entries.contains_key(&token) {
            token = new_token();
        }
        while tokens.entries.len() >= PICKED_FILE_TOKENS_MAX {
            match tokens.order.pop_front() {
                Some(oldest) => {
                    tokens.entries.remove(&oldest);
                }
                None => break,
            }
        }
        tokens.entries.insert(token.clone(), Entry { path, usage });
        tokens.order.push_back(token.clone());
        token
    }

    /// Remembers each file of one answer (at most `FILE_DIALOG_PATHS_MAX`), as the page sees them.
    pub fn answer(&self, paths: Vec<PathBuf>, usage: FileUse) -> Vec<dto::PickedFile> {
        paths
            .into_iter()
            .take(FILE_DIALOG_PATHS_MAX)
            .map(|path| {
                let (name, shown) = (display_name(&path), path.display().to_string());
                dto::PickedFile { token: self.remember(path, usage), name, path: shown }
            })
            .collect()
    }

    /// The file behind a read token. A read token stays valid: the imports
    /// screen asks for a profile suggestion, then imports, and may import
    /// again with another profile after a refusal, all from one choice.
    /// `forget` spends it once the import has gone through.
    pub fn for_reading(&self, token: &str) -> Result<PathBuf, ApiError> {
        let tokens = self.lock();
        let entry = tokens.entries.get(token).ok_or_else(unknown)?;
        match entry.usage {
            FileUse::Read => Ok(entry.path.clone()),
            FileUse::Write(_) | FileUse::Folder => Err(wrong_use(entry.usage, FileUse::Read)),
        }
    }

    /// The folder behind a folder token, spent by this call (the operator
    /// chose it for one setting); a token for another use is refused and kept.
    pub fn for_folder(&self, token: &str) -> Result<PathBuf, ApiError> {
        let mut tokens = self.lock();
        let entry = tokens.entries.get(token).ok_or_else(unknown)?;
        if entry.usage != FileUse::Folder {
            return Err(wrong_use(entry.usage, FileUse::Folder));
        }
        let path = entry.path.clone();
        tokens.entries.remove(token);
        tokens.order.retain(|t| t != token);
        Ok(path)
    }

    /// The file behind a save token, which is spent by this call whatever
    /// happens next: the operator agreed to one write there, and a second
    /// write asks the dialog again. A token for the other use is refused
    /// and kept.
    pub fn for_writing(&self, token: &str, kind: SaveKind) -> Result<PathBuf, ApiError> {
        self.for_writing_one_of(token, &[kind])
    }

    /// [`Self::for_writing`] for a file that may be any of `kinds` (a CSV or a
    /// workbook: the export writes what the chosen name says).
    pub fn for_writing_one_of(&self, token: &str, kinds: &[SaveKind]) -> Result<PathBuf, ApiError> {
        let mut tokens = self.lock();
        let entry = tokens.entries.get(token).ok_or_else(unknown)?;
        if !kinds.iter().any(|kind| entry.usage == FileUse::Write(*kind)) {
            return Err(wrong_use(entry.usage, FileUse::Write(kinds[0])));
        }
        let path = entry.path.clone();
        tokens.entries.remove(token);
        tokens.order.retain(|t| t != token);
        Ok(path)
    }

    /// Spends a token (an import that went through).
    pub fn forget(&self, token: &str) {
        let mut tokens = self.lock();
        if tokens.entries.remove(token).is_some() {
            tokens.order.retain(|t| t != token);
        }
    }

    /// Forgets every token (a session begins or ends).
    pub fn clear(&self) {
        let mut tokens = self.lock();
        tokens.entries.clear();
        tokens.order.clear();
    }

    /// Tokens held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn unknown() -> ApiError {
    not_picked("this file was not chosen in a dialog of this session: choose it again")
}

fn wrong_use(chosen: FileUse, wanted: FileUse) -> ApiError {
    not_picked(format!("this file was chosen as {}, not as {}: choose it again", chosen.describe(), wanted.describe()))
}

/// The name to show for a chosen file (its last component).
pub fn display_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(e: ApiError) -> (String, String) {
        (e.code, e.message)
    }

    #[test]
    fn tokens_are_random_hex_of_128_bits() {
        let files = PickedFiles::default();
        let a = files.remember("/tmp/a.csv".into(), FileUse::Read);
        let b = files.remember("/tmp/a.csv".into(), FileUse::Read);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{a}");
        assert_ne!(a, b, "the same file chosen twice gets two tokens");
        assert_eq!(files.len(), 2);
    }

    #[test]
    fn an_unknown_token_or_a_raw_path_is_refused() {
        let files = PickedFiles::default();
        files.remember("/tmp/orders.csv".into(), FileUse::Read);
        let expected = (
            codes::FILES_NOT_PICKED.to_string(),
            "this file was not chosen in a dialog of this session: choose it again".to_string(),
        );
        assert_eq!(refusal(files.for_reading("/tmp/orders.csv").unwrap_err()), expected);
        assert_eq!(refusal(files.for_reading("").unwrap_err()), expected);
        assert_eq!(refusal(files.for_writing("/home/ana/.bashrc", SaveKind::Csv).unwrap_err()), expected);
        assert_eq!(
            refusal(files.for_writing("00000000000000000000000000000000", SaveKind::Pdf).unwrap_err()),
            expected
        );
        assert_eq!(files.len(), 1, "a refusal forgets nothing");
    }

    #[test]
    fn a_read_token_is_refused_for_a_save_and_a_save_token_for_a_read() {
        let files = PickedFiles::default();
        let read = files.remember("/tmp/orders.csv".into(), FileUse::Read);
        assert_eq!(
            refusal(files.for_writing(&read, SaveKind::Csv).unwrap_err()),
            (
                "files.not_picked".to_string(),
                "this file was chosen as a file to open, not as where to save a CSV file: choose it again".to_string()
            )
        );
        let csv = files.remember("/tmp/out.csv".into(), FileUse::Write(SaveKind::Csv));
        assert_eq!(
            refusal(files.for_reading(&csv).unwrap_err()),
            (
                "files.not_picked".to_string(),
                "this file was chosen as where to save a CSV file, not as a file to open: choose it again".to_string()
            )
        );
        assert_eq!(
            refusal(files.for_writing(&csv, SaveKind::Pdf).unwrap_err()),
            (
                "files.not_picked".to_string(),
                "this file was chosen as where to save a CSV file, not as where to save a PDF file: choose it again"
                    .to_string()
            )
        );
        // The refused uses spent nothing: each still works for what it was chosen for.
        assert_eq!(files.for_reading(&read).unwrap(), PathBuf::from("/tmp/orders.csv"));
        assert_eq!(files.for_writing(&csv, SaveKind::Csv).unwrap(), PathBuf::from("/tmp/out.csv"));
    }

    #[test]
    fn a_folder_token_serves_one_folder_setting_and_no_file_use() {
        let files = PickedFiles::default();
        let folder = files.remember("/media/usb/backups".into(), FileUse::Folder);
        let read = files.remember("/tmp/orders.csv".into(), FileUse::Read);
        assert_eq!(
            refusal(files.for_folder(&read).unwrap_err()),
            (
                "files.not_picked".to_string(),
                "this file was chosen as a file to open, not as a folder: choose it again".to_string()
            )
        );
        assert_eq!(
            refusal(files.for_reading(&folder).unwrap_err()).1,
            "this file was chosen as a folder, not as a file to open: choose it again"
        );
        assert_eq!(files.for_writing(&folder, SaveKind::Csv).unwrap_err().code, "files.not_picked");
        assert_eq!(files.for_folder(&folder).unwrap(), PathBuf::from("/media/usb/backups"));
        assert_eq!(files.for_folder(&folder).unwrap_err().code, "files.not_picked", "spent");
        assert_eq!(files.for_reading(&read).unwrap(), PathBuf::from("/tmp/orders.csv"));
    }

    #[test]
    fn a_save_token_is_spent_by_its_first_use() {
        let files = PickedFiles::default();
        let pdf = files.remember("/tmp/receipt.pdf".into(), FileUse::Write(SaveKind::Pdf));
        assert_eq!(files.for_writing(&pdf, SaveKind::Pdf).unwrap(), PathBuf::from("/tmp/receipt.pdf"));
        let again = files.for_writing(&pdf, SaveKind::Pdf).unwrap_err();
        assert_eq!(again.code, "files.not_picked");
        assert_eq!(again.message, "this file was not chosen in a dialog of this session: choose it again");
        assert_eq!(files.len(), 0);
    }

    #[test]
    fn a_read_token_serves_the_suggestion_and_the_import_until_forgotten() {
        let files = PickedFiles::default();
        let read = files.remember("/tmp/orders.csv".into(), FileUse::Read);
        for _ in 0..3 {
            assert_eq!(files.for_reading(&read).unwrap(), PathBuf::from("/tmp/orders.csv"));
        }
        files.forget(&read);
        assert_eq!(files.for_reading(&read).unwrap_err().code, "files.not_picked");
        assert!(files.is_empty());
    }

    #[test]
    fn the_store_holds_at_most_its_limit_and_forgets_the_oldest() {
        let files = PickedFiles::default();
        let first = files.remember("/tmp/0.csv".into(), FileUse::Read);
        let second = files.remember("/tmp/1.csv".into(), FileUse::Write(SaveKind::Csv));
        let mut last = String::new();
        for i in 2..PICKED_FILE_TOKENS_MAX + 2 {
            last = files.remember(format!("/tmp/{i}.csv").into(), FileUse::Read);
        }
        assert_eq!(files.len(), PICKED_FILE_TOKENS_MAX);
        assert_eq!(files.for_reading(&first).unwrap_err().code, "files.not_picked");
        assert_eq!(files.for_writing(&second, SaveKind::Csv).unwrap_err().code, "files.not_picked");
        let newest = format!("/tmp/{}.csv", PICKED_FILE_TOKENS_MAX + 1);
        assert_eq!(files.for_reading(&last).unwrap(), PathBuf::from(newest));
    }

    #[test]
    fn clearing_forgets_every_token() {
        let files = PickedFiles::default();
        let read = files.remember("/tmp/orders.csv".into(), FileUse::Read);
        let save = files.remember("/tmp/out.csv".into(), FileUse::Write(SaveKind::Csv));
        files.clear();
        assert_eq!(files.len(), 0);
        assert_eq!(files.for_reading(&read).unwrap_err().code, "files.not_picked");
        assert_eq!(files.for_writing(&save, SaveKind::Csv).unwrap_err().code, "files.not_picked");
    }

    #[test]
    fn an_answer_gives_each_file_a_token_and_a_name() {
        let files = PickedFiles::default();
        let paths: Vec<PathBuf> = (0..FILE_DIALOG_PATHS_MAX + 5).map(|i| format!("/srv/in/{i}.csv").into()).collect();
        let answer = files.answer(paths, FileUse::Read);
        assert_eq!(answer.len(), FILE_DIALOG_PATHS_MAX);
        assert_eq!(files.len(), FILE_DIALOG_PATHS_MAX);
        assert_eq!((answer[7].name.as_str(), answer[7].path.as_str()), ("7.csv", "/srv/in/7.csv"));
        assert_eq!(files.for_reading(&answer[7].token).unwrap(), PathBuf::from("/srv/in/7.csv"));
    }

    #[test]
    fn the_display_name_is_the_last_component() {
        assert_eq!(display_name(Path::new("/home/fabio/exports/dlocal payments.csv")), "dlocal payments.csv");
        assert_eq!(display_name(Path::new("/")), "/");
    }
}
