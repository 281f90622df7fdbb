import { useState } from "react";
import { toApiError, type ApiError } from "../api/errors";

/**
 * One submission at a time: `busy` while `work` runs; a failure is shown as
 * `error`, then `onFailure` runs.
 */
export function useSubmission() {
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (work: () => Promise<void>, onFailure?: () => void) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (e) {
      setError(toApiError(e));
      onFailure?.();
    } finally {
      setBusy(false);
    }
  };
  return { error, setError, busy, run };
}
