//! `voucherdesk team …` (issue 7): the team server's schema and status. Flags in, library call, output.

use super::{Failure, print_json};
use clap::{Args, Subcommand};
use voucherdesk::store::team::{TeamStore, TeamStoreError};
use voucherdesk::team::{self, desktop_name};

#[derive(Subcommand)]
pub enum TeamCommand {
    /// Create the team schema on a PostgreSQL server, or migrate it to this version (refuses a newer one).
    Init(ServerArgs),
    /// The team server's schema version, leases and who is reconciling.
    Status {
        #[command(flatten)]
        server: ServerArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ServerArgs {
    /// The team server: postgres://USER@HOST:PORT/DATABASE (leave the password out of it).
    #[arg(long, env = "VOUCHERDESK_TEAM_SERVER")]
    server: String,
    /// Read the server password from this environment variable.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

pub fn run(operator: &Option<String>, cmd: TeamCommand) -> Result<(), Failure> {
    match cmd {
        TeamCommand::Init(server) => {
            let mut store = connect(&server, operator)?;
            let report = team::init(&mut store).map_err(team_failure)?;
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
            let status = team::status(&mut store).map_err(team_failure)?;
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

fn connect(args: &ServerArgs, operator: &Option<String>) -> Result<TeamStore, Failure> {
    let password = match &args.password_env {
        Some(var) => {
            Some(std::env::var(var).map_err(|_| Failure::input(format!("the environment variable {var} is not set")))?)
        }
        None => None,
    };
    let me = desktop_name(&team::this_host(), operator.as_deref().unwrap_or("cli"));
    TeamStore::connect(&args.server, password.as_deref(), &me).map_err(team_failure)
}

fn team_failure(e: TeamStoreError) -> Failure {
    match e {
        TeamStoreError::BadAddress(_) | TeamStoreError::NotInitialised { .. } | TeamStoreError::TooNew { .. } => {
            Failure::input(e)
        }
        TeamStoreError::Refused(_) => Failure::input(e),
        TeamStoreError::Unreachable { .. }
        | TeamStoreError::Offline { .. }
        | TeamStoreError::Busy { .. }
        | TeamStoreError::Migration { .. }
        | TeamStoreError::Sql(_)
        | TeamStoreError::Upload(_)
        | TeamStoreError::UnknownColumnType(_) => Failure::other(e),
    }
}
