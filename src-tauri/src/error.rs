//! Every command error crosses the IPC boundary as `{ "code": "...", "message": "..." }`:
//! the code from the core error's `.code()`, the message from its Display.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What a failed command rejects with. The UI branches on `code`
/// (`auth.denied`, `auth.forbidden`, `errors.validation`, `import.bad_rows`,
/// `exceptions.already_closed`, `store`, ...) and shows `message`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

/// Codes the shell itself produces (the rest come from the core).
pub mod codes {
    /// No operator is signed in.
    pub const AUTH_REQUIRED: &str = "auth.required";
    /// The session was locked after the idle time; sign in again.
    pub const AUTH_LOCKED: &str = "auth.locked";
    /// An argument the core has no type for was malformed (a date, a market, a profile name).
    pub const VALIDATION: &str = "errors.validation";
    /// A bug or a crash in the shell (a panicked worker).
    pub const INTERNAL: &str = "internal";
    /// A file command was given a token the shell did not hand out for that use (picked_files).
    pub const FILES_NOT_PICKED: &str = "files.not_picked";
}

impl ApiError {
    pub fn new(code: &str, message: impl std::fmt::Display) -> ApiError {
        ApiError { code: code.to_string(), message: message.to_string() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Core errors that carry their own stable code.
macro_rules! from_coded {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> ApiError {
                ApiError::new(e.code(), &e)
            }
        }
    )*};
}

from_coded!(
    voucherdesk::operators::OperatorError,
    voucherdesk::lookup::LookupError,
    voucherdesk::exceptions::ExceptionError,
    voucherdesk::import::ImportError,
    voucherdesk::reconcile::ReconcileError,
    voucherdesk::settings::SettingsError,
    voucherdesk::dashboard::DashboardError,
    voucherdesk::kpis::KpiError,
    voucherdesk::notifications::NotificationError,
    // ---- refunds
    voucherdesk::refunds::RefundError,
    voucherdesk::refunds::receipt::ReceiptError,
);

// PSP sync and accounts.
from_coded!(voucherdesk::sync::SyncError, voucherdesk::credentials::CredentialError);

// Voucher actions.
from_coded!(voucherdesk::vouchers::VoucherError);

// Scheduled backups.
from_coded!(voucherdesk::backup_schedule::BackupScheduleError);

// Crash reports (the notice's folder).
from_coded!(voucherdesk::crash::CrashError);

// The store's own code: `store`, or `team.offline`, `team.busy`, `team.*` in team mode.
from_coded!(voucherdesk::store::StoreError, voucherdesk::team::TeamError);

impl From<voucherdesk::import::profile::ProfileError> for ApiError {
    fn from(e: voucherdesk::import::profile::ProfileError) -> ApiError {
        ApiError::new("import.profile", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use voucherdesk::operators::OperatorError;

    /// The UI (and ui/src/api/errors.ts) relies on exactly this shape.
    #[test]
    fn errors_cross_ipc_as_code_and_message() {
        let e: ApiError = OperatorError::Forbidden {
            name: "ana".into(),
            role: "support",
            what: "resolve exceptions with write_off".into(),
        }
        .into();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({
                "code": "auth.forbidden",
                "message": "ana (support) may not resolve exceptions with write_off"
            })
        );
        let e: ApiError = OperatorError::BadCredentials.into();
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"code":"auth.denied","message":"wrong name or password"}"#);
    }

    /// A team desktop's refusals keep the store's code (the UI's banner and messages branch on it).
    #[test]
    fn store_errors_keep_their_team_code() {
        let e: ApiError = voucherdesk::store::StoreError::ReadOnly.into();
        assert_eq!(e.code, "team.offline");
        assert!(
            e.message.starts_with("VoucherDesk is read-only while the team server cannot be reached"),
            "{}",
            e.message
        );
        let e: ApiError = voucherdesk::store::StoreError::Invalid("bad".into()).into();
        assert_eq!((e.code.as_str(), e.message.as_str()), ("store", "bad"));
    }
}

// The daily report and its email schedule.
from_coded!(voucherdesk::daily_report::DailyReportError, voucherdesk::exports::ExportError);
