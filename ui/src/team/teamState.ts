// Team mode: what the banner, the header's indicator and the
// screens make of `team_status` and the `team-changed` event. Pure, so that
// Vitest pins it; the core decides everything, this only shows it.

import type { TeamChanged, TeamStatus } from "../bindings";

/** How often the app asks where the team copy stands, in ms (a local read: it never waits on the network). */
export const TEAM_STATUS_POLL_MS = 3_000;

/** The header's indicator: nothing in local mode. */
export type TeamIndicator = { kind: "local" } | { kind: "online"; server: string } | { kind: "offline"; server: string; since: string | null };

export function teamIndicator(status: TeamStatus | null): TeamIndicator {
  if (!status) return { kind: "local" };
  if (status.online) return { kind: "online", server: status.server };
  return { kind: "offline", server: status.server, since: status.offline_since };
}

/** The read-only banner shows on every screen while a team desktop cannot reach its server. */
export function bannerShown(status: TeamStatus | null): boolean {
  return status !== null && !status.online;
}

/**
 * What a `team-changed` event does: the status is read again whenever one
 * comes (the banner may flip), and the open screen reloads only when rows
 * arrived (its selection and scroll are kept otherwise).
 */
export function screensReload(change: TeamChanged): boolean {
  return change.rows > 0;
}

/** The status right after an event, before the next read: the event's own online flag wins. */
export function afterChange(status: TeamStatus | null, change: TeamChanged): TeamStatus | null {
  if (!status) return status;
  return status.online === change.online ? status : { ...status, online: change.online, reason: change.online ? null : status.reason };
}

/** Error codes of team mode the UI explains in its own words (the core's message follows). */
export function teamErrorKey(code: string): string | null {
  switch (code) {
    case "team.offline":
    case "team.unreachable":
      return "team.errors.offline";
    case "team.busy":
      return "team.errors.busy";
    case "team.lease_held":
      return "team.errors.leaseHeld";
    default:
      return code.startsWith("team.") ? "team.errors.other" : null;
  }
}
