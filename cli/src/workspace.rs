//! The database a command works on, the changes it makes, and who it acts as.

use crate::failure::{ErrorClass, Failure};
use std::path::PathBuf;
use voucherdesk::credentials;
use voucherdesk::operators::{self, Operator};
use voucherdesk::store::team::TeamStoreError;
use voucherdesk::store::{Store, StoreError};
use voucherdesk::team::TeamError;

/// Opens what `--db` names: a file, a team copy (reconnected to its team), or
/// `postgres://…` (this desktop's copy of that team).
pub(crate) fn open(db: &Option<PathBuf>) -> Result<Store, Failure> {
    let path = db.clone().unwrap_or_else(voucherdesk::store::default_path);
    let me = voucherdesk::team::desktop_name(&voucherdesk::team::this_host(), "cli");
    voucherdesk::team::open_workspace(&path, &credentials::OsKeyring::new(), &me).map_err(|e| {
        // Only what the user named can be refused here (a file too new or not a
        // database, a bad address); a team server's answer while the copy catches
        // up is a fault of the moment, unlike the same answer to `team join`.
        let refused = matches!(
            e,
            TeamError::Local(StoreError::TooNew { .. } | StoreError::Invalid(_))
                | TeamError::Team(TeamStoreError::BadAddress(_))
        );
        Failure { message: e.to_string(), class: if refused { ErrorClass::Refusal } else { ErrorClass::Fault } }
    })
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
    operators::act_as(store, name).map_err(Failure::from)
}
