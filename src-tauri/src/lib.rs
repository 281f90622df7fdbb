//! VoucherDesk's desktop shell: a Tauri 2 window over the `voucherdesk`
//! library. The shell holds the open database and the session and exposes
//! the library through thin IPC commands (docs/IPC.md); every rule lives in
//! the library.

pub mod backup_commands;
pub mod bindings;
pub mod commands;
pub mod crash_commands;
pub mod dto;
pub mod dto_notify;
pub mod dto_psp;
pub mod dto_team;
pub mod error;
pub mod file_dialog;
pub mod notify_commands;
pub mod picked_files;
pub mod psp_commands;
pub mod refused;
pub mod report_commands;
pub mod runner;
pub mod state;
pub mod team_commands;
pub mod voucher_commands;
pub mod wake;

use state::{AppState, Opened};
use std::path::PathBuf;
use tauri::{Builder, Emitter, Manager, Runtime};

/// The database to open; otherwise the CLI's default in the OS data directory.
pub const DB_ENV: &str = "VOUCHERDESK_DB";

pub fn db_path() -> PathBuf {
    std::env::var_os(DB_ENV)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(voucherdesk::store::default_path)
}

/// The event that tells the page which files were dropped on the window
/// (payload: `PickedFile[]`, each with its read token).
pub const FILES_DROPPED_EVENT: &str = "files-dropped";

/// The event the team refresher emits when the team copy changed (payload: `TeamChanged`).
pub const TEAM_CHANGED_EVENT: &str = "team-changed";

/// The app's commands and state on a builder (the real one or tauri's mock).
pub fn with_commands<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    let files = state.picked_files();
    builder.manage(state).invoke_handler(commands::handler()).on_window_event(move |window, event| {
        // The OS reports a drop to the shell, not the page: a dropped file is chosen like an opened one.
        if let tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }) = event {
            let dropped = files.answer(paths.clone(), picked_files::FileUse::Read);
            // A window that is gone just misses the drop.
            let _ = window.emit(FILES_DROPPED_EVENT, dropped);
        }
    })
}

/// The window `tauri.conf.json` declares.
pub const MAIN_WINDOW: &str = "main";

/// The webview's settings for a one-page app that loads nothing from the network.
mod webview {
    /// On Linux (WebKitGTK): the "document viewer" cache model keeps WebKit's
    /// memory caches minimal (our few files come from the binary, not the
    /// network), no back/forward page cache (the app never navigates away),
    /// and pages drawn by the CPU rather than composited through OpenGL. The
    /// console is text and tables; where there is no GPU (virtual machines,
    /// remote desktops, Xvfb) that OpenGL is Mesa's software renderer, which
    /// cost the web process ~100 MB more on our benchmark (docs/BENCHMARKS.md).
    #[cfg(target_os = "linux")]
    pub fn tune(webview: tauri::webview::PlatformWebview) {
        use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
        let view = webview.inner();
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
        if let Some(settings) = view.settings() {
            settings.set_enable_page_cache(false);
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
        }
    }

    /// Elsewhere the platform's defaults stand.
    #[cfg(not(target_os = "linux"))]
    pub fn tune(_webview: tauri::webview::PlatformWebview) {}
}

/// Opens the database and runs the window until it is closed.
pub fn run() {
    // A panic leaves a local report in the data directory; the next start offers its folder.
    let crash_dir = voucherdesk::crash::default_dir();
    voucherdesk::crash::install(crash_dir.clone(), voucherdesk::version::version_line(env!("VOUCHERDESK_COMMIT")));
    let path = db_path();
    let state = match AppState::open_for_window(&path) {
        Ok(Opened::Ready(state)) => state.with_crash_reports(crash_dir),
        Ok(Opened::Refused(cannot_open)) => return run_refusal(cannot_open),
        Err(e) => {
            eprintln!("voucherdesk-desktop: {}", e.message);
            std::process::exit(1);
        }
    };
    // SIGUSR2 ends the pauses of the background rounds below (wake).
    wake::wake_on_signal();
    // The PSP sync runs in the background for the app's whole life (jobs::psp_sync).
    state.start_sync(runner::sync_pace());
    // Approved refunds are submitted and followed in the background too (jobs::refund_submission).
    state.start_refunds(runner::refund_pace());
    // The buyer-notification outbox is delivered in the background too (jobs::outbox_delivery).
    state.start_notify(runner::notify_pace());
    // Scheduled backups, when an admin chose their folder (jobs::scheduled_backup).
    state.start_backups(runner::backup_pace());
    let builder = tauri::Builder::default().setup(|app| {
        if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
            window.with_webview(webview::tune)?;
        }
        // Team mode: the copy follows the server; the window hears when it changed (jobs::team_refresh).
        let handle = app.handle().clone();
        app.state::<AppState>().start_team(std::sync::Arc::new(move |change| {
            let _ = handle.emit(TEAM_CHANGED_EVENT, change);
        }));
        Ok(())
    });
    let app = match with_commands(builder, state).build(tauri::generate_context!()) {
        Ok(app) => app,
        Err(e) => {
            eprintln!("voucherdesk-desktop: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            handle.state::<AppState>().stop_sync();
            handle.state::<AppState>().stop_refunds();
            handle.state::<AppState>().stop_notify();
            handle.state::<AppState>().stop_team();
            handle.state::<AppState>().stop_backups();
        }
    });
}

/// A window that only says why the database was refused (a newer VoucherDesk
/// wrote it) and touches nothing, until it is closed.
fn run_refusal(cannot_open: dto::CannotOpen) {
    eprintln!("voucherdesk-desktop: {}", cannot_open.message);
    let builder = tauri::Builder::default().setup(|app| {
        if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
            window.with_webview(webview::tune)?;
        }
        Ok(())
    });
    match refused::with_refusal(builder, cannot_open).build(tauri::generate_context!()) {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            eprintln!("voucherdesk-desktop: {e}");
            std::process::exit(1);
        }
    }
}
