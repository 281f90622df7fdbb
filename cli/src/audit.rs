//! `voucherdesk audit`: list the log, verify its hash chain.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::open;
use clap::Subcommand;
use std::path::PathBuf;
use voucherdesk::audit;

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// The newest entries first.
    List {
        /// Only the entries of this operator. (Not `--operator`: that global
        /// flag names who is acting, and would silently filter.)
        #[arg(long, value_name = "OPERATOR")]
        by: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Check the hash chain and the anchor beside the database, report the
    /// first broken link, and print the head hash to keep.
    Verify {
        /// A head hash printed by an earlier `audit verify` and kept elsewhere:
        /// the log must still hold it.
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(db: &Option<PathBuf>, cmd: AuditCommand) -> Result<(), Failure> {
    match cmd {
        AuditCommand::List { by, action, limit, json } => {
            let store = open(db)?;
            let q = audit::AuditQuery { operator: by, action, limit, ..audit::AuditQuery::default() };
            let rows = audit::page(&store, &q).map_err(Failure::fault)?;
            if json {
                return print_json(&rows);
            }
            for r in rows {
                out!(
                    "{:>6} {} {:<12} {:<20} {}",
                    r.id,
                    r.entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
                    r.entry.operator,
                    r.entry.action,
                    r.entry.subject
                );
            }
            Ok(())
        }
        AuditCommand::Verify { expect_head, json } => {
            let store = open(db)?;
            let report = audit::verify_anchored(&store, expect_head.as_deref()).map_err(Failure::fault)?;
            if json {
                print_json(&report)?;
            } else {
                match &report.first_broken {
                    None => out!("audit log intact: {} entries verified", report.entries),
                    Some(b) => out!("audit log BROKEN at entry {}: {}", b.id, b.reason),
                }
                out!("head: entry {} hash {}", report.head_id, report.head_hash);
            }
            match report.first_broken {
                None => Ok(()),
                Some(_) => Err(Failure::tampering("the audit log has been tampered with")),
            }
        }
    }
}
