//! `voucherdesk operators`: who may do what.

use crate::failure::Failure;
use crate::output::print_json;
use crate::workspace::{acting, change, open};
use clap::Subcommand;
use std::path::PathBuf;
use voucherdesk::operators::{self, Role};

#[derive(Subcommand)]
pub(crate) enum OperatorsCommand {
    /// Add an operator. Needs an admin --operator, except for the first one (which must be an admin).
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Read the app sign-in password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    SetRole {
        name: String,
        role: String,
    },
    Disable {
        name: String,
    },
    SetPassword {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub(crate) fn read_password() -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(Failure::fault)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// In team mode the same password is the operator's own login on the team
/// server (created on first use); locally there is none.
fn team_login(store: &mut voucherdesk::store::Store, name: &str, password: &str) -> Result<(), Failure> {
    if let Some(login) = voucherdesk::team::set_operator_login(store, name, password)? {
        out!("{name} signs in to the team as {login}");
    }
    Ok(())
}

pub(crate) fn run(db: &Option<PathBuf>, operator: &Option<String>, cmd: OperatorsCommand) -> Result<(), Failure> {
    let mut store = open(db)?;
    let role =
        |text: &str| Role::parse(text).ok_or_else(|| Failure::from(operators::OperatorError::UnknownRole(text.into())));
    match cmd {
        OperatorsCommand::Add { name, role: role_text, password_stdin } => {
            let role = role(&role_text)?;
            let password = if password_stdin { Some(read_password()?) } else { None };
            let acting_op = match store.operator_count().map_err(Failure::fault)? {
                0 => None,
                _ => Some(acting(&store, operator)?),
            };
            let added =
                change(&mut store, |s| operators::add(s, acting_op.as_ref(), &name, role, password.as_deref()))??;
            out!("added {} ({})", added.name, added.role.as_str());
            if let Some(password) = &password {
                team_login(&mut store, &added.name, password)?;
            }
        }
        OperatorsCommand::List { json } => {
            let list = operators::list(&store)?;
            if json {
                return print_json(&list);
            }
            for o in list {
                out!(
                    "{:<20} {:<8} {:<3} {}{}",
                    o.name,
                    o.role,
                    o.language,
                    if o.can_sign_in { "can sign in" } else { "CLI only" },
                    if o.disabled { " (disabled)" } else { "" }
                );
            }
        }
        OperatorsCommand::SetRole { name, role: role_text } => {
            let role = role(&role_text)?;
            let acting_op = acting(&store, operator)?;
            change(&mut store, |s| operators::set_role(s, &acting_op, &name, role))??;
            out!("{name} is now {}", role.as_str());
        }
        OperatorsCommand::Disable { name } => {
            let acting_op = acting(&store, operator)?;
            change(&mut store, |s| operators::disable(s, &acting_op, &name))??;
            out!("{name} is disabled");
        }
        OperatorsCommand::SetPassword { name, .. } => {
            let acting_op = acting(&store, operator)?;
            let password = read_password()?;
            change(&mut store, |s| operators::set_password(s, &acting_op, &name, &password))??;
            out!("password changed for {name}");
            team_login(&mut store, &name, &password)?;
        }
    }
    Ok(())
}
