//! Where secrets live: the OS credential store, or memory (tests and demos).

use super::*;

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

    pub(super) fn call<T: Send + 'static>(
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
pub(super) fn vault_error(e: keyring::Error) -> VaultError {
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

pub(super) fn keyring_error_kind(e: &keyring::Error) -> &'static str {
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

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Zeroizing<String>>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn check(&self) -> Result<(), VaultError> {
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
