import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { ADMIN, ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { BackupOverview } from "../bindings";
import { BackupSettings } from "./BackupSettings";
import { BackupWarning } from "../components/BackupWarning";

const OFF: BackupOverview = {
  schedule: { folder: null, every_hours: 24 },
  status: { last_attempt_at: null, last_attempt_folder: null, last_success_at: null, last_success_file: null, last_removed: 0, last_failure_at: null, last_failure_code: null, last_failure_reason: null },
  health: "off",
  keep_daily: 14,
  keep_monthly: 12,
  grace_hours: 6,
};

const FAILED: BackupOverview = {
  ...OFF,
  schedule: { folder: "/media/usb/backups", every_hours: 24 },
  status: {
    ...OFF.status,
    last_attempt_at: "2026-03-05T07:00:00Z",
    last_success_at: "2026-03-04T07:00:00Z",
    last_success_file: "/media/usb/backups/voucherdesk-auto-20260304T070000Z.vdbackup",
    last_failure_at: "2026-03-05T07:00:00Z",
    last_failure_code: "backup.folder_missing",
    last_failure_reason: "the backup folder /media/usb/backups is not there (is its disk or share connected?)",
  },
  health: "failed",
};

describe("scheduled backups in Settings", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("lets the admin choose a folder in the dialog and saves it by its token", async () => {
    const set: BackupOverview = { ...OFF, schedule: { folder: "/media/usb/backups", every_hours: 12 }, health: "pending" };
    const calls = ipc((cmd) => {
      if (cmd === "backup_overview") return OFF;
      if (cmd === "backup_pick_folder") return { token: "f00d", name: "backups", path: "/media/usb/backups" };
      if (cmd === "backup_schedule_set") return set;
      return null;
    });
    renderSignedIn(<BackupSettings admin />, ADMIN);
    await waitFor(() => expect((screen.getByTestId("backup-folder") as HTMLInputElement).value).toBe("No folder chosen: scheduled backups are off"));
    expect(screen.getByTestId("backup-health").textContent).toBe("Off: choose a folder to start daily backups.");
    expect((screen.getByTestId("backup-save") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByTestId("backup-choose-folder"));
    await waitFor(() => expect((screen.getByTestId("backup-folder") as HTMLInputElement).value).toBe("/media/usb/backups"));
    fireEvent.change(screen.getByTestId("backup-every-hours"), { target: { value: "12" } });
    fireEvent.click(screen.getByTestId("backup-save"));
    await waitFor(() => expect(screen.getByTestId("backup-health").dataset.health).toBe("pending"));
    expect(calls.find((c) => c.cmd === "backup_pick_folder")?.args).toEqual({ title: "Folder for scheduled backups" });
    expect(calls.find((c) => c.cmd === "backup_schedule_set")?.args).toEqual({ folder_token: "f00d", off: false, every_hours: 12 });
    expect(screen.getByTestId("backup-notice").textContent).toBe("Saved");
  });

  it("shows the last success in UTC and market time, and the last failure with its reason", async () => {
    ipc((cmd) => (cmd === "backup_overview" ? FAILED : null));
    renderSignedIn(<BackupSettings admin />, ADMIN);
    const success = await screen.findByTestId("backup-last-success");
    await waitFor(() => expect(success.dataset.at).toBe("2026-03-04T07:00:00Z"));
    expect(success.textContent).toContain("Mar 4, 2026, 07:00 UTC");
    expect(success.textContent).toContain("02:00 Bogotá/Lima time");
    expect(screen.getByTestId("backup-last-failure").textContent).toContain("Mar 5, 2026, 07:00 UTC");
    const reason = screen.getByTestId("backup-last-failure-reason");
    expect(reason.textContent).toBe("the backup folder /media/usb/backups is not there (is its disk or share connected?)");
    expect(reason.dataset.code).toBe("backup.folder_missing");
    expect(screen.getByTestId("backup-health").textContent).toBe("The last attempt failed.");
  });

  it("shows support the schedule read-only, with no way to change it", async () => {
    const calls = ipc((cmd) => (cmd === "backup_overview" ? FAILED : null));
    renderSignedIn(<BackupSettings admin={false} />, ANA);
    await waitFor(() => expect((screen.getByTestId("backup-folder") as HTMLInputElement).value).toBe("/media/usb/backups"));
    expect((screen.getByTestId("backup-every-hours") as HTMLInputElement).disabled).toBe(true);
    for (const id of ["backup-choose-folder", "backup-save", "backup-now", "backup-turn-off"]) expect(screen.queryByTestId(id)).toBeNull();
    expect(calls.map((c) => c.cmd)).toEqual(["backup_overview"]);
  });
});

describe("the backup warning banner", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("warns when the last backup failed, and takes an admin to Settings", async () => {
    ipc((cmd) => (cmd === "backup_overview" ? FAILED : null));
    const went: string[] = [];
    renderSignedIn(<BackupWarning />, ADMIN, { navigate: (s) => went.push(s) });
    const banner = await screen.findByTestId("backup-warning");
    expect(banner.dataset.health).toBe("failed");
    expect(banner.textContent).toContain("The last scheduled backup failed: the backup folder /media/usb/backups is not there");
    fireEvent.click(screen.getByTestId("backup-warning-open-settings"));
    expect(went).toEqual(["settings"]);
  });

  it("warns support that no backup succeeded for a day and its grace, and asks them to tell an admin", async () => {
    ipc((cmd) => (cmd === "backup_overview" ? { ...FAILED, health: "overdue" } : null));
    renderSignedIn(<BackupWarning />, ANA);
    const banner = await screen.findByTestId("backup-warning");
    expect(banner.textContent).toContain("No scheduled backup has succeeded for over 30 hours.");
    expect(banner.textContent).toContain("Tell an admin.");
    expect(screen.queryByTestId("backup-warning-open-settings")).toBeNull();
  });

  it("says nothing while backups are healthy, pending or off", async () => {
    for (const health of ["healthy", "pending", "off"] as const) {
      const calls = ipc((cmd) => (cmd === "backup_overview" ? { ...FAILED, health } : null));
      const { unmount } = renderSignedIn(<BackupWarning />, ADMIN);
      await waitFor(() => expect(calls.some((c) => c.cmd === "backup_overview")).toBe(true));
      await new Promise((r) => setTimeout(r, 20));
      expect(screen.queryByTestId("backup-warning")).toBeNull();
      unmount();
    }
  });
});
