//! The native file dialogs, shown by a child process of the app.
//!
//! Why not in the app's own process: GTK's file chooser has GLib guess the
//! type of every file in the folder it shows, and for names it cannot place by
//! extension (`voucherdesk.sqlite`, `-wal`, `-shm`) it opens and closes the
//! file to read its first bytes. Closing any descriptor of a file drops every
//! POSIX lock the process holds on it, SQLite's included. Another process (the
//! CLI) then believes nobody has the database open, checkpoints and deletes
//! the WAL on close, and the app's later writes land in a deleted file: seen by
//! the app, by nobody else, and lost when it exits. In a child process the
//! chooser can open what it likes: locks belong to processes.
//!
//! The child is this same binary started with [`FILE_DIALOG_ARG`]; it reads a
//! [`DialogRequest`] as JSON on stdin and answers with the chosen paths.

use crate::error::{ApiError, codes};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The argument that makes the binary show one dialog and exit instead of starting the app.
pub const FILE_DIALOG_ARG: &str = "--voucherdesk-file-dialog";
/// How long a dialog may stay open before the app stops waiting for it, in minutes.
pub const FILE_DIALOG_WAIT_MINUTES: u64 = 30;
/// Paths one "open" dialog may return.
pub const FILE_DIALOG_PATHS_MAX: usize = 100;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DialogRequest {
    /// Pick one or more existing files to import.
    OpenFiles { title: String, filter_name: String, extensions: Vec<String> },
    /// Pick where to write a file.
    Save { title: String, filter_name: String, extensions: Vec<String>, file_name: String },
    /// Pick an existing folder (where scheduled backups go).
    Folder { title: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DialogAnswer {
    /// Empty when the operator cancelled.
    pub paths: Vec<PathBuf>,
}

/// In the child: shows the dialog the request asks for, prints the answer.
/// Returns the exit code when the process was started as a dialog, else None.
pub fn run_if_asked() -> Option<i32> {
    if std::env::args().nth(1).as_deref() != Some(FILE_DIALOG_ARG) {
        return None;
    }
    let request: DialogRequest = match serde_json::from_reader(std::io::stdin().lock()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("file dialog: unreadable request: {e}");
            return Some(2);
        }
    };
    let answer = show(&request);
    match serde_json::to_writer(std::io::stdout().lock(), &answer) {
        Ok(()) => Some(0),
        Err(e) => {
            eprintln!("file dialog: cannot answer: {e}");
            Some(1)
        }
    }
}

fn show(request: &DialogRequest) -> DialogAnswer {
    let paths = match request {
        DialogRequest::OpenFiles { title, filter_name, extensions } => {
            rfd::FileDialog::new().set_title(title).add_filter(filter_name, extensions).pick_files().unwrap_or_default()
        }
        DialogRequest::Save { title, filter_name, extensions, file_name } => rfd::FileDialog::new()
            .set_title(title)
            .add_filter(filter_name, extensions)
            .set_file_name(file_name)
            .save_file()
            .into_iter()
            .collect(),
        // From the home folder: GTK's folder chooser otherwise opens on "Recent", where nothing can be chosen.
        DialogRequest::Folder { title } => {
            let dialog = rfd::FileDialog::new().set_title(title);
            let dialog = match std::env::var_os("HOME") {
                Some(home) => dialog.set_directory(home),
                None => dialog,
            };
            dialog.pick_folder().into_iter().collect()
        }
    };
    DialogAnswer { paths }
}

/// In the app: shows the dialog in a child process and waits for the operator.
pub async fn ask(request: DialogRequest) -> Result<Vec<PathBuf>, ApiError> {
    use tokio::io::AsyncWriteExt;
    let failed =
        |what: &str, e: &dyn std::fmt::Display| ApiError::new(codes::INTERNAL, format!("file dialog: {what}: {e}"));
    let exe = std::env::current_exe().map_err(|e| failed("cannot find the app's binary", &e))?;
    let mut child = tokio::process::Command::new(exe)
        .arg(FILE_DIALOG_ARG)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed("cannot start", &e))?;
    let body = serde_json::to_vec(&request).map_err(|e| failed("request", &e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&body).await.map_err(|e| failed("request", &e))?;
        // Dropped here: the child reads to the end.
    }
    let wait = Duration::from_secs(FILE_DIALOG_WAIT_MINUTES * 60);
    let output = tokio::time::timeout(wait, child.wait_with_output())
        .await
        .map_err(|_| {
            ApiError::new(
                codes::INTERNAL,
                format!("the file dialog stayed open over {FILE_DIALOG_WAIT_MINUTES} minutes"),
            )
        })?
        .map_err(|e| failed("no answer", &e))?;
    if !output.status.success() {
        return Err(ApiError::new(codes::INTERNAL, format!("the file dialog failed ({})", output.status)));
    }
    let answer: DialogAnswer = serde_json::from_slice(&output.stdout).map_err(|e| failed("unreadable answer", &e))?;
    Ok(answer.paths.into_iter().take(FILE_DIALOG_PATHS_MAX).collect())
}
