// What the e2e suite and the desktop benchmark (bench/app_speed.mjs) share:
// where the binaries are, the app's test ids, signing in and moving between
// screens, finding the app processes a run started, putting the app back on
// its sign-in screen before each test, and waking its background rounds.

import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const TARGET = process.env.CARGO_TARGET_DIR
  ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
  : path.join(ROOT, "target");
export const APP = process.env.VOUCHERDESK_APP ?? path.join(TARGET, "debug/voucherdesk-desktop");
export const CLI = process.env.VOUCHERDESK_CLI ?? path.join(TARGET, "debug/voucherdesk");

/** The CSS selector of a `data-testid`. */
export const tid = (id) => `[data-testid="${id}"]`;

/** How long a sign-in may take on a loaded machine; its answer, not this, ends the wait. */
const SIGN_IN_WAIT_MS = 60_000;

/**
 * Signs `name` in with the demo team's password (`voucherdesk-<name>`). The
 * button is enabled by React once both fields are filled; on a loaded machine
 * that render can trail the typing, and a click on a disabled button is lost,
 * so the click waits for it. A refused sign-in fails with the app's words.
 */
export async function signIn(s, name, password = `voucherdesk-${name}`) {
  await s.type(tid("sign-in-name"), name);
  await s.type(tid("sign-in-password"), password);
  await s.waitFor(`${tid("sign-in-submit")}:not([disabled])`, { what: "the sign-in button enabled" });
  await s.click(tid("sign-in-submit"));
  const answer = await s.waitFor(`:is(${tid("current-operator")}[data-name="${name}"], ${tid("sign-in-error")})`, {
    timeout: SIGN_IN_WAIT_MS,
    what: `${name} signed in`,
  });
  if ((await answer.attr("data-testid")) === "sign-in-error") {
    throw new Error(`the sign-in of ${name} was refused: ${await answer.text()}`);
  }
}

export async function signOut(s) {
  if ((await s.count(tid("sign-out"))) === 0 && (await s.count(tid("account-menu"))) > 0) {
    await s.click(tid("account-menu"));
  }
  await s.click(tid("sign-out"));
  await s.waitFor(tid("sign-in-name"), { what: "the sign-in screen" });
}

export async function go(s, screen) {
  await s.click(tid(`nav-${screen}`));
  await s.waitFor(tid(`screen-${screen}`));
}

/**
 * The processes of `app` running on `database` (found by their binary and
 * their own VOUCHERDESK_DB), so that a run ends only what it started.
 */
export function appPids(app, database) {
  const exe = realpathSync(app);
  const pids = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readlinkSync(`/proc/${pid}/exe`) !== exe) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`VOUCHERDESK_DB=${database}`)) {
        pids.push(Number(pid));
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/**
 * The X window of the app running on `database` (its visible window found by
 * pid), for screenshots taken from the display; null when there is none.
 */
export function xWindow(database) {
  for (const pid of appPids(APP, database)) {
    const found = spawnSync("xdotool", ["search", "--onlyvisible", "--pid", String(pid)], { encoding: "utf8", timeout: 5_000 });
    // The largest: a tooltip or an open drop-down is a window of the app's own too.
    let largest = null;
    for (const id of (found.stdout ?? "").trim().split("\n").filter(Boolean)) {
      const area = windowArea(id);
      if (!largest || area > largest.area) largest = { id, area };
    }
    if (largest) return largest.id;
  }
  return null;
}

function windowArea(id) {
  const geometry = spawnSync("xdotool", ["getwindowgeometry", "--shell", id], { encoding: "utf8", timeout: 5_000 }).stdout ?? "";
  const size = (name) => Number(new RegExp(`^${name}=(\\d+)$`, "m").exec(geometry)?.[1] ?? 0);
  return size("WIDTH") * size("HEIGHT");
}

/**
 * Brings the app back to its sign-in screen whatever the last test left open
 * (a dialog, a drawer, a half-filled form, a signed-in operator): signs out
 * through the app's own command and reloads the page. The old page is marked
 * first, so the wait is for the new page's sign-in screen, never the old one.
 */
export async function resetToSignIn(s) {
  await s.executeAsync(`
    const done = arguments[arguments.length - 1];
    const reload = () => {
      document.documentElement.dataset.e2eStale = "1";
      done(true);
      setTimeout(() => location.reload(), 0);
    };
    const invoke = window.__TAURI_INTERNALS__ && window.__TAURI_INTERNALS__.invoke;
    if (invoke) invoke("sign_out").then(reload, reload); else reload();
  `);
  await s.waitFor(`html:not([data-e2e-stale]) :is(${tid("sign-in-name")}, ${tid("first-run-name")})`, {
    timeout: 60_000,
    what: "the sign-in screen after the reset",
  });
}

/** Asks the app on `database` to run its background rounds now (SIGUSR2, see src-tauri/src/wake.rs). */
export function wake(database) {
  for (const pid of appPids(APP, database)) {
    try {
      process.kill(pid, "SIGUSR2");
    } catch {
      // ended meanwhile
    }
  }
}

/**
 * Waits for background work of the app on `database`: wakes its rounds, then
 * checks `fn` until it returns something truthy, waking them again every
 * `every` ms. `timeout` only stops a test that would otherwise wait forever;
 * the rounds run because the test asked for them, not because a clock ran out.
 */
export async function untilWoken(s, database, fn, { timeout = 120_000, every = 3_000, what = "background work" } = {}) {
  const deadline = performance.now() + timeout;
  let last;
  for (;;) {
    wake(database);
    const next = Math.min(deadline, performance.now() + every);
    while (performance.now() < next) {
      try {
        const v = await fn();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      await sleep(200);
    }
    if (performance.now() >= deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
  }
}

/** Sets the signed-in operator's language through the screen (the header's language menu). */
export async function setLanguage(s, language) {
  if ((await s.count(tid("language-select"))) === 0 && (await s.count(tid("account-menu"))) > 0) {
    await s.click(tid("account-menu"));
  }
  await s.select(tid("language-select"), language);
  await s.until(async () => (await s.execute("return document.documentElement.lang")).startsWith(language), {
    what: `the screen in ${language}`,
  });
  // Close the menu again, as a person would: while it is open the page behind it is inert.
  if ((await s.count(tid("account-menu-panel"))) > 0) await s.click(tid("account-menu"));
  await s.waitGone(tid("account-menu-panel"), { what: "the account menu" });
}
