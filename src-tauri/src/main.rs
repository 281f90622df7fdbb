// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // The app's file dialogs run in a child process of this binary (file_dialog.rs).
    if let Some(code) = voucherdesk_desktop::file_dialog::run_if_asked() {
        std::process::exit(code);
    }
    voucherdesk_desktop::run()
}
