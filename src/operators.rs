//! Operators, their roles, and what each role may do. Permissions are enforced
//! here, in the library, for every state-changing call — the app and the CLI
//! only pass the acting operator along.

use crate::audit::audit_entry;
pub use crate::model::operator::{Operator, Permission, Role};
use crate::store::{OperatorColumn, OperatorRecord, SignInFailures, Store, StoreError};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Operator names: short, printable, no surrounding spaces.
pub const OPERATOR_NAME_CHARS_MAX: usize = 64;
pub const PASSWORD_CHARS_MIN: usize = 8;
pub const PASSWORD_CHARS_MAX: usize = 256;
/// Consecutive failed sign-ins under one name before further attempts wait.
pub const SIGN_IN_FAILURES_BEFORE_BACKOFF: u32 = 5;
/// The first wait; each further failure doubles it, up to the cap.
pub const SIGN_IN_BACKOFF_FIRST_SECS: i64 = 30;
pub const SIGN_IN_BACKOFF_MAX_SECS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error("no operator named {0:?}")]
    Unknown(String),
    #[error("operator {0:?} is disabled")]
    Disabled(String),
    #[error("{name} ({role}) may not {what}")]
    Forbidden { name: String, role: &'static str, what: String },
    #[error("wrong name or password")]
    BadCredentials,
    #[error(
        "too many failed sign-ins as {name}: try again after {} UTC (in {wait_secs} s)",
        retry_at.format("%H:%M:%S")
    )]
    Throttled { name: String, retry_at: DateTime<Utc>, wait_secs: i64 },
    #[error("unknown role {0:?} (expected support, finance, manager or admin)")]
    UnknownRole(String),
    #[error("operator names are 1 to {OPERATOR_NAME_CHARS_MAX} printable characters")]
    BadName,
    #[error("passwords are {PASSWORD_CHARS_MIN} to {PASSWORD_CHARS_MAX} characters")]
    BadPassword,
    #[error("the first operator must be an admin")]
    FirstMustBeAdmin,
    #[error("an admin cannot take away the last admin")]
    LastAdmin,
    #[error("unknown language {0:?} (expected en, es or zh)")]
    UnknownLanguage(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for OperatorError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => OperatorError::Conflict(message),
            StoreError::Invalid(message) => OperatorError::Conflict(message),
            other => OperatorError::Store(other),
        }
    }
}

impl OperatorError {
    pub fn code(&self) -> &'static str {
        match self {
            OperatorError::Unknown(_) | OperatorError::Disabled(_) | OperatorError::BadCredentials => "auth.denied",
            OperatorError::Forbidden { .. } => "auth.forbidden",
            OperatorError::Throttled { .. } => "auth.throttled",
            OperatorError::UnknownRole(_)
            | OperatorError::BadName
            | OperatorError::BadPassword
            | OperatorError::FirstMustBeAdmin
            | OperatorError::LastAdmin
            | OperatorError::UnknownLanguage(_) => "errors.validation",
            OperatorError::Conflict(_) => "operators.conflict",
            OperatorError::Store(e) => e.code(),
        }
    }
}

impl Operator {
    /// Refuses, with a message that says who and what, unless the role allows it.
    pub fn require(&self, permission: Permission) -> Result<(), OperatorError> {
        if self.role.allows(permission) {
            return Ok(());
        }
        Err(OperatorError::Forbidden { name: self.name.clone(), role: self.role.as_str(), what: permission.describe() })
    }
}

fn to_operator(record: OperatorRecord) -> Result<Operator, OperatorError> {
    if record.disabled {
        return Err(OperatorError::Disabled(record.name));
    }
    let role = Role::parse(&record.role).ok_or_else(|| OperatorError::UnknownRole(record.role.clone()))?;
    Ok(Operator { name: record.name, role, language: record.language })
}

/// The operator a CLI command acts as (no password: whoever runs the CLI
/// already holds the database file). Must exist and be enabled.
pub fn act_as(store: &Store, name: &str) -> Result<Operator, OperatorError> {
    let record = store.operator_by_name(name.trim())?.ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
    to_operator(record)
}

/// Checks a name and password (the app's sign-in); audits the attempt.
/// After [`SIGN_IN_FAILURES_BEFORE_BACKOFF`] failures in a row under a name,
/// attempts are refused unchecked until a wait has passed (doubling with each
/// further failure, capped); a success forgets the failures.
pub fn sign_in(store: &mut Store, name: &str, password: &str) -> Result<Operator, OperatorError> {
    sign_in_at(store, name, password, Utc::now())
}

/// [`sign_in`] at a given instant (tests step the clock).
pub fn sign_in_at(
    store: &mut Store,
    name: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<Operator, OperatorError> {
    let name = name.trim();
    let key = name.to_lowercase();
    let subject = format!("operator {name}");
    let before = store.sign_in_failures(&key)?;
    // A team desktop cut off from its server still lets people in (read-only):
    // the entry cannot reach the team's log then, so there is none, and the
    // failures are not counted.
    let recording = store.can_write();
    if let Some(until) = before.locked_until.filter(|until| now.timestamp() < *until) {
        let retry_at = DateTime::from_timestamp(until, 0).unwrap_or(now);
        if recording {
            let outcome = format!("sign-in throttled until {}", retry_at.format("%Y-%m-%dT%H:%M:%SZ"));
            store.record_sign_in(&key, Some(before), &audit_entry(name, "operator.sign_in", &subject, "", &outcome))?;
        }
        return Err(OperatorError::Throttled { name: name.to_string(), retry_at, wait_secs: until - now.timestamp() });
    }
    let record = store.operator_by_name(name)?;
    let verified = record.as_ref().and_then(|r| r.password_hash.as_deref()).is_some_and(|hash| {
        PasswordHash::new(hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    });
    if recording {
        if verified {
            store.record_sign_in(&key, None, &audit_entry(name, "operator.sign_in", &subject, "", "signed in"))?;
        } else {
            let failures = before.failures.saturating_add(1);
            let locked_until = backoff_secs(failures).map(|wait| now.timestamp() + wait);
            let outcome = match locked_until.and_then(|t| DateTime::from_timestamp(t, 0)) {
                Some(t) => {
                    format!("sign-in refused ({failures} in a row; throttled until {})", t.format("%Y-%m-%dT%H:%M:%SZ"))
                }
                None => format!("sign-in refused ({failures} in a row)"),
            };
            let state = SignInFailures { failures, locked_until };
            store.record_sign_in(&key, Some(state), &audit_entry(name, "operator.sign_in", &subject, "", &outcome))?;
        }
    }
    match record {
        Some(record) if verified => to_operator(record),
        _ => Err(OperatorError::BadCredentials),
    }
}

/// The wait after `failures` failures in a row (None: no wait yet).
pub fn backoff_secs(failures: u32) -> Option<i64> {
    let beyond = failures.checked_sub(SIGN_IN_FAILURES_BEFORE_BACKOFF)?;
    let doubled = SIGN_IN_BACKOFF_FIRST_SECS.checked_shl(beyond.min(32)).unwrap_or(SIGN_IN_BACKOFF_MAX_SECS);
    Some(doubled.min(SIGN_IN_BACKOFF_MAX_SECS))
}

/// Records a sign-out (the app forgets the session; the log remembers it).
pub fn sign_out(store: &mut Store, operator: &Operator) -> Result<(), OperatorError> {
    let subject = format!("operator {}", operator.name);
    if !store.can_write() {
        return Ok(()); // a team desktop offline: see sign_in
    }
    store.append_audit(&audit_entry(&operator.name, "operator.sign_out", &subject, "", "signed out"))?;
    Ok(())
}

fn hash_password(password: &str) -> Result<String, OperatorError> {
    let chars = password.chars().count();
    if !(PASSWORD_CHARS_MIN..=PASSWORD_CHARS_MAX).contains(&chars) {
        return Err(OperatorError::BadPassword);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| OperatorError::BadPassword)
}

fn check_name(name: &str) -> Result<&str, OperatorError> {
    let name = name.trim();
    let ok =
        !name.is_empty() && name.chars().count() <= OPERATOR_NAME_CHARS_MAX && name.chars().all(|c| !c.is_control());
    if ok { Ok(name) } else { Err(OperatorError::BadName) }
}

/// Adds an operator. While the database has no operator at all, nobody needs
/// to be signed in (first admin, scripted set-up) and the first must be an
/// admin; after that only an admin may add one.
pub fn add(
    store: &mut Store,
    acting: Option<&Operator>,
    name: &str,
    role: Role,
    password: Option<&str>,
) -> Result<Operator, OperatorError> {
    let name = check_name(name)?;
    let hash = password.map(hash_password).transpose()?;
    let (created_by, bootstrap) = match acting {
        Some(admin) => {
            admin.require(Permission::ManageOperators)?;
            (admin.name.clone(), false)
        }
        None => {
            if role != Role::Admin {
                return Err(OperatorError::FirstMustBeAdmin);
            }
            ("(first run)".to_string(), true)
        }
    };
    let entry = audit_entry(
        &created_by,
        "operator.add",
        &format!("operator {name}"),
        "",
        &serde_json::json!({"role": role.as_str(), "can_sign_in": hash.is_some()}).to_string(),
    );
    store.insert_operator(name, role.as_str(), hash.as_deref(), &created_by, bootstrap, &entry)?;
    act_as(store, name)
}

fn admins_left_after(store: &Store, name: &str) -> Result<usize, OperatorError> {
    Ok(store
        .operators()?
        .iter()
        .filter(|o| o.role == "admin" && !o.disabled && !o.name.eq_ignore_ascii_case(name))
        .count())
}

pub fn set_role(store: &mut Store, acting: &Operator, name: &str, role: Role) -> Result<(), OperatorError> {
    acting.require(Permission::ManageOperators)?;
    let current = store.operator_by_name(name)?.ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
    if current.role == "admin" && role != Role::Admin && admins_left_after(store, name)? == 0 {
        return Err(OperatorError::LastAdmin);
    }
    let entry =
        audit_entry(&acting.name, "operator.set_role", &format!("operator {name}"), &current.role, role.as_str());
    store.update_operator(name, OperatorColumn::Role, role.as_str().to_string().into(), &entry)?;
    Ok(())
}

pub fn disable(store: &mut Store, acting: &Operator, name: &str) -> Result<(), OperatorError> {
    acting.require(Permission::ManageOperators)?;
    let current = store.operator_by_name(name)?.ok_or_else(|| OperatorError::Unknown(name.to_string()))?;
    if current.role == "admin" && admins_left_after(store, name)? == 0 {
        return Err(OperatorError::LastAdmin);
    }
    let entry = audit_entry(&acting.name, "operator.disable", &format!("operator {name}"), "enabled", "disabled");
    store.update_operator(name, OperatorColumn::Disabled, 1_i64.into(), &entry)?;
    Ok(())
}

/// An admin sets anyone's password; everyone may set their own.
pub fn set_password(store: &mut Store, acting: &Operator, name: &str, password: &str) -> Result<(), OperatorError> {
    if !acting.name.eq_ignore_ascii_case(name) {
        acting.require(Permission::ManageOperators)?;
    }
    let hash = hash_password(password)?;
    let entry = audit_entry(&acting.name, "operator.set_password", &format!("operator {name}"), "", "(changed)");
    store.update_operator(name, OperatorColumn::PasswordHash, hash.into(), &entry)?;
    Ok(())
}

/// Everyone chooses their own language; it is remembered per operator.
pub fn set_language(store: &mut Store, acting: &Operator, language: &str) -> Result<(), OperatorError> {
    if !matches!(language, "en" | "es" | "zh") {
        return Err(OperatorError::UnknownLanguage(language.to_string()));
    }
    let entry = audit_entry(
        &acting.name,
        "operator.set_language",
        &format!("operator {}", acting.name),
        &acting.language,
        language,
    );
    store.update_operator(&acting.name, OperatorColumn::Language, language.to_string().into(), &entry)?;
    Ok(())
}

/// What `operators list` shows (never the password hash).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OperatorSummary {
    pub name: String,
    pub role: String,
    pub language: String,
    pub disabled: bool,
    pub can_sign_in: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_by: String,
}

pub fn list(store: &Store) -> Result<Vec<OperatorSummary>, OperatorError> {
    Ok(store
        .operators()?
        .into_iter()
        .map(|o| OperatorSummary {
            can_sign_in: o.password_hash.is_some(),
            name: o.name,
            role: o.role,
            language: o.language,
            disabled: o.disabled,
            created_at: o.created_at,
            created_by: o.created_by,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::exception::ResolutionAction;

    #[test]
    fn the_permission_table() {
        use Permission::*;
        use ResolutionAction::*;
        let allowed = |role: Role| -> Vec<Permission> {
            [
                Lookup,
                Import,
                Reconcile,
                Resolve(Accept),
                Resolve(Escalate),
                Resolve(WriteOff),
                Resolve(Link),
                Resolve(MarkReceived),
                AssignException,
                ApproveRefund,
                ManageOperators,
            ]
            .into_iter()
            .filter(|p| role.allows(*p))
            .collect()
        };
        assert_eq!(allowed(Role::Support), vec![Lookup, Resolve(Accept), Resolve(Escalate)]);
        assert!(!Role::Support.allows(Resolve(WriteOff)));
        assert!(Role::Manager.allows(Resolve(WriteOff)) && Role::Manager.allows(AssignException));
        assert!(!Role::Manager.allows(ManageOperators));
        assert_eq!(
            Role::ALL.into_iter().filter(|r| r.allows(ManageCredentials)).collect::<Vec<_>>(),
            vec![Role::Admin]
        );
        assert!(Role::Finance.allows(ApproveRefund) && !Role::Finance.allows(Resolve(Link)));
        assert!(Role::ALL.iter().all(|r| r.allows(Lookup)));
        assert!(Role::ALL.iter().all(|r| r.allows(IssueVoucher) && r.allows(ExtendVoucher)));
        assert_eq!(
            Role::ALL.into_iter().filter(|r| r.allows(CancelVoucher)).collect::<Vec<_>>(),
            vec![Role::Finance, Role::Manager, Role::Admin]
        );
    }

    #[test]
    fn bootstrap_then_admin_only_and_sign_in() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(matches!(add(&mut store, None, "ana", Role::Support, None), Err(OperatorError::FirstMustBeAdmin)));
        let admin = add(&mut store, None, "root", Role::Admin, Some("correct horse")).unwrap();
        assert!(matches!(add(&mut store, None, "eve", Role::Admin, None), Err(OperatorError::Conflict(_))));
        let ana = add(&mut store, Some(&admin), "ana", Role::Support, Some("ana-password")).unwrap();
        let refused = add(&mut store, Some(&ana), "bob", Role::Admin, None).unwrap_err();
        assert_eq!(refused.to_string(), "ana (support) may not manage operators");
        assert!(matches!(sign_in(&mut store, "ana", "wrong-password"), Err(OperatorError::BadCredentials)));
        assert_eq!(sign_in(&mut store, "ANA", "ana-password").unwrap().role, Role::Support);
        let stored = store.operator_by_name("ana").unwrap().unwrap();
        assert!(stored.password_hash.unwrap().starts_with("$argon2id$"), "hashed, never clear");
        assert!(matches!(disable(&mut store, &admin, "root"), Err(OperatorError::LastAdmin)));
        disable(&mut store, &admin, "ana").unwrap();
        assert!(matches!(act_as(&store, "ana"), Err(OperatorError::Disabled(_))));
    }
}
