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
        // The server's function decides (operator logins write no table directly).
        let r = self.client.query_one(
            &format!("SELECT outcome, previous, {LEASE_COLUMNS} FROM voucherdesk_take_lease($1, $2, $3::bigint)"),
            &[&name, &holder, &ttl_seconds],
        )?;
        let outcome: String = r.get(0);
        let previous: Option<String> = r.get(1);
        let lease = LeaseRow {
            name: r.get(2),
            holder: r.get(3),
            acquired_at: r.get(4),
            renewed_at: r.get(5),
            expires_at: r.get(6),
            generation: r.get(7),
        };
        Ok(match outcome.as_str() {
            "acquired" => LeaseTake::Acquired { lease },
            "renewed" => LeaseTake::Renewed { lease },
            "taken_over" => LeaseTake::TakenOver { lease, from: previous.unwrap_or_default() },
            _ => LeaseTake::HeldBy { lease },
        })
    }

    /// Gives the lease up, if `holder` has it; true when it did.
    pub fn release_lease(&mut self, name: &str, holder: &str) -> TeamResult<bool> {
        Ok(self.client.query_one("SELECT voucherdesk_release_lease($1, $2)", &[&name, &holder])?.get(0))
    }

    /// Every lease, for status screens.
    pub fn leases(&mut self) -> TeamResult<Vec<LeaseRow>> {
        let rows = self.client.query(&format!("SELECT {LEASE_COLUMNS} FROM leases ORDER BY name"), &[])?;
        Ok(rows.iter().map(lease_row).collect())
    }
}
