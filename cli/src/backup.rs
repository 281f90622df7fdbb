//! `voucherdesk backup` and `voucherdesk restore`: flags in, library call, output.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, open};
use clap::Args;
use std::path::PathBuf;
use voucherdesk::backup;

#[derive(Args)]
pub(crate) struct BackupArgs {
    /// The archive to write (default: `backups/voucherdesk-<UTC time>.vdbackup` beside the database).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct RestoreArgs {
    /// The archive `voucherdesk backup` wrote.
    archive: PathBuf,
    #[arg(long)]
    json: bool,
}

fn database(db: &Option<PathBuf>) -> PathBuf {
    db.clone().unwrap_or_else(voucherdesk::store::default_path)
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: BackupArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    let op = acting(&store, operator)?;
    let now = chrono::Utc::now();
    let out = args.out.unwrap_or_else(|| {
        let dir = database(db).parent().map(|p| p.join("backups")).unwrap_or_else(|| PathBuf::from("backups"));
        let _ = std::fs::create_dir_all(&dir);
        dir.join(format!("voucherdesk-{}.vdbackup", now.format("%Y%m%dT%H%M%SZ")))
    });
    let manifest = backup::backup(&mut store, &op, &out, now)?;
    if args.json {
        return print_json(&serde_json::json!({ "archive": out, "manifest": manifest }));
    }
    let rows: i64 = manifest.tables.values().sum();
    out!(
        "backup {}: schema {}, {rows} rows in {} tables, {} receipt file(s), {} audit entries",
        out.display(),
        manifest.schema_version,
        manifest.tables.len(),
        manifest.parts.len() - 1,
        manifest.audit_entries
    );
    out!("audit chain head {} (keep it to check a restore against)", manifest.audit_head);
    Ok(())
}

pub(crate) fn run_restore(db: &Option<PathBuf>, args: RestoreArgs) -> Result<(), Failure> {
    let target = database(db);
    let restored = backup::restore(&args.archive, &target, chrono::Utc::now())?;
    if args.json {
        return print_json(&restored);
    }
    out!(
        "restored {} from {} (schema {}, written {} by {}); audit chain intact, head {}",
        restored.database.display(),
        args.archive.display(),
        restored.manifest.schema_version,
        restored.manifest.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
        restored.manifest.created_by,
        restored.manifest.audit_head
    );
    match &restored.replaced_kept_at {
        Some(kept) => out!("the database it replaced is kept at {}", kept.display()),
        None => out!("there was no database to replace"),
    }
    Ok(())
}
