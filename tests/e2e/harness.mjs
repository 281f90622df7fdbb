// What the e2e suite and the desktop benchmark (bench/app_speed.mjs) share:
// where the binaries are, the app's test ids, signing in and moving between
// screens, and finding the app processes a run started.

import { readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
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

/** Signs `name` in with the demo team's password (`voucherdesk-<name>`). */
export async function signIn(s, name, password = `voucherdesk-${name}`) {
  await s.type(tid("sign-in-name"), name);
  await s.type(tid("sign-in-password"), password);
  await s.click(tid("sign-in-submit"));
  await s.waitFor(`${tid("current-operator")}[data-name="${name}"]`, { what: `${name} signed in` });
}

export async function signOut(s) {
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
