import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { TeamStatus } from "../bindings";
import { ipc, useLanguage } from "../test/helpers";
import { TeamProvider } from "./TeamContext";
import { TeamSettings } from "./TeamSettings";

const STATUS: TeamStatus = {
  server: "vd@127.0.0.1:5432/team",
  online: true,
  reason: null,
  offline_since: null,
  cursor: 1204,
  last_pull_at: "2026-12-02T02:00:00Z",
  last_pull_rows: 3,
  leases: [
    { name: "psp_sync", holder: "bogota/desktop#7", expires_at: "2026-12-02T02:00:30Z", mine: false },
    { name: "notification_outbox", holder: "shenzhen/desktop#9", expires_at: "2026-12-02T02:00:30Z", mine: true },
  ],
  leases_at: "2026-12-02T02:00:00Z",
  this_desktop: "shenzhen/desktop#9",
};

describe("Settings → Team", () => {
  it("shows the server, the connection, the cursor and who holds each lease", async () => {
    await useLanguage("en");
    ipc((cmd) => (cmd === "team_status" ? STATUS : undefined));
    render(
      <TeamProvider>
        <TeamSettings />
      </TeamProvider>,
    );
    await waitFor(() => expect(screen.getByTestId("settings-team-server").textContent).toBe("vd@127.0.0.1:5432/team"));
    expect(screen.getByTestId("settings-team-online").dataset.online).toBe("true");
    expect(screen.getByTestId("settings-team-cursor").textContent).toBe("1204");
    expect(screen.getByTestId("settings-team-last-pull").textContent).toContain("rows arrived: 3");
    const sync = screen.getByTestId("settings-team-lease-psp_sync");
    expect(sync.dataset.mine).toBe("false");
    expect(sync.textContent).toContain("PSP sync");
    expect(sync.textContent).toContain("bogota/desktop#7");
    const outbox = screen.getByTestId("settings-team-lease-notification_outbox");
    expect(outbox.dataset.mine).toBe("true");
    expect(outbox.textContent).toContain("shenzhen/desktop#9 (this desktop)");
  });

  it("says the workspace is local when it is", async () => {
    await useLanguage("en");
    const calls = ipc((cmd) => (cmd === "team_status" ? null : undefined));
    render(
      <TeamProvider>
        <TeamSettings />
      </TeamProvider>,
    );
    await waitFor(() => expect(calls.some((c) => c.cmd === "team_status")).toBe(true));
    await waitFor(() =>
      expect(screen.getByTestId("settings-team-local").textContent).toBe("Local workspace: this desktop's own database, not shared with a team."),
    );
  });
});
