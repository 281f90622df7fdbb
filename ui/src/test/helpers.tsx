import type { ReactElement } from "react";
import { render } from "@testing-library/react";
import { mockIPC } from "@tauri-apps/api/mocks";
import i18n from "../i18n";
import type { AppStatus, Operator } from "../bindings";
import { SessionContext, type Session } from "../session";

export const ANA: Operator = { name: "ana", role: "support", language: "en" };
export const MARTA: Operator = { name: "marta", role: "manager", language: "en" };
export const FABIO: Operator = { name: "fabio", role: "finance", language: "en" };
export const ADMIN: Operator = { name: "admin", role: "admin", language: "en" };

export const STATUS: AppStatus = { first_run: false, db_path: "/tmp/voucherdesk.sqlite", operator: null, idle_lock_minutes: 15, version: "0.1.0 (commit test, schema 17)", crash_reports: null, cannot_open: null };

/** An exception's fields while it is open and nobody has taken it up. */
export const UNTOUCHED_EXCEPTION = { assignee: null, resolution: null, resolved_by: null, resolved_at: null, note: null } as const;

export type Handler = (cmd: string, args: Record<string, unknown>) => unknown;

/** mockIPC with a record of every call. */
export function ipc(handler: Handler): { cmd: string; args: Record<string, unknown> }[] {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      return handler(cmd, a);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export function renderSignedIn(ui: ReactElement, operator: Operator = ANA, overrides: Partial<Session> = {}) {
  const session: Session = {
    operator,
    status: { ...STATUS, operator },
    setOperator: () => undefined,
    setStatus: () => undefined,
    navigate: () => undefined,
    openCase: () => undefined,
    signOut: async () => undefined,
    ...overrides,
  };
  return render(<SessionContext.Provider value={session}>{ui}</SessionContext.Provider>);
}

export async function useLanguage(lang: "en" | "es" | "zh"): Promise<void> {
  await i18n.changeLanguage(lang);
}
