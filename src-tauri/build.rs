//! Declares the app's commands in the app manifest, so that each one must be
//! granted by a capability (capabilities/main.json) before the webview may
//! call it. Keep this list, `commands::COMMANDS` and the capability in step;
//! the `manifest_lists_every_command` test checks the first two.

const COMMANDS: &[&str] = &[
    "app_status",
    "create_first_admin",
    "sign_in",
    "sign_out",
    "set_language",
    "search_orders",
    "case_file",
    "exception_counts",
    "exception_page",
    "exception_history",
    "resolve_exceptions",
    "assign_exceptions",
    "link_candidates",
    "export_exceptions",
    "suggest_profile",
    "import_file",
    "import_history",
    "reconcile_now",
    "dashboard",
    "audit_page",
    "audit_verify",
    "settings_get",
    "settings_set",
    "operators_list",
    "operator_add",
    "operator_set_role",
    "operator_disable",
    // buyer notifications
    "notification_preview",
    "notification_resend",
    "notification_log",
    // ---- buyer notifications: the deliverer, retry, settings
    "notification_deliverer_status",
    "notification_retry",
    "notification_settings_get",
    "notification_settings_set",
    "notification_send_test",
    // PSP sync and accounts
    "sync_status",
    "sync_pause",
    "sync_resume",
    "refresh_from_psp",
    "voucher_actions",
    "voucher_issue",
    "voucher_extend",
    "voucher_cancel",
    "psp_accounts_list",
    "psp_account_add",
    "psp_account_test",
    "psp_account_rotate",
    "psp_account_remove",
    // ---- refunds
    "refunds_request",
    "refunds_approve",
    "refunds_reject",
    "refunds_cancel",
    "refunds_list",
    "refunds_show",
    "refunds_refundable",
    "refunds_receipt",
    "refunds_preview",
    "refunds_bulk_approve",
    "refunds_export_csv",
    "dashboard_refunds",
    "pick_import_files",
    "pick_save_path",
    "refunds_receipt_save",
    // team mode
    "team_status",
    // crash reports
    "crash_reports_open_folder",
    "crash_reports_dismiss",
];

include!("../build/commit.rs");

fn main() {
    println!("cargo:rustc-env=VOUCHERDESK_MANIFEST_COMMANDS={}", COMMANDS.join(","));
    // The commit shown in the account menu's version line.
    emit_commit();
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step failed");
}
