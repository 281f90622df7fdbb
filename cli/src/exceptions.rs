//! `voucherdesk exceptions`: list, show and resolve reconciliation exceptions.

use crate::failure::Failure;
use crate::output::{amount_text, print_json};
use crate::workspace::{acting, change, open};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use voucherdesk::exceptions::{self, ExceptionKind, ExceptionStatus, LinkTarget, Resolution, ResolutionAction};
use voucherdesk::store::ExceptionFilter;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Open,
    Resolved,
    Cleared,
    All,
}

#[derive(Subcommand)]
pub(crate) enum ExceptionsCommand {
    /// List exceptions (ordered by id; page with --after).
    List {
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, value_enum, default_value = "open")]
        status: StatusArg,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Only ids after this one (the last id of the previous page).
        #[arg(long)]
        after: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One exception with its history.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Resolve an open exception by hand.
    Resolve {
        id: String,
        /// mark_received, accept, write_off, link or escalate.
        #[arg(long)]
        action: String,
        #[arg(long)]
        note: String,
        /// With link: the order this payment belongs to.
        #[arg(long, conflicts_with = "payment")]
        order: Option<String>,
        /// With link: the payment (id or voucher code) that paid this order.
        #[arg(long)]
        payment: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: ExceptionsCommand) -> Result<(), Failure> {
    match cmd {
        ExceptionsCommand::List { kind, status, limit, after, json } => {
            if let Some(k) = &kind
                && ExceptionKind::parse(k).is_none()
            {
                let known: Vec<_> = ExceptionKind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(Failure::refusal(format!("unknown kind {k:?} (expected one of {})", known.join(", "))));
            }
            if limit == 0 || limit > exceptions::EXCEPTIONS_PAGE_ROWS_MAX {
                return Err(Failure::refusal(format!("--limit must be 1..={}", exceptions::EXCEPTIONS_PAGE_ROWS_MAX)));
            }
            let store = open(db)?;
            let filter = ExceptionFilter {
                kind,
                status: match status {
                    StatusArg::Open => Some(ExceptionStatus::Open),
                    StatusArg::Resolved => Some(ExceptionStatus::Resolved),
                    StatusArg::Cleared => Some(ExceptionStatus::Cleared),
                    StatusArg::All => None,
                },
                after_id: after,
                limit,
                ..ExceptionFilter::default()
            };
            let rows = exceptions::list(&store, &filter).map_err(Failure::fault)?;
            if json {
                return print_json(&rows);
            }
            for e in &rows {
                out!(
                    "{}  {:<8} {:<19} {:<14} {:<18} {:>20}  {}d  {}",
                    e.id,
                    e.status.as_str(),
                    e.kind,
                    e.order_id,
                    e.payment_id,
                    amount_text(e.amount_minor, &e.currency),
                    e.age_days,
                    e.detail
                );
            }
            eprintln!("{} exception(s)", rows.len());
            Ok(())
        }
        ExceptionsCommand::Show { id, json } => {
            let store = open(db)?;
            let record = store
                .exception(&id)
                .map_err(Failure::fault)?
                .ok_or_else(|| Failure::from(exceptions::ExceptionError::NotFound(id.clone())))?;
            let history = exceptions::history(&store, &id).map_err(Failure::fault)?;
            if json {
                return print_json(&serde_json::json!({"exception": record, "history": history}));
            }
            out!(
                "{} {} ({}) order {} payment {}",
                record.id,
                record.kind,
                record.status.as_str(),
                record.order_id,
                record.payment_id
            );
            out!("  {}", record.detail);
            for h in history {
                out!(
                    "  {} {:<24} {} → {}  by {}: {}",
                    h.at.format("%Y-%m-%d %H:%M UTC"),
                    h.event,
                    h.from_status.unwrap_or_default(),
                    h.to_status,
                    h.operator,
                    h.note
                );
            }
            Ok(())
        }
        ExceptionsCommand::Resolve { id, action, note, order, payment, json } => {
            let action = ResolutionAction::parse(&action)
                .ok_or_else(|| Failure::from(exceptions::ExceptionError::UnknownAction(action.clone())))?;
            let link = order.map(LinkTarget::Order).or(payment.map(LinkTarget::Payment));
            let mut store = open(db)?;
            let operator = acting(&store, operator)?;
            let resolution = Resolution { exception_id: &id, action, note: &note, operator: &operator, link };
            let record = change(&mut store, |s| exceptions::resolve(s, &resolution))??;
            if json {
                return print_json(&record);
            }
            out!("{} resolved ({}) by {}", record.id, action.as_str(), operator.name);
            Ok(())
        }
    }
}
