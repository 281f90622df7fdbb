//! `listen`: the HTTP endpoint PSPs post notifications to
//! (`POST /notifications/dlocal`, `POST /notifications/pagoefectivo`).
//!
//! The database work runs on the blocking pool, one request at a time (one
//! SQLite writer); the answer goes out only after the notification and its
//! effect are committed, so a PSP whose request we lost sends it again.
//! When an operator is given, reconciliation runs after changes, debounced
//! ([`ReconcileDebounce`]).

use super::{InboundNotification, NOTIFICATION_BODY_MAX_BYTES, NotificationSecrets, Psp, Receipt, receive};
use crate::observations::{ReconcileDebounce, reconcile_after_observations};
use crate::operators::Operator;
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LISTEN_PORT_DEFAULT: u16 = 8718;
/// Whole-request limit: reading the body, checking, committing.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// How often the reconciliation debounce is looked at.
const RECONCILE_TICK_MS: u64 = 250;

/// What the server says about each request it handled (for the CLI's log).
#[derive(Debug, Clone)]
pub enum ListenEvent {
    Received { psp: Psp, status: u16, receipt: Receipt },
    Refused { psp: Psp, status: u16, reason: String },
    Reconciled { open_exceptions: u64, newly_opened: u64, cleared: u64 },
    ReconcileFailed(String),
}

pub type EventSink = Arc<dyn Fn(&ListenEvent) + Send + Sync>;

/// Longest text from a request (ids, details, reasons) a log line prints per field.
pub const LOG_FIELD_CHARS_MAX: usize = 200;

/// Characters that would end the line, move the cursor, recolour the
/// terminal or reorder what the reader sees.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Text that came in a request, as one log line may print it: backslashes,
/// control characters (newlines, ANSI escapes), bidi overrides and line
/// separators escaped (`\n`, `\u{1b}`), and at most [`LOG_FIELD_CHARS_MAX`]
/// characters kept.
pub fn log_field(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(LOG_FIELD_CHARS_MAX * 2));
    for (shown, c) in text.chars().enumerate() {
        if shown == LOG_FIELD_CHARS_MAX {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out
}

impl ListenEvent {
    /// The line `listen` prints for the event; every field that came from
    /// the request goes through [`log_field`], so a body cannot forge lines.
    pub fn log_line(&self, now: chrono::DateTime<Utc>) -> String {
        let now = now.format("%Y-%m-%dT%H:%M:%SZ");
        match self {
            ListenEvent::Received { psp, status, receipt } => format!(
                "{now} {psp} {status} {}{} order {} payment {}: {}",
                receipt.verdict.as_str(),
                receipt.outcome.map(|o| format!(" ({})", o.as_str())).unwrap_or_default(),
                log_field(&receipt.claims.order_id),
                log_field(&receipt.claims.payment_id),
                log_field(&receipt.detail)
            ),
            ListenEvent::Refused { psp, status, reason } => format!("{now} {psp} {status}: {}", log_field(reason)),
            ListenEvent::Reconciled { open_exceptions, newly_opened, cleared } => format!(
                "{now} reconciled: {newly_opened} new or reopened, {cleared} cleared; {open_exceptions} open exceptions"
            ),
            ListenEvent::ReconcileFailed(reason) => format!("{now} reconciliation failed: {}", log_field(reason)),
        }
    }
}

#[derive(Clone)]
pub struct ListenConfig {
    pub secrets: NotificationSecrets,
    pub stale_after_s: i64,
    /// Reconcile after changes as this operator (needs the reconcile permission).
    pub reconcile_as: Option<Operator>,
    pub on_event: Option<EventSink>,
}

struct ListenState {
    store: Arc<Mutex<Store>>,
    config: ListenConfig,
    debounce: Mutex<ReconcileDebounce>,
}

impl ListenState {
    fn emit(&self, event: ListenEvent) {
        if let Some(sink) = &self.config.on_event {
            sink(&event);
        }
    }
}

/// The routes, over one store.
fn router(state: Arc<ListenState>) -> Router {
    Router::new()
        .route(
            "/notifications/dlocal",
            post(|s: State<Arc<ListenState>>, h: HeaderMap, b: Body| handle(s, Psp::Dlocal, h, b)),
        )
        .route(
            "/notifications/pagoefectivo",
            post(|s: State<Arc<ListenState>>, h: HeaderMap, b: Body| handle(s, Psp::PagoEfectivo, h, b)),
        )
        // Refunds (issue 5): dLocal refund and cash-pickup payout callbacks.
        .route(
            "/notifications/dlocal/refunds",
            post(|s: State<Arc<ListenState>>, h: HeaderMap, b: Body| {
                handle_refund(s, super::RefundCallback::Refund, h, b)
            }),
        )
        .route(
            "/notifications/dlocal/payouts",
            post(|s: State<Arc<ListenState>>, h: HeaderMap, b: Body| {
                handle_refund(s, super::RefundCallback::Payout, h, b)
            }),
        )
        .with_state(state)
}

/// A refund or payout callback: verified, applied to our refund, answered.
async fn handle_refund(
    State(state): State<Arc<ListenState>>,
    kind: super::RefundCallback,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let psp = Psp::Dlocal;
    if !state.config.secrets.has(psp) {
        return answer(503, "not_configured", "no dLocal secret is configured");
    }
    let Ok(body) = axum::body::to_bytes(body, NOTIFICATION_BODY_MAX_BYTES).await else {
        return answer(413, "too_large", &format!("the body is larger than {NOTIFICATION_BODY_MAX_BYTES} bytes"));
    };
    let notification = InboundNotification {
        psp,
        headers: headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
        received_at: Utc::now(),
    };
    let store = state.store.clone();
    let (secrets, stale_after_s) = (state.config.secrets.clone(), state.config.stale_after_s);
    let received = tokio::task::spawn_blocking(move || {
        let mut store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        store.write(|s| super::receive_refund_callback(s, &notification, &secrets, stale_after_s, kind))
    })
    .await;
    match received {
        Ok(Ok(receipt)) => answer(receipt.verdict.http_status(), receipt.verdict.as_str(), &receipt.detail),
        // Not committed: a 5xx makes the PSP send it again.
        Ok(Err(_)) | Err(_) => answer(500, "error", "the notification was not recorded; send it again"),
    }
}

fn answer(status: u16, verdict: &str, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"verdict": verdict, "detail": detail}).to_string();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(State(state): State<Arc<ListenState>>, psp: Psp, headers: HeaderMap, body: Body) -> Response {
    let work = async {
        if !state.config.secrets.has(psp) {
            return Err((503, "not_configured", format!("no {} secret is configured", psp.label())));
        }
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let too_large = || (413, "too_large", format!("the body is larger than {NOTIFICATION_BODY_MAX_BYTES} bytes"));
        if declared.is_some_and(|len| len > NOTIFICATION_BODY_MAX_BYTES as u64) {
            return Err(too_large());
        }
        let body = axum::body::to_bytes(body, NOTIFICATION_BODY_MAX_BYTES).await.map_err(|_| too_large())?;
        let notification = InboundNotification {
            psp,
            headers: headers
                .iter()
                .filter_map(|(name, value)| Some((name.as_str().to_string(), value.to_str().ok()?.to_string())))
                .collect(),
            body: body.to_vec(),
            received_at: Utc::now(),
        };
        let store = state.store.clone();
        let (secrets, stale_after_s) = (state.config.secrets.clone(), state.config.stale_after_s);
        let received = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Team mode: one team write; the PSP hears 5xx (and resends) if the team did not take it.
            store.write(|s| receive(s, &notification, &secrets, stale_after_s))
        })
        .await;
        match received {
            Ok(Ok(receipt)) => Ok(receipt),
            // Not committed: a 5xx makes the PSP send it again.
            Ok(Err(e)) => Err((500, "error", format!("{}: {e}", e.code()))),
            Err(e) => Err((500, "error", format!("the worker stopped: {e}"))),
        }
    };
    match tokio::time::timeout(Duration::from_millis(REQUEST_TIMEOUT_MS), work).await {
        Ok(Ok(receipt)) => {
            let status = receipt.http_status();
            if receipt.outcome.is_some_and(|o| o.changed_ledger()) {
                state.debounce.lock().unwrap_or_else(|p| p.into_inner()).note_change(Instant::now());
            }
            let response = answer(status, receipt.verdict.as_str(), &receipt.detail);
            state.emit(ListenEvent::Received { psp, status, receipt });
            response
        }
        Ok(Err((status, verdict, reason))) => {
            // Internal errors are logged here, not told to the sender.
            let shown =
                if status >= 500 { "the notification was not recorded; send it again" } else { reason.as_str() };
            let response = answer(status, verdict, shown);
            state.emit(ListenEvent::Refused { psp, status, reason });
            response
        }
        Err(_) => {
            let reason = format!("not handled within {REQUEST_TIMEOUT_MS} ms");
            let response = answer(503, "timeout", &reason);
            state.emit(ListenEvent::Refused { psp, status: 503, reason });
            response
        }
    }
}

/// Runs reconciliation when the debounce says so, until the task is dropped.
async fn reconcile_loop(state: Arc<ListenState>, operator: Operator) {
    let mut tick = tokio::time::interval(Duration::from_millis(RECONCILE_TICK_MS));
    loop {
        tick.tick().await;
        let due = state.debounce.lock().unwrap_or_else(|p| p.into_inner()).take_due(Instant::now());
        if !due {
            continue;
        }
        let store = state.store.clone();
        let operator = operator.clone();
        let done = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            store.write(|s| reconcile_after_observations(s, &operator))
        })
        .await;
        state.emit(match done {
            Ok(Ok(summary)) => ListenEvent::Reconciled {
                open_exceptions: summary.open_exceptions,
                newly_opened: summary.newly_opened,
                cleared: summary.cleared,
            },
            Ok(Err(e)) => ListenEvent::ReconcileFailed(format!("{}: {e}", e.code())),
            Err(e) => ListenEvent::ReconcileFailed(e.to_string()),
        });
    }
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    config: ListenConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let reconcile_as = config.reconcile_as.clone();
    let state = Arc::new(ListenState {
        store: Arc::new(Mutex::new(store)),
        config,
        debounce: Mutex::new(ReconcileDebounce::default()),
    });
    let reconciler = reconcile_as.map(|operator| tokio::spawn(reconcile_loop(state.clone(), operator)));
    let served = axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await;
    if let Some(task) = reconciler {
        task.abort();
    }
    served
}

/// A listener on an address of the caller's choice (port 0: any free port),
/// for tests and embedding. Stops when dropped.
pub struct RunningListener {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningListener {
    pub async fn start(addr: SocketAddr, store: Store, config: ListenConfig) -> std::io::Result<RunningListener> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, store, config, std::future::pending()));
        Ok(RunningListener { addr, task })
    }

    pub fn url(&self, psp: Psp) -> String {
        format!("http://{}/notifications/{}", self.addr, psp.as_str())
    }
}

impl Drop for RunningListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
