// The installed package: the .deb `make package` built, installed on this
// machine with dpkg, its CLI on the PATH, its app started from /usr/bin under
// the e2e harness (tauri-driver + WebKitWebDriver) on a fresh data directory:
// the first-run screen, the new admin signed in; then the package removed and
// the data directory still there. Skipped unless VOUCHERDESK_DEB names the
// package: it installs software system-wide, so it runs on its own
// (`make package-test`, scripts/package-test.sh), as root or through sudo.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver } from "./webdriver.mjs";
import { ROOT, tid } from "./harness.mjs";

const DEB = process.env.VOUCHERDESK_DEB;
const SHOTS = path.join(ROOT, "artifacts/screenshots");
/** Where the package puts the app and the CLI. */
const INSTALLED_APP = "/usr/bin/voucherdesk-desktop";
const INSTALLED_CLI = "/usr/bin/voucherdesk";
const DESKTOP_ENTRY = "/usr/share/applications/VoucherDesk.desktop";
/** How long the installed app may take to show its first screen on a loaded machine. */
const FIRST_SCREEN_WAIT_MS = 60_000;

const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
const run = (cmd, args, options = {}) => execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...options });
const root = (cmd, args) => (sudo.length ? run("sudo", [cmd, ...args]) : run(cmd, args));

let packageName = null;
let installedHere = false;
let driver;
let s;
let home;

/** The installed app's processes started on `dataHome` (found by binary and environment, so only ours end). */
function installedAppPids(dataHome) {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== INSTALLED_APP) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`XDG_DATA_HOME=${dataHome}`)) pids.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** The installed app's visible X window, for screenshots from the display. */
function installedWindow(dataHome) {
  for (const pid of installedAppPids(dataHome)) {
    const found = spawnSync("xdotool", ["search", "--onlyvisible", "--pid", String(pid)], { encoding: "utf8", timeout: 5_000 });
    const id = (found.stdout ?? "").trim().split("\n").filter(Boolean).pop();
    if (id) return id;
  }
  return null;
}

function isInstalled(name) {
  const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], { encoding: "utf8" });
  return r.status === 0 && r.stdout.includes("install ok installed");
}

after(async () => {
  if (s) await s.delete().catch(() => undefined);
  if (driver) await driver.stop();
  if (home) for (const pid of installedAppPids(path.join(home, "data"))) process.kill(pid, "SIGTERM");
  // A failed run leaves nothing installed that it installed.
  if (installedHere && packageName && isInstalled(packageName)) root("dpkg", ["-r", packageName]);
  if (home) rmSync(home, { recursive: true, force: true });
});

test(
  "the .deb installs the app and the CLI, the installed app opens on first run, removal keeps the data",
  { skip: DEB ? false : "set VOUCHERDESK_DEB to the .deb to install (make package-test)" },
  async () => {
    assert.ok(existsSync(DEB), `${DEB} does not exist: run make package first`);
    packageName = run("dpkg-deb", ["-f", DEB, "Package"]).trim();
    assert.ok(!isInstalled(packageName), `${packageName} is installed on this machine already: this test installs and removes it, so it refuses to touch an installation it did not make`);

    // Install.
    root("dpkg", ["-i", DEB]);
    installedHere = true;
    assert.ok(isInstalled(packageName));
    const files = run("dpkg", ["-L", packageName]).split("\n");
    for (const f of [INSTALLED_APP, INSTALLED_CLI, DESKTOP_ENTRY]) assert.ok(files.includes(f), `the package installs ${f}: ${files.join(" ")}`);
    assert.ok(files.some((f) => /^\/usr\/share\/icons\/hicolor\/\d+x\d+\/apps\/voucherdesk-desktop\.png$/.test(f)), `an icon: ${files.join(" ")}`);
    const entry = readFileSync(DESKTOP_ENTRY, "utf8");
    assert.match(entry, /^Exec=voucherdesk-desktop$/m);
    assert.match(entry, /^Name=VoucherDesk$/m);
    assert.match(entry, /^Icon=voucherdesk-desktop$/m);
    assert.match(entry, /^Categories=Office;Finance;$/m);

    // The CLI is on the PATH, as a user's shell finds it.
    assert.equal(run("sh", ["-c", "command -v voucherdesk"]).trim(), INSTALLED_CLI);
    const version = run("voucherdesk", ["--version"]).trim();
    assert.match(version, /^voucherdesk 0\.1\.0 \(commit [0-9a-f]{12}(-dirty)?, schema \d+\)$/);

    // The installed app on a fresh data directory: the one it uses by default ($XDG_DATA_HOME/voucherdesk/).
    home = mkdtempSync(path.join(tmpdir(), "vd-package-"));
    const dataHome = path.join(home, "data");
    const dataDir = path.join(dataHome, "voucherdesk");
    const env = { ...process.env, XDG_DATA_HOME: dataHome };
    delete env.VOUCHERDESK_DB;
    driver = await startDriver({ env });
    s = await Session.create(driver.base, INSTALLED_APP);
    await s.waitFor(tid("first-run-name"), { timeout: FIRST_SCREEN_WAIT_MS, what: "the first-run screen of the installed app" });
    const shot = async (name) => {
      await sleep(300);
      return s.screenshot(path.join(SHOTS, `${name}.png`), { xWindow: () => installedWindow(dataHome) });
    };
    await s.type(tid("first-run-name"), "root");
    await s.type(tid("first-run-password"), "root-password-1");
    await s.type(tid("first-run-password-again"), "root-password-1");
    await shot("package-01-first-run");
    await s.click(tid("first-run-submit"));
    const who = await s.waitFor(`${tid("current-operator")}[data-name="root"]`, { timeout: FIRST_SCREEN_WAIT_MS, what: "root signed in" });
    assert.equal(await who.attr("data-role"), "admin");
    await shot("package-02-signed-in");
    // The app and the CLI of one package are one build.
    const appVersion = await s.executeAsync(
      "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('app_status').then((st) => done(st.version), (e) => done(String(e)));",
    );
    assert.equal(`voucherdesk ${appVersion}`, version);
    await s.delete();
    s = null;
    await driver.stop();
    driver = null;
    const deadline = performance.now() + 5_000;
    while (installedAppPids(dataHome).length > 0 && performance.now() < deadline) await sleep(200);
    for (const pid of installedAppPids(dataHome)) process.kill(pid, "SIGTERM");

    // The installed CLI reads the same default database.
    const database = path.join(dataDir, "voucherdesk.sqlite");
    assert.ok(existsSync(database), `${database} was made by the installed app`);
    const operators = JSON.parse(run("voucherdesk", ["operators", "list", "--json"], { env }));
    assert.deepEqual(operators.map((o) => [o.name, o.role]), [["root", "admin"]]);

    // Remove: the programs go, the data directory stays.
    root("dpkg", ["-r", packageName]);
    assert.ok(!isInstalled(packageName));
    for (const f of [INSTALLED_APP, INSTALLED_CLI, DESKTOP_ENTRY]) assert.ok(!existsSync(f), `${f} is gone`);
    assert.notEqual(spawnSync("sh", ["-c", "command -v voucherdesk"]).status, 0, "no voucherdesk on the PATH");
    assert.ok(existsSync(database), "the database stays after the package is removed");
    assert.ok(readdirSync(dataDir).includes("voucherdesk.sqlite"), readdirSync(dataDir).join(" "));
  },
);
