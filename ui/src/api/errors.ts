import type { ApiError as ApiErrorPayload } from "../bindings";

/** An IPC failure, always with a code the UI can branch on. */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
  }
}

function isPayload(e: unknown): e is ApiErrorPayload {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as Record<string, unknown>).code === "string" &&
    typeof (e as Record<string, unknown>).message === "string"
  );
}

/**
 * Normalises whatever `invoke` rejected with: our `{code, message}`, or
 * Tauri's own errors (plain strings such as "command dashboard not found").
 */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (isPayload(e)) return new ApiError(e.code, e.message);
  if (typeof e === "string") {
    if (/command .* not found/i.test(e) || (/not allowed/i.test(e) && /command/i.test(e))) {
      return new ApiError("ipc.unavailable", e);
    }
    return new ApiError("ipc", e);
  }
  if (e instanceof Error) return new ApiError("ipc", e.message);
  return new ApiError("ipc", String(e));
}

/** True when the command does not exist in this build of the app (yet). */
export function isUnavailable(e: ApiError): boolean {
  return e.code === "ipc.unavailable";
}

/** One `FILE:LINE: column: reason` line of a rejected import. */
export interface BadRow {
  file: string;
  line: number;
  column: string;
  reason: string;
}

const BAD_ROW = /^(.*?):(\d+): ([^:]+): (.*)$/;

/**
 * The bad rows listed in an `import.bad_rows` message (the first line is the
 * summary; then one `FILE:LINE: column: reason` per line). Lines that do not
 * have that shape (summary, "only the first 50…") are skipped.
 */
export function parseBadRows(message: string): BadRow[] {
  const rows: BadRow[] = [];
  for (const raw of message.split(/\r?\n/)) {
    const m = BAD_ROW.exec(raw.trim());
    if (!m) continue;
    const [, file = "", line = "0", column = "", reason = ""] = m;
    rows.push({ file, line: Number(line), column, reason });
  }
  return rows;
}

/** The first line of a multi-line error message. */
export function firstLine(message: string): string {
  return message.split(/\r?\n/, 1)[0] ?? message;
}
