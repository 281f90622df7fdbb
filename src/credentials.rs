//! PSP credentials: the dLocal login, trans key and secret, the PagoEfectivo
//! service id, access key and secret. They live in the OS credential store
//! (Secret Service on Linux, Keychain on macOS, Credential Manager on
//! Windows), one entry per account: service [`KEYRING_SERVICE`], user
//! `<psp>:<account>`, value a JSON object of the PSP's fields. SQLite holds
//! only the non-secret half (`store::psp_accounts`).
//!
//! Secrets never reach SQLite, the audit log, an error message or a `Debug`
//! print; a connection-test message is scrubbed of them before it is stored.
//! Every operation needs [`Permission::ManageCredentials`] (admins only).
//!
//! Write order: the keyring entry is written first (inside the database's
//! write transaction), then the row; if the row cannot be written, the
//! keyring entry is put back as it was, so nothing is ever half-written. A
//! missing or locked keyring is [`CredentialError::KeyringUnavailable`];
//! there is no fallback to a file.

pub mod connection;

use crate::audit::audit_entry;
use crate::operators::{Operator, OperatorError, Permission};
use crate::store::{NewPspAccountRow, PspAccountRow, Store, StoreError, TestResultRow};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::{Zeroize, Zeroizing};

mod secrets;
mod vault;

pub use secrets::*;
pub use vault::*;

/// The keyring service every VoucherDesk entry is filed under.
pub const KEYRING_SERVICE: &str = "voucherdesk";
pub const ACCOUNT_NAME_CHARS_MAX: usize = 64;
pub const BASE_URL_CHARS_MAX: usize = 512;
/// Longest login, key or secret accepted (PSP keys are well under 100).
pub const SECRET_FIELD_CHARS_MAX: usize = 256;
/// Largest secrets document read from standard input.
pub const SECRETS_JSON_BYTES_MAX: usize = 8 * 1024;
/// PSP accounts one database may hold (and one list shows).
pub const PSP_ACCOUNTS_MAX: u32 = 100;
/// A keyring that does not answer within this is treated as unavailable (a
/// locked store may be waiting on an unlock prompt nobody will see).
pub const KEYRING_TIMEOUT_MS: u64 = 10_000;
/// A connection test that takes longer than this has failed.
pub const CONNECTION_TEST_TIMEOUT_MS: u64 = 20_000;
/// Longest connection-test message kept.
pub const TEST_MESSAGE_CHARS_MAX: usize = 300;

// ------------------------------------------------------------------ types

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PspName"))]
pub enum PspKind {
    #[serde(rename = "dlocal")]
    Dlocal,
    #[serde(rename = "pagoefectivo")]
    PagoEfectivo,
}

impl PspKind {
    pub const ALL: [PspKind; 2] = [PspKind::Dlocal, PspKind::PagoEfectivo];

    pub fn as_str(self) -> &'static str {
        match self {
            PspKind::Dlocal => "dlocal",
            PspKind::PagoEfectivo => "pagoefectivo",
        }
    }

    pub fn parse(text: &str) -> Result<PspKind, CredentialError> {
        PspKind::ALL
            .into_iter()
            .find(|k| k.as_str() == text.trim())
            .ok_or_else(|| CredentialError::UnknownPsp(text.to_string()))
    }

    /// The secret fields of this PSP's credentials, in JSON (and form) order.
    pub fn secret_fields(self) -> [&'static str; 3] {
        match self {
            PspKind::Dlocal => ["login", "trans_key", "secret"],
            PspKind::PagoEfectivo => ["service_id", "access_key", "secret"],
        }
    }
}

impl fmt::Display for PspKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The non-secret half of a PSP account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PspAccount {
    pub name: String,
    pub psp: PspKind,
    pub base_url: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub rotated_at: Option<DateTime<Utc>>,
    pub last_test: Option<ConnectionTestResult>,
}

impl PspAccount {
    /// The keyring user of this account's entry.
    pub fn keyring_user(&self) -> String {
        keyring_user(self.psp, &self.name)
    }
}

fn keyring_user(psp: PspKind, name: &str) -> String {
    format!("{psp}:{name}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ConnectionTest"))]
pub struct ConnectionTestResult {
    pub ok: bool,
    /// "connection OK", or why not (scrubbed of secrets).
    pub message: String,
    pub at: DateTime<Utc>,
}

/// One line of `list`: the account and whether its keyring entry exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PspAccountRow"))]
pub struct AccountListing {
    #[serde(flatten)]
    pub account: PspAccount,
    pub secret_present: bool,
}

fn to_account(row: PspAccountRow) -> Result<PspAccount, CredentialError> {
    let psp = match row.psp.as_str() {
        "dlocal" => PspKind::Dlocal,
        "pagoefectivo" => PspKind::PagoEfectivo,
        other => {
            return Err(CredentialError::Store(StoreError::Corrupt(format!(
                "PSP account {:?} has unknown psp {other:?}",
                row.name
            ))));
        }
    };
    Ok(PspAccount {
        name: row.name,
        psp,
        base_url: row.base_url,
        created_at: row.created_at,
        created_by: row.created_by,
        rotated_at: row.rotated_at,
        last_test: row.last_test.map(|t| ConnectionTestResult { ok: t.ok, message: t.message, at: t.at }),
    })
}

// ------------------------------------------------------------------ errors

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("unknown PSP {0:?} (expected dlocal or pagoefectivo)")]
    UnknownPsp(String),
    #[error("PSP account names are 1 to {ACCOUNT_NAME_CHARS_MAX} characters: letters, digits, '-', '_' or '.'")]
    BadName,
    #[error("bad base URL: {0}")]
    BadBaseUrl(String),
    #[error("bad secrets: {0}")]
    BadSecrets(String),
    #[error("a fee rate is 0 to {FEE_BPS_MAX} basis points, not {0}")]
    BadFeeRate(i64),
    #[error("PSP account {name:?} is a {account} account; the secrets given are for {given}")]
    WrongPsp { name: String, account: PspKind, given: PspKind },
    #[error("no PSP account named {0:?}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("at most {PSP_ACCOUNTS_MAX} PSP accounts")]
    TooMany,
    #[error("the OS credential store has no secrets for PSP account {0:?}: rotate it to store them again")]
    SecretMissing(String),
    #[error(
        "the OS credential store is unavailable ({0}); nothing was changed. Unlock it, or on Linux start a Secret Service (such as GNOME Keyring) on the session D-Bus"
    )]
    KeyringUnavailable(String),
    #[error("the OS credential store refused: {0}")]
    Keyring(String),
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for CredentialError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(message) => CredentialError::Conflict(message),
            other => CredentialError::Store(other),
        }
    }
}

impl From<VaultError> for CredentialError {
    fn from(e: VaultError) -> Self {
        match e {
            VaultError::Unavailable(reason) => CredentialError::KeyringUnavailable(reason),
            VaultError::Refused(reason) => CredentialError::Keyring(reason),
        }
    }
}

impl CredentialError {
    pub fn code(&self) -> &'static str {
        match self {
            CredentialError::Operator(e) => e.code(),
            CredentialError::UnknownPsp(_)
            | CredentialError::BadName
            | CredentialError::BadBaseUrl(_)
            | CredentialError::BadSecrets(_)
            | CredentialError::WrongPsp { .. }
            | CredentialError::BadFeeRate(_) => "errors.validation",
            CredentialError::NotFound(_) => "credentials.not_found",
            CredentialError::Conflict(_) => "credentials.conflict",
            CredentialError::TooMany => "credentials.too_many",
            CredentialError::SecretMissing(_) => "credentials.secret_missing",
            CredentialError::KeyringUnavailable(_) => "credentials.keyring_unavailable",
            CredentialError::Keyring(_) => "credentials.keyring",
            CredentialError::Store(e) => e.code(),
        }
    }

    /// True when the request itself was refused (bad input, not allowed, no
    /// such account): the CLI's exit code 2.
    pub fn is_refusal(&self) -> bool {
        match self {
            CredentialError::Operator(OperatorError::Store(_)) => false,
            CredentialError::Operator(_)
            | CredentialError::UnknownPsp(_)
            | CredentialError::BadName
            | CredentialError::BadBaseUrl(_)
            | CredentialError::BadSecrets(_)
            | CredentialError::WrongPsp { .. }
            | CredentialError::BadFeeRate(_)
            | CredentialError::NotFound(_)
            | CredentialError::Conflict(_)
            | CredentialError::TooMany
            | CredentialError::SecretMissing(_) => true,
            CredentialError::KeyringUnavailable(_) | CredentialError::Keyring(_) | CredentialError::Store(_) => false,
        }
    }
}

// ------------------------------------------------------------------ checks

fn check_name(name: &str) -> Result<&str, CredentialError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= ACCOUNT_NAME_CHARS_MAX
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(name) } else { Err(CredentialError::BadName) }
}

/// An `https://` URL, or `http://` on this machine only (the sandbox); no
/// user name, password, query or fragment (they would land in SQLite).
/// Returned without a trailing slash.
pub fn check_base_url(text: &str) -> Result<String, CredentialError> {
    let text = text.trim();
    let bad = |why: &str| CredentialError::BadBaseUrl(why.to_string());
    if text.chars().count() > BASE_URL_CHARS_MAX {
        return Err(bad(&format!("longer than {BASE_URL_CHARS_MAX} characters")));
    }
    let url = reqwest::Url::parse(text).map_err(|e| bad(&format!("{text:?} is not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not contain a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| bad(&format!("{text:?} has no host")))?;
    let loopback = match host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("plain http is only allowed on this machine (127.0.0.1, localhost); use https")),
        other => return Err(bad(&format!("scheme {other:?} is not http or https"))),
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn account_subject(name: &str) -> String {
    format!("psp account {name}")
}

fn find(store: &Store, name: &str) -> Result<PspAccount, CredentialError> {
    let row = store.psp_account(name.trim())?.ok_or_else(|| CredentialError::NotFound(name.trim().to_string()))?;
    to_account(row)
}

// ------------------------------------------------------------------ operations

/// Adds an account: its secrets to the keyring, its metadata to SQLite.
pub fn add(
    store: &mut Store,
    vault: &dyn SecretVault,
    acting: &Operator,
    name: &str,
    base_url: &str,
    secrets: &AccountSecrets,
) -> Result<PspAccount, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let name = check_name(name)?;
    let base_url = check_base_url(base_url)?;
    if store.psp_account_count()? >= i64::from(PSP_ACCOUNTS_MAX) {
        return Err(CredentialError::TooMany);
    }
    let psp = secrets.psp();
    let user = keyring_user(psp, name);
    let value = secrets.to_keyring_value();
    let row = NewPspAccountRow {
        name,
        psp: psp.as_str(),
        base_url: &base_url,
        created_at: Utc::now(),
        created_by: &acting.name,
    };
    let after = serde_json::json!({"psp": psp, "base_url": base_url, "secrets": "stored in the OS keyring"});
    let entry = audit_entry(&acting.name, "credentials.add", &account_subject(name), "", &after.to_string());
    let mut written = false;
    let outcome = store.insert_psp_account(&row, &entry, || -> Result<(), CredentialError> {
        vault.write(&user, &value)?;
        written = true;
        Ok(())
    });
    if let Err(e) = outcome {
        if written {
            // Best effort: the row failed after the keyring took the entry.
            let _ = vault.delete(&user);
        }
        return Err(e);
    }
    find(store, name)
}

/// Every account with whether its keyring entry exists.
pub fn list(store: &Store, vault: &dyn SecretVault, acting: &Operator) -> Result<Vec<AccountListing>, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let mut listings = Vec::new();
    for row in store.psp_accounts(PSP_ACCOUNTS_MAX)? {
        let account = to_account(row)?;
        let secret_present = vault.contains(&account.keyring_user())?;
        listings.push(AccountListing { account, secret_present });
    }
    Ok(listings)
}

/// The PSP of an existing account, to parse rotated secrets with.
pub fn psp_of(store: &Store, acting: &Operator, name: &str) -> Result<PspKind, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    Ok(find(store, name)?.psp)
}

/// Replaces an account's secrets (also re-creates a keyring entry that went missing).
pub fn rotate(
    store: &mut Store,
    vault: &dyn SecretVault,
    acting: &Operator,
    name: &str,
    secrets: &AccountSecrets,
) -> Result<PspAccount, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let account = find(store, name)?;
    if secrets.psp() != account.psp {
        return Err(CredentialError::WrongPsp { name: account.name, account: account.psp, given: secrets.psp() });
    }
    let user = account.keyring_user();
    // Read first: it proves the keyring answers, and lets a failed row write put it back.
    let previous = vault.read(&user)?;
    let value = secrets.to_keyring_value();
    let now = Utc::now();
    let before = serde_json::json!({"rotated_at": account.rotated_at, "secret_present": previous.is_some()});
    let after = serde_json::json!({"rotated_at": now, "secret_present": true});
    let entry = audit_entry(
        &acting.name,
        "credentials.rotate",
        &account_subject(&account.name),
        &before.to_string(),
        &after.to_string(),
    );
    let mut written = false;
    let outcome = store.mark_psp_account_rotated(&account.name, now, &entry, || -> Result<(), CredentialError> {
        vault.write(&user, &value)?;
        written = true;
        Ok(())
    });
    if let Err(e) = outcome {
        if written {
            let _ = match &previous {
                Some(old) => vault.write(&user, old),
                None => vault.delete(&user).map(|_| ()),
            };
        }
        return Err(e);
    }
    find(store, &account.name)
}

/// Removes an account: its keyring entry and its row.
pub fn remove(
    store: &mut Store,
    vault: &dyn SecretVault,
    acting: &Operator,
    name: &str,
) -> Result<(), CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let account = find(store, name)?;
    let user = account.keyring_user();
    let previous = vault.read(&user)?;
    let before =
        serde_json::json!({"psp": account.psp, "base_url": account.base_url, "secret_present": previous.is_some()});
    let entry =
        audit_entry(&acting.name, "credentials.remove", &account_subject(&account.name), &before.to_string(), "");
    let mut deleted = false;
    let outcome = store.delete_psp_account(&account.name, &entry, || -> Result<(), CredentialError> {
        deleted = vault.delete(&user)?;
        Ok(())
    });
    if let Err(e) = outcome {
        if let (true, Some(old)) = (deleted, &previous) {
            let _ = vault.write(&user, old);
        }
        return Err(e);
    }
    Ok(())
}

// ------------------------------------------------------------------ for the connectors

/// One account and its secrets, read for a connector (sync, notifications).
#[derive(Debug)]
pub struct AccountInUse {
    pub account: PspAccount,
    pub secrets: AccountSecrets,
}

/// Reads the secrets of `account` from the vault for a connector to use.
/// No operator check: the connectors run for whoever is signed in and never
/// hand the secrets out (they are not in any answer, log or error).
fn secrets_in_use(vault: &dyn SecretVault, account: PspAccount) -> Result<AccountInUse, CredentialError> {
    let value =
        vault.read(&account.keyring_user())?.ok_or_else(|| CredentialError::SecretMissing(account.name.clone()))?;
    let secrets = AccountSecrets::parse_json(account.psp, &value).map_err(|_| {
        CredentialError::Keyring(format!("the keyring entry of {:?} is not valid: rotate it", account.name))
    })?;
    Ok(AccountInUse { account, secrets })
}

/// The account named `name` with its secrets (`listen --account`, `verify-notifications --account`).
pub fn account_in_use(store: &Store, vault: &dyn SecretVault, name: &str) -> Result<AccountInUse, CredentialError> {
    secrets_in_use(vault, find(store, name)?)
}

/// Every configured account with its secrets, in name order (the sync's sources).
/// A keyring that is unavailable fails the whole call; an account whose
/// entry is missing is an error that names it.
pub fn accounts_in_use(store: &Store, vault: &dyn SecretVault) -> Result<Vec<AccountInUse>, CredentialError> {
    let mut accounts = Vec::new();
    for row in store.psp_accounts(PSP_ACCOUNTS_MAX)? {
        accounts.push(secrets_in_use(vault, to_account(row)?)?);
    }
    Ok(accounts)
}

/// The future a [`ConnectionTester`] returns.
pub type TestFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Checks that a PSP accepts an account's credentials ("connection OK").
/// The error is a human sentence; the library scrubs secrets from it anyway.
pub trait ConnectionTester: Send + Sync {
    fn test<'a>(&'a self, account: &'a PspAccount, secrets: &'a AccountSecrets) -> TestFuture<'a>;
}

/// An account and its secrets, read for a connection test.
#[derive(Debug)]
pub struct PreparedTest {
    pub account: PspAccount,
    pub secrets: AccountSecrets,
}

/// The first step of a connection test: checks the operator and reads the
/// secrets (a blocking keyring call; the app runs it off its async threads).
pub fn prepare_test(
    store: &Store,
    vault: &dyn SecretVault,
    acting: &Operator,
    name: &str,
) -> Result<PreparedTest, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let account = find(store, name)?;
    let value =
        vault.read(&account.keyring_user())?.ok_or_else(|| CredentialError::SecretMissing(account.name.clone()))?;
    let secrets = AccountSecrets::parse_json(account.psp, &value).map_err(|_| {
        CredentialError::Keyring(format!("the keyring entry of {:?} is not valid: rotate it", account.name))
    })?;
    Ok(PreparedTest { account, secrets })
}

/// The second step: runs the tester with a deadline; never fails, the
/// outcome is the result.
pub async fn run_test(prepared: &PreparedTest, tester: &dyn ConnectionTester) -> ConnectionTestResult {
    let limit = Duration::from_millis(CONNECTION_TEST_TIMEOUT_MS);
    let outcome = match tokio::time::timeout(limit, tester.test(&prepared.account, &prepared.secrets)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {CONNECTION_TEST_TIMEOUT_MS} ms")),
    };
    let (ok, message) = match outcome {
        Ok(()) => (true, "connection OK".to_string()),
        Err(why) => (false, prepared.secrets.redact(&why).chars().take(TEST_MESSAGE_CHARS_MAX).collect()),
    };
    ConnectionTestResult { ok, message, at: Utc::now() }
}

/// The last step: stores the outcome on the account, with its audit entry.
pub fn record_test(
    store: &mut Store,
    acting: &Operator,
    name: &str,
    result: &ConnectionTestResult,
) -> Result<PspAccount, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    let account = find(store, name)?;
    let row = TestResultRow { at: result.at, ok: result.ok, message: result.message.clone() };
    let after = serde_json::json!({"ok": result.ok, "message": result.message});
    let entry = audit_entry(&acting.name, "credentials.test", &account_subject(&account.name), "", &after.to_string());
    store.record_psp_account_test(&account.name, &row, &entry)?;
    find(store, &account.name)
}

/// A whole connection test: prepare, run, record. The keyring read blocks
/// the calling thread briefly.
pub async fn test(
    store: &mut Store,
    vault: &dyn SecretVault,
    acting: &Operator,
    name: &str,
    tester: &dyn ConnectionTester,
) -> Result<ConnectionTestResult, CredentialError> {
    let prepared = prepare_test(store, vault, acting, name)?;
    let result = run_test(&prepared, tester).await;
    record_test(store, acting, &prepared.account.name, &result)?;
    Ok(result)
}

#[cfg(test)]
mod tests;

/// Highest contracted fee rate accepted, in basis points (100 %).
pub const FEE_BPS_MAX: i64 = 10_000;

/// Sets an account's contracted fee rate in basis points of the gross amount
/// (`None` removes it: its fees are then not checked). Reconciliation raises
/// `fee_mismatch` for settlement rows whose fee is not at the PSP's rate.
pub fn set_fee_rate(
    store: &mut Store,
    acting: &Operator,
    name: &str,
    fee_bps: Option<i64>,
) -> Result<Option<i64>, CredentialError> {
    acting.require(Permission::ManageCredentials)?;
    if let Some(bps) = fee_bps
        && !(0..=FEE_BPS_MAX).contains(&bps)
    {
        return Err(CredentialError::BadFeeRate(bps));
    }
    let account = find(store, name)?;
    let before = fee_rate(store, &account.name)?;
    let entry = audit_entry(
        &acting.name,
        "credentials.fee_rate",
        &account_subject(&account.name),
        &serde_json::json!({ "fee_bps": before }).to_string(),
        &serde_json::json!({ "fee_bps": fee_bps }).to_string(),
    );
    store.set_fee_rate(&account.name, fee_bps, &acting.name, Utc::now().timestamp(), &entry)?;
    fee_rate(store, &account.name)
}

/// An account's contracted fee rate, in basis points, if one is set.
pub fn fee_rate(store: &Store, name: &str) -> Result<Option<i64>, CredentialError> {
    Ok(store.fee_rates()?.into_iter().find(|r| r.account.eq_ignore_ascii_case(name)).map(|r| r.fee_bps))
}
