import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { BulkOutcome, Candidate, LinkTarget, ResolutionAction, Role } from "../bindings";
import { RESOLUTION_ACTIONS } from "../api/types";
import { actionNeedsManager, isManagerLike } from "../lib/roles";
import { Dialog, DoneActions } from "./Dialog";
import { ErrorNotice } from "./ErrorNotice";
import { useSubmission } from "./useSubmission";
import { Money } from "./Money";
import { When } from "./When";

/** A candidate with a payment id is a payment (for an order exception); else an order. */
export function candidateTarget(c: Candidate): LinkTarget {
  return c.payment_id ? { payment: c.payment_id } : { order: c.order_id };
}

function candidateKey(c: Candidate): string {
  return c.payment_id ? `${c.psp}:${c.payment_id}` : c.order_id;
}

/**
 * Resolve one or many exceptions with one action and a required note. All
 * actions are listed; the ones the role lacks are marked, and the core's
 * refusal (auth.forbidden) is shown if one is tried.
 */
export function ResolveDialog({
  ids,
  role,
  initialAction = "accept",
  country,
  onClose,
  onResolved,
}: {
  ids: string[];
  role: Role | string;
  initialAction?: ResolutionAction;
  country?: string;
  onClose: () => void;
  onResolved: (outcome: BulkOutcome) => void;
}) {
  const { t } = useTranslation();
  const [action, setAction] = useState<ResolutionAction>(initialAction);
  const [note, setNote] = useState("");
  const [noteMissing, setNoteMissing] = useState(false);
  const { error, setError, busy, run } = useSubmission();
  const [outcome, setOutcome] = useState<BulkOutcome | null>(null);
  const [candidates, setCandidates] = useState<Candidate[] | null>(null);
  const [candidateError, setCandidateError] = useState<ApiError | null>(null);
  const [link, setLink] = useState<Candidate | null>(null);
  const single = ids.length === 1 ? ids[0] : undefined;

  useEffect(() => {
    if (action !== "link" || !single) return;
    let live = true;
    setCandidates(null);
    setCandidateError(null);
    api
      .linkCandidates(single)
      .then((c) => live && setCandidates(c))
      .catch((e: unknown) => live && setCandidateError(toApiError(e)));
    return () => {
      live = false;
    };
  }, [action, single]);

  const submit = async () => {
    if (!note.trim()) {
      setNoteMissing(true);
      return;
    }
    let target: LinkTarget | undefined;
    if (action === "link") {
      if (!link) {
        setError(null);
        return;
      }
      target = candidateTarget(link);
    }
    await run(async () => {
      const result = await api.resolveExceptions(ids, action, note.trim(), target);
      setOutcome(result);
      onResolved(result);
    });
  };

  const manager = isManagerLike(role);
  return (
    <Dialog title={t("resolve.title", { count: ids.length })} onClose={onClose} testId="resolve-dialog">
      {outcome ? (
        <div data-testid="resolve-result">
          <p className="notice notice-ok" data-testid="resolve-result-resolved" data-resolved={outcome.resolved}>
            {t("resolve.done", { resolved: outcome.resolved })}
          </p>
          {outcome.failed.length > 0 && (
            <div className="notice notice-error" data-testid="resolve-result-failed">
              <strong>{t("resolve.failed", { count: outcome.failed.length })}</strong>
              <ul>
                {outcome.failed.map((f) => (
                  <li key={f.id} data-testid={`resolve-failure-${f.id}`} data-code={f.code}>
                    <span className="mono">{f.id}</span>: {f.code === "auth.forbidden" ? t("errors.forbidden") + " — " : ""}
                    {f.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <DoneActions onClose={onClose} testId="resolve-done" />
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <label className="field">
            <span>{t("resolve.action")}</span>
            <select value={action} onChange={(e) => setAction(e.target.value as ResolutionAction)} data-testid="resolve-action">
              {RESOLUTION_ACTIONS.map((a) => (
                <option key={a} value={a} data-testid={`resolve-action-${a}`}>
                  {t(`actions.${a}`)}
                  {!manager && actionNeedsManager(a) ? ` (${t("resolve.needsManager")})` : ""}
                </option>
              ))}
            </select>
          </label>
          {action === "link" && (
            <fieldset className="field candidates" data-testid="resolve-candidates">
              <legend>{t("resolve.candidates")}</legend>
              {!single && <p className="muted">{t("resolve.candidatesOne")}</p>}
              {single && candidates === null && !candidateError && <p className="muted">{t("common.loading")}</p>}
              <ErrorNotice error={candidateError} testId="resolve-candidates-error" />
              {candidates && candidates.length === 0 && <p className="muted">{t("resolve.candidatesNone")}</p>}
              {candidates?.map((c) => (
                <label key={candidateKey(c)} className="candidate">
                  <input
                    type="radio"
                    name="candidate"
                    checked={link !== null && candidateKey(link) === candidateKey(c)}
                    onChange={() => setLink(c)}
                    data-testid={`resolve-candidate-${c.payment_id || c.order_id}`}
                  />
                  <span className="mono">{c.payment_id ? `${c.psp} ${c.payment_id}` : c.order_id}</span>
                  {c.payment_id && c.order_id && <span className="muted small">{c.order_id}</span>}
                  {c.buyer_name && <span>{c.buyer_name}</span>}
                  <Money minor={c.amount_minor} currency={c.currency} />
                  {c.at && <When at={c.at} country={country} />}
                </label>
              ))}
              {single && candidates && candidates.length > 0 && !link && <p className="muted small">{t("resolve.linkRequired")}</p>}
            </fieldset>
          )}
          <label className="field">
            <span>{t("resolve.note")}</span>
            <textarea
              value={note}
              rows={4}
              maxLength={2000}
              placeholder={t("resolve.notePlaceholder")}
              onChange={(e) => {
                setNote(e.target.value);
                if (e.target.value.trim()) setNoteMissing(false);
              }}
              aria-invalid={noteMissing}
              data-testid="resolve-note"
            />
          </label>
          {noteMissing && (
            <p className="field-error" data-testid="resolve-note-required">
              {t("resolve.noteRequired")}
            </p>
          )}
          <ErrorNotice error={error} testId="resolve-error" />
          <div className="dialog-actions">
            <button type="button" onClick={onClose} data-testid="resolve-cancel">
              {t("common.cancel")}
            </button>
            <button type="submit" className="primary" disabled={busy || (action === "link" && !link)} data-testid="resolve-submit">
              {t("resolve.submit")}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
