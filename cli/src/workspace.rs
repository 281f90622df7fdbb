//! The database a command works on, the changes it makes, and who it acts as.

use crate::failure::{Failure, operator_failure};
use std::path::PathBuf;
use voucherdesk::credentials;
use voucherdesk::operators::{self, Operator};
use voucherdesk::store::Store;

/// Opens what `--db` names: a file, a team copy (reconnected to its team), or
/// `postgres://…` (this desktop's copy of that team).
pub(crate) fn open(db: &Option<PathBuf>) -> Result<Store, Failure> {
    let path = db.clone().unwrap_or_else(voucherdesk::store::default_path);
    let me = voucherdesk::team::desktop_name(&voucherdesk::team::this_host(), "cli");
    voucherdesk::team::open_workspace(&path, &credentials::OsKeyring::new(), &me).map_err(|e| match e {
        voucherdesk::team::TeamError::Local(voucherdesk::store::StoreError::TooNew { .. })
        | voucherdesk::team::TeamError::Local(voucherdesk::store::StoreError::Invalid(_))
        | voucherdesk::team::TeamError::Team(voucherdesk::store::team::TeamStoreError::BadAddress(_)) => {
            Failure::input(e)
        }
        _ => Failure::other(e),
    })
}

/// Runs one state change. In team mode it runs under the team's write lock,
/// on a copy brought level first, and reaches the server before this returns
/// (the outer error: the team could not take it). Locally it simply runs.
pub(crate) fn change<T, E>(
    store: &mut Store,
    f: impl FnOnce(&mut Store) -> Result<T, E>,
) -> Result<Result<T, E>, Failure> {
    store.write(|s| Ok::<_, voucherdesk::store::StoreError>(f(s))).map_err(|e| match e {
        voucherdesk::store::StoreError::Team(voucherdesk::store::team::TeamStoreError::Refused(_)) => Failure::input(e),
        _ => Failure::other(e),
    })
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
        Failure::input(format!("{why}: name the operator with --operator NAME (or VOUCHERDESK_OPERATOR)"))
    })?;
    operators::act_as(store, name).map_err(operator_failure)
}
