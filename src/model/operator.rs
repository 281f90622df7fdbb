//! Operators: their roles and the one permission table.

use super::exception::ResolutionAction;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Support,
    Finance,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Support, Role::Finance, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Support => "support",
            Role::Finance => "finance",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text.trim())
    }

    /// The whole permission table, one arm per (role, permission) family.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            Lookup | AddNote | ResendNotification | RequestRefund | VerifyAudit | IssueVoucher | ExtendVoucher => true,
            Resolve(ResolutionAction::Accept | ResolutionAction::Escalate) => true,
            Resolve(ResolutionAction::WriteOff | ResolutionAction::Link | ResolutionAction::MarkReceived)
            | AssignException
            | ControlSync
            | ScheduleReports => match self {
                Role::Manager | Role::Admin => true,
                Role::Support | Role::Finance => false,
            },
            Import | Reconcile => match self {
                Role::Finance | Role::Manager | Role::Admin => true,
                Role::Support => false,
            },
            ApproveRefund | CancelVoucher => match self {
                Role::Finance | Role::Manager | Role::Admin => true,
                Role::Support => false,
            },
            ManageOperators | ChangeSettings | ManageCredentials => match self {
                Role::Admin => true,
                Role::Support | Role::Finance | Role::Manager => false,
            },
        }
    }
}

/// Something an operator may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    Lookup,
    Import,
    Reconcile,
    Resolve(ResolutionAction),
    AssignException,
    AddNote,
    ResendNotification,
    RequestRefund,
    ApproveRefund,
    ManageOperators,
    ChangeSettings,
    VerifyAudit,
    /// Pause or resume the background sync with the PSPs.
    ControlSync,
    /// Add, test, rotate and remove PSP credentials (`crate::credentials`).
    ManageCredentials,
    /// Issue a new voucher for an order at its PSP (`crate::vouchers`).
    IssueVoucher,
    /// Move a pending voucher's deadline at the PSP.
    ExtendVoucher,
    /// Cancel an unpaid voucher at the PSP.
    CancelVoucher,
    /// Choose when the daily report is emailed, and to whom (`crate::daily_report::schedule`).
    ScheduleReports,
}

impl Permission {
    /// What the permission lets one do, in words for a refusal.
    pub fn describe(self) -> String {
        match self {
            Permission::Lookup => "look up case files".into(),
            Permission::Import => "import files".into(),
            Permission::Reconcile => "run reconciliation".into(),
            Permission::Resolve(action) => format!("resolve exceptions with {}", action.as_str()),
            Permission::AssignException => "assign exceptions".into(),
            Permission::AddNote => "add notes".into(),
            Permission::ResendNotification => "re-send notifications".into(),
            Permission::RequestRefund => "request refunds".into(),
            Permission::ApproveRefund => "approve refunds".into(),
            Permission::ManageOperators => "manage operators".into(),
            Permission::ChangeSettings => "change settings".into(),
            Permission::VerifyAudit => "verify the audit log".into(),
            Permission::ControlSync => "pause or resume the PSP sync".into(),
            Permission::ManageCredentials => "manage PSP credentials".into(),
            Permission::IssueVoucher => "issue vouchers".into(),
            Permission::ExtendVoucher => "extend vouchers".into(),
            Permission::CancelVoucher => "cancel vouchers".into(),
            Permission::ScheduleReports => "schedule the daily report".into(),
        }
    }
}

/// A signed-in (or CLI-named) operator: the only way to act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Operator {
    pub name: String,
    pub role: Role,
    pub language: String,
}
