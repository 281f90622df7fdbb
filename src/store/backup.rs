//! The SQL of backups: a consistent copy of the open database and its row counts.

use super::{Store, StoreResult};
use std::collections::BTreeMap;
use std::path::Path;

impl Store {
    /// Writes a consistent copy of the database to `path` (which must not
    /// exist) while other connections may keep writing: SQLite's `VACUUM INTO`
    /// reads one snapshot, so the copy is what one committed transaction left.
    pub fn snapshot_into(&self, path: &Path) -> StoreResult<()> {
        self.conn.execute("VACUUM INTO ?1", [path.to_string_lossy()])?;
        Ok(())
    }

    /// Rows in every table of the schema (SQLite's own tables left out).
    pub fn table_row_counts(&self) -> StoreResult<BTreeMap<String, i64>> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut counts = BTreeMap::new();
        for name in names {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\"")), [], |r| r.get(0))?;
            counts.insert(name, n);
        }
        Ok(counts)
    }
}
