//! Errors with their exit codes. Each library error the CLI reports is classed
//! once here ([`Classified`]), and its class alone decides the exit code
//! ([`ErrorClass::exit_code`]); a command returns `Err(e.into())` or uses `?`.

use voucherdesk::backup::BackupError;
use voucherdesk::demo::DemoError;
use voucherdesk::exceptions::ExceptionError;
use voucherdesk::exports::ExportError;
use voucherdesk::fx::FxError;
use voucherdesk::kpis::KpiError;
use voucherdesk::lookup::LookupError;
use voucherdesk::operators::OperatorError;
use voucherdesk::reconcile::ReconcileError;
use voucherdesk::refunds::RefundError;
use voucherdesk::refunds::receipt::ReceiptError;
use voucherdesk::store::StoreError;
use voucherdesk::store::team::TeamStoreError;
use voucherdesk::sync::SyncError;
use voucherdesk::team::TeamError;
use voucherdesk::terms::TermsError;
use voucherdesk::vouchers::VoucherError;
use voucherdesk::{credentials, notifications, webhooks};

/// What went wrong, as far as the exit code tells (README: exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// The input or the request was refused; nothing was written.
    Refusal,
    /// A check found tampering (`audit verify`) or forged notifications (`verify-notifications`).
    Tampering,
    /// Anything else: the machine, the database, the network, a PSP.
    Fault,
}

impl ErrorClass {
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            ErrorClass::Refusal => 2,
            ErrorClass::Tampering => 3,
            ErrorClass::Fault => 1,
        }
    }

    fn of(refused: bool) -> ErrorClass {
        if refused { ErrorClass::Refusal } else { ErrorClass::Fault }
    }
}

/// An error as the CLI reports it: `error: {message}` and the class's exit code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) class: ErrorClass,
}

impl Failure {
    pub(crate) fn refusal(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), class: ErrorClass::Refusal }
    }
    pub(crate) fn fault(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), class: ErrorClass::Fault }
    }
    pub(crate) fn tampering(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), class: ErrorClass::Tampering }
    }
}

/// A library error the CLI reports: its class, and the words after `error: `.
pub(crate) trait Classified: std::fmt::Display {
    fn class(&self) -> ErrorClass;

    fn message(&self) -> String {
        self.to_string()
    }
}

impl<E: Classified> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure { message: e.message(), class: e.class() }
    }
}

/// Errors that carry a stable code print it after the message: `… [refunds.not_found]`.
macro_rules! coded {
    ($($error:ty),* $(,)?) => {$(
        impl Classified for $error {
            fn class(&self) -> ErrorClass {
                ErrorClass::of(self.is_refusal())
            }
            fn message(&self) -> String {
                format!("{} [{}]", self, self.code())
            }
        }
    )*};
}

coded!(
    BackupError,
    FxError,
    KpiError,
    RefundError,
    ReceiptError,
    VoucherError,
    notifications::NotificationError,
    voucherdesk::daily_report::DailyReportError,
    ExportError
);

impl Classified for TermsError {
    fn class(&self) -> ErrorClass {
        match self {
            TermsError::Invalid(_) | TermsError::Forbidden(_) => ErrorClass::Refusal,
            TermsError::Store(_) => ErrorClass::Fault,
        }
    }
    fn message(&self) -> String {
        format!("{} [{}]", self, self.code())
    }
}

impl Classified for credentials::CredentialError {
    fn class(&self) -> ErrorClass {
        ErrorClass::of(self.is_refusal())
    }
}

impl Classified for webhooks::NotificationError {
    fn class(&self) -> ErrorClass {
        ErrorClass::of(self.is_refusal())
    }
}

impl Classified for OperatorError {
    fn class(&self) -> ErrorClass {
        match self {
            OperatorError::Store(_) => ErrorClass::Fault,
            _ => ErrorClass::Refusal,
        }
    }
}

impl Classified for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            SyncError::Credentials(e) => e.class(),
            SyncError::Store(_) | SyncError::Internal(_) | SyncError::Reconcile(_) => ErrorClass::Fault,
            _ => ErrorClass::Refusal,
        }
    }
}

impl Classified for LookupError {
    fn class(&self) -> ErrorClass {
        match self {
            LookupError::Store(_) => ErrorClass::Fault,
            _ => ErrorClass::Refusal,
        }
    }
}

impl Classified for ReconcileError {
    fn class(&self) -> ErrorClass {
        match self {
            ReconcileError::Store(_) => ErrorClass::Fault,
            _ => ErrorClass::Refusal,
        }
    }
}

impl Classified for ExceptionError {
    fn class(&self) -> ErrorClass {
        ErrorClass::of(self.code() != "store")
    }
}

impl Classified for DemoError {
    fn class(&self) -> ErrorClass {
        match self {
            DemoError::BadCount | DemoError::BadFirstOrder => ErrorClass::Refusal,
            DemoError::Write { .. } => ErrorClass::Fault,
        }
    }
}

/// A state change the team server refused is refused; anything else in the
/// store is a fault.
impl Classified for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Team(TeamStoreError::Refused(_) | TeamStoreError::Denied { .. }) => ErrorClass::Refusal,
            _ => ErrorClass::Fault,
        }
    }
}

impl Classified for TeamStoreError {
    fn class(&self) -> ErrorClass {
        match self {
            TeamStoreError::BadAddress(_)
            | TeamStoreError::NotInitialised { .. }
            | TeamStoreError::TooNew { .. }
            | TeamStoreError::Refused(_)
            | TeamStoreError::Denied { .. } => ErrorClass::Refusal,
            TeamStoreError::Unreachable { .. }
            | TeamStoreError::Offline { .. }
            | TeamStoreError::Busy { .. }
            | TeamStoreError::Migration { .. }
            | TeamStoreError::Sql(_)
            | TeamStoreError::Upload(_)
            | TeamStoreError::UnknownColumnType(_) => ErrorClass::Fault,
        }
    }
}

/// Joining, pushing to or opening a team: the server's answer decides.
impl Classified for TeamError {
    fn class(&self) -> ErrorClass {
        match self {
            TeamError::Team(e) | TeamError::Local(StoreError::Team(e)) => e.class(),
            TeamError::Local(StoreError::Invalid(_)) => ErrorClass::Refusal,
            TeamError::Local(_) | TeamError::Keyring(_) => ErrorClass::Fault,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_has_its_documented_exit_code() {
        let classes = [ErrorClass::Fault, ErrorClass::Refusal, ErrorClass::Tampering];
        assert_eq!(classes.map(ErrorClass::exit_code), [1, 2, 3]);
    }

    #[test]
    fn an_error_becomes_its_class_and_message_coded_errors_with_their_code() {
        let coded = Failure::from(TermsError::Invalid("T+N must be 0 to 30".into()));
        assert_eq!(
            (coded.message.as_str(), coded.class),
            ("T+N must be 0 to 30 [errors.validation]", ErrorClass::Refusal)
        );
        let plain = Failure::from(DemoError::Write { path: "/x/orders.csv".into(), reason: "disk full".into() });
        assert_eq!((plain.message.as_str(), plain.class), ("cannot write /x/orders.csv: disk full", ErrorClass::Fault));
        let refused = Failure::from(DemoError::BadCount);
        assert_eq!(refused.class.exit_code(), 2);
    }
}
