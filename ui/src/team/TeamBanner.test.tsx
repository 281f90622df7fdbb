import { act, render, screen, waitFor } from "@testing-library/react";
import { emit } from "@tauri-apps/api/event";
import { describe, expect, it } from "vitest";
import type { TeamStatus } from "../bindings";
import { errorHeadlineKey } from "../components/ErrorNotice";
import { ipc, useLanguage } from "../test/helpers";
import { TeamBanner, TeamIndicatorBadge } from "./TeamBanner";
import { TeamProvider, useTeamRefresh } from "./TeamContext";
import { afterChange, bannerShown, screensReload, teamErrorKey, teamIndicator } from "./teamState";

const ONLINE: TeamStatus = {
  server: "vd@127.0.0.1:5432/team",
  online: true,
  reason: null,
  offline_since: null,
  cursor: 42,
  last_pull_at: "2026-12-02T02:00:00Z",
  last_pull_rows: 0,
  leases: [],
  leases_at: null,
  this_desktop: "host/desktop#1",
};
const OFFLINE: TeamStatus = { ...ONLINE, online: false, reason: "connection refused", offline_since: "2026-12-02T02:01:00Z" };

describe("team state", () => {
  it("shows the banner only for a team desktop that cannot reach its server", () => {
    expect(bannerShown(null)).toBe(false);
    expect(bannerShown(ONLINE)).toBe(false);
    expect(bannerShown(OFFLINE)).toBe(true);
  });

  it("names the server in the header's indicator, nothing in local mode", () => {
    expect(teamIndicator(null)).toEqual({ kind: "local" });
    expect(teamIndicator(ONLINE)).toEqual({ kind: "online", server: "vd@127.0.0.1:5432/team" });
    expect(teamIndicator(OFFLINE)).toEqual({ kind: "offline", server: "vd@127.0.0.1:5432/team", since: "2026-12-02T02:01:00Z" });
  });

  it("reloads screens only when rows arrived, and takes the event's online flag at once", () => {
    expect(screensReload({ rows: 0, online: false })).toBe(false);
    expect(screensReload({ rows: 3, online: true })).toBe(true);
    expect(afterChange(ONLINE, { rows: 0, online: false })?.online).toBe(false);
    expect(afterChange(OFFLINE, { rows: 0, online: true })).toMatchObject({ online: true, reason: null });
    expect(afterChange(null, { rows: 5, online: true })).toBeNull();
  });

  it("explains the team's refusals in its own words", () => {
    expect(teamErrorKey("team.offline")).toBe("team.errors.offline");
    expect(teamErrorKey("team.busy")).toBe("team.errors.busy");
    expect(teamErrorKey("team.lease_held")).toBe("team.errors.leaseHeld");
    expect(teamErrorKey("team.sql")).toBe("team.errors.other");
    expect(teamErrorKey("refunds.already_decided")).toBeNull();
    expect(errorHeadlineKey("team.offline")).toBe("team.errors.offline");
    expect(errorHeadlineKey("store")).toBe("errors.store");
  });
});

function Reloads({ onReload }: { onReload: () => void }) {
  useTeamRefresh(onReload);
  return null;
}

describe("the offline banner", () => {
  it("appears when the server goes away, in the operator's language, and goes when it returns", async () => {
    await useLanguage("en");
    let status: TeamStatus | null = ONLINE;
    ipc((cmd) => (cmd === "team_status" ? status : undefined));
    let reloads = 0;
    render(
      <TeamProvider>
        <TeamBanner />
        <TeamIndicatorBadge />
        <Reloads onReload={() => (reloads += 1)} />
      </TeamProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("team-indicator").dataset.online).toBe("true"));
    expect(screen.queryByTestId("team-offline-banner")).toBeNull();

    status = OFFLINE;
    await act(() => emit("team-changed", { rows: 0, online: false }));
    const banner = await screen.findByTestId("team-offline-banner");
    expect(banner.textContent).toContain(
      "Team server unreachable — read-only: lookups and lists work from this desktop's copy; changes are refused until it returns.",
    );
    expect(banner.textContent).toContain("vd@127.0.0.1:5432/team");
    expect(screen.getByTestId("team-indicator").dataset.online).toBe("false");
    expect(reloads).toBe(0);

    await useLanguage("es");
    expect(screen.getByTestId("team-offline-banner").textContent).toContain("Servidor del equipo inaccesible — solo lectura");
    await useLanguage("en");

    status = ONLINE;
    await act(() => emit("team-changed", { rows: 2, online: true }));
    await waitFor(() => expect(screen.queryByTestId("team-offline-banner")).toBeNull());
    expect(reloads).toBe(1);
  });

  it("shows nothing in local mode", async () => {
    const calls = ipc((cmd) => (cmd === "team_status" ? null : undefined));
    render(
      <TeamProvider>
        <TeamBanner />
        <TeamIndicatorBadge />
      </TeamProvider>,
    );
    await waitFor(() => expect(calls.some((c) => c.cmd === "team_status")).toBe(true));
    expect(screen.queryByTestId("team-offline-banner")).toBeNull();
    expect(screen.queryByTestId("team-indicator")).toBeNull();
  });
});
