//! Operators and settings.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub language: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

const OPERATOR_SELECT: &str =
    "SELECT id, name, role, password_hash, language, disabled, created_at, created_by FROM operators";

fn operator_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OperatorRecord> {
    Ok(OperatorRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        password_hash: r.get(3)?,
        language: r.get(4)?,
        disabled: r.get(5)?,
        created_at: DateTime::from_timestamp(r.get(6)?, 0).unwrap_or_default(),
        created_by: r.get(7)?,
    })
}

impl Store {
    pub fn operator_count(&self) -> StoreResult<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM operators", [], |r| r.get(0))?)
    }

    pub fn operator_by_name(&self, name: &str) -> StoreResult<Option<OperatorRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("{OPERATOR_SELECT} WHERE name = ?1"))?;
        Ok(stmt.query_row([name], operator_from_row).optional()?)
    }

    pub fn operators(&self) -> StoreResult<Vec<OperatorRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("{OPERATOR_SELECT} ORDER BY name"))?;
        let rows = stmt.query_map([], operator_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Adds an operator. `only_if_none`: refuse unless the table is empty (the
    /// first-admin bootstrap), checked inside the same transaction.
    pub fn insert_operator(
        &mut self,
        name: &str,
        role: &str,
        password_hash: Option<&str>,
        created_by: &str,
        only_if_none: bool,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if only_if_none {
            let count: i64 = tx.query_row("SELECT count(*) FROM operators", [], |r| r.get(0))?;
            if count > 0 {
                return Err(StoreError::Conflict(
                    "operators already exist: an admin must add new ones (--operator ADMIN)".into(),
                ));
            }
        }
        let exists: bool =
            tx.query_row("SELECT EXISTS(SELECT 1 FROM operators WHERE name = ?1)", [name], |r| r.get(0))?;
        if exists {
            return Err(StoreError::Conflict(format!("an operator named {name:?} already exists")));
        }
        tx.execute(
            "INSERT INTO operators(name, role, password_hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, role, password_hash, Utc::now().timestamp(), created_by],
        )?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }

    /// Changes one column of an operator ("role", "disabled", "password_hash",
    /// "language"), with its audit entry.
    pub fn update_operator(
        &mut self,
        name: &str,
        column: OperatorColumn,
        value: rusqlite::types::Value,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let sql = format!("UPDATE operators SET {} = ?2 WHERE name = ?1", column.as_sql());
        if tx.execute(&sql, params![name, value])? != 1 {
            return Err(StoreError::Invalid(format!("no operator named {name:?}")));
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }

    pub fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    pub fn put_setting(&mut self, key: &str, value: &str, audit_entry: &AuditEntry) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }
}

/// The operator columns that may change after creation.
#[derive(Debug, Clone, Copy)]
pub enum OperatorColumn {
    Role,
    Disabled,
    PasswordHash,
    Language,
}

impl OperatorColumn {
    fn as_sql(self) -> &'static str {
        match self {
            OperatorColumn::Role => "role",
            OperatorColumn::Disabled => "disabled",
            OperatorColumn::PasswordHash => "password_hash",
            OperatorColumn::Language => "language",
        }
    }
}

/// Failed sign-ins under one name (see `operators::sign_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignInFailures {
    pub failures: u32,
    /// Seconds since the epoch; None: not throttled.
    pub locked_until: Option<i64>,
}

impl Store {
    /// The failures recorded under `key` (a trimmed, lower-cased name).
    pub fn sign_in_failures(&self, key: &str) -> StoreResult<SignInFailures> {
        Ok(self
            .conn
            .prepare_cached("SELECT failures, locked_until FROM sign_in_failures WHERE name = ?1")?
            .query_row([key], |r| Ok(SignInFailures { failures: r.get(0)?, locked_until: r.get(1)? }))
            .optional()?
            .unwrap_or_default())
    }

    /// Records a sign-in attempt's outcome under `key` and its audit entry in
    /// one transaction: `state` None forgets the failures (a success).
    pub fn record_sign_in(&mut self, key: &str, state: Option<SignInFailures>, entry: &AuditEntry) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        match state {
            None => {
                tx.execute("DELETE FROM sign_in_failures WHERE name = ?1", [key])?;
            }
            Some(s) => {
                tx.execute(
                    "INSERT INTO sign_in_failures(name, failures, locked_until) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                    params![key, s.failures, s.locked_until],
                )?;
            }
        }
        audit::append(&tx, entry)?;
        tx.commit()?;
        self.advance_audit_anchor_after_commit();
        Ok(())
    }
}
