//! `listen`: the HTTP endpoint PSPs post notifications to
//! (`POST /notifications/dlocal`, `POST /notifications/pagoefectivo`).
//!
//! The database work runs on the blocking pool, one request at a time (one
//! SQLite writer); the answer goes out only after the notification and its
//! effect are committed, so a PSP whose request we lost sends it again.
//! When an operator is given, reconciliation runs after changes, debounced
//! ([`ReconcileDebounce`]).
//!
//! Anyone can reach the port, so nothing a stranger sends costs more than a
//! bounded amount: bodies over [`NOTIFICATION_BODY_MAX_BYTES`] are refused
//! before they are read; forged and unsigned requests are filed at most
//! [`REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX`] per minute per source address
//! (the rest are counted, not stored) and open an exception only for an order
//! the ledger has; a client must send its request head within
//! [`HEADER_READ_TIMEOUT_MS`], every route answers within
//! [`REQUEST_TIMEOUT_MS`], and at most [`LISTEN_CONNECTIONS_MAX`] connections
//! are served at once (more are closed on arrival).

use super::{
    InboundNotification, NOTIFICATION_BODY_MAX_BYTES, NotificationSecrets, Psp, Receipt, Verdict, check_signature,
    receive,
};
use crate::observations::{ReconcileDebounce, reconcile_after_observations};
use crate::operators::Operator;
use crate::store::Store;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::Utc;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const LISTEN_PORT_DEFAULT: u16 = 8718;
/// Whole-request limit on every route: reading the body, checking, committing.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// A client must send a whole request head within this, after connecting or
/// after its previous answer (idle and slow clients let go).
pub const HEADER_READ_TIMEOUT_MS: u64 = 5_000;
/// Connections served at once; one more is closed on arrival. Well below the
/// usual limit of 1,024 open files, so the database keeps its descriptors.
pub const LISTEN_CONNECTIONS_MAX: usize = 512;
/// Forged or unsigned requests filed per source address and minute; the rest
/// are answered the same and counted, not stored.
pub const REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX: u32 = 20;
const REFUSAL_WINDOW_MS: u64 = 60_000;
/// Source addresses whose refused requests are tracked at once; a new source
/// beyond this is counted, not stored, until old windows expire.
pub const REFUSAL_SOURCES_TRACKED_MAX: usize = 10_000;
/// After a failed accept (out of file descriptors, say), wait this long.
const ACCEPT_RETRY_MS: u64 = 100;
/// How often the reconciliation debounce is looked at.
const RECONCILE_TICK_MS: u64 = 250;

/// What the server says about each request it handled (for the CLI's log).
#[derive(Debug, Clone)]
pub enum ListenEvent {
    Received {
        psp: Psp,
        status: u16,
        receipt: Receipt,
    },
    Refused {
        psp: Psp,
        status: u16,
        reason: String,
    },
    /// A source's forged or unsigned requests passed the per-minute sample:
    /// this one and the rest of its minute are counted, not stored.
    NotStored {
        psp: Psp,
        source: IpAddr,
        verdict: Verdict,
        reason: String,
    },
    /// How many of a source's refused requests were not stored in its last minute.
    NotStoredCount {
        source: IpAddr,
        count: u64,
    },
    Reconciled {
        open_exceptions: u64,
        newly_opened: u64,
        cleared: u64,
    },
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
            ListenEvent::NotStored { psp, source, verdict, reason } => format!(
                "{now} {psp} 401 {} from {source}: {}; more than {REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX} this minute, \
                 the rest of the minute is counted, not stored",
                verdict.as_str(),
                log_field(reason)
            ),
            ListenEvent::NotStoredCount { source, count } => {
                format!("{now} {count} forged or unsigned request(s) from {source} not stored in its last minute")
            }
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

/// One source's current minute of refused requests.
struct RefusalWindow {
    started: Instant,
    stored: u32,
    counted: u64,
}

/// Whether a refused request is filed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sampling {
    Store,
    /// Not stored; the first of its minute to be only counted.
    CountFirst,
    Count,
}

/// The per-source sample of forged and unsigned requests.
#[derive(Default)]
struct RefusalSampler {
    sources: HashMap<IpAddr, RefusalWindow>,
}

impl RefusalSampler {
    /// Decides for one refused request from `source`; also returns the count
    /// of the source's previous minute when that minute just ended.
    fn admit(&mut self, source: IpAddr, now: Instant) -> (Sampling, Option<u64>) {
        let window = Duration::from_millis(REFUSAL_WINDOW_MS);
        let mut ended = None;
        if let Some(w) = self.sources.get(&source)
            && now.duration_since(w.started) >= window
        {
            ended = Some(w.counted).filter(|c| *c > 0);
            self.sources.remove(&source);
        }
        if !self.sources.contains_key(&source) && self.sources.len() >= REFUSAL_SOURCES_TRACKED_MAX {
            self.sources.retain(|_, w| now.duration_since(w.started) < window);
            if self.sources.len() >= REFUSAL_SOURCES_TRACKED_MAX {
                return (Sampling::Count, ended);
            }
        }
        let w = self.sources.entry(source).or_insert(RefusalWindow { started: now, stored: 0, counted: 0 });
        if w.stored < REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX {
            w.stored += 1;
            return (Sampling::Store, ended);
        }
        w.counted += 1;
        (if w.counted == 1 { Sampling::CountFirst } else { Sampling::Count }, ended)
    }
}

struct ListenState {
    store: Arc<Mutex<Store>>,
    config: ListenConfig,
    debounce: Mutex<ReconcileDebounce>,
    refusals: Mutex<RefusalSampler>,
    counters: Arc<ListenCounters>,
}

/// What `listen` turned away without storing, since it started.
#[derive(Debug, Default)]
pub struct ListenCounters {
    /// Forged or unsigned requests answered but not stored (over the per-source sample).
    pub refused_not_stored: AtomicU64,
    /// Connections closed on arrival (over [`LISTEN_CONNECTIONS_MAX`]).
    pub connections_turned_away: AtomicU64,
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
            post(|s: State<Arc<ListenState>>, c: ConnectInfo<SocketAddr>, h: HeaderMap, b: Body| {
                handle(s, c.0.ip(), Psp::Dlocal, h, b)
            }),
        )
        .route(
            "/notifications/pagoefectivo",
            post(|s: State<Arc<ListenState>>, c: ConnectInfo<SocketAddr>, h: HeaderMap, b: Body| {
                handle(s, c.0.ip(), Psp::PagoEfectivo, h, b)
            }),
        )
        // Refunds: dLocal refund and cash-pickup payout callbacks.
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

/// A refund or payout callback: verified, applied to our refund, answered
/// within [`REQUEST_TIMEOUT_MS`].
async fn handle_refund(
    state: State<Arc<ListenState>>,
    kind: super::RefundCallback,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match tokio::time::timeout(Duration::from_millis(REQUEST_TIMEOUT_MS), refund_callback(state, kind, headers, body))
        .await
    {
        Ok(response) => response,
        Err(_) => answer(503, "timeout", &format!("not handled within {REQUEST_TIMEOUT_MS} ms")),
    }
}

async fn refund_callback(
    State(state): State<Arc<ListenState>>,
    kind: super::RefundCallback,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let psp = Psp::Dlocal;
    if !state.config.secrets.has(psp) {
        return answer(503, "not_configured", "no dLocal secret is configured");
    }
    if declared_too_large(&headers) {
        return answer(413, "too_large", &format!("the body is larger than {NOTIFICATION_BODY_MAX_BYTES} bytes"));
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

/// A declared Content-Length over the limit: refused before a byte of the body is read.
fn declared_too_large(headers: &HeaderMap) -> bool {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    declared.is_some_and(|len| len > NOTIFICATION_BODY_MAX_BYTES as u64)
}

fn answer(status: u16, verdict: &str, detail: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::json!({"verdict": verdict, "detail": detail}).to_string();
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(
    State(state): State<Arc<ListenState>>,
    source: IpAddr,
    psp: Psp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let work = async {
        if !state.config.secrets.has(psp) {
            return Err((503, "not_configured", format!("no {} secret is configured", psp.label())));
        }
        let too_large = || (413, "too_large", format!("the body is larger than {NOTIFICATION_BODY_MAX_BYTES} bytes"));
        if declared_too_large(&headers) {
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
        // A stranger's requests are sampled before anything is written.
        let refusal = check_signature(&notification, &state.config.secrets).ok().and_then(|c| c.refusal());
        if let Some((verdict, reason)) = refusal {
            let (sampling, ended) =
                state.refusals.lock().unwrap_or_else(|p| p.into_inner()).admit(source, Instant::now());
            if let Some(count) = ended {
                state.emit(ListenEvent::NotStoredCount { source, count });
            }
            match sampling {
                Sampling::Store => {}
                Sampling::CountFirst | Sampling::Count => {
                    state.counters.refused_not_stored.fetch_add(1, Ordering::Relaxed);
                    if sampling == Sampling::CountFirst {
                        state.emit(ListenEvent::NotStored { psp, source, verdict, reason: reason.clone() });
                    }
                    return Ok(Handled::NotStored(verdict, reason));
                }
            }
        }
        let store = state.store.clone();
        let (secrets, stale_after_s) = (state.config.secrets.clone(), state.config.stale_after_s);
        let received = tokio::task::spawn_blocking(move || {
            let mut store = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // Team mode: one team write; the PSP hears 5xx (and resends) if the team did not take it.
            store.write(|s| receive(s, &notification, &secrets, stale_after_s))
        })
        .await;
        match received {
            Ok(Ok(receipt)) => Ok(Handled::Filed(receipt)),
            // Not committed: a 5xx makes the PSP send it again.
            Ok(Err(e)) => Err((500, "error", format!("{}: {e}", e.code()))),
            Err(e) => Err((500, "error", format!("the worker stopped: {e}"))),
        }
    };
    match tokio::time::timeout(Duration::from_millis(REQUEST_TIMEOUT_MS), work).await {
        Ok(Ok(Handled::NotStored(verdict, reason))) => answer(verdict.http_status(), verdict.as_str(), &reason),
        Ok(Ok(Handled::Filed(receipt))) => {
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

/// What became of a request that got as far as its signature.
enum Handled {
    Filed(Receipt),
    /// Refused and over its source's sample: answered, counted, not stored.
    NotStored(Verdict, String),
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

/// Serves on `listener` until `shutdown` completes; then stops accepting,
/// lets the requests in flight finish, and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Store,
    config: ListenConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_counted(listener, store, config, shutdown, Arc::default()).await
}

async fn serve_counted(
    listener: tokio::net::TcpListener,
    store: Store,
    config: ListenConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    counters: Arc<ListenCounters>,
) -> std::io::Result<()> {
    let reconcile_as = config.reconcile_as.clone();
    let state = Arc::new(ListenState {
        store: Arc::new(Mutex::new(store)),
        config,
        debounce: Mutex::new(ReconcileDebounce::default()),
        refusals: Mutex::new(RefusalSampler::default()),
        counters: counters.clone(),
    });
    let reconciler = reconcile_as.map(|operator| tokio::spawn(reconcile_loop(state.clone(), operator)));
    let app = router(state);
    let permits = Arc::new(tokio::sync::Semaphore::new(LISTEN_CONNECTIONS_MAX));
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(ACCEPT_RETRY_MS)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        while connections.try_join_next().is_some() {}
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            counters.connections_turned_away.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        connections.spawn(serve_connection(stream, peer, app.clone(), stopping.clone(), permit));
    }
    let _ = stop.send(true);
    while connections.join_next().await.is_some() {}
    if let Some(task) = reconciler {
        task.abort();
    }
    Ok(())
}

/// One connection: HTTP/1.1 with the header-read time-out, the peer's
/// address given to the routes, closed gracefully when the server stops.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { tower::Service::call(&mut app, request.map(Body::new)).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(Duration::from_millis(HEADER_READ_TIMEOUT_MS));
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        _ = stopping.changed() => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// A listener on an address of the caller's choice (port 0: any free port),
/// for tests and embedding. Stops when dropped.
pub struct RunningListener {
    pub addr: SocketAddr,
    /// What it turned away without storing.
    pub counters: Arc<ListenCounters>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningListener {
    pub async fn start(addr: SocketAddr, store: Store, config: ListenConfig) -> std::io::Result<RunningListener> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(ListenCounters::default());
        let task = tokio::spawn(serve_counted(listener, store, config, std::future::pending(), counters.clone()));
        Ok(RunningListener { addr, counters, task })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_sample_stored_per_minute_and_the_rest_counted() {
        let mut sampler = RefusalSampler::default();
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..REFUSED_STORED_PER_MINUTE_PER_SOURCE_MAX {
            assert_eq!(sampler.admit(a, t0), (Sampling::Store, None));
        }
        assert_eq!(sampler.admit(a, t0), (Sampling::CountFirst, None));
        assert_eq!(sampler.admit(a, t0 + Duration::from_millis(59_999)), (Sampling::Count, None));
        // Another source has its own sample.
        assert_eq!(sampler.admit(b, t0), (Sampling::Store, None));
        // A new minute: stored again, and the last minute's count reported once.
        let later = t0 + Duration::from_millis(REFUSAL_WINDOW_MS);
        assert_eq!(sampler.admit(a, later), (Sampling::Store, Some(2)));
        assert_eq!(sampler.admit(a, later), (Sampling::Store, None));
    }

    #[test]
    fn log_fields_escape_what_could_forge_a_line_and_are_cut() {
        assert_eq!(
            log_field("S-1\n\r\t\u{1b}[31m\\\u{202e}\u{2028}ok"),
            "S-1\\n\\r\\t\\u{1b}[31m\\\\\\u{202e}\\u{2028}ok"
        );
        assert_eq!(log_field("Núñez"), "Núñez");
        let long = "a".repeat(LOG_FIELD_CHARS_MAX + 5);
        assert_eq!(log_field(&long), format!("{}…", "a".repeat(LOG_FIELD_CHARS_MAX)));
        assert_eq!(log_field(&"a".repeat(LOG_FIELD_CHARS_MAX)), "a".repeat(LOG_FIELD_CHARS_MAX));
    }
}
