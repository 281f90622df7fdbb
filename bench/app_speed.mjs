// The desktop app's speed on a big demo database (make bench-app): the real
// binary driven through tauri-driver + WebKitWebDriver under Xvfb, as the e2e
// suite drives it (tests/e2e/webdriver.mjs, tests/e2e/harness.mjs).
//
// Each of BENCH_APP_RUNS runs launches the app with the OS page cache dropped
// (when we may: root writes /proc/sys/vm/drop_caches) and measures
//   (a) cold start: WebDriver "new session" (the app is spawned) -> sign-in
//       screen painted, and sign-in submitted -> lookup input painted;
//   (b) lookup: keystrokes typed one by one, last keystroke -> results painted,
//       split into the UI's debounce and the rest (the target's "after typing
//       stops"), for an order id, an email, a name with accents and a CIP;
//   (c) exceptions queue: navigation click -> first page painted, and a filter
//       change -> the re-fetched first page painted;
//   (d) scrolling the virtualized queue for SCROLL_DURATION_MS with
//       requestAnimationFrame: frame times and page fetches;
//   (e) memory: RSS and PSS of the app and every process it started (WebKit's).
// then launches it once more with a warm cache for (a) alone. Times are taken
// inside the page (performance.now(), MutationObserver, User Timing marks the
// UI sets once a screen is painted), so WebDriver's own latency is not in them.
//
// Prints a table and writes BENCH_APP_OUT (default bench/out/app-speed-<profile>.json).
// Environment: VOUCHERDESK_APP (the binary; default target/debug/voucherdesk-desktop),
// VOUCHERDESK_CLI (picks the queries), BENCH_APP_DB, BENCH_APP_RUNS (default 5), E2E_WEBDRIVER_PORT
// (default: a free port).
// `node bench/app_speed.mjs --queries` prints the values it would type and stops.

import { execFileSync, execSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver, KEYS } from "../tests/e2e/webdriver.mjs";
import { APP, ROOT, TARGET, appPids, tid } from "../tests/e2e/harness.mjs";

const DB = path.resolve(process.env.BENCH_APP_DB ?? path.join(ROOT, "bench/out/app/voucherdesk.sqlite"));
const RUNS = Number(process.env.BENCH_APP_RUNS ?? 5);
const PROFILE = APP.includes(`${path.sep}release${path.sep}`) ? "release" : "debug";
const OUT = process.env.BENCH_APP_OUT ?? path.join(ROOT, `bench/out/app-speed-${PROFILE}.json`);
const CLI =
  process.env.VOUCHERDESK_CLI ??
  [path.join(TARGET, "release/voucherdesk"), path.join(TARGET, "debug/voucherdesk")].find((p) => existsSync(p));

/** The operator the runs sign in as: support, whose home screen is the lookup. */
const OPERATOR = "ana";
/** Pause between keystrokes: a fast typist (~11 keys/s), shorter than the UI's debounce. */
const KEYSTROKE_INTERVAL_MS = 90;
/** Different values typed per query kind and run. */
const QUERIES_PER_KIND = 3;
/** Scrolling: how long, and how far per frame (3 rows of 36 px: a brisk wheel/drag). */
const SCROLL_DURATION_MS = 3_000;
const SCROLL_PX_PER_FRAME = 108;
/** Direct IPC calls per command when timing the core without the UI. */
const IPC_SAMPLES = 5;
/** Longest wait for anything inside the page. */
const PAGE_WAIT_MS = 20_000;
/** How long the sign-in screen may be shown before its painted mark is given up on (older builds have none). */
const MARK_WAIT_MS = 2_000;
/** Longest wait for the app to open its window. */
const LAUNCH_WAIT_MS = 60_000;
/** The UI's settle times (ui/src/lib/useDebounced.ts, ui/src/api/commands.ts), for the report. */
const UI_SEARCH_DEBOUNCE_MS = 150;
const UI_QUEUE_PAGE_ROWS = 200;

// ------------------------------------------------------------------ the page side

// Helpers defined in every script run in the page (WebDriver execute/async).
const PAGE_PRELUDE = `
  const $ = (css) => document.querySelector(css);
  const $$ = (css) => Array.from(document.querySelectorAll(css));
  const afterPaint = () => new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
  /** Resolves with performance.now() of the first DOM change after which ok() holds. */
  const waitUntil = (ok, timeoutMs) => new Promise((resolve, reject) => {
    if (ok()) return resolve(performance.now());
    const stop = (f) => { observer.disconnect(); clearInterval(poll); clearTimeout(timer); f(); };
    const check = () => { if (ok()) { const at = performance.now(); stop(() => resolve(at)); } };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    const poll = setInterval(check, 5);
    const timer = setTimeout(() => stop(() => reject(new Error("timed out: " + ok.toString()))), timeoutMs);
  });
  const lastMark = (name) => { const m = performance.getEntriesByName(name); return m.length ? m[m.length - 1].startTime : null; };
`;

/** Runs `fn` (an async function, serialized) in the page with `args`; returns its result. */
async function inPage(s, fn, ...args) {
  const script = `${PAGE_PRELUDE}
    const done = arguments[arguments.length - 1];
    (${fn.toString()})(...Array.from(arguments).slice(0, -1))
      .then((v) => done({ ok: v }), (e) => done({ failed: String(e && e.message || e) }));`;
  // (Not `error`: the WebDriver client reads a value's `error` as the driver's own.)
  const r = await s.executeAsync(script, args);
  if (r.failed) throw new Error(`in the page: ${r.failed}`);
  return r.ok;
}

// ------------------------------------------------------------------ processes, caches, memory

function dropCaches() {
  try {
    execSync("sync");
    writeFileSync("/proc/sys/vm/drop_caches", "3");
    return true;
  } catch {
    return false;
  }
}

function procStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  return { pid, comm, ppid: Number(fields[1]), startTicks: Number(fields[19]) };
}

/** The process and all its descendants. */
function processTree(root) {
  const all = [];
  for (const d of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      all.push(procStat(Number(d)));
    } catch {
      // gone
    }
  }
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i].pid));
  return tree;
}

function kb(file, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(file, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function memoryOf(appPid) {
  const processes = processTree(appPid).map((p) => ({
    pid: p.pid,
    name: readFileSync(`/proc/${p.pid}/comm`, "utf8").trim(),
    rss_kb: kb(`/proc/${p.pid}/status`, "VmRSS"),
    pss_kb: kb(`/proc/${p.pid}/smaps_rollup`, "Pss"),
  }));
  const sum = (k) => processes.reduce((a, p) => a + (p[k] ?? 0), 0);
  return { rss_mb: sum("rss_kb") / 1024, pss_mb: sum("pss_kb") / 1024, processes };
}

/** When a process started, in epoch ms (clock ticks since boot, 10 ms resolution). */
function startEpochMs(pid) {
  const ticksPerS = Number(execSync("getconf CLK_TCK").toString().trim());
  const uptimeS = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const bootEpochMs = Date.now() - uptimeS * 1000;
  return bootEpochMs + (procStat(pid).startTicks / ticksPerS) * 1000;
}

// ------------------------------------------------------------------ the queries

function cli(...args) {
  return execFileSync(CLI, ["--db", DB, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Real values from the database: order ids, emails, accented names, CIPs (QUERIES_PER_KIND each). */
function pickQueries() {
  const list = (kind) => {
    const v = JSON.parse(cli("exceptions", "list", "--kind", kind, "--status", "all", "--limit", "200", "--json"));
    return Array.isArray(v) ? v : (v.rows ?? v.exceptions);
  };
  const rows = [...list("not_settled"), ...list("paid_not_recorded")];
  const pe = rows.filter((r) => r.psp === "pagoefectivo" && r.order_id);
  const co = rows.filter((r) => r.country === "CO" && r.order_id);
  const pick = (from, n) => from.filter((r, i) => i % 7 === 0).slice(0, n);
  const orders = [...pick(co, 2), ...pick(pe, 1)];
  const cases = orders.map((r) => JSON.parse(cli("lookup", r.order_id, "--json"))).map((v) => (Array.isArray(v) ? v[0] : v));
  const cips = pick(pe, QUERIES_PER_KIND).map((r) => r.payment_id);
  const names = [];
  for (const c of [...cases, ...pe.slice(0, 20).map((r) => JSON.parse(cli("lookup", r.order_id, "--json")))]) {
    const name = (Array.isArray(c) ? c[0] : c)?.order?.buyer_name ?? "";
    if (/[^\x00-\x7f]/.test(name) && !names.includes(name)) names.push(name);
    if (names.length === QUERIES_PER_KIND) break;
  }
  const queries = {
    order_id: cases.map((c) => c.order_id),
    email: cases.map((c) => c.order.buyer_email),
    name_accents: names,
    cip: cips,
  };
  for (const [kind, values] of Object.entries(queries)) {
    if (values.length !== QUERIES_PER_KIND || values.some((v) => !v)) {
      throw new Error(`could not pick ${QUERIES_PER_KIND} ${kind} queries from ${DB}: ${JSON.stringify(values)}`);
    }
  }
  return queries;
}

// ------------------------------------------------------------------ the measurements

const SIGN_IN_MARK = "voucherdesk:sign-in-ready";
const LOOKUP_MARK = "voucherdesk:lookup-ready";

/** (a) Launches the app; times to the sign-in screen. Returns the session too. */
async function launch(driver) {
  const requestedAt = Date.now();
  const s = await Session.create(driver.base, APP);
  const sessionAt = Date.now();
  // The script may first run in the document before the app's page (WebDriver answers
  // before the webview has navigated): a script cut short by the navigation is run again.
  let page;
  for (let attempt = 1; ; attempt++) {
    try {
      page = await inPage(
        s,
        async (mark, timeoutMs, markWaitMs) => {
          const sel = '[data-testid="sign-in-name"]';
          // Without the UI's mark (an older build), the sign-in screen is timed by watching for it.
          let observed = null;
          if (!$(sel)) {
            await waitUntil(() => !!$(sel), timeoutMs);
            observed = await afterPaint();
          }
          await waitUntil(() => performance.getEntriesByName(mark).length > 0, markWaitMs).catch(() => null);
          const nav = performance.getEntriesByType("navigation")[0];
          const marked = performance.getEntriesByName(mark)[0];
          return {
            timeOrigin: performance.timeOrigin,
            signInPainted: marked ? marked.startTime : observed,
            signInSource: marked ? "mark" : observed !== null ? "observed" : "none",
            domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
          };
        },
        SIGN_IN_MARK,
        LAUNCH_WAIT_MS,
        MARK_WAIT_MS,
      );
      break;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
  if (page.signInPainted === null) throw new Error("the sign-in screen was up before it could be timed (no mark in this build)");
  const signInAt = page.timeOrigin + page.signInPainted;
  const [pid] = appPids(APP, DB);
  const spawnedAt = pid ? startEpochMs(pid) : null;
  return {
    s,
    pid,
    start: {
      // From the WebDriver request that spawns the app (includes WebKitWebDriver starting it).
      to_sign_in_ms: signInAt - requestedAt,
      // Where the time went: the process exists, the webview starts loading, the bundle has run.
      process_started_ms: spawnedAt === null ? null : spawnedAt - requestedAt,
      webview_navigation_ms: page.timeOrigin - requestedAt,
      dom_content_loaded_ms: page.domContentLoaded === null ? null : page.timeOrigin + page.domContentLoaded - requestedAt,
      timed_by: page.signInSource,
      session_returned_ms: sessionAt - requestedAt,
    },
  };
}

/** (a) Signs in (typed by WebDriver), then times submit -> lookup input painted. */
async function signInToLookup(s) {
  await s.type(tid("sign-in-name"), OPERATOR);
  await s.type(tid("sign-in-password"), `voucherdesk-${OPERATOR}`);
  return inPage(
    s,
    async (mark, timeoutMs) => {
      const before = performance.getEntriesByName(mark).length;
      const t0 = performance.now();
      $('[data-testid="sign-in-submit"]').click();
      const inDom = await waitUntil(() => !!$('[data-testid="lookup-search"]'), timeoutMs);
      const painted = await afterPaint();
      const marked = await waitUntil(() => performance.getEntriesByName(mark).length > before, 2_000).catch(() => null);
      const focused = document.activeElement === $('[data-testid="lookup-search"]');
      const to = marked === null ? painted : lastMark(mark);
      return { to_lookup_ms: to - t0, lookup_in_dom_ms: inDom - t0, focused, timed_by: marked === null ? "next frame" : "mark" };
    },
    LOOKUP_MARK,
    PAGE_WAIT_MS,
  );
}

/** Empties the search box and waits until the screen shows no results. */
async function clearLookup(s) {
  const box = await s.find(tid("lookup-search"));
  for (let attempt = 0; attempt < 5; attempt++) {
    const value = await s.execute(`return document.querySelector('${tid("lookup-search")}').value`);
    if (value === "") break;
    await box.sendKeys(KEYS.selectAll);
    await box.sendKeys(KEYS.backspace);
  }
  await inPage(
    s,
    async (timeoutMs) => {
      await waitUntil(
        () => $('[data-testid="lookup-search"]').value === "" && !$('[data-testid="lookup-results"]') && !$('[data-testid="lookup-searching"]'),
        timeoutMs,
      );
    },
    PAGE_WAIT_MS,
  );
}

/** (b) Types `text` key by key; last keystroke -> results painted, with the debounce split out. */
async function timedLookup(s, text) {
  await clearLookup(s);
  await inPage(s, async () => {
    const input = $('[data-testid="lookup-search"]');
    const b = (window.__vdBench = { keys: 0, lastKey: null, searchStarts: [], rendered: null });
    input.addEventListener("input", () => {
      b.keys++;
      b.lastKey = performance.now();
    });
    let searching = false;
    b.observer = new MutationObserver(() => {
      const now = performance.now();
      const visible = !!$('[data-testid="lookup-searching"]');
      if (visible && !searching) b.searchStarts.push(now);
      if (!visible && searching && input.value.length > 0) b.rendered = now;
      searching = visible;
    });
    b.observer.observe(document.body, { subtree: true, childList: true });
  });
  const box = await s.find(tid("lookup-search"));
  for (const ch of text) {
    await box.sendKeys(ch);
    await sleep(KEYSTROKE_INTERVAL_MS);
  }
  return inPage(
    s,
    async (expected, timeoutMs) => {
      const b = window.__vdBench;
      const input = $('[data-testid="lookup-search"]');
      if (input.value !== expected) throw new Error(`typed ${JSON.stringify(input.value)}, expected ${JSON.stringify(expected)}`);
      await waitUntil(() => b.rendered !== null && b.rendered > b.lastKey, timeoutMs);
      const painted = await afterPaint();
      b.observer.disconnect();
      const finalStart = b.searchStarts.filter((t) => t > b.lastKey).pop() ?? null;
      const hits = $$('[data-testid^="lookup-result-"]').length;
      return {
        keys: b.keys,
        searches: b.searchStarts.length,
        // The UI's pause after the last key (its debounce plus timer slack).
        debounce_ms: finalStart === null ? null : finalStart - b.lastKey,
        // What the target measures: typing has stopped (the debounce fired) -> results painted.
        after_debounce_ms: finalStart === null ? null : painted - finalStart,
        last_key_to_painted_ms: painted - b.lastKey,
        last_key_to_dom_ms: b.rendered - b.lastKey,
        hits,
        none: !!$('[data-testid="lookup-no-hits"]'),
      };
    },
    text,
    PAGE_WAIT_MS,
  );
}

/** The core through IPC alone (no rendering): milliseconds per call and the reply's size. */
async function ipcTimes(s, cmd, args) {
  return inPage(
    s,
    async (cmd, args, n) => {
      const invoke = window.__TAURI_INTERNALS__.invoke;
      const ms = [];
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const r = await invoke(cmd, args);
        ms.push(performance.now() - t0);
        bytes = JSON.stringify(r).length;
      }
      return { ms, bytes };
    },
    cmd,
    args,
    IPC_SAMPLES,
  );
}

/** (c) Navigation click -> first queue page painted. */
async function openQueue(s) {
  return inPage(
    s,
    async (timeoutMs) => {
      const t0 = performance.now();
      $('[data-testid="nav-exceptions"]').click();
      const rows = await waitUntil(() => !!$('[data-testid="exception-table"] [role="row"][data-kind]'), timeoutMs);
      const painted = await afterPaint();
      const counts = await waitUntil(() => !!$('[data-testid="count-total"]'), timeoutMs);
      return {
        first_page_painted_ms: painted - t0,
        first_page_dom_ms: rows - t0,
        counts_dom_ms: counts - t0,
        rows_loaded: Number($('[data-testid="exception-table"]').dataset.loaded),
      };
    },
    PAGE_WAIT_MS,
  );
}

/** (c) Changes a <select> filter the way React sees it; -> the re-fetched first page painted. */
async function changeFilter(s, testId, value) {
  return inPage(
    s,
    async (testId, value, timeoutMs) => {
      const table = $('[data-testid="exception-table"]');
      const select = $(`[data-testid="${testId}"]`);
      // The re-fetched page: the table was emptied first, or (when React batched that away)
      // its first row is a new element.
      let emptied = false;
      const oldRows = new Set($$('[role="row"][data-kind]'));
      const watch = new MutationObserver(() => {
        if (table.dataset.loaded === "0") emptied = true;
        const first = $('[role="row"][data-kind]');
        if (first && !oldRows.has(first)) emptied = true;
      });
      watch.observe(table, { attributes: true, attributeFilter: ["data-loaded"] });
      const t0 = performance.now();
      select.value = value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      const kindOk = () =>
        testId !== "filter-kind" || !value || $$('[role="row"][data-kind]').every((r) => r.dataset.kind === value);
      const rows = await waitUntil(
        () => emptied && Number(table.dataset.loaded) > 0 && !!$('[role="row"][data-kind]') && kindOk(),
        timeoutMs,
      );
      const painted = await afterPaint();
      watch.disconnect();
      return { painted_ms: painted - t0, dom_ms: rows - t0, rows_loaded: Number(table.dataset.loaded) };
    },
    testId,
    value,
    PAGE_WAIT_MS,
  );
}

/** (d) Scrolls the queue for `durationMs`, one step per animation frame. */
async function scrollQueue(s) {
  return inPage(
    s,
    async (durationMs, pxPerFrame) => {
      const el = $('[data-testid="exception-scroll"]');
      const table = $('[data-testid="exception-table"]');
      const loadedBefore = Number(table.dataset.loaded);
      let fetches = 0;
      let last = table.dataset.loaded;
      const watch = new MutationObserver(() => {
        if (table.dataset.loaded !== last) {
          fetches++;
          last = table.dataset.loaded;
        }
      });
      watch.observe(table, { attributes: true, attributeFilter: ["data-loaded"] });
      // The frame rate with nothing to do, first: tells the page's own cost from the display's pace.
      const idle = await new Promise((resolve) => {
        const times = [];
        const tick = (ts) => {
          times.push(ts);
          if (ts - times[0] >= 1000) return resolve(times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b));
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      const view = () => el.getBoundingClientRect();
      const frames = [];
      let loaderFrames = 0;
      const topBefore = el.scrollTop;
      await new Promise((resolve) => {
        let start = null;
        let prev = null;
        const step = (ts) => {
          if (start === null) start = ts;
          else frames.push(ts - prev);
          prev = ts;
          const loader = el.querySelector(".loader");
          if (loader) {
            const r = loader.getBoundingClientRect();
            const v = view();
            if (r.top < v.bottom && r.bottom > v.top) loaderFrames++;
          }
          if (ts - start >= durationMs) return resolve();
          el.scrollTop += pxPerFrame;
          requestAnimationFrame(step);
        };
        requestAnimationFrame(step);
      });
      await new Promise((r) => setTimeout(r, 300));
      const fetchesByFrames = fetches;
      // Under Xvfb WebKitGTK paces animation frames far below 60/s even when idle, so the same
      // scroll is also driven by a 16 ms timer: a step that comes late measures the main thread
      // busy (React rendering rows, layout, style) whatever the display's pace.
      const STEP_MS = 16;
      const steps = [];
      await new Promise((resolve) => {
        const start = performance.now();
        let prev = start;
        const step = () => {
          const now = performance.now();
          steps.push(now - prev);
          prev = now;
          if (now - start >= durationMs) return resolve();
          el.scrollTop += pxPerFrame;
          setTimeout(step, STEP_MS);
        };
        setTimeout(step, STEP_MS);
      });
      await new Promise((r) => setTimeout(r, 300));
      watch.disconnect();
      const byTimer = [...steps].sort((a, b) => a - b);
      const qt = (p) => byTimer[Math.min(byTimer.length - 1, Math.floor(p * byTimer.length))];
      const sorted = [...frames].sort((a, b) => a - b);
      const q = (p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
      return {
        idle_frames_per_s: idle.length,
        idle_frame_p50_ms: idle[Math.floor(idle.length / 2)] ?? null,
        frames: frames.length,
        frame_p50_ms: q(0.5),
        frame_p95_ms: q(0.95),
        frame_max_ms: sorted[sorted.length - 1],
        frames_over_33ms: frames.filter((f) => f > 33.4).length,
        loader_visible_frames: loaderFrames,
        scrolled_px: el.scrollTop - topBefore,
        pages_fetched_by_frames: fetchesByFrames,
        timer_steps: byTimer.length,
        timer_step_p50_ms: qt(0.5),
        timer_step_p95_ms: qt(0.95),
        timer_step_max_ms: byTimer[byTimer.length - 1],
        pages_fetched: fetches,
        rows_loaded_before: loadedBefore,
        rows_loaded_after: Number(table.dataset.loaded),
      };
    },
    SCROLL_DURATION_MS,
    SCROLL_PX_PER_FRAME,
  );
}

async function closeApp(s, pid) {
  await s.delete().catch(() => undefined);
  const deadline = Date.now() + 5_000;
  while (appPids(APP, DB).length > 0 && Date.now() < deadline) await sleep(100);
  for (const left of appPids(APP, DB)) {
    console.error(`the app (pid ${left}) outlived its WebDriver session: ending it`);
    process.kill(left, "SIGTERM");
  }
  if (pid) await sleep(500); // let WebKit's helpers go before the next launch
}

// ------------------------------------------------------------------ one run

async function measuredRun(driver, queries, run) {
  const loadBefore = os.loadavg()[0];
  const cold = dropCaches();
  const { s, pid, start } = await launch(driver);
  try {
    const signIn = await signInToLookup(s);
    const lookups = {};
    for (const [kind, values] of Object.entries(queries)) {
      lookups[kind] = [];
      for (const text of values) {
        // One lookup that cannot be timed (e.g. the page missed a frame) is recorded, not fatal.
        lookups[kind].push({ text, ...(await timedLookup(s, text).catch((e) => ({ failed: String(e.message) }))) });
      }
    }
    const ipc = {
      search_orders: {},
      sign_in: await ipcTimes(s, "sign_in", { name: OPERATOR, password: `voucherdesk-${OPERATOR}` }),
    };
    for (const [kind, values] of Object.entries(queries)) {
      ipc.search_orders[kind] = await ipcTimes(s, "search_orders", { query: values[0], limit: 20 });
    }
    const queue = { open: await openQueue(s), filters: [] };
    for (const [change, testId, value] of [
      ["kind = not_settled", "filter-kind", "not_settled"],
      ["kind = duplicate_payment", "filter-kind", "duplicate_payment"],
      ["kind = any", "filter-kind", ""],
      ["country = PE", "filter-country", "PE"],
      ["country = any", "filter-country", ""],
      ["sort = amount_desc", "sort", "amount_desc"],
      ["sort = age_desc", "sort", "age_desc"],
    ]) {
      // A change whose re-render cannot be told apart is recorded as failed, not fatal.
      const timed = await changeFilter(s, testId, value).catch((e) => ({ failed: String(e.message) }));
      queue.filters.push({ change, ...timed });
    }
    const filter = { status: "open" };
    ipc.exception_page = await ipcTimes(s, "exception_page", { filter, sort: "age_desc", page: { limit: UI_QUEUE_PAGE_ROWS } });
    ipc.exception_counts = await ipcTimes(s, "exception_counts", { filter });
    const scroll = await scrollQueue(s);
    const memory = memoryOf(pid);
    console.error(
      `run ${run}: start ${fmt(start.to_sign_in_ms)} ms (caches dropped: ${cold}), memory ${fmt(memory.pss_mb)} MB PSS, load ${loadBefore.toFixed(1)}`,
    );
    // Other work on the machine (the 1-minute load average) skews every figure: kept with the run.
    const load = { before: loadBefore, after: os.loadavg()[0] };
    return { run, cold, load, start, sign_in: signIn, lookups, queue, scroll, memory, ipc };
  } finally {
    await closeApp(s, pid);
  }
}

async function warmStart(driver) {
  const { s, pid, start } = await launch(driver);
  try {
    return { start, sign_in: await signInToLookup(s) };
  } finally {
    await closeApp(s, pid);
  }
}

// ------------------------------------------------------------------ report

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? "—" : v.toFixed(digits));

function stats(values) {
  const v = values.filter((x) => typeof x === "number" && !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return { n: 0, min: null, p50: null, max: null };
  const p50 = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { n: v.length, min: v[0], p50, max: v[v.length - 1] };
}

function summarize(runs, warm) {
  const rows = [];
  const add = (group, metric, values, target, unit = "ms") => {
    const s = stats(values);
    const met = target === undefined ? null : s.max !== null && s.max <= target;
    rows.push({ group, metric, unit, target: target ?? null, ...s, met });
  };
  const cold = runs.every((r) => r.cold) ? "cold" : "cache not dropped";
  add(`start (${cold})`, "spawn -> sign-in painted", runs.map((r) => r.start.to_sign_in_ms), 1500);
  add(`start (${cold})`, "  of which: process started", runs.map((r) => r.start.process_started_ms));
  add(`start (${cold})`, "  of which: webview navigating", runs.map((r) => r.start.webview_navigation_ms));
  add(`start (${cold})`, "  of which: DOMContentLoaded", runs.map((r) => r.start.dom_content_loaded_ms));
  add(`start (${cold})`, "sign-in -> lookup painted", runs.map((r) => r.sign_in.to_lookup_ms));
  add(`start (${cold})`, "spawn -> lookup usable (sum)", runs.map((r) => r.start.to_sign_in_ms + r.sign_in.to_lookup_ms), 1500);
  add("start (warm)", "spawn -> sign-in painted", warm.map((r) => r.start.to_sign_in_ms), 1500);
  add("start (warm)", "sign-in -> lookup painted", warm.map((r) => r.sign_in.to_lookup_ms));
  add("start (warm)", "spawn -> lookup usable (sum)", warm.map((r) => r.start.to_sign_in_ms + r.sign_in.to_lookup_ms), 1500);
  add("core via IPC", "sign_in (Argon2id)", runs.flatMap((r) => r.ipc.sign_in.ms));
  const kinds = Object.keys(runs[0].lookups);
  for (const kind of kinds) {
    const all = runs.flatMap((r) => r.lookups[kind]);
    add(`lookup: ${kind}`, "debounce fired -> results painted", all.map((l) => l.after_debounce_ms), 50);
    add(`lookup: ${kind}`, "last key -> results painted", all.map((l) => l.last_key_to_painted_ms));
    add(`lookup: ${kind}`, "  UI debounce (measured)", all.map((l) => l.debounce_ms));
    add(`lookup: ${kind}`, "  core via IPC (search_orders)", runs.flatMap((r) => r.ipc.search_orders[kind].ms));
  }
  add("queue", "nav click -> first page painted", runs.map((r) => r.queue.open.first_page_painted_ms), 100);
  add("queue", "nav click -> counts shown", runs.map((r) => r.queue.open.counts_dom_ms));
  const filterNames = runs[0].queue.filters.map((f) => f.change);
  for (const [i, name] of filterNames.entries()) {
    add("queue", `${name} -> first page painted`, runs.map((r) => r.queue.filters[i].painted_ms), 150);
  }
  add("queue", "core via IPC: exception_page (200 rows)", runs.flatMap((r) => r.ipc.exception_page.ms));
  add("queue", "core via IPC: exception_counts", runs.flatMap((r) => r.ipc.exception_counts.ms));
  add("scroll", "idle frame time p50 (no scrolling)", runs.map((r) => r.scroll.idle_frame_p50_ms));
  add("scroll", "frame time p50", runs.map((r) => r.scroll.frame_p50_ms));
  add("scroll", "frame time p95", runs.map((r) => r.scroll.frame_p95_ms));
  add("scroll", "frame time max", runs.map((r) => r.scroll.frame_max_ms));
  add("scroll", "frames over 33 ms", runs.map((r) => r.scroll.frames_over_33ms), undefined, "frames");
  add("scroll", "16 ms timer step p50 (main thread)", runs.map((r) => r.scroll.timer_step_p50_ms));
  add("scroll", "16 ms timer step p95", runs.map((r) => r.scroll.timer_step_p95_ms));
  add("scroll", "16 ms timer step max", runs.map((r) => r.scroll.timer_step_max_ms));
  add("scroll", "frames showing the loader row", runs.map((r) => r.scroll.loader_visible_frames), undefined, "frames");
  add("scroll", "pages fetched (both passes, 6 s)", runs.map((r) => r.scroll.pages_fetched), undefined, "pages");
  add("memory", "app + WebKit processes, RSS", runs.map((r) => r.memory.rss_mb), 400, "MB");
  add("memory", "app + WebKit processes, PSS", runs.map((r) => r.memory.pss_mb), 400, "MB");
  add("machine", "1-min load average at run start", runs.map((r) => r.load.before), undefined, "load");
  return rows;
}

function table(rows) {
  const lines = ["| group | metric | unit | target | n | min | p50 | max | met |", "|---|---|---|---:|---:|---:|---:|---:|---|"];
  for (const r of rows) {
    const met = r.met === null ? "" : r.met ? "yes" : "**no**";
    const d = r.unit === "ms" || r.unit === "MB" ? 1 : 0;
    lines.push(
      `| ${r.group} | ${r.metric} | ${r.unit} | ${r.target === null ? "" : `≤ ${r.target}`} | ${r.n} | ${fmt(r.min, d)} | ${fmt(r.p50, d)} | ${fmt(r.max, d)} | ${met} |`,
    );
  }
  return lines.join("\n");
}

// ------------------------------------------------------------------ main

async function main() {
  if (!process.env.DISPLAY) throw new Error("no X display: run under xvfb-run (make bench-app)");
  if (!existsSync(APP)) throw new Error(`${APP} is missing: build it first (make bench-app builds it)`);
  if (!existsSync(DB)) throw new Error(`${DB} is missing (make bench-app-db makes it)`);
  if (!CLI) throw new Error("no voucherdesk CLI in target/: build it (cargo build --release)");
  if (appPids(APP, DB).length > 0) throw new Error(`the app is already running on ${DB}: close it first`);
  const queries = pickQueries();
  if (process.argv.includes("--queries")) return console.log(JSON.stringify(queries, null, 2));
  console.error(`app: ${APP} (${PROFILE}); database: ${DB}; ${RUNS} runs; queries: ${JSON.stringify(queries)}`);
  const driver = await startDriver({ env: { ...process.env, VOUCHERDESK_DB: DB } });
  const runs = [];
  const warm = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      runs.push(await measuredRun(driver, queries, run));
      warm.push(await warmStart(driver));
    }
  } finally {
    await driver.stop();
  }
  const rows = summarize(runs, warm);
  const machine = {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? "?",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    webkit: (() => {
      try {
        return execSync("dpkg-query -W -f='${Version}' libwebkit2gtk-4.1-0", { encoding: "utf8" });
      } catch {
        return "?";
      }
    })(),
  };
  const report = {
    when: new Date().toISOString(),
    app: APP,
    profile: PROFILE,
    database: DB,
    database_mb: Math.round(statSync(DB).size / 2 ** 20),
    machine,
    method: {
      runs: RUNS,
      operator: OPERATOR,
      keystroke_interval_ms: KEYSTROKE_INTERVAL_MS,
      ui_search_debounce_ms: UI_SEARCH_DEBOUNCE_MS,
      ui_queue_page_rows: UI_QUEUE_PAGE_ROWS,
      scroll_duration_ms: SCROLL_DURATION_MS,
      scroll_px_per_frame: SCROLL_PX_PER_FRAME,
      caches_dropped: runs.map((r) => r.cold),
    },
    queries,
    summary: rows,
    runs,
    warm,
  };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2));
  writeFileSync(OUT.replace(/\.json$/, ".md"), table(rows) + "\n");
  console.log(table(rows));
  console.log(`\nwritten: ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
