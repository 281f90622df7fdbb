//! A local PSP: one HTTP server that speaks dLocal's Payins API and
//! PagoEfectivo's CIP API on their real paths (they do not overlap), checks
//! the signatures and tokens it receives as the PSPs do, and posts signed
//! notifications. Behaviour is scripted by a [`Scenario`].
//!
//! Everything lives in memory: a restart is a fresh PSP.
//!
//! A crate of its own so the core ships no test or demo server: it speaks the
//! core's PSP wire types and signatures (`voucherdesk::psp`), and only the
//! CLI's `sandbox` and `demo` commands and the tests depend on it.

pub mod dlocal;
pub mod faults;
pub mod notifier;
pub mod pagoefectivo;
pub mod preload;
pub mod scenario;

use std::net::SocketAddr;
use std::sync::Arc;

pub use scenario::{Scenario, ScenarioError};

pub const DEFAULT_PORT: u16 = 8717;

/// Documented defaults (docs/SANDBOX.md): any client that signs with these talks to the sandbox.
pub const DEFAULT_DLOCAL_LOGIN: &str = "sbx-login";
pub const DEFAULT_DLOCAL_TRANS_KEY: &str = "sbx-trans-key";
pub const DEFAULT_DLOCAL_SECRET: &str = "sbx-secret";
pub const DEFAULT_PE_SERVICE_ID: &str = "1234";
pub const DEFAULT_PE_ACCESS_KEY: &str = "sbx-pe-access";
pub const DEFAULT_PE_SECRET: &str = "sbx-pe-secret";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlocalAccount {
    pub login: String,
    pub trans_key: String,
    pub secret: String,
}

impl Default for DlocalAccount {
    fn default() -> Self {
        Self {
            login: DEFAULT_DLOCAL_LOGIN.into(),
            trans_key: DEFAULT_DLOCAL_TRANS_KEY.into(),
            secret: DEFAULT_DLOCAL_SECRET.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeAccount {
    pub service_id: String,
    pub access_key: String,
    pub secret: String,
}

impl Default for PeAccount {
    fn default() -> Self {
        Self {
            service_id: DEFAULT_PE_SERVICE_ID.into(),
            access_key: DEFAULT_PE_ACCESS_KEY.into(),
            secret: DEFAULT_PE_SECRET.into(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    pub dlocal: DlocalAccount,
    pub pagoefectivo: PeAccount,
    /// Where notifications go when a request names none (PagoEfectivo's
    /// callback URL is configured per service, not per CIP).
    pub notification_url: Option<String>,
    pub scenario: Scenario,
    /// Payments known from the start (the demo's pending vouchers).
    pub preload: preload::Preload,
}

/// The server's routes: both PSPs, behind the scenario's faults.
pub fn router(config: SandboxConfig) -> axum::Router {
    let config = Arc::new(config);
    let notifier = notifier::Notifier::new();
    // Refunds: the sandbox's own control routes sit outside the faults.
    let (dlocal_routes, dlocal_control) = dlocal::routers(config.clone(), notifier.clone());
    let routes = axum::Router::new().merge(dlocal_routes).merge(pagoefectivo::router(config.clone(), notifier));
    faults::apply(routes, config.scenario.faults.clone()).merge(dlocal_control)
}

/// Serves until the listener fails (the CLI) or the task is dropped (tests).
pub async fn serve(listener: tokio::net::TcpListener, config: SandboxConfig) -> std::io::Result<()> {
    axum::serve(listener, router(config)).await
}

/// The CLI's sandbox: its own tokio runtime, a loopback listener on `port`
/// (0: any free one), `announce` told the address once it listens, then
/// serving until Ctrl-C or SIGTERM.
pub fn run_until_stopped(port: u16, config: SandboxConfig, announce: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        announce(listener.local_addr()?);
        axum::serve(listener, router(config)).with_graceful_shutdown(stop_signal()).await
    })
}

async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {},
            _ = terminate.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// A sandbox on an ephemeral loopback port, for tests and the demo.
pub struct RunningSandbox {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningSandbox {
    pub async fn start(config: SandboxConfig) -> std::io::Result<RunningSandbox> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(serve(listener, config));
        Ok(RunningSandbox { addr, task })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        self.task.abort();
    }
}
