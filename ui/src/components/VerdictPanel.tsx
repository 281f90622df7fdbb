// The verdict at the top of a case file, in the UI language, with the one
// step it asks for as the primary button and the buyer message that fits the
// order as the second. The core decides both (lookup::verdict), and which
// open exception the step resolves with which action for this operator
// (`step_action`); this panel words them and wires the buttons to the case
// file's own dialogs.

import { useTranslation } from "react-i18next";
import type { CaseFile, NotificationKind, ResolutionAction } from "../bindings";
import { verdictDetail } from "../lib/verdict";

export interface VerdictPanelProps {
  file: CaseFile;
  /** Opens the resolve dialog on one of the case's exceptions. */
  onResolve?: (exceptionId: string, action: ResolutionAction, country: string) => void;
  /** Opens the buyer-message preview with this kind chosen. */
  onSendMessage?: (kind: NotificationKind) => void;
  /** Opens the "issue a new voucher" dialog; given only when the operator may issue one now. */
  onIssueVoucher?: () => void;
}

function tone(code: string): string {
  if (code === "all_good") return "ok";
  if (code === "awaiting_payment" || code === "no_payment") return "info";
  if (code === "deliver_order") return "act";
  return "warn";
}

export function VerdictPanel({ file, onResolve, onSendMessage, onIssueVoucher }: VerdictPanelProps) {
  const { t, i18n } = useTranslation();
  const v = file.verdict;
  const detail = verdictDetail(v, i18n.language, t);
  const action = file.step_action;
  // The resolve dialog works in the market of the exception the step resolves.
  const actionCountry = file.exceptions.find((e) => e.id === action?.exception_id)?.country || v.facts.country || "";
  const showsRefunds = v.next_step === "refund_extra_payment";
  const issues = (v.next_step === "offer_new_voucher" || v.next_step === "release_stock") && onIssueVoucher !== undefined;
  const message = v.buyer_message;
  const openRefunds = () => {
    const panel = document.querySelector<HTMLElement>('[data-testid="case-refunds"]');
    panel?.scrollIntoView({ block: "start" });
    panel?.querySelector<HTMLElement>("button:not([disabled])")?.focus();
  };
  return (
    <div className={`verdict verdict-${tone(v.code)}`} data-testid="case-verdict" data-code={v.code} data-next-step={v.next_step} data-buyer-message={message ?? ""}>
      <strong data-testid="verdict-sentence">{t(`verdicts.${v.code}`)}</strong>
      <span className="verdict-detail" data-testid="verdict-detail">
        {t(detail.key, detail.params)}
        {v.code === "expired_unpaid" && v.facts.psp_still_pending && ` ${t("verdictDetail.psp_still_pending")}`}
      </span>
      {v.next_step !== "nothing_to_do" && (
        <span className="verdict-step" data-testid="verdict-next-step">
          <span className="muted">{t("verdictPanel.nextStep")}:</span> {t(`nextSteps.${v.next_step}`)}
        </span>
      )}
      {(action || showsRefunds || message || issues) && (
        <div className="button-row verdict-actions">
          {issues && (
            <button type="button" className="primary" data-testid="verdict-issue-voucher" onClick={onIssueVoucher}>
              {t("verdictPanel.issueVoucher")}
            </button>
          )}
          {action && onResolve && (
            <button
              type="button"
              className={issues ? "" : "primary"}
              data-testid="verdict-action"
              data-action={action.action}
              data-exception={action.exception_id}
              onClick={() => onResolve(action.exception_id, action.action, actionCountry)}
            >
              {t(`actions.${action.action}`)} · {t(`kinds.${action.kind}`)}
            </button>
          )}
          {showsRefunds && (
            <button type="button" className={action ? "" : "primary"} data-testid="verdict-refunds" onClick={openRefunds}>
              {t("verdictPanel.openRefunds")}
            </button>
          )}
          {message && onSendMessage && (
            <button
              type="button"
              className={action || showsRefunds ? "" : "primary"}
              data-testid="verdict-send"
              data-kind={message}
              onClick={() => onSendMessage(message)}
            >
              {t("verdictPanel.send", { kind: t(`notifications.kinds.${message}`) })}
            </button>
          )}
        </div>
      )}
      <details className="verdict-english small">
        <summary>{t("verdictPanel.english")}</summary>
        <span data-testid="verdict-text">{v.text}</span>
      </details>
    </div>
  );
}
