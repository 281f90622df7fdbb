// What the UI *offers* each role. The core decides and enforces
// (operators::Role::allows); this only keeps buttons a role cannot use out of
// the way, and the core's refusal is shown when one is tried anyway.

import type { ResolutionAction, Role } from "../bindings";

const MANAGER_ACTIONS: readonly ResolutionAction[] = ["mark_received", "write_off", "link"];

export function isManagerLike(role: Role | string): boolean {
  return role === "manager" || role === "admin";
}

export function offeredActions(role: Role | string): ResolutionAction[] {
  const base: ResolutionAction[] = ["accept", "escalate"];
  return isManagerLike(role) ? [...base, ...MANAGER_ACTIONS] : base;
}

export function actionNeedsManager(action: ResolutionAction): boolean {
  return MANAGER_ACTIONS.includes(action);
}

export function canImport(role: Role | string): boolean {
  return role === "finance" || isManagerLike(role);
}

export function canAssign(role: Role | string): boolean {
  return isManagerLike(role);
}

export function isAdmin(role: Role | string): boolean {
  return role === "admin";
}
