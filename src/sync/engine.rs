//! The sync engine: rounds over the due items of the queue, one worker per
//! PSP, each within its PSP's rate limit.
//!
//! The store is synchronous: every database step runs in `spawn_blocking`
//! with the round's one connection, locked only inside that step, never
//! across an await.

use super::rate_limit::TokenBucket;
use super::schedule;
use super::{
    Applied, ERROR_MESSAGE_BYTES_MAX, RAW_TEXT_BYTES_MAX, RemoteObservation, SourceError, StatusSource, SyncError,
    SyncTarget, truncated,
};
use crate::audit::audit_entry;
use crate::market::Country;
use crate::operators::{Operator, Permission};
use crate::reconcile::{ReconcileOptions, reconcile};
use crate::store::{Store, StoreError, SyncItem};
use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinSet;

mod chargebacks;

/// Due items read from the queue at a time, per PSP.
pub const DEQUEUE_BATCH_ITEMS: u32 = 200;
/// Requests one PSP has in flight at once (the rate limit still applies).
pub const IN_FLIGHT_PER_PSP_MAX: usize = 4;
/// A poll with no answer after this is a retryable time-out. Above the HTTP
/// client's own limit (`psp::http::REQUEST_TIMEOUT_MS`), so the client's
/// more precise error is normally the one seen.
pub const FETCH_TIMEOUT_MS: u64 = 30_000;
/// Tokens a PSP's bucket holds: one, so requests are evenly spaced and no
/// one-second window ever holds more than the PSP's rate.
pub const RATE_BURST_REQUESTS: u32 = 1;
/// Pause between rounds of `run`.
pub const SYNC_TICK_MS: u64 = 30_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    pub batch_items_max: u32,
    pub in_flight_per_psp_max: usize,
    pub fetch_timeout: Duration,
    pub tick: Duration,
    /// Seeds the back-off jitter (tests); `None`: from the OS.
    pub jitter_seed: Option<u64>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            batch_items_max: DEQUEUE_BATCH_ITEMS,
            in_flight_per_psp_max: IN_FLIGHT_PER_PSP_MAX,
            fetch_timeout: Duration::from_millis(FETCH_TIMEOUT_MS),
            tick: Duration::from_millis(SYNC_TICK_MS),
            jitter_seed: None,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The sync is paused: nothing was done.
    pub paused: bool,
    /// Payments newly put in the queue.
    pub queued_new: u64,
    /// Requests sent to PSPs.
    pub polled: u64,
    /// Polls that moved a payment's status.
    pub changed: u64,
    /// Polls that failed (time-out, 5xx, refused, unknown status...).
    pub errors: u64,
    /// Polls answered "too many requests" (the PSP is then left alone).
    pub rate_limited: u64,
    /// Due items left for later because their PSP asked us to wait.
    pub deferred: u64,
    /// Due items of PSPs with no configured account.
    pub no_source: u64,
    /// Items dropped without polling: their payment became final meanwhile.
    pub retired: u64,
    /// Polls whose item another runner handled first (their answer was dropped).
    pub superseded: u64,
    /// Chargebacks read again at their PSP.
    pub chargebacks_read: u64,
    /// Of those, the ones whose new status was recorded.
    pub chargebacks_changed: u64,
    /// Reconciliation ran after the round's changes.
    pub reconciled: bool,
    /// Team mode: another desktop holds the PSP sync lease, so this round did nothing.
    pub running_on: Option<String>,
}

/// The outcome of a poll on demand ("refresh from PSP").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Refreshed {
    pub psp: String,
    pub payment_id: String,
    pub before: crate::payments::PaymentStatus,
    pub after: crate::payments::PaymentStatus,
    pub psp_status: String,
    /// The PSP said something new (a history row was added).
    pub recorded: bool,
    /// Reconciliation ran (the status changed and the operator may reconcile;
    /// otherwise the next sync round does it).
    pub reconciled: bool,
}

pub struct SyncEngine {
    config: SyncConfig,
    operator: Operator,
    rng: Arc<Mutex<ChaCha8Rng>>,
    /// Per PSP: the last chargeback id read, so that under the per-round
    /// bound every round goes on where the previous one stopped.
    chargeback_cursor: Arc<Mutex<HashMap<String, String>>>,
}

/// What one poll came to.
enum Outcome {
    Changed,
    Unchanged,
    Failed,
    RateLimited,
    Superseded,
    /// Not sent: the round was stopped or the PSP put on hold meanwhile.
    NotSent,
}

/// Everything a round's tasks share.
struct Round {
    store: Mutex<Store>,
    operator: Operator,
    now: DateTime<Utc>,
    config: SyncConfig,
    rng: Arc<Mutex<ChaCha8Rng>>,
    stop: Option<watch::Receiver<bool>>,
    holds: Mutex<HashMap<String, DateTime<Utc>>>,
    report: Mutex<SyncReport>,
}

/// A lock that survives a panic in another holder: the store rolls back an
/// unfinished transaction on drop, so its state is sound.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Round {
    fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|rx| *rx.borrow())
    }

    fn held(&self, psp: &str) -> bool {
        lock(&self.holds).get(psp).is_some_and(|until| *until > self.now)
    }

    fn count(&self, f: impl FnOnce(&mut SyncReport)) {
        f(&mut lock(&self.report));
    }

    fn jitter(&self) -> i32 {
        schedule::jitter_permille(&mut *lock(&self.rng))
    }
}

/// Runs a database step on the blocking pool with the round's connection.
async fn with_store<T: Send + 'static>(
    round: &Arc<Round>,
    step: impl FnOnce(&mut Store) -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    let round = round.clone();
    // Team mode: each step is one team write (store/team_link.rs); locally it just runs.
    tokio::task::spawn_blocking(move || lock(&round.store).write(step))
        .await
        .map_err(|e| SyncError::Internal(format!("a database step failed: {e}")))?
}

/// Opens the ledger a round works on: a local file, or a team copy reconnected
/// to its team (its password from the OS keyring or the environment).
fn open_store(path: &Path) -> Result<Store, SyncError> {
    let me = crate::team::desktop_name(&crate::team::this_host(), "sync");
    crate::team::open_workspace(path, &crate::credentials::OsKeyring::new(), &me).map_err(|e| match e {
        crate::team::TeamError::Local(e) => SyncError::Store(e),
        crate::team::TeamError::Team(e) => SyncError::Store(e.into()),
        crate::team::TeamError::Keyring(e) => SyncError::Internal(e),
    })
}

/// Aborts a spawned fetch when its poll is dropped (round stopped).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Asks a source, within the time-out; a panicking client is a failed poll,
/// not a crashed engine.
async fn fetch_guarded(
    source: Arc<dyn StatusSource>,
    target: SyncTarget,
    timeout: Duration,
) -> Result<RemoteObservation, SourceError> {
    let mut task = AbortOnDrop(tokio::spawn(async move { source.fetch(&target).await }));
    match tokio::time::timeout(timeout, &mut task.0).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err(SourceError {
            retryable: true,
            retry_after: None,
            code: "sync.source_failed",
            message: "the PSP client stopped unexpectedly".into(),
        }),
        Err(_) => Err(SourceError {
            retryable: true,
            retry_after: None,
            code: "sync.timeout",
            message: format!("no answer within {} ms", timeout.as_millis()),
        }),
    }
}

fn reconcile_after_sync(store: &mut Store, operator: &Operator, now: DateTime<Utc>) -> Result<(), SyncError> {
    // Bogotá and Lima share one calendar day (UTC−5), as in `ReconcileOptions::today`.
    let options = ReconcileOptions::load(store, Some(Country::Colombia.business_date(now)))?;
    reconcile(store, &options, operator)?;
    store.sync_reconciled()?;
    Ok(())
}

fn payment_subject(target: &SyncTarget) -> String {
    format!("payment {}:{}", target.psp, target.payment_id)
}

/// Writes a successful poll: observation, new schedule, counters and audit
/// entry in one transaction. `None` when another runner handled the item.
fn commit_observation(
    store: &mut Store,
    target: &SyncTarget,
    due_at: Option<i64>,
    seen: &RemoteObservation,
    now: DateTime<Utc>,
    actor: &str,
    audit: impl FnOnce(&Applied) -> Option<crate::audit::AuditEntry>,
) -> Result<Option<Applied>, StoreError> {
    let tx = store.sync_begin()?;
    if let Some(due_at) = due_at
        && !tx.still_due(target.payment, due_at)?
    {
        return Ok(None);
    }
    let seen =
        RemoteObservation { raw_text: truncated(&seen.raw_text, RAW_TEXT_BYTES_MAX).to_string(), ..seen.clone() };
    let applied = tx.record_api_observation(target, &seen, now, actor)?;
    let next = schedule::next_poll_at(applied.after, target.created_at, target.expires_at, now);
    tx.reschedule_after_success(target, next, now, applied.changed())?;
    if let Some(entry) = audit(&applied) {
        tx.append_audit(&entry)?;
    }
    tx.commit()?;
    notify_if_paid(store, target, &applied, actor);
    Ok(Some(applied))
}

/// A voucher that has just become paid tells its buyer (`payment_received`,
/// once per payment and channel). After the commit and best effort: the
/// payment is recorded whatever happens to the message, and a buyer with no
/// usable contact simply gets none (the case file's log shows what was sent).
fn notify_if_paid(store: &mut Store, target: &SyncTarget, applied: &Applied, actor: &str) {
    let queued = crate::notifications::queue_payment_received(
        store,
        &target.order_id,
        &target.payment_id,
        Some(applied.before),
        Some(applied.after),
        actor,
    );
    if let Some(Err(e)) = queued {
        eprintln!(
            "payment {}:{} is paid; the buyer was not notified: {e} [{}]",
            target.psp,
            target.payment_id,
            e.code()
        );
    }
}

/// One due item: wait for a token, ask, write the outcome.
async fn poll_item(
    round: Arc<Round>,
    source: Arc<dyn StatusSource>,
    limiter: Arc<Mutex<TokenBucket>>,
    item: SyncItem,
) -> Result<Outcome, SyncError> {
    let psp = source.psp();
    // The request goes out right after its token is taken, in this task, so
    // the spacing the bucket enforces is the spacing the PSP sees.
    loop {
        if round.stopped() || round.held(psp) {
            return Ok(Outcome::NotSent);
        }
        let taken = lock(&limiter).try_take(Instant::now());
        match taken {
            Ok(()) => break,
            Err(wait) => tokio::time::sleep(wait).await,
        }
    }
    round.count(|r| r.polled += 1);
    let answer = fetch_guarded(source.clone(), item.target.clone(), round.config.fetch_timeout).await;
    let now = round.now;
    match answer {
        Ok(seen) => {
            let step_round = round.clone();
            let applied = with_store(&round, move |store| {
                let operator = step_round.operator.name.clone();
                let target = &item.target;
                // The observation entry point audits the change (payment.observe).
                Ok(commit_observation(store, target, Some(item.due_at), &seen, now, &operator, |_| None)?)
            })
            .await?;
            Ok(match applied {
                None => Outcome::Superseded,
                Some(a) if a.changed() => Outcome::Changed,
                Some(_) => Outcome::Unchanged,
            })
        }
        Err(error) => {
            let message = truncated(&error.message, ERROR_MESSAGE_BYTES_MAX).to_string();
            let (next, attempts, hold) = match error.retry_after {
                // Rate limited: the item did nothing wrong; the whole PSP waits.
                Some(retry_after) => {
                    let until = schedule::hold_until(now, retry_after);
                    lock(&round.holds).insert(psp.to_string(), until);
                    (until, item.attempts, Some(until))
                }
                None => {
                    let attempts = item.attempts.saturating_add(1);
                    let wait = match error.retryable {
                        true => schedule::backoff_delay(attempts, round.jitter()),
                        false => schedule::permanent_failure_delay(round.jitter()),
                    };
                    (schedule::after(now, wait), attempts, None)
                }
            };
            let code = error.code;
            let superseded = with_store(&round, move |store| {
                let tx = store.sync_begin()?;
                if let Some(until) = hold {
                    tx.hold_psp(psp, until, &message)?;
                }
                if !tx.still_due(item.target.payment, item.due_at)? {
                    tx.commit()?;
                    return Ok(true);
                }
                tx.reschedule_after_error(&item.target, next, now, attempts, code, &message)?;
                tx.commit()?;
                Ok(false)
            })
            .await?;
            Ok(match (superseded, hold) {
                (true, _) => Outcome::Superseded,
                (false, Some(_)) => Outcome::RateLimited,
                (false, None) => Outcome::Failed,
            })
        }
    }
}

fn tally(round: &Round, outcome: Result<Result<Outcome, SyncError>, tokio::task::JoinError>) -> Result<(), SyncError> {
    let outcome = outcome.map_err(|e| SyncError::Internal(format!("a poll stopped: {e}")))??;
    round.count(|r| match outcome {
        Outcome::Changed => r.changed += 1,
        Outcome::Unchanged | Outcome::NotSent => {}
        Outcome::Failed => r.errors += 1,
        Outcome::RateLimited => r.rate_limited += 1,
        Outcome::Superseded => r.superseded += 1,
    });
    Ok(())
}

/// Polls every due item of one PSP, batch by batch, until none is left,
/// the round is stopped or paused, or the PSP asks us to wait.
async fn psp_worker(round: Arc<Round>, source: Arc<dyn StatusSource>) -> Result<(), SyncError> {
    let psp = source.psp();
    let limiter =
        Arc::new(Mutex::new(TokenBucket::new(source.requests_per_second_max(), RATE_BURST_REQUESTS, Instant::now())));
    let mut attempted: HashSet<i64> = HashSet::new();
    let mut in_flight: JoinSet<Result<Outcome, SyncError>> = JoinSet::new();
    let (now, batch_items) = (round.now, round.config.batch_items_max.max(1));
    'batches: loop {
        // Every poll of the previous batch is written before the next is read.
        while let Some(done) = in_flight.join_next().await {
            tally(&round, done)?;
        }
        if round.stopped() || round.held(psp) {
            break;
        }
        let (paused, batch) =
            with_store(&round, move |s| Ok((s.sync_state()?.paused, s.sync_due(psp, now, batch_items)?))).await?;
        if paused {
            break;
        }
        let fresh: Vec<SyncItem> = batch.into_iter().filter(|i| attempted.insert(i.target.payment)).collect();
        if fresh.is_empty() {
            break;
        }
        let (finished, live): (Vec<SyncItem>, Vec<SyncItem>) =
            fresh.into_iter().partition(|i| i.target.status.is_final());
        if !finished.is_empty() {
            let ids: Vec<i64> = finished.iter().map(|i| i.target.payment).collect();
            round.count(|r| r.retired += ids.len() as u64);
            with_store(&round, move |s| Ok(s.sync_retire(&ids)?)).await?;
        }
        for item in live {
            while in_flight.len() >= round.config.in_flight_per_psp_max.max(1) {
                if let Some(done) = in_flight.join_next().await {
                    tally(&round, done)?;
                }
            }
            if round.stopped() || round.held(psp) {
                break 'batches;
            }
            in_flight.spawn(poll_item(round.clone(), source.clone(), limiter.clone(), item));
        }
    }
    while let Some(done) = in_flight.join_next().await {
        tally(&round, done)?;
    }
    if round.held(psp) {
        let left = with_store(&round, move |s| Ok(s.sync_due_count(Some(psp), now)?)).await?;
        round.count(|r| r.deferred += left as u64);
    }
    Ok(())
}

impl SyncEngine {
    /// An engine acting as `operator` (recorded in the audit log and on the
    /// reconciliation it triggers).
    pub fn new(operator: Operator, config: SyncConfig) -> SyncEngine {
        let rng = match config.jitter_seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_entropy(),
        };
        SyncEngine {
            config,
            operator,
            rng: Arc::new(Mutex::new(rng)),
            chargeback_cursor: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Polls everything due at `now` once, then reconciles if a payment
    /// changed. Syncing is an import from the PSPs' APIs: it needs the
    /// import permission (finance, manager, admin).
    pub async fn run_once(
        &self,
        store_path: &Path,
        sources: &[Arc<dyn StatusSource>],
        now: DateTime<Utc>,
    ) -> Result<SyncReport, SyncError> {
        self.round(store_path, sources, now, None).await
    }

    /// [`SyncEngine::run_once`] on a store already open: a team copy attached
    /// to its server (`team::open_workspace`), whose every step then goes
    /// through the team (`Store::write`). The caller holds the PSP sync lease
    /// (the app takes it with `team::claim_round` before the round).
    pub async fn run_once_on(
        &self,
        store: Store,
        sources: &[Arc<dyn StatusSource>],
        now: DateTime<Utc>,
    ) -> Result<SyncReport, SyncError> {
        self.operator.require(Permission::Import)?;
        self.round_on(store, sources, now, None).await
    }

    /// Rounds every `tick` until `stop` turns true (or its sender is gone).
    /// A paused sync keeps ticking and does nothing. `on_round` sees each
    /// round's result; a failed round does not end the loop.
    pub async fn run(
        &self,
        store_path: &Path,
        sources: &[Arc<dyn StatusSource>],
        mut stop: watch::Receiver<bool>,
        mut on_round: impl FnMut(Result<&SyncReport, &SyncError>),
    ) -> Result<(), SyncError> {
        self.operator.require(Permission::Import)?;
        loop {
            if *stop.borrow() {
                return Ok(());
            }
            let result = self.round(store_path, sources, Utc::now(), Some(stop.clone())).await;
            if let Err(SyncError::Forbidden(e)) = result {
                return Err(SyncError::Forbidden(e));
            }
            on_round(result.as_ref());
            tokio::select! {
                _ = tokio::time::sleep(self.config.tick) => {}
                changed = stop.changed() => if changed.is_err() { return Ok(()) },
            }
        }
    }

    async fn round(
        &self,
        store_path: &Path,
        sources: &[Arc<dyn StatusSource>],
        now: DateTime<Utc>,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<SyncReport, SyncError> {
        self.operator.require(Permission::Import)?;
        let path: PathBuf = store_path.to_path_buf();
        let holder = crate::team::desktop_name(&crate::team::this_host(), &self.operator.name);
        let (store, running_on) = tokio::task::spawn_blocking(move || -> Result<_, SyncError> {
            let mut store = open_store(&path)?;
            // Team mode: one desktop syncs at a time (a lease another takes over if this one vanishes).
            let running_on = crate::team::claim_round(&mut store, crate::team::LeaseName::PspSync, &holder)?;
            Ok((store, running_on))
        })
        .await
        .map_err(|e| SyncError::Internal(format!("opening the database failed: {e}")))??;
        if let Some(desktop) = running_on {
            return Ok(SyncReport { running_on: Some(desktop), ..SyncReport::default() });
        }
        self.round_on(store, sources, now, stop).await
    }

    /// A round on a store already open (and, in team mode, holding the PSP sync lease).
    async fn round_on(
        &self,
        store: Store,
        sources: &[Arc<dyn StatusSource>],
        now: DateTime<Utc>,
        stop: Option<watch::Receiver<bool>>,
    ) -> Result<SyncReport, SyncError> {
        let round = Arc::new(Round {
            store: Mutex::new(store),
            operator: self.operator.clone(),
            now,
            config: self.config.clone(),
            rng: self.rng.clone(),
            stop,
            holds: Mutex::new(HashMap::new()),
            report: Mutex::new(SyncReport::default()),
        });
        let result = self.round_in(&round, sources).await;
        let error =
            result.as_ref().err().map(|e| (e.code(), truncated(&e.to_string(), ERROR_MESSAGE_BYTES_MAX).to_string()));
        // Best effort: the round's own error is already being returned.
        let _ =
            with_store(&round, move |s| Ok(s.sync_round_finished(now, error.as_ref().map(|(c, m)| (*c, m.as_str())))?))
                .await;
        result
    }

    async fn round_in(&self, round: &Arc<Round>, sources: &[Arc<dyn StatusSource>]) -> Result<SyncReport, SyncError> {
        let now = round.now;
        let known: Vec<String> = sources.iter().map(|s| s.psp().to_string()).collect();
        let (paused, queued_new, holds, no_source) = with_store(round, move |s| {
            if s.sync_state()?.paused {
                return Ok((true, 0, Vec::new(), 0));
            }
            let queued = s.sync_enqueue_new(now)?;
            let holds = s.sync_holds(now)?;
            let mut no_source = 0;
            for psp in s.sync_due_psps(now)? {
                if !known.contains(&psp) {
                    no_source += s.sync_due_count(Some(&psp), now)?;
                }
            }
            Ok((false, queued, holds, no_source as u64))
        })
        .await?;
        if paused {
            return Ok(SyncReport { paused: true, ..SyncReport::default() });
        }
        round.count(|r| {
            r.queued_new = queued_new;
            r.no_source = no_source;
        });
        lock(&round.holds).extend(holds);
        let mut workers = JoinSet::new();
        let mut seen_psps = HashSet::new();
        for source in sources {
            // One worker per PSP: a second account of the same PSP shares its limit.
            if !seen_psps.insert(source.psp()) {
                continue;
            }
            if round.held(source.psp()) {
                let psp = source.psp();
                let left = with_store(round, move |s| Ok(s.sync_due_count(Some(psp), now)?)).await?;
                round.count(|r| r.deferred += left as u64);
                continue;
            }
            workers.spawn(psp_worker(round.clone(), source.clone()));
        }
        while let Some(done) = workers.join_next().await {
            done.map_err(|e| SyncError::Internal(format!("a PSP worker stopped: {e}")))??;
        }
        let mut followed_psps = HashSet::new();
        for source in sources {
            if followed_psps.insert(source.psp()) {
                self.follow_chargebacks(round, source).await?;
            }
        }
        // Also owed by an earlier round or refresh that stopped before reconciling.
        let operator = self.operator.clone();
        let reconciled = with_store(round, move |s| {
            if !s.sync_state()?.reconcile_needed {
                return Ok(false);
            }
            reconcile_after_sync(s, &operator, now)?;
            Ok(true)
        })
        .await?;
        round.count(|r| r.reconciled = reconciled);
        Ok(lock(&round.report).clone())
    }

    /// "Refresh from PSP" on a case file: polls one payment now (whatever its
    /// status: a paid voucher may since have been refunded), applies the
    /// answer and reschedules it. Any operator may (it records the PSP's own
    /// word, as sync does); audited. Reconciles at once if the status changed
    /// and the operator may reconcile; otherwise the next round does.
    pub async fn refresh_one(
        &self,
        store_path: &Path,
        sources: &[Arc<dyn StatusSource>],
        psp: &str,
        payment_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Refreshed, SyncError> {
        self.operator.require(Permission::Lookup)?;
        let source =
            sources.iter().find(|s| s.psp() == psp).cloned().ok_or_else(|| SyncError::NoSource(psp.to_string()))?;
        let (path, psp_owned, id_owned) = (store_path.to_path_buf(), psp.to_string(), payment_id.to_string());
        let (store, target) = tokio::task::spawn_blocking(move || -> Result<_, SyncError> {
            let store = open_store(&path)?;
            if let Some((_, until)) = store.sync_holds(now)?.into_iter().find(|(p, _)| *p == psp_owned) {
                return Err(SyncError::Held { psp: psp_owned, until });
            }
            let target = store
                .sync_target(&psp_owned, &id_owned)?
                .ok_or(SyncError::UnknownPayment { psp: psp_owned, payment_id: id_owned })?;
            Ok((store, target))
        })
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))??;
        let answer = fetch_guarded(source, target.clone(), self.config.fetch_timeout).await;
        let operator = self.operator.clone();
        tokio::task::spawn_blocking(move || -> Result<Refreshed, SyncError> {
            let mut store = store;
            store.write(|store| apply_refresh(store, &operator, &target, answer, now))
        })
        .await
        .map_err(|e| SyncError::Internal(e.to_string()))?
    }
}

/// The refresh's answer, applied (one team write in team mode).
fn apply_refresh(
    store: &mut Store,
    operator: &Operator,
    target: &SyncTarget,
    answer: Result<RemoteObservation, SourceError>,
    now: DateTime<Utc>,
) -> Result<Refreshed, SyncError> {
    let seen = match answer {
        Ok(seen) => seen,
        Err(error) => {
            if let Some(retry_after) = error.retry_after {
                let tx = store.sync_begin()?;
                tx.hold_psp(&target.psp, schedule::hold_until(now, retry_after), &error.message)?;
                tx.commit()?;
            }
            return Err(SyncError::Source { psp: target.psp.clone(), source: error });
        }
    };
    let subject = payment_subject(target);
    let applied = commit_observation(store, target, None, &seen, now, &operator.name, |a| {
        Some(audit_entry(&operator.name, "sync.refresh", &subject, a.before.as_str(), a.after.as_str()))
    })?
    .ok_or_else(|| SyncError::Internal("refresh was not applied".into()))?;
    let reconciled = applied.changed() && operator.role.allows(Permission::Reconcile);
    if reconciled {
        reconcile_after_sync(store, operator, now)?;
    }
    Ok(Refreshed {
        psp: target.psp.clone(),
        payment_id: target.payment_id.clone(),
        before: applied.before,
        after: applied.after,
        psp_status: seen.psp_status,
        recorded: applied.recorded,
        reconciled,
    })
}
