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

/// dLocal Payins credentials (`X-Login`, `X-Trans-Key`, the HMAC secret key).
#[derive(Clone, PartialEq, Eq)]
pub struct DlocalSecrets {
    pub login: String,
    pub trans_key: String,
    pub secret: String,
}

/// PagoEfectivo CIP API credentials (`idService`, `accessKey`, secret key).
#[derive(Clone, PartialEq, Eq)]
pub struct PagoEfectivoSecrets {
    pub service_id: String,
    pub access_key: String,
    pub secret: String,
}

impl fmt::Debug for DlocalSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DlocalSecrets { login: <redacted>, trans_key: <redacted>, secret: <redacted> }")
    }
}

impl fmt::Debug for PagoEfectivoSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PagoEfectivoSecrets { service_id: <redacted>, access_key: <redacted>, secret: <redacted> }")
    }
}

// Secrets are wiped from memory when dropped (what the allocator frees is not).
impl Drop for DlocalSecrets {
    fn drop(&mut self) {
        self.login.zeroize();
        self.trans_key.zeroize();
        self.secret.zeroize();
    }
}

impl Drop for PagoEfectivoSecrets {
    fn drop(&mut self) {
        self.service_id.zeroize();
        self.access_key.zeroize();
        self.secret.zeroize();
    }
}

/// One account's secrets, whichever the PSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountSecrets {
    Dlocal(DlocalSecrets),
    PagoEfectivo(PagoEfectivoSecrets),
}

impl AccountSecrets {
    pub fn psp(&self) -> PspKind {
        match self {
            AccountSecrets::Dlocal(_) => PspKind::Dlocal,
            AccountSecrets::PagoEfectivo(_) => PspKind::PagoEfectivo,
        }
    }

    /// The fields as (name, value), in [`PspKind::secret_fields`] order.
    fn fields(&self) -> [(&'static str, &str); 3] {
        match self {
            AccountSecrets::Dlocal(s) => [("login", &s.login), ("trans_key", &s.trans_key), ("secret", &s.secret)],
            AccountSecrets::PagoEfectivo(s) => {
                [("service_id", &s.service_id), ("access_key", &s.access_key), ("secret", &s.secret)]
            }
        }
    }

    /// Builds and checks the secrets of `psp` from a lookup by field name;
    /// `missing` says how a field that is not there is named in the error.
    fn from_lookup(
        psp: PspKind,
        mut value_of: impl FnMut(&'static str) -> Result<Option<String>, CredentialError>,
        missing: impl Fn(&'static str) -> String,
    ) -> Result<AccountSecrets, CredentialError> {
        let [a, b, c] = psp.secret_fields();
        let mut take = |field: &'static str| -> Result<String, CredentialError> {
            let value = value_of(field)?.ok_or_else(|| CredentialError::BadSecrets(missing(field)))?;
            check_secret_field(field, &value)?;
            Ok(value)
        };
        let (first, second, third) = (take(a)?, take(b)?, take(c)?);
        Ok(match psp {
            PspKind::Dlocal => AccountSecrets::Dlocal(DlocalSecrets { login: first, trans_key: second, secret: third }),
            PspKind::PagoEfectivo => AccountSecrets::PagoEfectivo(PagoEfectivoSecrets {
                service_id: first,
                access_key: second,
                secret: third,
            }),
        })
    }

    /// Parses `{"login": "...", "trans_key": "...", "secret": "..."}` (dLocal)
    /// or `{"service_id": "...", "access_key": "...", "secret": "..."}`
    /// (PagoEfectivo). Errors name fields, never values.
    pub fn parse_json(psp: PspKind, text: &str) -> Result<AccountSecrets, CredentialError> {
        if text.len() > SECRETS_JSON_BYTES_MAX {
            return Err(CredentialError::BadSecrets(format!(
                "the secrets are longer than {SECRETS_JSON_BYTES_MAX} bytes"
            )));
        }
        // serde_json's own messages may quote a value ("invalid type: integer `1234`"), so
        // only its position is kept.
        let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            CredentialError::BadSecrets(format!(
                "the secrets are not valid JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let serde_json::Value::Object(mut fields) = document else {
            return Err(CredentialError::BadSecrets("the secrets must be a JSON object".into()));
        };
        let expected = psp.secret_fields();
        if let Some(unknown) = fields.keys().find(|k| !expected.contains(&k.as_str())) {
            return Err(CredentialError::BadSecrets(format!(
                "unknown field {unknown:?} for {psp} (expected {})",
                expected.join(", ")
            )));
        }
        AccountSecrets::from_lookup(
            psp,
            |field| match fields.remove(field) {
                None => Ok(None),
                Some(serde_json::Value::String(value)) => Ok(Some(value)),
                Some(_) => Err(CredentialError::BadSecrets(format!("field {field:?} must be a JSON string"))),
            },
            |field| format!("missing field {field:?} for {psp} (expected {})", expected.join(", ")),
        )
    }

    /// From a form's fields by name (the app's PSP accounts screen); the same
    /// checks as [`AccountSecrets::parse_json`]. Errors name fields, never values.
    pub fn from_fields(
        psp: PspKind,
        fields: &std::collections::BTreeMap<String, String>,
    ) -> Result<AccountSecrets, CredentialError> {
        let expected = psp.secret_fields();
        if let Some(unknown) = fields.keys().find(|k| !expected.contains(&k.as_str())) {
            return Err(CredentialError::BadSecrets(format!(
                "unknown field {unknown:?} for {psp} (expected {})",
                expected.join(", ")
            )));
        }
        AccountSecrets::from_lookup(
            psp,
            |field| Ok(fields.get(field).cloned()),
            |field| format!("missing field {field:?} for {psp} (expected {})", expected.join(", ")),
        )
    }

    /// Reads the JSON secrets document from `input` (standard input for the CLI), at most
    /// [`SECRETS_JSON_BYTES_MAX`] bytes.
    pub fn read_json(psp: PspKind, input: &mut impl Read) -> Result<AccountSecrets, CredentialError> {
        let mut bytes = Zeroizing::new(Vec::new());
        input
            .take(SECRETS_JSON_BYTES_MAX as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| CredentialError::BadSecrets(format!("cannot read the secrets: {e}")))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CredentialError::BadSecrets("the secrets are not UTF-8 text".into()))?;
        if text.trim().is_empty() {
            let fields = psp.secret_fields().join(", ");
            return Err(CredentialError::BadSecrets(format!("no secrets given: pass a JSON object with {fields}")));
        }
        AccountSecrets::parse_json(psp, text)
    }

    /// Reads `PREFIX_LOGIN`, `PREFIX_TRANS_KEY`, `PREFIX_SECRET` (dLocal) or
    /// `PREFIX_SERVICE_ID`, `PREFIX_ACCESS_KEY`, `PREFIX_SECRET` (PagoEfectivo)
    /// through `var` (the process environment for the CLI).
    pub fn from_env(
        psp: PspKind,
        prefix: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<AccountSecrets, CredentialError> {
        let name = |field: &str| format!("{}_{}", prefix.trim_end_matches('_'), field.to_ascii_uppercase());
        AccountSecrets::from_lookup(
            psp,
            |field| Ok(var(&name(field))),
            |field| format!("environment variable {} is not set", name(field)),
        )
    }

    /// What the keyring entry holds.
    fn to_keyring_value(&self) -> Zeroizing<String> {
        let object: serde_json::Map<String, serde_json::Value> =
            self.fields().iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string()))).collect();
        Zeroizing::new(serde_json::Value::Object(object).to_string())
    }

    /// `text` with these secret values (and anything credential-shaped)
    /// replaced by `[redacted]`: the one redaction, [`crate::redact::redact`].
    pub fn redact(&self, text: &str) -> String {
        let values: Vec<&str> = self.fields().iter().map(|(_, value)| *value).collect();
        crate::redact::redact(text, &values)
    }
}

/// Non-empty, at most [`SECRET_FIELD_CHARS_MAX`] characters, no whitespace or
/// control characters (a pasted key with a trailing newline is a mistake).
fn check_secret_field(field: &str, value: &str) -> Result<(), CredentialError> {
    if value.is_empty() {
        return Err(CredentialError::BadSecrets(format!("field {field:?} is empty")));
    }
    if value.chars().count() > SECRET_FIELD_CHARS_MAX {
        return Err(CredentialError::BadSecrets(format!(
            "field {field:?} is longer than {SECRET_FIELD_CHARS_MAX} characters"
        )));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(CredentialError::BadSecrets(format!("field {field:?} contains whitespace or control characters")));
    }
    Ok(())
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
    pub fn is_bad_input(&self) -> bool {
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

// ------------------------------------------------------------------ the vault

/// Why the credential store did not do what was asked. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Not there, locked, or not answering.
    #[error("credential store unavailable: {0}")]
    Unavailable(String),
    /// There, but it refused this entry.
    #[error("credential store refused: {0}")]
    Refused(String),
}

/// Where secrets are kept: [`OsKeyring`] in the app and the CLI;
/// [`MemoryVault`] where a test needs no OS store.
pub trait SecretVault: Send + Sync {
    fn write(&self, user: &str, value: &str) -> Result<(), VaultError>;
    /// `None` when there is no entry.
    fn read(&self, user: &str) -> Result<Option<Zeroizing<String>>, VaultError>;
    /// Whether an entry exists, without reading its secret.
    fn contains(&self, user: &str) -> Result<bool, VaultError>;
    /// `false` when there was no entry.
    fn delete(&self, user: &str) -> Result<bool, VaultError>;
}

/// The OS credential store, through the `keyring` crate.
///
/// Each call runs on a fresh thread with a deadline: the Linux backend drives
/// D-Bus on its own Tokio runtime, which must not be entered from inside
/// another runtime (the app's commands and the CLI's tests run in one), and a
/// locked store may wait forever on an unlock prompt.
#[derive(Debug, Clone)]
pub struct OsKeyring {
    service: String,
    timeout: Duration,
}

impl Default for OsKeyring {
    fn default() -> Self {
        OsKeyring::new()
    }
}

impl OsKeyring {
    pub fn new() -> OsKeyring {
        OsKeyring { service: KEYRING_SERVICE.to_string(), timeout: Duration::from_millis(KEYRING_TIMEOUT_MS) }
    }

    fn call<T: Send + 'static>(
        &self,
        user: &str,
        op: impl FnOnce(&keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> Result<T, VaultError> {
        let (service, user) = (self.service.clone(), user.to_string());
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let result = keyring::Entry::new(&service, &user).and_then(|entry| op(&entry));
                let _ = sender.send(result.map_err(vault_error));
            })
            .map_err(|e| VaultError::Unavailable(format!("cannot start the keyring call: {e}")))?;
        match receiver.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                Err(VaultError::Unavailable(format!("no answer within {} ms", self.timeout.as_millis())))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(VaultError::Unavailable("the keyring call stopped without an answer".into()))
            }
        }
    }
}

/// Maps a keyring error to ours. `BadEncoding` carries the stored bytes, so
/// it is never formatted.
fn vault_error(e: keyring::Error) -> VaultError {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            VaultError::Unavailable(inner.to_string())
        }
        keyring::Error::NoEntry => VaultError::Refused("no such entry".into()),
        keyring::Error::BadEncoding(_) => VaultError::Refused("the stored entry is not UTF-8 text".into()),
        keyring::Error::TooLong(attribute, limit) => {
            VaultError::Refused(format!("{attribute} is longer than the store's limit of {limit}"))
        }
        keyring::Error::Invalid(attribute, reason) => VaultError::Refused(format!("{attribute}: {reason}")),
        keyring::Error::Ambiguous(found) => {
            VaultError::Refused(format!("{} entries match where one was expected", found.len()))
        }
        // The enum is non-exhaustive; a new kind is reported by name only.
        other => VaultError::Refused(format!("unexpected keyring error ({})", keyring_error_kind(&other))),
    }
}

fn keyring_error_kind(e: &keyring::Error) -> &'static str {
    match e {
        keyring::Error::PlatformFailure(_) => "platform failure",
        keyring::Error::NoStorageAccess(_) => "no storage access",
        keyring::Error::NoEntry => "no entry",
        keyring::Error::BadEncoding(_) => "bad encoding",
        keyring::Error::TooLong(..) => "too long",
        keyring::Error::Invalid(..) => "invalid",
        keyring::Error::Ambiguous(_) => "ambiguous",
        _ => "unknown",
    }
}

impl SecretVault for OsKeyring {
    fn write(&self, user: &str, value: &str) -> Result<(), VaultError> {
        let value = Zeroizing::new(value.to_string());
        self.call(user, move |entry| entry.set_password(&value))
    }

    fn read(&self, user: &str) -> Result<Option<Zeroizing<String>>, VaultError> {
        self.call(user, |entry| match entry.get_password() {
            Ok(value) => Ok(Some(Zeroizing::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn contains(&self, user: &str) -> Result<bool, VaultError> {
        self.call(user, |entry| match entry.get_attributes() {
            Ok(_) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }

    fn delete(&self, user: &str) -> Result<bool, VaultError> {
        self.call(user, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }
}

/// A vault in memory, for tests that need no OS store. `set_available(false)`
/// makes every call fail as a locked keyring does.
#[derive(Debug, Default)]
pub struct MemoryVault {
    entries: Mutex<HashMap<String, Zeroizing<String>>>,
    unavailable: std::sync::atomic::AtomicBool,
}

impl MemoryVault {
    pub fn set_available(&self, available: bool) {
        self.unavailable.store(!available, std::sync::atomic::Ordering::SeqCst);
    }

    /// The keyring users that have an entry, sorted.
    pub fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = self.lock().keys().cloned().collect();
        users.sort();
        users
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Zeroizing<String>>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn check(&self) -> Result<(), VaultError> {
        match self.unavailable.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(VaultError::Unavailable("the memory vault is switched off".into())),
            false => Ok(()),
        }
    }
}

impl SecretVault for MemoryVault {
    fn write(&self, user: &str, value: &str) -> Result<(), VaultError> {
        self.check()?;
        self.lock().insert(user.to_string(), Zeroizing::new(value.to_string()));
        Ok(())
    }

    fn read(&self, user: &str) -> Result<Option<Zeroizing<String>>, VaultError> {
        self.check()?;
        Ok(self.lock().get(user).cloned())
    }

    fn contains(&self, user: &str) -> Result<bool, VaultError> {
        self.check()?;
        Ok(self.lock().contains_key(user))
    }

    fn delete(&self, user: &str) -> Result<bool, VaultError> {
        self.check()?;
        Ok(self.lock().remove(user).is_some())
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
mod tests {
    use super::*;
    use crate::operators::{self, Role};

    const DLOCAL_JSON: &str = r#"{"login":"lg-7f3a","trans_key":"tk-91bc","secret":"sk-55d0e"}"#;

    fn setup() -> (Store, Operator, Operator) {
        let mut store = Store::open_in_memory().unwrap();
        let admin = operators::add(&mut store, None, "root", Role::Admin, None).unwrap();
        let manager = operators::add(&mut store, Some(&admin), "marta", Role::Manager, None).unwrap();
        (store, admin, manager)
    }

    fn dlocal() -> AccountSecrets {
        AccountSecrets::parse_json(PspKind::Dlocal, DLOCAL_JSON).unwrap()
    }

    fn audit_text(store: &Store) -> String {
        store.audit_entries(0, 100).unwrap().iter().map(|e| format!("{:?}\n", e.entry)).collect()
    }

    #[test]
    fn parses_both_psps_and_names_fields_never_values() {
        let pe = AccountSecrets::parse_json(
            PspKind::PagoEfectivo,
            r#"{"service_id":"1234","access_key":"ak-1","secret":"sec-2"}"#,
        )
        .unwrap();
        assert_eq!(pe.psp(), PspKind::PagoEfectivo);
        let err = |psp, text: &str| AccountSecrets::parse_json(psp, text).unwrap_err().to_string();
        assert_eq!(
            err(PspKind::Dlocal, r#"{"login":"lg-7f3a","secret":"sk-55d0e"}"#),
            "bad secrets: missing field \"trans_key\" for dlocal (expected login, trans_key, secret)"
        );
        assert_eq!(
            err(PspKind::Dlocal, r#"{"login":"lg-7f3a","trans_key":"tk 91bc","secret":"sk-55d0e"}"#),
            "bad secrets: field \"trans_key\" contains whitespace or control characters"
        );
        assert_eq!(
            err(PspKind::PagoEfectivo, r#"{"service_id":98765,"access_key":"ak-1","secret":"sec-2"}"#),
            "bad secrets: field \"service_id\" must be a JSON string"
        );
        assert_eq!(
            err(PspKind::Dlocal, r#"{"login":"lg-7f3a","trans_key":"","secret":"sk-55d0e"}"#),
            "bad secrets: field \"trans_key\" is empty"
        );
        assert_eq!(
            err(PspKind::PagoEfectivo, DLOCAL_JSON),
            "bad secrets: unknown field \"login\" for pagoefectivo (expected service_id, access_key, secret)"
        );
        assert_eq!(
            err(PspKind::Dlocal, r#"{"login":"sk-99999"#),
            "bad secrets: the secrets are not valid JSON (line 1, column 18)"
        );
        let long = format!(r#"{{"login":"{}","trans_key":"t","secret":"s"}}"#, "x".repeat(SECRET_FIELD_CHARS_MAX + 1));
        assert_eq!(err(PspKind::Dlocal, &long), "bad secrets: field \"login\" is longer than 256 characters");
        assert_eq!(
            PspKind::parse("paypal").unwrap_err().to_string(),
            "unknown PSP \"paypal\" (expected dlocal or pagoefectivo)"
        );
    }

    #[test]
    fn reads_the_environment_with_a_prefix() {
        let env: HashMap<&str, &str> =
            [("PE_SERVICE_ID", "1234"), ("PE_ACCESS_KEY", "ak-1234"), ("PE_SECRET", "sec-2345")].into_iter().collect();
        let var = |name: &str| env.get(name).map(|v| v.to_string());
        let secrets = AccountSecrets::from_env(PspKind::PagoEfectivo, "PE", var).unwrap();
        // The four-digit service id is shorter than the redaction's minimum: not a secret on its own.
        assert_eq!(secrets.redact("1234/ak-1234/sec-2345/ok"), "1234/[redacted]/[redacted]/ok");
        let missing = AccountSecrets::from_env(PspKind::Dlocal, "PE_", var).unwrap_err();
        assert_eq!(missing.to_string(), "bad secrets: environment variable PE_LOGIN is not set");
    }

    #[test]
    fn debug_prints_never_show_secrets() {
        let printed = format!("{:?}", dlocal());
        assert_eq!(printed, "Dlocal(DlocalSecrets { login: <redacted>, trans_key: <redacted>, secret: <redacted> })");
    }

    #[test]
    fn base_urls_are_https_or_loopback_http_without_userinfo() {
        assert_eq!(check_base_url("https://api.dlocal.com/").unwrap(), "https://api.dlocal.com");
        assert_eq!(check_base_url("http://127.0.0.1:8717").unwrap(), "http://127.0.0.1:8717");
        let err = |u: &str| check_base_url(u).unwrap_err().to_string();
        assert_eq!(
            err("http://api.dlocal.com"),
            "bad base URL: plain http is only allowed on this machine (127.0.0.1, localhost); use https"
        );
        assert_eq!(err("https://user:pw@api.dlocal.com"), "bad base URL: it must not contain a user name or password");
        assert_eq!(err("ftp://x.example"), "bad base URL: scheme \"ftp\" is not http or https");
    }

    #[test]
    fn add_list_rotate_remove_with_audit_and_no_secret_in_sqlite() {
        let (mut store, admin, manager) = setup();
        let vault = MemoryVault::default();
        let account = add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
        assert_eq!((account.psp, account.created_by.as_str(), account.rotated_at), (PspKind::Dlocal, "root", None));
        assert_eq!(vault.users(), vec!["dlocal:co-main"]);
        let listed = list(&store, &vault, &admin).unwrap();
        assert_eq!(listed.len(), 1);
        assert!(listed[0].secret_present);

        let refused = list(&store, &vault, &manager).unwrap_err();
        assert_eq!(refused.to_string(), "marta (manager) may not manage PSP credentials");
        assert_eq!(refused.code(), "auth.forbidden");

        let rotated =
            AccountSecrets::parse_json(PspKind::Dlocal, r#"{"login":"lg-2","trans_key":"tk-2","secret":"sk-2"}"#)
                .unwrap();
        let account = rotate(&mut store, &vault, &admin, "CO-MAIN", &rotated).unwrap();
        assert!(account.rotated_at.is_some());
        assert_eq!(
            vault.read("dlocal:co-main").unwrap().unwrap().as_str(),
            r#"{"login":"lg-2","secret":"sk-2","trans_key":"tk-2"}"#
        );

        remove(&mut store, &vault, &admin, "co-main").unwrap();
        assert!(vault.users().is_empty());
        assert!(list(&store, &vault, &admin).unwrap().is_empty());
        let actions: Vec<String> = store.audit_entries(0, 100).unwrap().into_iter().map(|e| e.entry.action).collect();
        assert_eq!(&actions[2..], ["credentials.add", "credentials.rotate", "credentials.remove"]);
        let audit = audit_text(&store);
        for value in ["lg-7f3a", "tk-91bc", "sk-55d0e", "lg-2", "tk-2", "sk-2"] {
            assert!(!audit.contains(value), "{value} leaked into the audit log");
        }
    }

    #[test]
    fn an_unavailable_vault_changes_nothing() {
        let (mut store, admin, _) = setup();
        let vault = MemoryVault::default();
        add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
        let audit_before = store.audit_entries(0, 100).unwrap().len();
        vault.set_available(false);
        let e = add(&mut store, &vault, &admin, "co-backup", "https://api.dlocal.com", &dlocal()).unwrap_err();
        assert_eq!(e.code(), "credentials.keyring_unavailable");
        assert!(
            e.to_string().starts_with(
                "the OS credential store is unavailable (the memory vault is switched off); nothing was changed"
            ),
            "{e}"
        );
        assert_eq!(
            rotate(&mut store, &vault, &admin, "co-main", &dlocal()).unwrap_err().code(),
            "credentials.keyring_unavailable"
        );
        assert_eq!(
            remove(&mut store, &vault, &admin, "co-main").unwrap_err().code(),
            "credentials.keyring_unavailable"
        );
        assert_eq!(store.psp_accounts(10).unwrap().len(), 1);
        assert_eq!(store.psp_accounts(10).unwrap()[0].rotated_at, None);
        assert_eq!(store.audit_entries(0, 100).unwrap().len(), audit_before);
        vault.set_available(true);
        assert_eq!(vault.users(), vec!["dlocal:co-main"]);
    }

    #[test]
    fn a_taken_name_never_overwrites_the_existing_secrets() {
        let (mut store, admin, _) = setup();
        let vault = MemoryVault::default();
        add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
        let other =
            AccountSecrets::parse_json(PspKind::Dlocal, r#"{"login":"x1","trans_key":"x2","secret":"x3"}"#).unwrap();
        let e = add(&mut store, &vault, &admin, "CO-MAIN", "https://api.dlocal.com", &other).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("credentials.conflict", "a PSP account named \"CO-MAIN\" already exists")
        );
        assert_eq!(vault.read("dlocal:co-main").unwrap().unwrap().as_str(), dlocal().to_keyring_value().as_str());
        assert_eq!(vault.users(), vec!["dlocal:co-main"]);
    }

    struct Echo;
    impl ConnectionTester for Echo {
        fn test<'a>(&'a self, account: &'a PspAccount, secrets: &'a AccountSecrets) -> TestFuture<'a> {
            let AccountSecrets::Dlocal(s) = secrets else { unreachable!("dlocal only here") };
            let message = format!("HTTP 401 from {} for login {} key {}", account.base_url, s.login, s.secret);
            Box::pin(async move { Err(message) })
        }
    }

    #[test]
    fn a_failed_test_is_recorded_without_the_secrets() {
        let (mut store, admin, _) = setup();
        let vault = MemoryVault::default();
        add(&mut store, &vault, &admin, "co-main", "http://127.0.0.1:9", &dlocal()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let result = runtime.block_on(test(&mut store, &vault, &admin, "co-main", &Echo)).unwrap();
        assert!(!result.ok);
        assert_eq!(result.message, "HTTP 401 from http://127.0.0.1:9 for login [redacted] key [redacted]");
        let stored = store.psp_account("co-main").unwrap().unwrap().last_test.unwrap();
        assert_eq!((stored.ok, stored.message), (false, result.message));
        assert!(!audit_text(&store).contains("sk-55d0e"));

        vault.delete("dlocal:co-main").unwrap();
        let missing = prepare_test(&store, &vault, &admin, "co-main").unwrap_err();
        assert_eq!(missing.code(), "credentials.secret_missing");
        assert!(!list(&store, &vault, &admin).unwrap()[0].secret_present);
    }
}

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
