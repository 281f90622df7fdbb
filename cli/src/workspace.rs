//! The database a command works on, the changes it makes, and who it acts as.

use crate::failure::{ErrorClass, Failure};
use std::path::PathBuf;
use std::sync::OnceLock;
use voucherdesk::credentials;
use voucherdesk::operators::{self, Operator};
use voucherdesk::store::team::TeamStoreError;
use voucherdesk::store::{Store, StoreError};
use voucherdesk::team::{SignIn, TeamError};

/// Whom this run signs in to a team as: `--operator`, with the password
/// `--operator-password-stdin` gave (set once, before the command runs).
static SIGN_IN: OnceLock<Option<SignIn>> = OnceLock::new();

pub(crate) fn set_sign_in(operator: &Option<String>, password: Option<String>) {
    let operator = operator.as_deref().map(str::trim).filter(|n| !n.is_empty());
    let ask = Some(ask_team_password as fn(&str) -> Option<String>);
    let _ = SIGN_IN.set(operator.map(|o| SignIn { operator: o.to_string(), password, ask }));
}

/// Asks for `operator`'s team password at the terminal, echo off. None when
/// standard input is not a terminal: a script gives the password with
/// `--operator-password-stdin` (or `team join` kept it in the keyring).
fn ask_team_password(operator: &str) -> Option<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    prompt_hidden(&format!("{operator}'s team password: ")).ok().filter(|p| !p.is_empty())
}

/// On Linux the echo goes off before the prompt shows, so nothing typed
/// after the prompt is ever echoed (`rpassword` shows the prompt first).
#[cfg(target_os = "linux")]
fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for an open terminal.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let saved = term;
    term.c_lflag &= !libc::ECHO;
    term.c_lflag |= libc::ECHONL;
    // SAFETY: fd is the open terminal; term came from it.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let read = (|| {
        (&tty).write_all(prompt.as_bytes())?;
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::BufReader::new(&tty).read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    })();
    // SAFETY: puts back the terminal as it was, whatever the read did.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read
}

#[cfg(not(target_os = "linux"))]
fn prompt_hidden(prompt: &str) -> std::io::Result<String> {
    rpassword::prompt_password(prompt)
}

/// Opens what `--db` names: a file, a team copy (reconnected to its team), or
/// `postgres://…` (this desktop's copy of that team). A team is signed in to
/// as `--operator` when their password is known (see [`set_sign_in`]).
pub(crate) fn open(db: &Option<PathBuf>) -> Result<Store, Failure> {
    let path = db.clone().unwrap_or_else(voucherdesk::store::default_path);
    let me = voucherdesk::team::desktop_name(&voucherdesk::team::this_host(), "cli");
    let sign_in = SIGN_IN.get().and_then(Option::as_ref);
    let store =
        voucherdesk::team::open_workspace_as(&path, &credentials::OsKeyring::new(), &me, sign_in).map_err(|e| {
            // Only what the user named can be refused here (a file too new or not a
            // database, a bad address, a password the team refused); a team server's
            // answer while the copy catches up is a fault of the moment, unlike the
            // same answer to `team join`.
            let refused = matches!(
                e,
                TeamError::Local(
                    StoreError::TooNew { .. }
                        | StoreError::Invalid(_)
                        | StoreError::Team(TeamStoreError::Denied { .. })
                ) | TeamError::Team(TeamStoreError::BadAddress(_) | TeamStoreError::Denied { .. })
            );
            Failure { message: e.to_string(), class: if refused { ErrorClass::Refusal } else { ErrorClass::Fault } }
        })?;
    warn_when_offline(&store);
    Ok(store)
}

/// A team copy whose server is out of reach still answers reads, from what it
/// last pulled: the reader is told so on stderr (the app shows a banner), so
/// that "not there" is never read as "not on the server".
fn warn_when_offline(store: &Store) {
    if let Ok(Some(status)) = store.team_link_status() {
        if !status.online {
            eprintln!(
                "warning: the team server {} cannot be reached ({}): this is the desktop's copy as it was at change {}, and changes are refused",
                status.server,
                status.reason.as_deref().unwrap_or("no answer"),
                status.cursor
            );
        }
    }
}

/// Runs one state change. In team mode it runs under the team's write lock,
/// on a copy brought level first, and reaches the server before this returns
/// (the outer error: the team could not take it). Locally it simply runs.
pub(crate) fn change<T, E>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<T, E>,
) -> Result<Result<T, E>, Failure> {
    store.write(|s| Ok::<_, StoreError>(f(s))).map_err(Failure::from)
}

/// The operator a state-changing command acts as.
pub(crate) fn acting(store: &Store, given: &Option<String>) -> Result<Operator, Failure> {
    acting_for(store, given, "this command changes data")
}

/// The operator a read that depends on the role (exports, KPIs) acts as.
pub(crate) fn reading(store: &Store, given: &Option<String>) -> Result<Operator, Failure> {
    acting_for(store, given, "this command reads as an operator")
}

pub(crate) fn acting_for(store: &Store, given: &Option<String>, why: &str) -> Result<Operator, Failure> {
    let name = given.as_deref().map(str::trim).filter(|n| !n.is_empty()).ok_or_else(|| {
        Failure::refusal(format!("{why}: name the operator with --operator NAME (or VOUCHERDESK_OPERATOR)"))
    })?;
    let operator = operators::act_as(store, name).map_err(Failure::from)?;
    signed_in_as(store, &operator.name)?;
    Ok(operator)
}

/// In team mode a command acts only as the operator whose login the team
/// connection signed in with (the server checks every change against that
/// login's role): `--operator` alone proves nothing. The team's owner
/// connection, which the server does not check, may act as anyone.
/// Local mode: whoever holds the file may act as any operator.
fn signed_in_as(store: &Store, operator: &str) -> Result<(), Failure> {
    let Some(login) = store.team_login() else { return Ok(()) };
    if login == voucherdesk::store::team::login_name(operator) || store.team_login_is_owner() == Some(true) {
        return Ok(());
    }
    Err(Failure::refusal(format!(
        "this team copy is signed in as {login}; to act as {operator}, give {operator}'s team password \
         (at the prompt on a terminal, with --operator-password-stdin, or `voucherdesk team join` as {operator} to keep it in the OS keyring)"
    )))
}
