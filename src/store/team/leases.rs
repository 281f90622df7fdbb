//! Leases on the team server: work only one desktop may do at a time.

use super::{TeamResult, TeamStore};

/// A lease as the server has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaseRow {
    pub name: String,
    pub holder: String,
    pub acquired_at: i64,
    pub renewed_at: i64,
    pub expires_at: i64,
    pub generation: i64,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LeaseTake {
    /// Nobody had it: it is ours.
    Acquired { lease: LeaseRow },
    /// We had it: renewed.
    Renewed { lease: LeaseRow },
    /// Its holder stopped renewing and it expired: ours now.
    TakenOver { lease: LeaseRow, from: String },
    /// Someone else holds it until `lease.expires_at`.
    HeldBy { lease: LeaseRow },
}

const LEASE_COLUMNS: &str = "name, holder, acquired_at, renewed_at, expires_at, generation";

fn lease_row(r: &postgres::Row) -> LeaseRow {
    LeaseRow {
        name: r.get(0),
        holder: r.get(1),
        acquired_at: r.get(2),
        renewed_at: r.get(3),
        expires_at: r.get(4),
        generation: r.get(5),
    }
}

impl TeamStore {
    /// Takes, renews or takes over the lease `name` for `holder` for
    /// `ttl_seconds`, by the server's clock, in one transaction: of two
    /// desktops asking at once, exactly one gets it.
    pub fn take_lease(&mut self, name: &str, holder: &str, ttl_seconds: i64) -> TeamResult<LeaseTake> {
        let mut tx = self.client.transaction()?;
        let now: i64 = tx.query_one("SELECT extract(epoch FROM clock_timestamp())::bigint", &[])?.get(0);
        let current =
            tx.query_opt(&format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1 FOR UPDATE"), &[&name])?;
        let outcome = match current.map(|r| lease_row(&r)) {
            None => {
                // Two first takers: the second insert finds the row and takes nothing.
                let inserted = tx.query_opt(
                    &format!(
                        "INSERT INTO leases(name, holder, acquired_at, renewed_at, expires_at, generation)
                         VALUES ($1, $2, $3::bigint, $3::bigint, $3::bigint + $4::bigint, 1)
                         ON CONFLICT (name) DO NOTHING
                         RETURNING {LEASE_COLUMNS}"
                    ),
                    &[&name, &holder, &now, &ttl_seconds],
                )?;
                match inserted {
                    Some(r) => LeaseTake::Acquired { lease: lease_row(&r) },
                    None => {
                        let r =
                            tx.query_one(&format!("SELECT {LEASE_COLUMNS} FROM leases WHERE name = $1"), &[&name])?;
                        LeaseTake::HeldBy { lease: lease_row(&r) }
                    }
                }
            }
            Some(lease) if lease.holder == holder => {
                let r = tx.query_one(
                    &format!(
                        "UPDATE leases SET renewed_at = $2::bigint, expires_at = $2::bigint + $3::bigint WHERE name = $1 RETURNING {LEASE_COLUMNS}"
                    ),
                    &[&name, &now, &ttl_seconds],
                )?;
                LeaseTake::Renewed { lease: lease_row(&r) }
            }
            Some(lease) if lease.expires_at <= now => {
                let r = tx.query_one(
                    &format!(
                        "UPDATE leases SET holder = $2, acquired_at = $3::bigint, renewed_at = $3::bigint, expires_at = $3::bigint + $4::bigint,
                                           generation = generation + 1
                          WHERE name = $1 RETURNING {LEASE_COLUMNS}"
                    ),
                    &[&name, &holder, &now, &ttl_seconds],
                )?;
                LeaseTake::TakenOver { lease: lease_row(&r), from: lease.holder }
            }
            Some(lease) => LeaseTake::HeldBy { lease },
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Gives the lease up, if `holder` has it; true when it did.
    pub fn release_lease(&mut self, name: &str, holder: &str) -> TeamResult<bool> {
        Ok(self.client.execute("DELETE FROM leases WHERE name = $1 AND holder = $2", &[&name, &holder])? == 1)
    }

    /// Every lease, for status screens.
    pub fn leases(&mut self) -> TeamResult<Vec<LeaseRow>> {
        let rows = self.client.query(&format!("SELECT {LEASE_COLUMNS} FROM leases ORDER BY name"), &[])?;
        Ok(rows.iter().map(lease_row).collect())
    }
}
