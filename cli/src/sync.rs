//! `voucherdesk sync`: poll the PSPs; pause, resume, status.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Args;
use std::path::PathBuf;
use voucherdesk::{credentials, sync};

#[derive(Args)]
pub(crate) struct SyncArgs {
    /// One round, then exit.
    #[arg(long, conflicts_with_all = ["pause", "resume", "status"])]
    once: bool,
    /// Pause the background sync (manager or admin).
    #[arg(long, conflicts_with_all = ["resume", "status"])]
    pause: bool,
    /// Resume a paused sync (manager or admin).
    #[arg(long, conflicts_with = "status")]
    resume: bool,
    /// Last success, errors, queue size.
    #[arg(long)]
    status: bool,
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, args: SyncArgs) -> Result<(), Failure> {
    let mut store = open(db)?;
    if args.pause || args.resume {
        let acting_op = acting(&store, operator)?;
        let changed = match args.pause {
            true => change(&mut store, |s| sync::pause(s, &acting_op))?,
            false => change(&mut store, |s| sync::resume(s, &acting_op))?,
        }?;
        let state = if args.pause { "paused" } else { "running" };
        out!("sync {}{state}", if changed { "" } else { "was already " });
        return Ok(());
    }
    if args.status {
        let status = sync::status(&store, chrono::Utc::now())?;
        if args.json {
            return print_json(&status);
        }
        let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()).unwrap_or_else(|| "never".into())
        };
        out!(
            "sync {}: {} queued, {} due now; last success {}; {} failed in the last hour",
            if status.paused { "paused" } else { "running" },
            status.queue_size,
            status.due_now,
            when(status.last_success_at),
            status.errors_last_hour
        );
        if let Some(code) = &status.last_error_code {
            out!(
                "last error at {}: {code}: {}",
                when(status.last_error_at),
                status.last_error_message.as_deref().unwrap_or("")
            );
        }
        for hold in &status.holds {
            out!("{} asked us to wait until {}", hold.psp, when(Some(hold.until)));
        }
        return Ok(());
    }
    let acting_op = acting(&store, operator)?;
    let sources = sync::sources_from_config(&store, &credentials::OsKeyring::new())?;
    let path = store.path().to_path_buf();
    drop(store);
    let engine = sync::SyncEngine::new(acting_op, sync::SyncConfig::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(Failure::fault)?;
    let json = args.json;
    let print_round = move |report: &sync::SyncReport| -> Result<(), Failure> {
        if json {
            return print_json(report);
        }
        out!(
            "polled {}, changed {}, errors {}, rate limited {}, deferred {}{}{}{}",
            report.polled,
            report.changed,
            report.errors,
            report.rate_limited,
            report.deferred,
            match report.chargebacks_read {
                0 => String::new(),
                read => format!(", chargebacks read {read} ({} new status)", report.chargebacks_changed),
            },
            if report.paused {
                " (paused)"
            } else if report.reconciled {
                "; reconciled"
            } else {
                ""
            },
            report.running_on.as_ref().map(|d| format!(" (the PSP sync runs on {d})")).unwrap_or_default()
        );
        Ok(())
    };
    runtime.block_on(async {
        if args.once {
            let report = engine.run_once(&path, &sources, chrono::Utc::now()).await?;
            return print_round(&report);
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = stop_tx.send(true);
        });
        engine
            .run(&path, &sources, stop_rx, |round| match round {
                Ok(report) => {
                    let _ = print_round(report);
                }
                Err(e) => eprintln!("sync round failed: {} ({})", e, e.code()),
            })
            .await
            .map_err(Failure::from)
    })
}
