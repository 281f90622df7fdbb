//! The file dialogs' child process (src/file_dialog.rs): started as the app's
//! own binary with one argument, it answers on stdout and never starts the app.

use std::io::Write;
use std::process::{Command, Stdio};
use voucherdesk_desktop::file_dialog::FILE_DIALOG_ARG;

#[test]
fn the_dialog_child_refuses_an_unreadable_request_without_starting_the_app() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voucherdesk-desktop"))
        .arg(FILE_DIALOG_ARG)
        .env("VOUCHERDESK_DB", "/nonexistent/never-opened.sqlite")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"{\"mode\": \"format_disk\"}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("file dialog: unreadable request: unknown variant `format_disk`"), "{stderr}");
}
