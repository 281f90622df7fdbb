import { useTranslation } from "react-i18next";
import { firstLine, type ApiError } from "../api/errors";
import { teamErrorKey } from "../team/teamState";

/** Refund and payee (KYC) refusals that have their own sentence in the catalogue. */
const REFUND_ERROR_CODES: ReadonlySet<string> = new Set([
  "refunds.window_passed",
  "refunds.psp_unsupported",
  "refunds.payment_not_paid",
  "refunds.exceeds_refundable",
  "refunds.limit_exceeded",
  "refunds.pending_exists",
  "refunds.amount_not_positive",
  "refunds.bad_amount",
  "refunds.unquotable_amount",
  "refunds.beneficiary_missing",
  "refunds.note_required",
  "refunds.no_fx_rate",
  "refunds.no_psp_account",
  "refunds.psp_account",
  "refunds.self_approval",
  "refunds.same_approver",
  "refunds.wrong_role",
  "refunds.already_decided",
  "refunds.comment_required",
  "refunds.bad_state",
  "refunds.method_unsupported",
  "refunds.not_manual",
  "refunds.transfer_already_recorded",
  "refunds.transfer_duplicate",
  "refunds.bad_transfer",
  "refunds.bad_proof",
  "kyc.invalid",
  "kyc.document_mismatch",
  "kyc.name_mismatch",
  "kyc.phone_format",
  "kyc.no_order",
]);

/** The localised headline for an error code; the core's message follows as detail. */
export function errorHeadlineKey(code: string): string {
  // team mode: offline, busy, another desktop's lease
  const team = teamErrorKey(code);
  if (team) return team;
  switch (code) {
    case "auth.forbidden":
      return "errors.forbidden";
    case "auth.denied":
      return "errors.denied";
    case "auth.locked":
      return "errors.locked";
    case "auth.throttled":
      return "errors.throttled";
    case "auth.required":
      return "errors.required";
    case "errors.validation":
      return "errors.validation";
    case "exceptions.already_closed":
      return "errors.alreadyClosed";
    case "exceptions.not_found":
      return "errors.notFound";
    case "exceptions.conflict":
    case "operators.conflict":
      return "errors.conflict";
    case "exceptions.bad_link":
      return "errors.badLink";
    case "store":
      return "errors.store";
    case "ipc.unavailable":
      return "errors.unavailable";
    case "import.read":
      return "errors.importRead";
    case "import.encoding":
      return "errors.importEncoding";
    case "import.missing_columns":
      return "errors.importColumns";
    case "import.duplicate_columns":
      return "errors.importDuplicateColumns";
    case "files.not_picked":
      return "errors.filesNotPicked";
    case "import.no_rows":
      return "errors.importNoRows";
    case "import.profile_kind":
      return "errors.importProfileKind";
    case "import.too_many_rows":
      return "errors.importTooMany";
    case "import.bad_rows":
      return "errors.importBadRows";
    // PSP sync and accounts
    case "credentials.keyring_unavailable":
    case "credentials.keyring":
      return "pspErrors.keyringUnavailable";
    case "credentials.secret_missing":
      return "pspErrors.secretMissing";
    case "credentials.not_found":
      return "errors.notFound";
    case "credentials.conflict":
      return "errors.conflict";
    case "sync.no_account":
      return "pspErrors.noAccount";
    case "sync.rate_limited":
      return "pspErrors.rateLimited";
    case "sync.unknown_payment":
      return "errors.notFound";
    // buyer notifications
    case "notifications.resend_limit":
      return "notifications.errors.resendLimit";
    case "notifications.no_recipient":
      return "notifications.errors.noRecipient";
    case "notifications.sms_too_long":
      return "notifications.errors.smsTooLong";
    case "notifications.template":
      return "notifications.errors.template";
    case "notifications.unknown_order":
      return "errors.notFound";
    case "notifications.keyring":
      return "pspErrors.keyringUnavailable";
    case "notifications.not_retryable":
      return "notifications.errors.notRetryable";
    case "notifications.test_failed":
      return "notifications.errors.testFailed";
    case "notifications.unknown_notification":
      return "errors.notFound";
    default:
      if (REFUND_ERROR_CODES.has(code)) return `refunds.errors.${code.replace(/^refunds\./, "").replace(/^kyc\./, "kyc_")}`;
      if (code.startsWith("dlocal.") || code.startsWith("pagoefectivo.")) return "pspErrors.pspRefused";
      return "errors.generic";
  }
}

export function ErrorNotice({ error, testId = "error", full = false }: { error: ApiError | null; testId?: string; full?: boolean }) {
  const { t } = useTranslation();
  if (!error) return null;
  const detail = full ? error.message : firstLine(error.message);
  return (
    <div className="notice notice-error" role="alert" data-testid={testId} data-code={error.code}>
      <strong data-testid={`${testId}-headline`}>{t(errorHeadlineKey(error.code))}</strong>
      {detail && <span className="notice-detail" data-testid={`${testId}-detail`}>{detail}</span>}
    </div>
  );
}
