import { createContext, useContext } from "react";
import type { AppStatus, Operator } from "./bindings";

export type ScreenId =
  | "lookup"
  | "exceptions"
  | "imports"
  | "dashboard"
  | "audit"
  | "settings"
  // refunds
  | "inbox"
  | "refunds"
  // buyer notifications
  | "notifications";
export const SCREENS: readonly ScreenId[] = [
  "lookup",
  "exceptions",
  "imports",
  "dashboard",
  "audit",
  "settings",
  "inbox",
  "refunds",
  "notifications",
] as const;

/** Screens a role is offered in the nav (the core enforces what each may do). */
export function screenOffered(screen: ScreenId, role: string): boolean {
  switch (screen) {
    case "inbox":
      return role === "finance" || role === "manager" || role === "admin";
    default:
      return true;
  }
}

export interface Session {
  operator: Operator;
  status: AppStatus;
  /** Replaces the signed-in operator (after set_language, a role change…). */
  setOperator: (op: Operator) => void;
  setStatus: (s: AppStatus) => void;
  navigate: (screen: ScreenId) => void;
  /** Opens the lookup screen on one order's case file. */
  openCase: (orderId: string) => void;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in session");
  return s;
}
