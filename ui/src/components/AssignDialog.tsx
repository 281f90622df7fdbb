import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import type { OperatorSummary } from "../bindings";
import { Dialog, DoneActions } from "./Dialog";
import { ErrorNotice } from "./ErrorNotice";
import { useSubmission } from "./useSubmission";

export function AssignDialog({ ids, onClose, onAssigned }: { ids: string[]; onClose: () => void; onAssigned: (n: number) => void }) {
  const { t } = useTranslation();
  const [operators, setOperators] = useState<OperatorSummary[]>([]);
  const [assignee, setAssignee] = useState("");
  const { error, busy, run } = useSubmission();
  const [done, setDone] = useState<number | null>(null);

  useEffect(() => {
    api
      .operatorsList()
      .then((ops) => setOperators(ops.filter((o) => !o.disabled)))
      .catch(() => setOperators([])); // free text still works
  }, []);

  const submit = (who: string | null) =>
    run(async () => {
      const r = await api.assignExceptions(ids, who);
      setDone(r.assigned);
      onAssigned(r.assigned);
    });

  return (
    <Dialog title={t("assign.title", { count: ids.length })} onClose={onClose} testId="assign-dialog">
      {done !== null ? (
        <div>
          <p className="notice notice-ok" data-testid="assign-result">
            {t("assign.done", { assigned: done })}
          </p>
          <DoneActions onClose={onClose} testId="assign-done" />
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (assignee.trim()) void submit(assignee.trim());
          }}
        >
          <label className="field">
            <span>{t("assign.to")}</span>
            <input list="assign-operators" value={assignee} onChange={(e) => setAssignee(e.target.value)} data-testid="assign-to" autoFocus />
            <datalist id="assign-operators">
              {operators.map((o) => (
                <option key={o.name} value={o.name}>
                  {o.role}
                </option>
              ))}
            </datalist>
          </label>
          <ErrorNotice error={error} testId="assign-error" />
          <div className="dialog-actions">
            <button type="button" onClick={() => void submit(null)} disabled={busy} data-testid="assign-unassign">
              {t("assign.nobody")}
            </button>
            <button type="button" onClick={onClose} data-testid="assign-cancel">
              {t("common.cancel")}
            </button>
            <button type="submit" className="primary" disabled={busy || !assignee.trim()} data-testid="assign-submit">
              {t("assign.submit")}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
