//! Backups and restores. A backup is one tar archive: a consistent copy of the
//! database taken while the app may be running, the refund receipts beside it,
//! and a manifest (format, versions, row counts, the audit chain's head, the
//! SHA-256 of every part). A restore checks all of that before it replaces
//! anything, and keeps the replaced database (and receipts) aside.

use crate::audit;
use crate::operators::{Operator, OperatorError, Permission};
use crate::refunds::receipt::RECEIPTS_DIR;
use crate::store::{AUDIT_GENESIS_HASH, AuditEntry};
use crate::store::{Store, StoreError, schema_version_latest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

/// The archive layout this code writes and reads.
pub const BACKUP_FORMAT: u32 = 1;
pub const MANIFEST_NAME: &str = "manifest.json";
/// The database's name inside the archive.
pub const DATABASE_PART: &str = "voucherdesk.sqlite";
/// Largest archive a restore reads (a ledger of many years with its receipts).
pub const BACKUP_BYTES_MAX: u64 = 64 * 1024 * 1024 * 1024;
/// Largest manifest a restore reads.
const MANIFEST_BYTES_MAX: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{0} exists already: name a new file")]
    Exists(String),
    #[error("an in-memory database cannot be backed up")]
    InMemory,
    #[error("not a VoucherDesk backup: {0}")]
    NotABackup(String),
    #[error("the backup is damaged: {0}; nothing was replaced")]
    Damaged(String),
    #[error(
        "the backup was written by schema version {found}; this VoucherDesk reads up to {supported}: upgrade it first"
    )]
    TooNew { found: u32, supported: u32 },
}

impl BackupError {
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::Operator(e) => e.code(),
            BackupError::Store(e) => e.code(),
            BackupError::Io { .. } => "backup.io",
            BackupError::Exists(_) => "backup.exists",
            BackupError::InMemory => "backup.in_memory",
            BackupError::NotABackup(_) => "backup.not_a_backup",
            BackupError::Damaged(_) => "backup.damaged",
            BackupError::TooNew { .. } => "backup.too_new",
        }
    }

    /// The request was refused (exit 2), as opposed to a fault.
    pub fn is_refusal(&self) -> bool {
        match self {
            BackupError::Operator(_)
            | BackupError::Exists(_)
            | BackupError::InMemory
            | BackupError::NotABackup(_)
            | BackupError::Damaged(_)
            | BackupError::TooNew { .. } => true,
            BackupError::Store(_) | BackupError::Io { .. } => false,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.display().to_string(), source }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `0.1.0`: the VoucherDesk that wrote it.
    pub app_version: String,
    pub schema_version: u32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// Rows per table in the copied database.
    pub tables: BTreeMap<String, i64>,
    pub audit_entries: u64,
    /// The hash of the last audit entry (the chain's head): keep it to check a restore against.
    pub audit_head: String,
    /// Every file in the archive but the manifest, by its name there.
    pub parts: BTreeMap<String, Part>,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restored {
    pub database: PathBuf,
    /// Where the database that was replaced now is (none: there was none).
    pub replaced_kept_at: Option<PathBuf>,
    pub receipts: usize,
    pub manifest: Manifest,
}

fn sha256_file(path: &Path) -> Result<Part, BackupError> {
    let mut file = File::open(path).map_err(io_at(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io_at(path))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(Part { bytes, sha256: hex::encode(hasher.finalize()) })
}

/// The head of an intact audit chain, or why it is not intact.
fn audit_head(store: &Store) -> Result<(u64, String), String> {
    let report = audit::verify(store).map_err(|e| e.to_string())?;
    if let Some(broken) = report.first_broken {
        return Err(format!("the audit chain is broken at entry {}: {}", broken.id, broken.reason));
    }
    let mut head = AUDIT_GENESIS_HASH.to_string();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 1000).map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.id;
        head = last.hash.clone();
    }
    Ok((report.entries, head))
}

fn receipt_files(dir: &Path) -> Result<Vec<PathBuf>, BackupError> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(io_at(&d))? {
            let path = entry.map_err(io_at(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Where receipts live for a database file.
fn receipts_of(database: &Path) -> PathBuf {
    database.parent().unwrap_or(Path::new(".")).join(RECEIPTS_DIR)
}

/// Writes a backup of the open database (and its receipts) to `out`, which
/// must not exist. Admins only: an archive holds every buyer's data. The
/// database may be in use meanwhile; the copy is one committed state.
pub fn backup(store: &mut Store, operator: &Operator, out: &Path, now: DateTime<Utc>) -> Result<Manifest, BackupError> {
    operator.require(Permission::ChangeSettings)?;
    write_backup(store, &operator.name, out, now)
}

/// Who the audit log names for a scheduled backup: an admin chose its folder
/// (`backup_schedule::set`), the app makes it whoever is signed in.
pub const SCHEDULED_BY: &str = "(scheduled backup)";

/// A scheduled backup (`jobs::scheduled_backup`): as [`backup`], made by [`SCHEDULED_BY`].
pub fn scheduled_backup(store: &mut Store, out: &Path, now: DateTime<Utc>) -> Result<Manifest, BackupError> {
    write_backup(store, SCHEDULED_BY, out, now)
}

fn write_backup(store: &mut Store, created_by: &str, out: &Path, now: DateTime<Utc>) -> Result<Manifest, BackupError> {
    let database = store.path().to_path_buf();
    if database.as_os_str().is_empty() || database == Path::new(":memory:") {
        return Err(BackupError::InMemory);
    }
    if out.exists() {
        return Err(BackupError::Exists(out.display().to_string()));
    }
    let work = out.with_extension("partial.d");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(io_at(&work))?;
    let result = (|| -> Result<Manifest, BackupError> {
        let copy = work.join(DATABASE_PART);
        store.snapshot_into(&copy)?;
        let snapshot = Store::open(&copy)?;
        let tables = snapshot.table_row_counts()?;
        let (audit_entries, audit_head) =
            audit_head(&snapshot).map_err(|reason| BackupError::Damaged(format!("the live database: {reason}")))?;
        drop(snapshot);
        let mut parts = BTreeMap::new();
        parts.insert(DATABASE_PART.to_string(), sha256_file(&copy)?);
        let receipts_dir = receipts_of(&database);
        let receipts = receipt_files(&receipts_dir)?;
        for file in &receipts {
            let name = format!("{RECEIPTS_DIR}/{}", file.strip_prefix(&receipts_dir).unwrap_or(file).display());
            parts.insert(name, sha256_file(file)?);
        }
        let manifest = Manifest {
            format: BACKUP_FORMAT,
            app_version: crate::version::VERSION.to_string(),
            schema_version: schema_version_latest(),
            created_at: now,
            created_by: created_by.to_string(),
            tables,
            audit_entries,
            audit_head,
            parts,
        };
        let partial = out.with_extension("partial");
        let file = File::create(&partial).map_err(io_at(&partial))?;
        let mut tar = tar::Builder::new(io::BufWriter::new(file));
        let manifest_json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest_json.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(now.timestamp().max(0) as u64);
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST_NAME, manifest_json.as_slice()).map_err(io_at(&partial))?;
        tar.append_path_with_name(&copy, DATABASE_PART).map_err(io_at(&partial))?;
        for file in &receipts {
            let name = format!("{RECEIPTS_DIR}/{}", file.strip_prefix(&receipts_dir).unwrap_or(file).display());
            tar.append_path_with_name(file, &name).map_err(io_at(file))?;
        }
        let mut inner = tar.into_inner().map_err(io_at(&partial))?;
        inner.flush().map_err(io_at(&partial))?;
        inner.get_ref().sync_all().map_err(io_at(&partial))?;
        drop(inner);
        fs::rename(&partial, out).map_err(io_at(out))?;
        Ok(manifest)
    })();
    let _ = fs::remove_dir_all(&work);
    let manifest = result?;
    let entry = AuditEntry {
        at: now,
        operator: created_by.to_string(),
        action: "backup.create".to_string(),
        subject: format!("backup {}", out.display()),
        before: String::new(),
        after: serde_json::json!({"audit_head": manifest.audit_head, "schema": manifest.schema_version}).to_string(),
    };
    store.write(|s| s.append_audit(&entry))?;
    Ok(manifest)
}

/// A name inside the archive that stays inside the folder it is unpacked in.
fn safe_name(name: &Path) -> bool {
    name.components().all(|c| matches!(c, Component::Normal(_))) && name.components().next().is_some()
}

/// Restores `archive` into `database`: reads and checks everything first (the
/// manifest, every part's SHA-256, the schema version, the audit chain, the
/// row counts); only then moves the current database (and receipts) aside as
/// `<name>.replaced-<time>` and puts the backup's in place. Close the app first.
pub fn restore(archive: &Path, database: &Path, now: DateTime<Utc>) -> Result<Restored, BackupError> {
    let size = fs::metadata(archive).map_err(io_at(archive))?.len();
    if size > BACKUP_BYTES_MAX {
        return Err(BackupError::NotABackup(format!(
            "{size} bytes is more than the {BACKUP_BYTES_MAX} a backup may have"
        )));
    }
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let work = database.with_file_name(format!(
        "{}.restore-{stamp}.d",
        database.file_name().and_then(|n| n.to_str()).unwrap_or("voucherdesk.sqlite")
    ));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(io_at(&work))?;
    let checked = (|| -> Result<Manifest, BackupError> {
        let file = File::open(archive).map_err(io_at(archive))?;
        let mut tar = tar::Archive::new(io::BufReader::new(file));
        let mut manifest: Option<Manifest> = None;
        let mut seen: BTreeMap<String, Part> = BTreeMap::new();
        let entries = tar.entries().map_err(|e| BackupError::NotABackup(e.to_string()))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| BackupError::Damaged(e.to_string()))?;
            let name = entry.path().map_err(|e| BackupError::Damaged(e.to_string()))?.into_owned();
            if !safe_name(&name) {
                return Err(BackupError::Damaged(format!(
                    "the archive names a file outside itself: {}",
                    name.display()
                )));
            }
            let text = name.to_string_lossy().into_owned();
            if text == MANIFEST_NAME {
                let mut json = Vec::new();
                (&mut entry)
                    .take(MANIFEST_BYTES_MAX)
                    .read_to_end(&mut json)
                    .map_err(|e| BackupError::Damaged(e.to_string()))?;
                manifest = Some(
                    serde_json::from_slice(&json)
                        .map_err(|e| BackupError::NotABackup(format!("{MANIFEST_NAME}: {e}")))?,
                );
                continue;
            }
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let target = work.join(&name);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(io_at(parent))?;
            }
            entry.unpack(&target).map_err(|e| BackupError::Damaged(format!("{text}: {e}")))?;
            seen.insert(text, sha256_file(&target)?);
        }
        let manifest = manifest.ok_or_else(|| BackupError::NotABackup(format!("no {MANIFEST_NAME}")))?;
        if manifest.format != BACKUP_FORMAT {
            return Err(BackupError::NotABackup(format!(
                "archive format {} (this VoucherDesk reads {BACKUP_FORMAT})",
                manifest.format
            )));
        }
        if manifest.schema_version > schema_version_latest() {
            return Err(BackupError::TooNew { found: manifest.schema_version, supported: schema_version_latest() });
        }
        for (name, part) in &manifest.parts {
            match seen.get(name) {
                None => return Err(BackupError::Damaged(format!("{name} is missing"))),
                Some(found) if found != part => {
                    return Err(BackupError::Damaged(format!(
                        "{name} has SHA-256 {} where the manifest says {}",
                        found.sha256, part.sha256
                    )));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = seen.keys().find(|k| !manifest.parts.contains_key(*k)) {
            return Err(BackupError::Damaged(format!("{extra} is not in the manifest")));
        }
        let restored_db = work.join(DATABASE_PART);
        let store = Store::open(&restored_db)?;
        let (entries, head) = audit_head(&store).map_err(BackupError::Damaged)?;
        if entries != manifest.audit_entries || head != manifest.audit_head {
            return Err(BackupError::Damaged(format!(
                "the audit chain holds {entries} entries ending in {head}, the manifest says {} ending in {}",
                manifest.audit_entries, manifest.audit_head
            )));
        }
        let counts = store.table_row_counts()?;
        for (table, n) in &manifest.tables {
            if counts.get(table) != Some(n) {
                return Err(BackupError::Damaged(format!(
                    "table {table} has {} rows, the manifest says {n}",
                    counts.get(table).copied().unwrap_or(0)
                )));
            }
        }
        drop(store);
        Ok(manifest)
    })();
    let manifest = match checked {
        Ok(m) => m,
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            return Err(e);
        }
    };
    // Everything checked: the current files go aside, the backup's take their place.
    let aside = |path: &Path| {
        path.with_file_name(format!("{}.replaced-{stamp}", path.file_name().and_then(|n| n.to_str()).unwrap_or("x")))
    };
    let replaced_kept_at = if database.exists() {
        let kept = aside(database);
        fs::rename(database, &kept).map_err(io_at(database))?;
        // The audit anchor belongs to the ledger it anchored: it goes aside with it.
        for suffix in ["-wal", "-shm", ".audit-anchor"] {
            let side = PathBuf::from(format!("{}{suffix}", database.display()));
            if side.exists() {
                fs::rename(&side, PathBuf::from(format!("{}{suffix}", kept.display()))).map_err(io_at(&side))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    fs::rename(work.join(DATABASE_PART), database).map_err(io_at(database))?;
    let receipts_dir = receipts_of(database);
    let restored_receipts = work.join(RECEIPTS_DIR);
    let mut receipts = 0;
    if restored_receipts.is_dir() {
        if receipts_dir.exists() {
            fs::rename(&receipts_dir, aside(&receipts_dir)).map_err(io_at(&receipts_dir))?;
        }
        receipts = receipt_files(&restored_receipts)?.len();
        fs::rename(&restored_receipts, &receipts_dir).map_err(io_at(&receipts_dir))?;
    }
    let _ = fs::remove_dir_all(&work);
    // The restored ledger says it was restored, and from what.
    let mut store = Store::open(database)?;
    store.append_audit(&AuditEntry {
        at: now,
        operator: "(restore)".to_string(),
        action: "backup.restore".to_string(),
        subject: format!("backup {}", archive.display()),
        before: replaced_kept_at.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        after: serde_json::json!({"audit_head": manifest.audit_head, "created_at": manifest.created_at}).to_string(),
    })?;
    Ok(Restored { database: database.to_path_buf(), replaced_kept_at, receipts, manifest })
}
