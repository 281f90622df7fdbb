//! Errors with their exit codes.

use voucherdesk::{credentials, operators, sync, webhooks};

/// An error with its exit code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) exit: u8,
}

impl Failure {
    pub(crate) fn input(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), exit: 2 }
    }
    pub(crate) fn other(message: impl ToString) -> Failure {
        Failure { message: message.to_string(), exit: 1 }
    }
}

pub(crate) fn operator_failure(e: operators::OperatorError) -> Failure {
    match e {
        operators::OperatorError::Store(_) => Failure::other(e),
        _ => Failure::input(e),
    }
}

pub(crate) fn sync_failure(e: sync::SyncError) -> Failure {
    match e {
        sync::SyncError::Credentials(e) => credential_failure(e),
        sync::SyncError::Store(_) | sync::SyncError::Internal(_) | sync::SyncError::Reconcile(_) => Failure::other(e),
        _ => Failure::input(e),
    }
}

pub(crate) fn notification_failure(e: webhooks::NotificationError) -> Failure {
    if e.is_bad_input() { Failure::input(e) } else { Failure::other(e) }
}

pub(crate) fn credential_failure(e: credentials::CredentialError) -> Failure {
    if e.is_bad_input() { Failure::input(e) } else { Failure::other(e) }
}
