//! `voucherdesk team …`: the team server's schema, joining it, seeding it, its status. Flags in, library
//! call, output.

use crate::failure::Failure;
use crate::output::print_json;
use clap::{Args, Subcommand};
use voucherdesk::credentials::OsKeyring;
use voucherdesk::store::Store;
use voucherdesk::store::team::TeamStore;
use voucherdesk::team::{self, desktop_name};

#[derive(Subcommand)]
pub(crate) enum TeamCommand {
    /// Create the team schema on a PostgreSQL server, or migrate it to this version (refuses a newer one).
    Init(ServerArgs),
    /// Make a new local file (--db, or team-SERVER.sqlite in the data directory) this desktop's copy of the team,
    /// signed in as the operator the server address names (postgres://NAME@HOST:PORT/DB); that operator's password
    /// goes to the OS keyring.
    Join(ServerArgs),
    /// Upload the local workspace --db into an empty team, once (a second push adds nothing); the file becomes the
    /// team's copy.
    Push(ServerArgs),
    /// The team server's schema version, leases and who is reconciling.
    Status {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub(crate) struct ServerArgs {
    /// The team server: postgres://LOGIN@HOST:PORT/DATABASE (leave the password out of it). LOGIN is an operator's
    /// name in lower case; `init` and `push` take the server owner's.
    #[arg(long, env = "VOUCHERDESK_TEAM_SERVER")]
    server: String,
    /// Read the server password from this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// Read the server password from the first line of standard input.
    #[arg(long, conflicts_with = "password_env")]
    password_stdin: bool,
}

pub(crate) fn run(db: &Option<std::path::PathBuf>, operator: &Option<String>, cmd: TeamCommand) -> Result<(), Failure> {
    match cmd {
        TeamCommand::Join(server) => {
            let password = password(&server)?;
            let name = TeamStore::describe_url(&server.server)?;
            let path = db.clone().unwrap_or_else(|| team::default_copy_path(&name));
            let existed = path.exists();
            let mut store = Store::open(&path).map_err(Failure::fault)?;
            let joined = team::join(&mut store, &server.server, password.as_deref(), &OsKeyring::new(), &me(operator));
            let status = match joined {
                Ok(status) => status,
                Err(e) => {
                    // A refused join leaves no file behind that it made.
                    drop(store);
                    if !existed {
                        for suffix in ["", "-wal", "-shm"] {
                            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                        }
                    }
                    return Err(Failure::from(e));
                }
            };
            out!(
                "{} is now this desktop's copy of the team {} (up to change {}; {} shared rows)",
                path.display(),
                status.server,
                status.cursor,
                store.shared_row_count().map_err(Failure::fault)?
            );
            Ok(())
        }
        TeamCommand::Push(server) => {
            let password = password(&server)?;
            let path =
                db.clone().ok_or_else(|| Failure::refusal("name the local workspace to upload with --db FILE"))?;
            let mut store = Store::open(&path).map_err(Failure::fault)?;
            let report = team::push(&mut store, &server.server, password.as_deref(), &OsKeyring::new(), &me(operator))?;
            out!("pushed {} to the team {}: {} rows added", path.display(), report.server, report.added);
            for (table, rows) in &report.tables {
                out!("  {table:<24} {rows}");
            }
            Ok(())
        }
        TeamCommand::Init(server) => {
            let mut store = connect(&server, operator)?;
            let report = team::init(&mut store)?;
            if report.from == report.to {
                out!("team schema on {} is up to date (version {})", store.server(), report.to);
            } else if report.from == 0 {
                out!("created the team schema on {} (version {})", store.server(), report.to);
            } else {
                out!("migrated the team schema on {} from version {} to {}", store.server(), report.from, report.to);
            }
            Ok(())
        }
        TeamCommand::Status { server, json } => {
            let mut store = connect(&server, operator)?;
            let status = team::status(&mut store)?;
            if json {
                return print_json(&status);
            }
            out!("team server {} · schema version {}", status.server, status.schema_version);
            for lease in &status.leases {
                let left = lease.expires_at - status.server_now;
                if left > 0 {
                    out!("lease {}: held by {} (expires in {left} s)", lease.name, lease.holder);
                } else {
                    out!("lease {}: expired (last holder {})", lease.name, lease.holder);
                }
            }
            match &status.reconciling {
                Some(h) => out!("reconciling: {}", h.holder),
                None => out!("reconciling: nobody"),
            }
            Ok(())
        }
    }
}

fn password(args: &ServerArgs) -> Result<Option<String>, Failure> {
    if args.password_stdin {
        return crate::operators::read_password().map(Some);
    }
    match &args.password_env {
        Some(var) => Ok(Some(
            std::env::var(var).map_err(|_| Failure::refusal(format!("the environment variable {var} is not set")))?,
        )),
        None => Ok(None),
    }
}

fn me(operator: &Option<String>) -> String {
    desktop_name(&team::this_host(), operator.as_deref().unwrap_or("cli"))
}

fn connect(args: &ServerArgs, operator: &Option<String>) -> Result<TeamStore, Failure> {
    TeamStore::connect(&args.server, password(args)?.as_deref(), &me(operator)).map_err(Failure::from)
}
