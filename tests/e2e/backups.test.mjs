// Scheduled backups in the real app: the admin chooses a folder in the GTK
// folder chooser (typed with xdotool, as a person would), saves; the app's own
// background round backs up into it at once; the archive restores with the
// CLI. Then the folder goes away (a disk unplugged), "Back up now" fails, and
// the warning banner shows the reason. Screenshots: 30-settings-backups,
// 31-backup-warning.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver } from "./webdriver.mjs";
import * as harness from "./harness.mjs";
import { APP, CLI, ROOT, tid } from "./harness.mjs";

const SHOTS = path.join(ROOT, "artifacts/screenshots");
const DIALOG_TITLE = "Folder for scheduled backups";
/** How many more times Enter is pressed while the folder chooser stays open. */
const CHOOSER_ENTERS_MAX = 4;
let work;
let db;
let folder;
let driver;
let s;

const shot = async (name) => {
  await sleep(300);
  await s.screenshot(path.join(SHOTS, `${name}.png`), { xWindow: () => harness.xWindow(db) });
};

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), "vd-e2e-backups-"));
  db = path.join(work, "voucherdesk.sqlite");
  folder = path.join(work, "usb-disk");
  mkdirSync(folder);
  execFileSync(CLI, ["--db", db, "operators", "add", "root", "--role", "admin", "--password-stdin"], { input: "root-password-1\n" });
  // GTK keeps the file chooser's state (its mode, recent places) under the XDG
  // folders: this app gets its own, so what earlier tests' dialogs left there
  // does not change how this chooser answers.
  const xdg = (name) => {
    const dir = path.join(work, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const env = { ...process.env, VOUCHERDESK_DB: db, XDG_CONFIG_HOME: xdg("config"), XDG_DATA_HOME: xdg("data"), XDG_CACHE_HOME: xdg("cache") };
  driver = await startDriver({ env });
  s = await Session.create(driver.base, APP);
  await s.waitFor(tid("sign-in-name"), { timeout: 60_000, what: "the sign-in screen" });
});

after(async () => {
  if (s) await s.delete().catch(() => undefined);
  if (driver) await driver.stop();
  if (db) for (const pid of harness.appPids(APP, db)) process.kill(pid, "SIGTERM");
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Types `dir` into the GTK folder chooser (a child process of the app) and selects it. */
async function chooseFolder(dir) {
  const x = (...args) => {
    const r = spawnSync("xdotool", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`xdotool ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const find = () => spawnSync("xdotool", ["search", "--onlyvisible", "--name", DIALOG_TITLE], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean).pop();
  const windowId = await s.until(find, { what: "the folder chooser", timeout: 30_000 });
  x("windowfocus", "--sync", windowId);
  await s.until(() => x("getwindowfocus") === windowId, { what: "the chooser to take the focus", timeout: 5_000 });
  await sleep(400);
  x("key", "ctrl+l");
  await sleep(400);
  x("type", "--delay", "20", dir);
  await sleep(600);
  x("key", "Return");
  // In folder mode Enter may only open the folder; Enter again selects the
  // folder now shown. On a loaded machine the chooser can take a while to
  // answer either, so this follows the chooser: Enter again while it stays open.
  for (let attempt = 0; attempt < CHOOSER_ENTERS_MAX; attempt++) {
    const closed = await s
      .until(() => (find() ? null : true), { what: "the folder chooser to close", timeout: 4_000 })
      .catch(() => false);
    if (closed) return;
    x("windowfocus", "--sync", windowId);
    x("key", "Return");
  }
  throw new Error(`the folder chooser stayed open after ${CHOOSER_ENTERS_MAX} presses of Enter`);
}

test("an admin schedules backups into a chosen folder; a lost folder raises the warning", async () => {
  await harness.signIn(s, "root", "root-password-1");
  await harness.go(s, "settings");
  await s.waitFor(`${tid("backup-health")}[data-health="off"]`, { what: "scheduled backups off" });
  await s.click(tid("backup-choose-folder"));
  await chooseFolder(folder);
  await s.until(async () => (await s.execute(`return document.querySelector('[data-testid="backup-folder"]').value`)) === folder, {
    what: "the chosen folder shown",
    timeout: 15_000,
  });
  await s.click(tid("backup-save"));
  await s.waitFor(`${tid("backup-health")}:is([data-health="pending"], [data-health="healthy"])`, { what: "the schedule saved" });

  // The background round (woken by the save) makes the first backup.
  const scheduled = () => readdirSync(folder).filter((f) => /^voucherdesk-auto-\d{8}T\d{6}Z\.vdbackup$/.test(f));
  const archives = await s.until(() => (scheduled().length > 0 ? scheduled() : null), {
    what: "the first scheduled backup",
    timeout: 60_000,
  });
  assert.equal(archives.length, 1, readdirSync(folder).join(" "));
  // Settings shows it once read again (the round records its outcome right after the archive).
  await s.until(
    async () => {
      await harness.go(s, "lookup");
      await harness.go(s, "settings");
      return (await s.count(`${tid("backup-health")}[data-health="healthy"]`)) === 1;
    },
    { what: "the success shown in Settings", timeout: 30_000 },
  );
  const last = await s.waitFor(`${tid("backup-last-success")}[data-at]`, { what: "the last success" });
  assert.match(await last.attr("data-at"), /^\d{4}-\d{2}-\d{2}T/);
  assert.match(await s.label(tid("backup-last-success")), / UTC · .* your time · .* Bogotá\/Lima time/);
  assert.equal(await s.label(tid("backup-last-file")), path.join(folder, archives[0]));
  assert.equal(await (await s.find(tid("backup-health"))).attr("data-health"), "healthy");
  await shot("30-settings-backups");

  // The archive restores with the CLI into a new file, audit chain intact.
  const restored = execFileSync(CLI, ["--db", path.join(work, "restored.sqlite"), "restore", path.join(folder, archives[0])], { encoding: "utf8" });
  assert.match(restored, /audit chain intact/);
  assert.match(restored, /by \(scheduled backup\)/);

  // The disk goes away: the next backup fails and every screen warns.
  rmSync(folder, { recursive: true, force: true });
  await s.click(tid("backup-now"));
  const health = await s.waitFor(`${tid("backup-health")}[data-health="failed"]`, { what: "the failed backup", timeout: 30_000 });
  assert.ok(health);
  assert.equal(
    await s.label(tid("backup-last-failure-reason")),
    `the backup folder ${folder} is not there (is its disk or share connected?)`,
  );
  // The banner reads the status when a screen opens it (and every minute).
  await harness.resetToSignIn(s);
  await harness.signIn(s, "root", "root-password-1");
  const banner = await s.waitFor(`${tid("backup-warning")}[data-health="failed"]`, { what: "the warning banner", timeout: 30_000 });
  assert.match(await banner.text(), /The last scheduled backup failed: the backup folder .* is not there/);
  await shot("31-backup-warning");
});
