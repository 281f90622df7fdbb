//! What every IPC test needs: the app's commands on Tauri's mock runtime with
//! one window, and a call through the real IPC layer (as the webview makes it).

use serde_json::Value;
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use voucherdesk_desktop::state::AppState;

pub struct MockApp {
    _app: App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

impl MockApp {
    pub fn new(state: AppState) -> MockApp {
        let app = voucherdesk_desktop::with_commands(mock_builder(), state).build(mock_context(noop_assets())).unwrap();
        let window = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        MockApp { _app: app, window }
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
