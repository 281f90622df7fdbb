//! PSP accounts: the non-secret half of a PSP credential (name, PSP, base URL,
//! when it was added and rotated, the last connection test). The secrets are
//! in the OS keyring (`crate::credentials`); this table never holds them.
//!
//! The writes take an `outside_write` closure: it runs inside the IMMEDIATE
//! transaction, after the row checks and before the row changes, so the
//! keyring write happens under the database's write lock and a failure there
//! leaves the row untouched.

use super::audit::{self, AuditEntry};
use super::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PspAccountRow {
    pub name: String,
    pub psp: String,
    pub base_url: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub rotated_at: Option<DateTime<Utc>>,
    pub last_test: Option<TestResultRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResultRow {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub message: String,
}

#[derive(Debug, Clone, Copy)]
pub struct NewPspAccountRow<'a> {
    pub name: &'a str,
    pub psp: &'a str,
    pub base_url: &'a str,
    pub created_at: DateTime<Utc>,
    pub created_by: &'a str,
}

const ACCOUNT_SELECT: &str =
    "SELECT name, psp, base_url, created_at, created_by, rotated_at, last_test_at, last_test_ok,
     last_test_message FROM psp_accounts";

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn account_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PspAccountRow> {
    let last_test_at: Option<i64> = r.get(6)?;
    let last_test_ok: Option<bool> = r.get(7)?;
    let last_test_message: Option<String> = r.get(8)?;
    let last_test = match (last_test_at, last_test_ok) {
        (Some(at), Some(ok)) => {
            Some(TestResultRow { at: instant(at), ok, message: last_test_message.unwrap_or_default() })
        }
        _ => None,
    };
    Ok(PspAccountRow {
        name: r.get(0)?,
        psp: r.get(1)?,
        base_url: r.get(2)?,
        created_at: instant(r.get(3)?),
        created_by: r.get(4)?,
        rotated_at: r.get::<_, Option<i64>>(5)?.map(instant),
        last_test,
    })
}

fn no_account(name: &str) -> StoreError {
    StoreError::Invalid(format!("no PSP account named {name:?}"))
}

impl Store {
    /// Accounts by name, at most `limit`.
    pub fn psp_accounts(&self, limit: u32) -> StoreResult<Vec<PspAccountRow>> {
        let mut stmt = self.conn.prepare_cached(&format!("{ACCOUNT_SELECT} ORDER BY name LIMIT ?1"))?;
        let rows = stmt.query_map([limit], account_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One account, by name (case-insensitive).
    pub fn psp_account(&self, name: &str) -> StoreResult<Option<PspAccountRow>> {
        let mut stmt = self.conn.prepare_cached(&format!("{ACCOUNT_SELECT} WHERE name = ?1"))?;
        Ok(stmt.query_row([name], account_from_row).optional()?)
    }

    pub fn psp_account_count(&self) -> StoreResult<i64> {
        Ok(self.conn.query_row("SELECT count(*) FROM psp_accounts", [], |r| r.get(0))?)
    }

    /// Adds an account, refusing a name already taken; `outside_write` runs
    /// once that is known and before the row is inserted.
    pub fn insert_psp_account<E: From<StoreError>>(
        &mut self,
        row: &NewPspAccountRow<'_>,
        audit_entry: &AuditEntry,
        outside_write: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let exists: bool = tx
            .query_row("SELECT EXISTS(SELECT 1 FROM psp_accounts WHERE name = ?1)", [row.name], |r| r.get(0))
            .map_err(StoreError::from)?;
        if exists {
            return Err(StoreError::Conflict(format!("a PSP account named {:?} already exists", row.name)).into());
        }
        outside_write()?;
        tx.execute(
            "INSERT INTO psp_accounts(name, psp, base_url, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.name, row.psp, row.base_url, row.created_at.timestamp(), row.created_by],
        )
        .map_err(StoreError::from)?;
        audit::append(&tx, audit_entry)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    /// Marks an account's secrets as replaced at `at`; `outside_write` runs
    /// once the account is known to exist and before the row changes.
    pub fn mark_psp_account_rotated<E: From<StoreError>>(
        &mut self,
        name: &str,
        at: DateTime<Utc>,
        audit_entry: &AuditEntry,
        outside_write: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let exists: bool = tx
            .query_row("SELECT EXISTS(SELECT 1 FROM psp_accounts WHERE name = ?1)", [name], |r| r.get(0))
            .map_err(StoreError::from)?;
        if !exists {
            return Err(no_account(name).into());
        }
        outside_write()?;
        tx.execute("UPDATE psp_accounts SET rotated_at = ?2 WHERE name = ?1", params![name, at.timestamp()])
            .map_err(StoreError::from)?;
        audit::append(&tx, audit_entry)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    /// Removes an account; `outside_write` runs once the account is known to
    /// exist and before the row goes.
    pub fn delete_psp_account<E: From<StoreError>>(
        &mut self,
        name: &str,
        audit_entry: &AuditEntry,
        outside_write: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::from)?;
        let exists: bool = tx
            .query_row("SELECT EXISTS(SELECT 1 FROM psp_accounts WHERE name = ?1)", [name], |r| r.get(0))
            .map_err(StoreError::from)?;
        if !exists {
            return Err(no_account(name).into());
        }
        outside_write()?;
        tx.execute("DELETE FROM psp_accounts WHERE name = ?1", [name]).map_err(StoreError::from)?;
        audit::append(&tx, audit_entry)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(())
    }

    /// Records the outcome of a connection test.
    pub fn record_psp_account_test(
        &mut self,
        name: &str,
        result: &TestResultRow,
        audit_entry: &AuditEntry,
    ) -> StoreResult<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = tx.execute(
            "UPDATE psp_accounts SET last_test_at = ?2, last_test_ok = ?3, last_test_message = ?4 WHERE name = ?1",
            params![name, result.at.timestamp(), result.ok, result.message],
        )?;
        if changed != 1 {
            return Err(no_account(name));
        }
        audit::append(&tx, audit_entry)?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::AuditEntry;

    fn audit_entry(operator: &str, action: &str, subject: &str, before: &str, after: &str) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            operator: operator.to_string(),
            action: action.to_string(),
            subject: subject.to_string(),
            before: before.to_string(),
            after: after.to_string(),
        }
    }

    fn new_row(name: &str) -> NewPspAccountRow<'_> {
        NewPspAccountRow {
            name,
            psp: "dlocal",
            base_url: "https://api.dlocal.com",
            created_at: instant(1_767_225_600),
            created_by: "root",
        }
    }

    #[test]
    fn a_failed_outside_write_leaves_no_row_and_no_audit() {
        let mut store = Store::open_in_memory().unwrap();
        let entry = audit_entry("root", "credentials.add", "psp account main", "", "{}");
        let refused: Result<(), StoreError> =
            store.insert_psp_account(&new_row("main"), &entry, || Err(StoreError::Invalid("keyring says no".into())));
        assert_eq!(refused.unwrap_err().to_string(), "keyring says no");
        assert_eq!(store.psp_account_count().unwrap(), 0);
        assert_eq!(store.audit_entries(0, 10).unwrap().len(), 0);

        store.insert_psp_account::<StoreError>(&new_row("main"), &entry, || Ok(())).unwrap();
        let mut ran = false;
        let taken = store.insert_psp_account::<StoreError>(&new_row("MAIN"), &entry, || {
            ran = true;
            Ok(())
        });
        assert_eq!(taken.unwrap_err().to_string(), "a PSP account named \"MAIN\" already exists");
        assert!(!ran, "a taken name never reaches the keyring");
        let rows = store.psp_accounts(10).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].name, "main");
        assert_eq!(rows[0].created_at, instant(1_767_225_600));
        assert_eq!(rows[0].last_test, None);
        assert_eq!(store.audit_entries(0, 10).unwrap().len(), 1);
    }

    #[test]
    fn rotate_test_and_delete_need_an_existing_account() {
        let mut store = Store::open_in_memory().unwrap();
        let entry = audit_entry("root", "credentials.x", "psp account main", "", "");
        let missing = store.mark_psp_account_rotated::<StoreError>("main", Utc::now(), &entry, || Ok(()));
        assert_eq!(missing.unwrap_err().to_string(), "no PSP account named \"main\"");
        store.insert_psp_account::<StoreError>(&new_row("main"), &entry, || Ok(())).unwrap();
        store.mark_psp_account_rotated::<StoreError>("Main", instant(1_767_312_000), &entry, || Ok(())).unwrap();
        let result = TestResultRow { at: instant(1_767_312_060), ok: false, message: "HTTP 401".into() };
        store.record_psp_account_test("main", &result, &entry).unwrap();
        let row = store.psp_account("MAIN").unwrap().unwrap();
        assert_eq!(row.rotated_at, Some(instant(1_767_312_000)));
        assert_eq!(row.last_test, Some(result));
        store.delete_psp_account::<StoreError>("main", &entry, || Ok(())).unwrap();
        assert_eq!(store.psp_account("main").unwrap(), None);
        assert_eq!(store.audit_entries(0, 10).unwrap().len(), 4);
    }
}
