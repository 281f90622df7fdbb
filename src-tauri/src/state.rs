//! The app's state: the open database and the signed-in operator.
//!
//! Every command that touches the database runs on a blocking worker thread
//! (`spawn_blocking`), never on the main thread that drives the window. The
//! store is one read-write connection behind a mutex, plus a few read-only
//! connections for the commands that only read (the queue's page and counts,
//! case files, the dashboard): SQLite's WAL lets them read while the writer
//! works, so a page never waits behind the counts or an import. The session
//! is checked (and its idle timer refreshed) on each call, and the operator is
//! re-read from the database so that a role change or a disabled account
//! takes effect at once.

use crate::dto;
use crate::dto_team::TeamChanged;
use crate::error::{ApiError, codes};
use crate::picked_files::PickedFiles;
use crate::runner::{self, Runner};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use voucherdesk::credentials::{OsKeyring, SecretVault};
use voucherdesk::jobs::outbox_delivery::{self, DelivererState};
use voucherdesk::jobs::psp_sync::{self, RunnerState};
use voucherdesk::jobs::refund_submission::{self, RefundRunnerState};
use voucherdesk::jobs::scheduled_backup::{self, BackupRound};
use voucherdesk::jobs::team_refresh::{TeamRefresher, TeamRunnerState};
use voucherdesk::jobs::{DesktopNames, SessionProbe};
use voucherdesk::operators::{self, Operator};
use voucherdesk::settings;
use voucherdesk::store::{Store, TeamLinkStatus};
use voucherdesk::team;

/// The signed-in operator's name and when they last did something.
#[derive(Debug, Clone)]
struct Session {
    name: String,
    last_active: Instant,
}

/// Read-only connections beside the writer: the queue asks for its first page
/// and its counts at once, so two let both run side by side.
pub const READER_CONNECTIONS: usize = 2;
/// Page cache of each read-only connection, in KiB (SQLite's default is 2 MiB;
/// the writer keeps the store's 64 MiB for imports).
pub const READER_CACHE_KIB: u32 = 8_192;

pub struct AppState {
    store: Arc<Mutex<Store>>,
    /// Empty for an in-memory store: reads then go to the writer.
    readers: Arc<Vec<Mutex<Store>>>,
    session: Arc<Mutex<Option<Session>>>,
    /// The files the operator chose in a dialog, by token (picked_files).
    files: Arc<PickedFiles>,
    db_path: PathBuf,
    // PSP sync and accounts: where secrets live, and the background sync.
    vault: Arc<dyn SecretVault>,
    sync: Runner<RunnerState>,
    // Refund submission: the background submitter.
    refunds: Runner<RefundRunnerState>,
    // Buyer notifications: the background deliverer of the outbox.
    notify: Runner<DelivererState>,
    // Team mode: how this desktop names itself to the team, and the refresher.
    desktop: DesktopNames,
    team: Runner<TeamRunnerState>,
    // Scheduled backups: the background round that makes them when due.
    backups: Runner<BackupRound>,
    /// Where the crash hook writes its reports; `None` (tests) shows no crash notice.
    crash_dir: Option<PathBuf>,
    /// The background bringing of the search index level after an import.
    search_leveler: Arc<Mutex<Leveler>>,
}

/// Whether the search index is being brought level, and whether another
/// import asked for it meanwhile (the running one then goes round again).
#[derive(Debug, Default)]
struct Leveler {
    running: bool,
    again: bool,
}

/// What the team refresher calls when rows arrived or the server came back or went away.
pub type OnChange = Arc<dyn Fn(TeamChanged) + Send + Sync>;

/// What opening the database at start-up gave: the app's state, or why the
/// window must refuse the file (it was left as it was).
pub enum Opened {
    Ready(AppState),
    Refused(dto::CannotOpen),
}

/// A lock whose holder panicked is still usable: SQLite rolled back whatever
/// the panicking call had not committed.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn idle_limit(store: &Store) -> Duration {
    let minutes = settings::get(store).map(|s| s.idle_lock_minutes).unwrap_or(settings::IDLE_LOCK_MINUTES_DEFAULT);
    Duration::from_secs(u64::from(minutes) * 60)
}

impl AppState {
    /// The app's state with the OS keyring as the secrets' home.
    pub fn new(store: Store) -> AppState {
        AppState::with_vault(store, Arc::new(OsKeyring::new()))
    }

    /// With another vault (tests: `MemoryVault`), and no read-only connections.
    pub fn with_vault(store: Store, vault: Arc<dyn SecretVault>) -> AppState {
        AppState::assemble(store, Vec::new(), vault)
    }

    fn assemble(store: Store, readers: Vec<Store>, vault: Arc<dyn SecretVault>) -> AppState {
        let db_path = store.path().to_path_buf();
        AppState {
            store: Arc::new(Mutex::new(store)),
            readers: Arc::new(readers.into_iter().map(Mutex::new).collect()),
            session: Arc::new(Mutex::new(None)),
            files: Arc::new(PickedFiles::default()),
            db_path,
            vault,
            sync: Runner::new(RunnerState::Starting),
            refunds: Runner::new(RefundRunnerState::Starting),
            notify: Runner::new(DelivererState::Starting),
            desktop: DesktopNames::this_desktop(),
            team: Runner::new(TeamRunnerState::default()),
            backups: Runner::new(BackupRound::Starting),
            crash_dir: None,
            search_leveler: Arc::new(Mutex::new(Leveler::default())),
        }
    }

    /// The state whose status announces the crash reports in `dir`.
    pub fn with_crash_reports(mut self, dir: PathBuf) -> AppState {
        self.crash_dir = Some(dir);
        self
    }

    /// Opens the database (migrating it) and its read-only connections: a
    /// local file, a team copy (reconnected to its team), or a team server
    /// `postgres://…` (see `team::open_workspace`; offline opens read-only).
    pub fn open(path: &Path) -> Result<AppState, ApiError> {
        let vault = OsKeyring::new();
        let store = team::open_workspace(path, &vault, &DesktopNames::this_desktop().application)?;
        AppState::with_readers(store)
    }

    /// Like `open`, but a database written by a newer VoucherDesk is an
    /// answer for the window to show rather than an error.
    pub fn open_for_window(path: &Path) -> Result<Opened, ApiError> {
        let vault = OsKeyring::new();
        match team::open_workspace(path, &vault, &DesktopNames::this_desktop().application) {
            Ok(store) => Ok(Opened::Ready(AppState::with_readers(store)?)),
            Err(team::TeamError::Local(e)) => match dto::CannotOpen::too_new(&e) {
                Some(refusal) => Ok(Opened::Refused(refusal)),
                None => Err(e.into()),
            },
            Err(e) => Err(e.into()),
        }
    }

    fn with_readers(store: Store) -> Result<AppState, ApiError> {
        let mut readers = Vec::with_capacity(READER_CONNECTIONS);
        for _ in 0..READER_CONNECTIONS {
            if let Some(reader) = store.reader()? {
                reader.set_cache_size_kib(READER_CACHE_KIB)?;
                readers.push(reader);
            }
        }
        Ok(AppState::assemble(store, readers, Arc::new(OsKeyring::new())))
    }

    /// Runs `f` on the store off the main thread, with no session needed. In
    /// team mode `f` is one team write (`Store::write`), or runs read-only
    /// while the server is out of reach (a change is then refused as `team.offline`).
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        blocking(move || lock(&store).write_or_read_only(f)).await
    }

    /// In team mode, signs the copy's connection in as `name` with `password`
    /// (`team::sign_in`) before the app's own sign-in runs: the server then
    /// checks what this operator does against their own role. A password the
    /// team refuses is a refused sign-in.
    pub async fn sign_in_to_team(&self, name: String, password: String) -> Result<(), ApiError> {
        let store = Arc::clone(&self.store);
        blocking(move || {
            team::sign_in(&mut lock(&store), &name, &password).map_err(|e| match e.code() {
                "team.denied" => ApiError::from(operators::OperatorError::BadCredentials),
                _ => ApiError::from(e),
            })
        })
        .await
    }

    /// Runs `f` as the signed-in operator: refused with `auth.required` when
    /// nobody is signed in and `auth.locked` once the session has been idle
    /// longer than the `idle_lock_minutes` setting.
    pub async fn as_operator<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Operator) -> Result<T, ApiError> + Send + 'static,
    {
        // One team write per command (see `with_store`).
        self.signed_in_on_writer(move |store, operator| store.write_or_read_only(|s| f(s, operator))).await
    }

    /// Like `as_operator` for work that manages its own team writes (a run
    /// of files: a team copy holds the team's write lock for the whole run
    /// and uploads each file as it goes).
    pub async fn as_operator_in_run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Operator) -> Result<T, ApiError> + Send + 'static,
    {
        self.signed_in_on_writer(f).await
    }

    /// Like `as_operator` for a lookup: on the writer (which may bring a local
    /// file's search index level first) but never as a team write, so a
    /// lookup never waits for another desktop's import; a team copy's pulls
    /// keep its index level.
    pub async fn as_operator_looking_up<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Operator) -> Result<T, ApiError> + Send + 'static,
    {
        self.signed_in_on_writer(f).await
    }

    /// Runs `f` on the writer as the signed-in operator, off the main thread.
    async fn signed_in_on_writer<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store, &Operator) -> Result<T, ApiError> + Send + 'static,
    {
        let (store, session) = (Arc::clone(&self.store), Arc::clone(&self.session));
        blocking(move || {
            let mut store = lock(&store);
            let operator = signed_in(&session, &store)?;
            f(&mut store, &operator)
        })
        .await
    }

    /// Like `as_operator` for work that only reads: on a free read-only
    /// connection (waiting for the first one when all are busy), or on the
    /// writer for an in-memory store.
    pub async fn as_reader<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, &Operator) -> Result<T, ApiError> + Send + 'static,
    {
        if self.readers.is_empty() {
            return self.as_operator(move |s, op| f(s, op)).await;
        }
        let (readers, session) = (Arc::clone(&self.readers), Arc::clone(&self.session));
        blocking(move || {
            let free = readers.iter().find_map(|r| r.try_lock().ok());
            let store = match (free, readers.first()) {
                (Some(store), _) => store,
                (None, Some(first)) => lock(first),
                (None, None) => return Err(ApiError::new(codes::INTERNAL, "no read-only connection")),
            };
            let operator = signed_in(&session, &store)?;
            f(&store, &operator)
        })
        .await
    }

    /// Brings the buyer search index level with the ledger in the
    /// background after an orders import, one short step at a time on the
    /// writer so other commands get in between: the first name search after
    /// a large import then need not index it (a lookup meanwhile finishes the
    /// work itself). `on_level` gets how many orders the round indexed. A
    /// call while a round runs has it go round again; a step that fails
    /// leaves the rest to the next lookup, which catches up as before.
    pub fn level_search_index(&self, on_level: impl Fn(i64) + Send + 'static) {
        {
            let mut leveler = lock(&self.search_leveler);
            if leveler.running {
                leveler.again = true;
                return;
            }
            leveler.running = true;
        }
        let (store, leveler) = (Arc::clone(&self.store), Arc::clone(&self.search_leveler));
        tauri::async_runtime::spawn_blocking(move || {
            loop {
                let mut indexed = 0;
                let level = loop {
                    let step = {
                        let mut store = lock(&store);
                        // A team copy between writes is kept level by its pulls.
                        if !store.can_write() {
                            break false;
                        }
                        store.search_catch_up_step()
                    };
                    match step {
                        Ok(step) => {
                            indexed += step.indexed;
                            if step.level {
                                break true;
                            }
                        }
                        Err(_) => break false,
                    }
                };
                if level {
                    on_level(indexed);
                }
                let mut state = lock(&leveler);
                if !std::mem::take(&mut state.again) {
                    state.running = false;
                    return;
                }
            }
        });
    }

    /// Starts a session for an operator the library has just let in; the
    /// files chosen before it are forgotten.
    pub fn begin_session(&self, operator: &Operator) {
        self.files.clear();
        *lock(&self.session) = Some(Session { name: operator.name.clone(), last_active: Instant::now() });
    }

    /// Ends the session and forgets the files chosen in it.
    pub fn end_session(&self) {
        *lock(&self.session) = None;
        self.files.clear();
    }

    /// The files the operator chose, by token (shared: the window's drop handler holds it too).
    pub fn picked_files(&self) -> Arc<PickedFiles> {
        Arc::clone(&self.files)
    }

    /// What the app opens on.
    pub async fn status(&self) -> Result<dto::AppStatus, ApiError> {
        let (store, session) = (Arc::clone(&self.store), Arc::clone(&self.session));
        let db_path = self.db_path.display().to_string();
        let crash_dir = self.crash_dir.clone();
        blocking(move || {
            let store = lock(&store);
            let settings = settings::get(&store)?;
            let name = lock(&session).as_ref().map(|s| (s.name.clone(), s.last_active));
            let operator = match name {
                Some((name, last_active)) if last_active.elapsed() <= idle_limit(&store) => {
                    operators::act_as(&store, &name).ok().map(dto::Operator::from)
                }
                Some(_) | None => None,
            };
            Ok(dto::AppStatus {
                first_run: store.operator_count()? == 0,
                db_path,
                operator,
                idle_lock_minutes: settings.idle_lock_minutes,
                version: voucherdesk::version::version_line(env!("VOUCHERDESK_COMMIT")),
                // The notice is a courtesy: an unreadable folder must not keep the app from starting.
                crash_reports: crash_dir
                    .and_then(|dir| voucherdesk::crash::unseen(&dir).ok().flatten())
                    .map(dto::CrashReports::from),
                cannot_open: None,
            })
        })
        .await
    }
}

// ------------------------------------------------------------------ crash reports

impl AppState {
    /// Marks the crash reports there now as seen: the notice stays away until the next one.
    pub async fn dismiss_crash_reports(&self) -> Result<(), ApiError> {
        let Some(dir) = self.crash_dir.clone() else { return Ok(()) };
        blocking(move || Ok(voucherdesk::crash::mark_seen(&dir)?)).await
    }

    /// Shows the crash reports' folder in the OS file manager. Only that
    /// folder: the page names no path.
    pub async fn open_crash_folder(&self) -> Result<(), ApiError> {
        let Some(dir) = self.crash_dir.clone() else {
            return Err(ApiError::new(codes::VALIDATION, "this app keeps no crash reports"));
        };
        blocking(move || crate::crash_commands::show_folder(&dir)).await
    }
}

// ------------------------------------------------------------------ PSP sync and accounts

impl AppState {
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    pub fn vault(&self) -> Arc<dyn SecretVault> {
        Arc::clone(&self.vault)
    }

    /// Starts the background sync (`jobs::psp_sync`): a round at each `pace`
    /// as the signed-in operator, while that operator may import.
    pub fn start_sync(&self, pace: runner::Pace) {
        let (db_path, vault, session, names) =
            (self.db_path.clone(), self.vault(), self.session_probe(), self.desktop.clone());
        self.sync.start(pace, move || {
            psp_sync::round(db_path.clone(), Arc::clone(&vault), Arc::clone(&session), names.clone())
        });
    }

    /// Stops the background sync (on exit).
    pub fn stop_sync(&self) {
        self.sync.stop();
    }

    pub fn sync_runner_state(&self) -> RunnerState {
        self.sync.state()
    }
}

// ------------------------------------------------------------------ refund submission

impl AppState {
    /// The session as the background tasks see it: the operator's name while
    /// signed in and not idle (does not count as activity).
    fn session_probe(&self) -> SessionProbe {
        let (store, session) = (Arc::clone(&self.store), Arc::clone(&self.session));
        Arc::new(move || {
            let limit = idle_limit(&lock(&store));
            lock(&session).as_ref().filter(|s| s.last_active.elapsed() <= limit).map(|s| s.name.clone())
        })
    }

    /// Starts the background refund submitter (`jobs::refund_submission`).
    pub fn start_refunds(&self, pace: runner::Pace) {
        let (db_path, vault, session) = (self.db_path.clone(), self.vault(), self.session_probe());
        let application = self.desktop.application.clone();
        self.refunds.start(pace, move || {
            let (path, vault, session, application) =
                (db_path.clone(), Arc::clone(&vault), Arc::clone(&session), application.clone());
            // The session probe, the keyring read and the team's write lock block: off the async threads.
            let round = tauri::async_runtime::spawn_blocking(move || {
                let runtime = tokio::runtime::Handle::current();
                refund_submission::round(&path, &*vault, session(), &application, &runtime)
            });
            async move {
                round
                    .await
                    .unwrap_or_else(|e| RefundRunnerState::Problem { code: "internal".into(), message: e.to_string() })
            }
        });
    }

    pub fn stop_refunds(&self) {
        self.refunds.stop();
    }
}

// ------------------------------------------------------------------ buyer notifications

impl AppState {
    /// Starts the background deliverer of the outbox (`jobs::outbox_delivery`).
    pub fn start_notify(&self, pace: runner::Pace) {
        let (db_path, vault, names) = (self.db_path.clone(), self.vault(), self.desktop.clone());
        self.notify.start(pace, move || {
            let (path, vault, names) = (db_path.clone(), Arc::clone(&vault), names.clone());
            let round = tauri::async_runtime::spawn_blocking(move || outbox_delivery::round(&path, &*vault, &names));
            async move { round.await.unwrap_or_else(|e| outbox_delivery::problem("internal", e.to_string())) }
        });
    }

    /// Stops the background deliverer (on exit).
    pub fn stop_notify(&self) {
        self.notify.stop();
    }

    pub fn notify_state(&self) -> DelivererState {
        self.notify.state()
    }
}

// ------------------------------------------------------------------ scheduled backups

impl AppState {
    /// Starts the background round of scheduled backups (`jobs::scheduled_backup`):
    /// at each `pace` it makes a backup when one is due.
    pub fn start_backups(&self, pace: runner::Pace) {
        let (db_path, vault, names) = (self.db_path.clone(), self.vault(), self.desktop.clone());
        self.backups.start(pace, move || {
            let (path, vault, names) = (db_path.clone(), Arc::clone(&vault), names.clone());
            let round =
                tauri::async_runtime::spawn_blocking(move || scheduled_backup::round(&path, &*vault, &names, false));
            async move {
                round.await.unwrap_or_else(|e| BackupRound::Failed { code: "internal".into(), message: e.to_string() })
            }
        });
    }

    pub fn stop_backups(&self) {
        self.backups.stop();
    }

    /// A backup now, as the signed-in admin; the runner shows its outcome.
    pub async fn backup_now(&self) -> Result<BackupRound, ApiError> {
        let (db_path, vault, names) = (self.db_path.clone(), self.vault(), self.desktop.clone());
        let operator = self.as_reader(|_, operator| Ok(operator.clone())).await?;
        let round = blocking(move || Ok(scheduled_backup::round_now(&db_path, &*vault, &names, &operator)?)).await?;
        self.backups.show(round.clone());
        Ok(round)
    }
}

// ------------------------------------------------------------------ team mode

impl AppState {
    /// Starts the background refresher of the team copy (`jobs::team_refresh`;
    /// nothing in local mode). The window hears of each change through `on_change`.
    pub fn start_team(&self, on_change: OnChange) {
        let refresher = TeamRefresher::new(&lock(&self.store), self.vault(), self.desktop.application.clone());
        let Some(refresher) = refresher else { return };
        self.team.show(refresher.state());
        let refresher = Arc::new(Mutex::new(refresher));
        let (store, stopping) = (Arc::clone(&self.store), self.team.stopping());
        self.team.start(runner::team_pace(), move || {
            let (refresher, store, stopping, on_change) =
                (Arc::clone(&refresher), Arc::clone(&store), stopping.clone(), Arc::clone(&on_change));
            // The wait for the server's announcement and the pull block: off the async threads.
            let round = tauri::async_runtime::spawn_blocking({
                let refresher = Arc::clone(&refresher);
                move || {
                    let mut refresher = lock(&refresher);
                    refresher.wait_for_change();
                    if !stopping.requested()
                        && let Some(change) = refresher.pull(&store)
                    {
                        on_change(TeamChanged {
                            rows: i64::try_from(change.rows).unwrap_or(i64::MAX),
                            online: change.online,
                        });
                    }
                    refresher.state()
                }
            });
            async move { round.await.unwrap_or_else(|_| lock(&refresher).state()) }
        });
    }

    pub fn stop_team(&self) {
        self.team.stop();
    }

    /// Where the team copy stands (None in local mode) and what the refresher last saw.
    pub async fn team_status(&self) -> Result<Option<(TeamLinkStatus, TeamRunnerState)>, ApiError> {
        let store = Arc::clone(&self.store);
        let link = blocking(move || Ok(lock(&store).team_link_status()?)).await?;
        Ok(link.map(|l| (l, self.team.state())))
    }

    /// This app's names on the team server.
    pub fn desktop(&self) -> &DesktopNames {
        &self.desktop
    }
}

/// The signed-in operator, re-read from the database; ends the session of an
/// idle, removed or disabled operator.
fn signed_in(session: &Mutex<Option<Session>>, store: &Store) -> Result<Operator, ApiError> {
    let mut session = lock(session);
    let name = active_name(&mut session, idle_limit(store))?;
    match operators::act_as(store, &name) {
        Ok(operator) => Ok(operator),
        Err(e) => {
            *session = None;
            Err(e.into())
        }
    }
}

/// The session's operator name, refreshing its idle timer; ends an idle session.
fn active_name(session: &mut Option<Session>, idle_limit: Duration) -> Result<String, ApiError> {
    let Some(current) = session.as_mut() else {
        return Err(ApiError::new(codes::AUTH_REQUIRED, "nobody is signed in"));
    };
    if current.last_active.elapsed() > idle_limit {
        let name = current.name.clone();
        *session = None;
        return Err(ApiError::new(
            codes::AUTH_LOCKED,
            format!(
                "the session of {name} locked itself after {} idle minutes; sign in again",
                idle_limit.as_secs() / 60
            ),
        ));
    }
    current.last_active = Instant::now();
    Ok(current.name.clone())
}

/// Runs blocking work on Tauri's blocking pool and waits for it.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::new(codes::INTERNAL, format!("the command failed: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_session_locks_and_an_active_one_is_refreshed() {
        let mut session = Some(Session { name: "ana".into(), last_active: Instant::now() });
        assert_eq!(active_name(&mut session, Duration::from_secs(60)).unwrap(), "ana");
        let stale = Instant::now().checked_sub(Duration::from_secs(120)).unwrap();
        session = Some(Session { name: "ana".into(), last_active: stale });
        let locked = active_name(&mut session, Duration::from_secs(60)).unwrap_err();
        assert_eq!(locked.code, codes::AUTH_LOCKED);
        assert!(session.is_none(), "a locked session is gone");
        assert_eq!(active_name(&mut session, Duration::from_secs(60)).unwrap_err().code, codes::AUTH_REQUIRED);
    }
}
