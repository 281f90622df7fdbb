//! What every IPC test needs: the app's commands on Tauri's mock runtime with
//! one window, and a call through the real IPC layer (as the webview makes it).

use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, WebviewWindow, WebviewWindowBuilder};
use voucherdesk_desktop::picked_files::{FileUse, PickedFiles};
use voucherdesk_desktop::state::AppState;

pub struct MockApp {
    app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
    /// The shell's memory of chosen files: the tests answer the dialogs here.
    files: Arc<PickedFiles>,
}

impl MockApp {
    pub fn new(state: AppState) -> MockApp {
        let files = state.picked_files();
        let app = voucherdesk_desktop::with_commands(mock_builder(), state).build(mock_context(noop_assets())).unwrap();
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        MockApp { app, window, files }
    }

    /// The window of an app that refused its database (refused.rs).
    #[allow(dead_code)] // not every test file starts refused
    pub fn refusing(cannot_open: voucherdesk_desktop::dto::CannotOpen) -> MockApp {
        let app = voucherdesk_desktop::refused::with_refusal(mock_builder(), cannot_open)
            .build(mock_context(noop_assets()))
            .unwrap();
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        MockApp { app, window, files: Arc::new(PickedFiles::default()) }
    }

    /// The payloads of `event` the app emits from now on, in order.
    #[allow(dead_code)] // not every test file waits for an event
    pub fn events(&self, event: &str) -> std::sync::mpsc::Receiver<String> {
        let (sender, receiver) = std::sync::mpsc::channel();
        self.app.listen_any(event, move |e| {
            let _ = sender.send(e.payload().to_string());
        });
        receiver
    }

    /// The token of a file the operator chose to open (as `pick_import_files` answers).
    /// Chosen after signing in: a new session forgets earlier choices.
    #[allow(dead_code)] // not every test file imports
    pub fn chosen(&self, path: impl Into<PathBuf>) -> String {
        self.files.remember(path.into(), FileUse::Read)
    }

    /// The token of a file chosen for `usage` (as the dialogs answer).
    #[allow(dead_code)] // not every test file saves
    pub fn chosen_for(&self, path: impl Into<PathBuf>, usage: FileUse) -> String {
        self.files.remember(path.into(), usage)
    }

    /// Invokes `cmd`: the command's answer, or its `{code, message}` error.
    pub fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.window, request).map(|b| b.deserialize::<Value>().unwrap())
    }
}

/// The answer of a call that must succeed.
pub fn ok(answer: Result<Value, Value>, cmd: &str) -> Value {
    answer.unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
}

/// The error of a call that must fail.
pub fn err(answer: Result<Value, Value>, cmd: &str) -> Value {
    match answer {
        Ok(v) => panic!("{cmd} should have failed, returned {v}"),
        Err(e) => e,
    }
}
