// What a bare WebKitGTK window costs to start on this machine, as a floor for
// the desktop app's start (docs/BENCHMARKS.md, "Desktop app on 1,000,000
// orders"): WebKitGTK's own MiniBrowser, driven exactly as bench/app_speed.mjs
// drives the app (tauri-driver + WebKitWebDriver under Xvfb), opens an empty
// page. Nothing of VoucherDesk runs.
//
// Per run (BENCH_APP_RUNS, default 5; OS page cache dropped when we may):
// WebDriver "new session" request -> session returned (GTK, the WebKit web and
// network processes up, as for the app), and -> an empty page navigated to and
// painted. Prints one JSON line per run and the medians.
//
//   xvfb-run -a -s "-screen 0 1440x900x24" node bench/bare_webview.mjs

import { execSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver } from "../tests/e2e/webdriver.mjs";

const RUNS = Number(process.env.BENCH_APP_RUNS ?? 5);
/** Where Debian's libwebkit2gtk-4.1 puts its MiniBrowser. */
const MINIBROWSER = process.env.MINIBROWSER ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";
/** Pause between runs, so one run's processes are gone before the next. */
const BETWEEN_RUNS_MS = 1_000;

function dropCaches() {
  try {
    execSync("sync");
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

if (!existsSync(MINIBROWSER)) throw new Error(`no MiniBrowser at ${MINIBROWSER} (set MINIBROWSER)`);
const driver = await startDriver();
const runs = [];
try {
  for (let run = 1; run <= RUNS; run++) {
    const cold = dropCaches();
    const requestedAt = Date.now();
    const s = await Session.create(driver.base, MINIBROWSER, ["--automation"]);
    const sessionAt = Date.now();
    try {
      await s.cmd("POST", "/url", { url: "data:text/html,<!doctype html><title>bare</title><p id=p>bare</p>" });
      const paintedAt = await s.executeAsync(
        "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => setTimeout(() => done(Date.now()), 0));",
        [],
      );
      const r = { run, cold, session_returned_ms: sessionAt - requestedAt, empty_page_painted_ms: paintedAt - requestedAt };
      runs.push(r);
      console.log(JSON.stringify(r));
    } finally {
      await s.delete().catch(() => undefined);
    }
    await sleep(BETWEEN_RUNS_MS);
  }
} finally {
  await driver.stop();
}
console.log(
  JSON.stringify({
    median_session_returned_ms: median(runs.map((r) => r.session_returned_ms)),
    median_empty_page_painted_ms: median(runs.map((r) => r.empty_page_painted_ms)),
  }),
);
