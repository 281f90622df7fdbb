// End-to-end: the real VoucherDesk binary (target/debug/voucherdesk-desktop,
// its UI embedded) driven through tauri-driver + WebKitWebDriver, on a fresh
// demo database made with the CLI. Needs an X display: run under xvfb-run
// (`make e2e`). Screenshots of every main screen go to artifacts/screenshots/.
//
// The scenarios share one app process but not its state: before each one the
// app is put back on its sign-in screen (signed out, page reloaded, so no
// dialog or form of an earlier test survives), and an app that died is started
// again. Each scenario signs in as whom it needs. Waits for background work (the
// outbox, the refund submitter) wake the app's rounds (SIGUSR2) instead of
// waiting for a tick.

import { before, beforeEach, after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver } from "./webdriver.mjs";
import * as harness from "./harness.mjs";
import { APP, CLI, ROOT, tid } from "./harness.mjs";
import { startKeyring, startSandbox } from "./keyring.mjs";
import { decodeHeader, parseMessage, startSmtpSink } from "./smtp-sink.mjs";

const SHOTS = path.join(ROOT, "artifacts/screenshots");
const DEMO_ORDERS = process.env.E2E_DEMO_ORDERS ?? "600";
let driver;
let s;
let work;
let db;
let paidNotRecorded; // an order the demo left paid but not recorded
// PSP sync: a private keyring, the sandbox knowing the demo's pending
// vouchers, and one of those that the sandbox pays at once.
let keyring;
let sandbox;
let pendingPaidBySandbox;
// Refunds: a paid dLocal payment of 3,000,000 COP known to the ledger
// and the sandbox, refunded in full (tier 3) through the app.
const REFUND_ORDER = "E2E-REFUND-1";
const REFUND_PAYMENT = "D-E2E-REFUND-1";
/** An unpaid order whose voucher is still valid: the one the buyer-message test sends instructions for. */
const VOUCHER_ORDER = "E2E-VOUCHER-1";
/** The app's refund submitter rounds this often (seconds) during the suite. */
const E2E_REFUND_INTERVAL_S = "2";
/** Rounds of the app's background sync are an hour apart: none runs during the suite. */
const E2E_SYNC_TICK_MS = "3600000";
// Buyer notifications: the app's deliverer sends to an SMTP sink on
// loopback, a round every half second; one order's email is refused once.
const E2E_NOTIFY_TICK_MS = "500";
const SHOP_FROM = "Tienda Ñandú <no-reply@tienda.example>";
const BOUNCING_EMAIL = "rebota.una.vez@correo.example";
let sink;
let appEnv;
let bouncingOrder;
let bouncingId;

function cli(...args) {
  return execFileSync(CLI, ["--db", db, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function shot(name) {
  await sleep(300); // let charts and transitions settle
  await s.screenshot(path.join(SHOTS, `${name}.png`), { xWindow: () => harness.xWindow(db) });
}

/** Signs `name` in, in English whatever language an earlier scenario left them in. */
async function signIn(name) {
  await harness.signIn(s, name);
  if (!(await s.execute("return document.documentElement.lang")).startsWith("en")) await harness.setLanguage(s, "en");
}

/** Waits for the app's background rounds to bring about `fn()` (woken, not timed). */
const untilWoken = (fn, options) => harness.untilWoken(s, db, fn, options);
const signOut = () => harness.signOut(s);
const go = (screen) => harness.go(s, screen);

/** The GTK file chooser the dialog plugin opens: type a path into it (xdotool). */
async function pickFileInNativeDialog(file) {
  // The chooser belongs to a child process of the app (src-tauri/src/file_dialog.rs): it can be
  // mapped before it takes keys, so keys go in once it has the focus. Typing a path that starts
  // with "/" opens the chooser's location entry with it.
  const search = () => spawnSync("xdotool", ["search", "--onlyvisible", "--name", "Open"], { encoding: "utf8" });
  const x = (...args) => {
    const r = spawnSync("xdotool", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`xdotool ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const windowId = await s.until(() => search().stdout.trim().split("\n").filter(Boolean).pop(), {
    what: "the file chooser window",
  });
  x("windowfocus", "--sync", windowId);
  await s.until(() => x("getwindowfocus") === windowId, { what: "the chooser to take the focus", timeout: 5_000 });
  await sleep(400);
  // XTEST input to the focused chooser (synthetic events sent to a window can be ignored):
  // Ctrl+L opens its location entry, then the path, then Enter.
  x("key", "ctrl+l");
  await sleep(400);
  x("type", "--delay", "20", file);
  await sleep(400);
  x("key", "Return");
}

/** Chooses `file` on the imports screen, again if the chooser missed the keys (at most 3 times). */
async function chooseImportFile(file) {
  const shown = `[data-file="${path.basename(file)}"]`;
  for (let attempt = 1; ; attempt++) {
    await s.click(tid("import-choose"));
    await pickFileInNativeDialog(file);
    try {
      return await s.waitFor(shown, { what: "the chosen file", timeout: 5_000 });
    } catch (e) {
      if (attempt === 3) throw e;
      // A chooser still open took nothing: close it before trying again.
      for (const id of spawnSync("xdotool", ["search", "--onlyvisible", "--name", "Open"], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean)) {
        spawnSync("xdotool", ["windowfocus", "--sync", id]);
        spawnSync("xdotool", ["key", "Escape"]);
      }
      await sleep(500);
    }
  }
}

/**
 * The app processes this suite started: the app binary running on this run's
 * own database. WebKitWebDriver normally closes the app with the session; if it
 * does not, these are ended by pid so nothing outlives the run.
 */
function ourAppPids(database = db) {
  return harness.appPids(APP, database);
}

before(async () => {
  assert.ok(process.env.DISPLAY, "no X display: run the e2e suite under xvfb-run (make e2e)");
  for (const bin of [APP, CLI]) assert.ok(existsSync(bin), `${bin} is missing: build it first (make e2e builds it)`);
  work = mkdtempSync(path.join(tmpdir(), "voucherdesk-e2e-"));
  db = path.join(work, "e2e.sqlite");
  cli("demo", "--orders", DEMO_ORDERS, "--seed", "7");
  const open = JSON.parse(cli("exceptions", "list", "--kind", "paid_not_recorded", "--status", "open", "--limit", "1", "--json"));
  const rows = Array.isArray(open) ? open : (open.rows ?? open.exceptions);
  paidNotRecorded = rows[0].order_id;
  assert.ok(paidNotRecorded, "the demo has a paid-but-not-recorded order");

  // A shop export whose third line (the second data row) has an unknown currency.
  const good = readFileSync(path.join(ROOT, "tests/fixtures/samples/shop-orders.csv"), "utf8").split(/\r?\n/);
  const bad = good.slice(0, 4);
  bad[2] = bad[2].replace(/,(COP|PEN),/, ",XXX,");
  writeFileSync(path.join(work, "bad-orders.csv"), bad.join("\n") + "\n");

  // The live PSP: the sandbox with the demo's pending vouchers, an account in a real keyring.
  const preloadFile = path.join(work, "demo-files", "sandbox-preload.json");
  const preload = JSON.parse(readFileSync(preloadFile, "utf8"));
  pendingPaidBySandbox = preload.dlocal.find((p) => p.pay_after_ms === 0);
  assert.ok(pendingPaidBySandbox, "the demo preload pays some dLocal voucher at once");
  // The refund test's payment: paid at the sandbox at once, and in the ledger (paid yesterday).
  const paidAt = new Date(Date.now() - 24 * 3600 * 1000);
  const createdAt = new Date(paidAt.getTime() - 2 * 3600 * 1000);
  const expiresAt = new Date(createdAt.getTime() + 3 * 24 * 3600 * 1000);
  preload.dlocal.push({
    payment_id: REFUND_PAYMENT,
    order_id: REFUND_ORDER,
    amount_minor: 300_000_000,
    currency: "COP",
    country: "CO",
    voucher_code: "9900000001",
    created_at: createdAt.toISOString(),
    expires_at: expiresAt.toISOString(),
    pay_after_ms: 0,
  });
  writeFileSync(preloadFile, JSON.stringify(preload));
  const wire = (t) => t.toISOString().replace("Z", "+0000");
  writeFileSync(
    path.join(work, "refund-orders.csv"),
    "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n" +
      `${REFUND_ORDER},Tienda Norte,${wire(createdAt)},"Peña, María José",maria.pena@example.com,+57 300 000 0000,1020304050,CO,3000000,COP,paid,dlocal,${REFUND_PAYMENT},9900000001,${wire(expiresAt)}\n`,
  );
  // Created an hour ago, payable for two more days.
  const voucherCreated = new Date(Date.now() - 3600 * 1000);
  const voucherExpires = new Date(Date.now() + 48 * 3600 * 1000);
  writeFileSync(
    path.join(work, "voucher-orders.csv"),
    "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n" +
      `${VOUCHER_ORDER},Tienda Norte,${wire(voucherCreated)},Lucía Ortiz,lucia.ortiz@example.com,+57 310 000 0003,1010000003,CO,89900,COP,pending_payment,dlocal,,9900000002,${wire(voucherExpires)}\n`,
  );
  writeFileSync(
    path.join(work, "refund-payments.csv"),
    "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n" +
      `${REFUND_PAYMENT},${REFUND_ORDER},CO,EY,COP,3000000,PAID,200,${wire(createdAt)},${wire(paidAt)},${wire(expiresAt)},9900000001\n`,
  );
  cli("--operator", "admin", "import", "orders", "--profile", "shop", path.join(work, "refund-orders.csv"));
  cli("--operator", "admin", "import", "payments", "--profile", "dlocal", path.join(work, "refund-payments.csv"));
  cli("--operator", "admin", "import", "orders", "--profile", "shop", path.join(work, "voucher-orders.csv"));

  keyring = await startKeyring(work);
  const pspEnv = { ...process.env, DBUS_SESSION_BUS_ADDRESS: keyring.address };
  sandbox = await startSandbox(CLI, ["--preload", preloadFile], pspEnv);
  execFileSync(CLI, ["--db", db, "--operator", "admin", "credentials", "add", "demo-dlocal", "--psp", "dlocal", "--base-url", sandbox.url, "--from-env", "SBX"], {
    encoding: "utf8",
    env: { ...pspEnv, SBX_LOGIN: "sbx-login", SBX_TRANS_KEY: "sbx-trans-key", SBX_SECRET: "sbx-secret" },
  });

  // Buyer notifications: the sink, the app configured to use it (CLI before launch),
  // and a re-send to an address the sink refuses the first time.
  sink = await startSmtpSink();
  cli("--operator", "admin", "notifications", "configure", "--smtp-host", "127.0.0.1", "--smtp-port", String(sink.port), "--smtp-security", "none", "--smtp-from", SHOP_FROM);
  const two = JSON.parse(cli("exceptions", "list", "--kind", "paid_not_recorded", "--status", "open", "--limit", "2", "--json"));
  bouncingOrder = (Array.isArray(two) ? two : (two.rows ?? two.exceptions))[1].order_id;
  assert.notEqual(bouncingOrder, paidNotRecorded);
  cli("--operator", "ana", "notifications", "set-contact", "--order", bouncingOrder, "--email", BOUNCING_EMAIL);
  sink.refuseOnce(BOUNCING_EMAIL);
  const queuedLine = cli("--operator", "ana", "notifications", "resend", "--order", bouncingOrder, "--kind", "payment_received", "--channel", "email");
  bouncingId = Number(/queued notification (\d+)/.exec(queuedLine)?.[1]);
  assert.ok(bouncingId > 0, queuedLine);

  appEnv = { ...pspEnv, VOUCHERDESK_DB: db, VOUCHERDESK_SYNC_TICK_MS: E2E_SYNC_TICK_MS, VOUCHERDESK_NOTIFY_TICK_MS: E2E_NOTIFY_TICK_MS, VOUCHERDESK_REFUND_INTERVAL_S: E2E_REFUND_INTERVAL_S };
  await startApp();
});

/** Starts tauri-driver and the app on the suite's database, ending any earlier one first. */
async function startApp() {
  if (s) await s.delete().catch(() => undefined);
  s = null;
  if (driver) await driver.stop();
  for (const pid of ourAppPids()) process.kill(pid, "SIGTERM");
  driver = await startDriver({ env: appEnv });
  s = await Session.create(driver.base, APP);
  await s.waitFor(tid("sign-in-name"), { timeout: 60_000, what: "the sign-in screen" });
}

// Every scenario starts on the sign-in screen of a live app, whatever the one before it left.
beforeEach(async () => {
  if (s && (await s.alive())) {
    try {
      await harness.resetToSignIn(s);
      return;
    } catch (e) {
      console.error(`the app did not come back to its sign-in screen (${e.message}): starting it again`);
    }
  } else {
    console.error("the app is not answering: starting it again");
  }
  await startApp();
});

after(async () => {
  if (s) await s.delete().catch(() => undefined);
  if (driver) await driver.stop();
  if (db) {
    const deadline = performance.now() + 5_000;
    while (ourAppPids().length > 0 && performance.now() < deadline) await sleep(200);
    for (const pid of ourAppPids()) {
      console.error(`the app (pid ${pid}) outlived its WebDriver session: ending it`);
      process.kill(pid, "SIGTERM");
    }
  }
  if (sandbox) sandbox.stop();
  if (sink) await sink.stop();
  if (keyring) keyring.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("the webview is locked down: no global Tauri, frozen Object.prototype, CSP, ACL", async () => {
  const probe = await s.execute(`
    const inline = document.createElement("script");
    inline.textContent = "window.__cspProbe = 1";
    document.head.appendChild(inline);
    return {
      globalTauri: typeof window.__TAURI__,
      frozen: Object.isFrozen(Object.prototype),
      inlineRan: window.__cspProbe === 1,
    };
  `);
  assert.deepEqual(probe, { globalTauri: "undefined", frozen: true, inlineRan: false });
  // A plugin command the capability does not grant is refused by the ACL.
  const refused = await s.executeAsync(`
    const done = arguments[arguments.length - 1];
    window.__TAURI_INTERNALS__.invoke("plugin:window|set_title", { label: "main", value: "probe" })
      .then(() => done("allowed"), (e) => done(String(e)));
  `);
  assert.match(refused, /not allowed/i);
});

test("signs in as each role", async () => {
  await shot("01-sign-in");
  for (const [name, role] of [
    ["admin", "admin"],
    ["ana", "support"],
    ["fabio", "finance"],
    ["marta", "manager"],
  ]) {
    await signIn(name);
    const who = await s.find(tid("current-operator"));
    assert.equal(await who.attr("data-role"), role);
    if (name === "admin") await shot("02-signed-in-admin");
    await signOut();
  }
  await s.type(tid("sign-in-name"), "ana");
  await s.type(tid("sign-in-password"), "not-her-password");
  await s.waitFor(`${tid("sign-in-submit")}:not([disabled])`, { what: "the sign-in button enabled" });
  await s.click(tid("sign-in-submit"));
  const refusal = await s.waitFor('[role="alert"][data-code="auth.denied"]', { what: "the refusal" });
  assert.ok(refusal);
});

test("a support agent looks up a paid-not-recorded order and reads its verdict", async () => {
  await signIn("ana");
  await go("lookup");
  await s.type(tid("lookup-search"), paidNotRecorded);
  await s.click(tid(`lookup-result-${paidNotRecorded}`));
  const verdict = await s.waitFor(`${tid("case-verdict")}[data-code="deliver_order"]`, { what: "the verdict" });
  const text = await verdict.text();
  assert.match(text, /deliver the order/i, text);
  // The next step and its buttons: support hands the money question to a manager; the buyer hears the payment arrived.
  assert.equal(await verdict.attr("data-next-step"), "release_order");
  assert.equal(await s.label(tid("verdict-next-step")), "Next step: Confirm the payment so that the shop ships the order");
  assert.equal(await (await s.find(tid("verdict-action"))).attr("data-action"), "escalate");
  assert.equal(await (await s.find(tid("verdict-send"))).attr("data-kind"), "payment_received");
  await shot("03-lookup-case-file");
});

test("a support agent reads a reversed-after-fulfilment case file: stop shipment, never deliver", async () => {
  const open = JSON.parse(cli("exceptions", "list", "--kind", "reversed_after_fulfilment", "--status", "open", "--limit", "1", "--json"));
  const rows = Array.isArray(open) ? open : (open.rows ?? open.exceptions);
  assert.ok(rows.length > 0, "the demo has a payment reversed after fulfilment");
  const orderId = rows[0].order_id;
  await signIn("ana");
  await go("lookup");
  await s.type(tid("lookup-search"), orderId);
  await s.click(tid(`lookup-result-${orderId}`));
  const verdict = await s.waitFor(`${tid("case-verdict")}[data-code="reversed"]`, { what: "the reversed verdict" });
  const text = await s.label(tid("case-verdict"));
  assert.match(text, /stop shipment or recover the goods/i, text);
  assert.doesNotMatch(text, /deliver the order/i, text);
  assert.ok(verdict);
  await s.waitFor(`${tid("timeline-entry")}[data-status="reversed"]`, { what: "the reversal in the history" });
  await shot("03b-case-file-reversed-after-fulfilment");
});

test("a support agent is refused a write-off", async () => {
  await signIn("ana");
  await go("exceptions");
  const row = await s.waitFor('[data-testid^="row-select-"]', { what: "a queue row" });
  await row.click();
  await s.click(tid("bulk-resolve"));
  await s.select(tid("resolve-action"), "write_off");
  await s.type(tid("resolve-note"), "the buyer never paid");
  await s.click(tid("resolve-submit"));
  const error = await s.waitFor(`${tid("resolve-error")}[data-code="auth.forbidden"]`, { what: "the refusal" });
  assert.match(await error.text(), /ana \(support\) may not resolve exceptions with write_off/);
  await shot("04-support-refused-write-off");
  await s.click(tid("resolve-cancel"));
  await signOut();
});

test("a manager resolves an exception: it leaves the queue and enters the audit log", async () => {
  await signIn("marta");
  await go("exceptions");
  await s.select(tid("filter-status"), "open");
  const total = async () => Number(await (await s.find(tid("count-total"))).attr("data-count"));
  const before = await s.until(total, { what: "the open count" });
  const checkbox = await s.waitFor('[data-testid^="row-select-"]', { what: "a queue row" });
  const id = (await checkbox.attr("data-testid")).slice("row-select-".length);
  await checkbox.click();
  await shot("05-exceptions-queue");
  await s.click(tid("bulk-resolve"));
  await s.select(tid("resolve-action"), "accept");
  await s.type(tid("resolve-note"), "checked with the PSP portal");
  await s.click(tid("resolve-submit"));
  await s.waitFor(`${tid("resolve-result-resolved")}[data-resolved="1"]`, { what: "one resolved" });
  await s.click(tid("resolve-done"));
  await s.until(async () => (await total()) === before - 1, { what: `the open count to drop from ${before}` });
  await s.waitGone(tid(`row-${id}`));

  await go("audit");
  const entry = await s.until(
    async () => {
      for (const row of await s.findAll('[data-action="exception.resolve"]')) {
        const text = await row.text();
        if (text.includes(id)) return text;
      }
      return null;
    },
    { what: `the audit entry for ${id}` },
  );
  assert.match(entry, /marta/);
  await s.click(tid("audit-verify"));
  await s.waitFor(tid("audit-verify-result"));
  await shot("06-audit-log");
  await go("dashboard");
  await s.waitFor(tid("dashboard-match-rate"), { what: "the dashboard" });
  await shot("07-dashboard");
  await signOut();
});

test("an import with a bad row shows the line number", async () => {
  await signIn("fabio");
  await go("imports");
  const file = path.join(work, "bad-orders.csv");
  await chooseImportFile(file);
  await s.waitFor(`${tid("import-profile")}`, { ok: async (el) => (await el.attr("value")) === "shop" || true });
  await s.click(tid("import-start"));
  const badRow = await s.waitFor(tid("bad-row-3"), { what: "bad row on line 3" });
  assert.match(await badRow.text(), /^3/);
  const error = await s.find(tid("import-error"));
  assert.equal(await error.attr("data-code"), "import.bad_rows");
  await shot("08-import-bad-row");
  // The chooser showed the folder that holds the database. A CLI that opens and closes it
  // now must not take the app's WAL away: the app's next write (its sign-out) is seen.
  assert.ok(existsSync(`${db}-wal`), "the app has the database open in WAL mode");
  cli("audit", "list", "--limit", "1");
  await signOut();
  const last = cli("audit", "list", "--limit", "1");
  assert.match(last, /fabio\s+operator\.sign_out/, `the app's sign-out is in the database: ${last}`);
});

test("import all runs the chosen files as one run: the bad file refuses itself, the one imported before stays as it was", async () => {
  await signIn("fabio");
  await go("imports");
  const item = (file, state) => `[data-file="${path.basename(file)}"]${state ? `[data-state="${state}"]` : ""}`;
  const bad = path.join(work, "bad-orders.csv");
  const importedBefore = path.join(work, "refund-orders.csv");
  for (const file of [bad, importedBefore]) {
    await chooseImportFile(file);
    await s.waitFor(item(file, "ready"), { what: `${path.basename(file)} ready to import` });
  }
  await s.click(tid("import-all"));
  await s.waitFor(item(bad, "failed"), { what: "the bad file refused" });
  assert.match(await (await s.find(`${item(bad)} ${tid("bad-row-3")}`)).text(), /^3/);
  assert.equal(await (await s.find(`${item(bad)} ${tid("import-error")}`)).attr("data-code"), "import.bad_rows");
  await s.waitFor(item(importedBefore, "done"), { what: "the file imported before, done" });
  await s.waitFor(`${item(importedBefore)} ${tid("import-already")}`, { what: "the note that it was imported before" });
  await s.waitGone(tid("import-run-progress"));
  await shot("08c-import-all-one-run");
  await signOut();
});

// After the refused import too: the app's deliverer and the CLI must see its writes.
test("a support agent previews and queues a Spanish voucher re-send from a case file, and sees it in the log", async () => {
  // Unpaid with a valid voucher: the instructions fit (a paid order is never asked to pay again).
  const orderId = VOUCHER_ORDER;
  const logged = () => JSON.parse(cli("--operator", "ana", "notifications", "list", "--order", orderId, "--json"));
  const before = logged();
  await signIn("ana");
  await go("lookup");
  await s.type(tid("lookup-search"), orderId);
  await s.click(tid(`lookup-result-${orderId}`));
  await s.waitFor(tid("case-verdict"), { what: "the case file" });
  // Loaded: the log table, or the line saying there is none yet.
  await s.waitFor(`${tid("notifications-panel")} :is(${tid("notifications-log")}, ${tid("notifications-empty")})`, { what: "the notification log" });
  await s.execute(`document.querySelector('[data-testid="notifications-panel"]').scrollIntoView()`);
  const rowsBefore = await s.findAll('[data-testid^="notification-row-"]');
  assert.equal(rowsBefore.length, before.length, "the panel lists what the core has logged");

  await s.select(tid("resend-channel"), "email");
  assert.equal((await s.findAll(tid("resend-override"))).length, 0, "support is not offered the override");
  // The verdict's own button opens the preview of the message that fits.
  const verdict = await s.find(tid("case-verdict"));
  assert.equal(await verdict.attr("data-next-step"), "remind_buyer");
  assert.equal(await (await s.find(tid("verdict-send"))).attr("data-kind"), "voucher_instructions");
  await s.click(tid("verdict-send"));
  const subject = await s.text(tid("preview-subject"));
  assert.match(subject, /^Tu código de pago \S+ para el pedido /, subject);
  assert.match(await s.text(tid("preview-locale")), /^es-(CO|PE)$/);
  assert.match(await s.text(tid("preview-text")), /paga en efectivo con este código/);
  assert.equal(logged().length, before.length, "a preview queues nothing");
  await shot("14-case-file-notifications-preview");
  await s.click(tid("resend-preview-dialog-close"));

  await s.click(tid("resend-submit"));
  const queued = await s.waitFor(tid("resend-queued"), { what: "the queued notice" });
  const id = await queued.attr("data-id");
  // Queued, then sent by the app's own deliverer (a round every half second): the log follows.
  const row = await s.waitFor(tid(`notification-row-${id}`), { what: "the new row" });
  assert.equal(await row.attr("data-kind"), "voucher_instructions");
  assert.equal(await row.attr("data-channel"), "email");
  assert.equal(await row.attr("data-trigger"), "manual");
  assert.match(await row.text(), /ana/);
  const first = (await s.findAll('[data-testid^="notification-row-"]'))[0];
  assert.equal(await first.attr("data-testid"), `notification-row-${id}`, "newest first");
  assert.equal((await s.findAll('[data-testid^="notification-row-"]')).length, before.length + 1);
  await untilWoken(async () => (await s.count(`${tid(`notification-row-${id}`)}[data-status="sent"]`)) > 0, { what: "the row to show sent" }).catch((e) => {
    const audit = cli("audit", "list", "--limit", "8");
    throw new Error(`${e.message}; the core's log: ${JSON.stringify(logged().slice(0, 2))}; the sink has ${sink.messages.length}; audit: ${audit}`);
  });
  const entry = logged().find((n) => String(n.id) === id);
  assert.equal(entry.status, "sent");
  assert.match(entry.provider_message_id, /Ok: queued as SINK\d+$/);

  // What the sink received: the Spanish text intact in both parts.
  const mail = sink.messages.find((m) => m.to.includes(`<${entry.recipient}>`) && decodeHeader(parseMessage(m.raw).headers.subject ?? "").startsWith("Tu código de pago"));
  assert.ok(mail, `the sink received the voucher email for ${entry.recipient}`);
  const message = parseMessage(mail.raw);
  assert.equal(decodeHeader(message.headers.subject), entry.subject);
  assert.match(decodeHeader(message.headers.subject), new RegExp(`^Tu código de pago \\S+ para el pedido ${orderId}$`));
  assert.ok(/^[\x20-\x7e]*$/.test(message.headers.subject), "the subject travels RFC 2047-encoded");
  assert.equal(decodeHeader(message.headers.from), SHOP_FROM);
  // The two alternatives, then the code's barcode image (CODE_128 PNG) the HTML shows inline.
  assert.equal(message.type, "multipart/related");
  assert.deepEqual(message.parts.map((p) => p.type), ["multipart/alternative", "image/png"]);
  const [alternative, barcode] = message.parts;
  assert.deepEqual(alternative.parts.map((p) => p.type), ["text/plain", "text/html"]);
  assert.match(alternative.parts[0].text, /paga en efectivo con este código/);
  assert.match(alternative.parts[1].text, /paga en efectivo con este código/);
  assert.match(alternative.parts[1].text, /<strong>/);
  assert.match(alternative.parts[1].text, /<img src="cid:voucher-barcode"/);
  assert.equal(barcode.headers["content-id"], "<voucher-barcode>");
  assert.equal(barcode.bytes.subarray(1, 4).toString("latin1"), "PNG");
  await s.execute(`document.querySelector('[data-testid="notifications-panel"]').scrollIntoView()`);
  await shot("14-case-file-notifications");
  await signOut();
});

test("a refused email is on the notifications screen, is retried, and goes out; the admin sends a test message", async () => {
  const log = () => JSON.parse(cli("--operator", "ana", "notifications", "list", "--order", bouncingOrder, "--json"));
  await signIn("ana");
  await go("notifications");
  const header = await s.waitFor(`${tid("deliverer-status")}[data-state="running"]`, { what: "the deliverer running" });
  assert.match(await header.text(), /Deliverer running/);
  const failure = await s.waitFor(`${tid(`failure-row-${bouncingId}`)}[data-status="failed"]`, { what: "the refused email" });
  assert.match(await failure.text(), new RegExp(bouncingOrder));
  assert.match(await failure.text(), /rebota\.una\.vez@correo\.example/);
  assert.match(await s.text(`${tid(`failure-row-${bouncingId}`)} ${tid("outbox-error")}`), /^SMTP refused: permanent error \(550\): 5\.1\.1 mailbox unavailable \(attempt 1 of 5\)$/);
  assert.equal(sink.messages.filter((m) => m.to.includes(`<${BOUNCING_EMAIL}>`)).length, 0, "nothing delivered yet");
  await shot("15-notifications-failure");

  await s.click(tid(`failure-retry-${bouncingId}`));
  await s.waitFor(`${tid("retry-outcome")}[data-retried="1"]`, { what: "the retry outcome" });
  await untilWoken(async () => (await s.count(`${tid(`outbox-row-${bouncingId}`)}[data-status="sent"]`)) > 0, { what: "the retried email sent" });
  await s.waitGone(tid(`failure-row-${bouncingId}`));
  const [entry] = log().filter((n) => n.id === bouncingId);
  assert.equal(entry.status, "sent");
  assert.equal(entry.attempts, 2);
  assert.equal(sink.messages.filter((m) => m.to.includes(`<${BOUNCING_EMAIL}>`)).length, 1, "delivered exactly once");
  await shot("15-notifications-retried");
  // The order link opens the case file.
  await s.click(tid(`outbox-order-${bouncingId}`));
  await s.waitFor(tid("screen-lookup"));
  await s.waitFor(tid("case-verdict"), { what: "the case file of the retried email" });
  await signOut();

  // Settings → Notifications: the sink's settings as saved by the CLI, and a test message.
  await signIn("admin");
  await go("settings");
  await s.waitFor(tid("ns-smtp-host"), { what: "the notification settings" });
  assert.equal(await (await s.find(tid("ns-smtp-host"))).attr("value"), "127.0.0.1");
  assert.equal(await (await s.find(tid("ns-smtp-password"))).attr("value"), "");
  await s.execute(`document.querySelector('[data-testid="ns-test"]').scrollIntoView()`);
  await s.type(tid("ns-test-to"), "admin@tienda.example");
  await s.until(async () => (await (await s.find(tid("ns-test-send"))).attr("disabled")) === null, { what: "the send button enabled" });
  await s.click(tid("ns-test-send"));
  const sent = await s.waitFor(tid("notification-settings-notice"), { timeout: 40_000, what: "the test message accepted" }).catch(async (e) => {
    await shot("16-settings-notifications-failed");
    throw new Error(`${e.message}; the section says: ${await s.text(tid("settings-notifications"))}`);
  });
  assert.match(await sent.text(), /Ok: queued as SINK\d+/);
  const test = sink.messages.find((m) => m.to.includes("<admin@tienda.example>"));
  assert.ok(test, "the sink received the test message");
  assert.equal(decodeHeader(parseMessage(test.raw).headers.subject), "VoucherDesk: mensaje de prueba / test message");
  await s.execute(`document.querySelector('[data-testid="settings-notifications"]').scrollIntoView()`);
  await shot("16-settings-notifications");
  await signOut();
});

// Runs after the refused import on purpose: the file chooser listed the folder
// that holds the database (see src-tauri/src/file_dialog.rs), and every write
// below is checked through the CLI.
/** The refund as the CLI reads it from the app's database. */
function refundShown(id) {
  return JSON.parse(cli("refunds", "show", String(id), "--json"));
}

test("a tier-3 refund: support requests it, finance and a manager approve, the app submits it and the sandbox pays it", async () => {
  // Support requests the full amount from the case file; the tier comes from the core before sending.
  await signIn("ana");
  await go("lookup");
  await s.type(tid("lookup-search"), REFUND_ORDER);
  await s.click(tid(`lookup-result-${REFUND_ORDER}`));
  await s.waitFor(`${tid(`refunds-of-${REFUND_PAYMENT}`)} ${tid("refundable-amount")}[data-minor="300000000"]`, { what: "the refundable amount" });
  await s.click(tid(`request-refund-${REFUND_PAYMENT}`));
  const preview = await s.waitFor(`${tid("refund-tier-preview")}[data-tier="3"]`, { what: "the tier-3 preview" });
  assert.match(await preview.text(), /Tier 3.*two people: Finance and Manager/s);
  await s.select(tid("refund-reason"), "buyer_cancelled");
  await s.type(tid("refund-beneficiary-name"), "María José Peña");
  await s.type(tid("refund-bank"), "Bancolombia");
  await s.type(tid("refund-account"), "0012345678");
  await s.type(tid("refund-beneficiary-document"), "1020304050");
  await shot("15-refund-dialog");
  await s.click(tid("refund-send"));
  await s.waitGone(tid("refund-dialog"));
  const listed = JSON.parse(cli("refunds", "list", "--status", "pending_approval", "--json")).filter((r) => r.payment_id === REFUND_PAYMENT);
  assert.equal(listed.length, 1, "one refund requested");
  const id = listed[0].id;
  const row = await s.waitFor(`${tid(`refund-row-${id}`)}[data-status="pending_approval"]`, { what: "the pending refund" });
  assert.equal(await row.attr("data-tier"), "3");
  let shown = refundShown(id);
  assert.deepEqual([shown.status, shown.tier, shown.amount_minor, shown.awaiting], ["pending_approval", 3, 300_000_000, ["finance", "manager"]]);
  await signOut();

  // Finance approves from the inbox (the case file inline); it still awaits the manager.
  await signIn("fabio");
  await go("inbox");
  await s.waitFor(`${tid(`inbox-row-${id}`)}[data-tier="3"]`, { what: "the refund in the inbox" });
  assert.equal((await s.findAll(tid(`inbox-select-${id}`))).length, 0, "tier 3 is not offered for bulk approval");
  await s.click(tid(`inbox-open-${id}`));
  await s.waitFor(tid("inbox-case"));
  await shot("16-finance-inbox");
  await s.type(tid(`inbox-comment-${id}`), "bank details checked");
  await s.click(tid(`inbox-approve-${id}`));
  // Finance confirms the approval (amount, payee and tier named), and the inbox says what happened.
  await s.click(tid(`inbox-confirm-${id}`));
  await s.waitFor(`${tid("inbox-notice")}[data-id="${id}"][data-status="pending_approval"]`, { what: "the notice: awaiting the manager" });
  await s.waitGone(tid("inbox-case"), { what: "the inbox to close the refund" });
  shown = refundShown(id);
  assert.deepEqual([shown.status, shown.awaiting], ["pending_approval", ["manager"]]);
  await signOut();

  // The manager approves: approved, then the app's submitter sends it and follows it.
  await signIn("marta");
  await go("inbox");
  await s.click(tid(`inbox-open-${id}`));
  await s.click(tid(`inbox-approve-${id}`));
  // Finance confirms the approval (amount, payee and tier named), and the inbox says what happened.
  await s.click(tid(`inbox-confirm-${id}`));
  await s.waitFor(`${tid("inbox-notice")}[data-id="${id}"][data-status="approved"]`, { what: "the notice: approved" });
  await s.waitGone(tid(`inbox-row-${id}`), { what: "the approved refund to leave the inbox" });
  shown = await untilWoken(
    () => {
      const r = refundShown(id);
      return r.status === "succeeded" ? r : null;
    },
    { what: "the refund to succeed at the sandbox" },
  );
  assert.equal(shown.submit_attempts, 1, "submitted once");
  assert.match(shown.psp_refund_id, /^REF-sbx-/);
  assert.deepEqual(
    shown.approvals.map((a) => [a.operator, a.decision]),
    [
      ["fabio", "approve"],
      ["marta", "approve"],
    ],
  );

  // The case file shows it succeeded, with its approvals and PSP reference; the receipt is there.
  await go("lookup");
  await s.type(tid("lookup-search"), REFUND_ORDER);
  await s.click(tid(`lookup-result-${REFUND_ORDER}`));
  const done = await s.waitFor(`${tid(`refund-row-${id}`)}[data-status="succeeded"]`, { what: "the succeeded refund" });
  assert.match(await done.text(), /Approved by fabio \(Finance\)/);
  assert.match(await done.text(), /Approved by marta \(Manager\)/);
  assert.equal(await s.text(`${tid(`refund-row-${id}`)} ${tid("refund-psp-ref")}`).then((t) => t.startsWith(shown.psp_refund_id)), true);
  await s.execute(`document.querySelector('[data-testid="refund-receipt-${id}"]').scrollIntoView({ block: "center" })`);
  await s.click(tid(`refund-receipt-${id}`));
  const receipt = await s.waitFor(tid("refund-receipt-path"), { what: "the receipt path" });
  const receiptPath = (await receipt.text()).replace(/^Archived at /, "");
  assert.ok(existsSync(receiptPath), `the receipt ${receiptPath} exists`);
  assert.equal(readFileSync(receiptPath).subarray(0, 5).toString(), "%PDF-");
  await s.execute(`document.querySelector('[data-testid="case-refunds"]').scrollIntoView()`);
  await shot("17-case-file-refund-succeeded");

  // The refunds list and the dashboard's refund panel.
  await go("refunds");
  await s.waitFor(`${tid(`refunds-row-${id}`)}[data-status="succeeded"]`, { what: "the refund in the list" });
  await shot("18-refunds-list");
  await go("dashboard");
  const rate = await s.waitFor(tid("refund-failure-rate"), { what: "the refund failure rate" });
  assert.equal(await rate.attr("data-bp"), "0");
  assert.equal((await s.findAll(tid("refund-failure-banner"))).length, 0);
  assert.equal(await (await s.find(tid("refund-pending-tier-3"))).attr("data-count"), "0");
  await s.execute(`document.querySelector('[data-testid="refund-stats"]').scrollIntoView()`);
  await shot("19-dashboard-refunds");
  await signOut();
});

test("switches the language to Chinese and back", async () => {
  await signIn("admin");
  await go("settings");
  await s.waitFor(tid("settings-operators"));
  await shot("09-settings");
  const english = await s.label(tid("nav-lookup"));
  await harness.setLanguage(s, "zh");
  const chinese = await s.until(
    async () => {
      const t = await s.label(tid("nav-lookup"));
      return /[\u4e00-\u9fff]/.test(t) ? t : null;
    },
    { what: "Chinese labels" },
  );
  assert.notEqual(chinese, english);
  await go("lookup");
  await s.type(tid("lookup-search"), paidNotRecorded);
  await s.click(tid(`lookup-result-${paidNotRecorded}`));
  await s.waitFor(`${tid("case-verdict")}[data-code="deliver_order"]`);
  await shot("10-lookup-zh");
  // Remembered per operator: signing in again comes back in Chinese.
  await signOut();
  await harness.signIn(s, "admin");
  await s.until(async () => /[\u4e00-\u9fff]/.test(await s.label(tid("nav-lookup"))), { what: "Chinese after sign-in" });
  await harness.setLanguage(s, "en");
  await s.until(async () => (await s.label(tid("nav-lookup"))) === english, { what: "English labels again" });
  await signOut();
});

test("a manager reads the operations KPIs on the dashboard: the CLI's figures, with targets, in English, Chinese and Spanish", async () => {
  await signIn("marta");
  await go("dashboard");
  const panel = await s.waitFor(tid("kpi-panel"), { what: "the KPI panel" });
  const [from, to] = [await panel.attr("data-from"), await panel.attr("data-to")];
  const report = JSON.parse(cli("--operator", "marta", "kpis", "--from", from, "--to", to, "--json"));
  const percent = (bp) => (bp === null ? "—" : `${(bp / 100).toFixed(1)} %`);
  const success = await s.label(tid("kpi-success-rate"));
  assert.ok(success.includes(percent(report.overall.success_rate_bp)), `${success} vs ${report.overall.success_rate_bp}`);
  assert.ok(success.includes(`${report.overall.paid.toLocaleString("en-US")} of ${report.overall.vouchers.toLocaleString("en-US")} vouchers paid`), success);
  assert.ok((await s.label(tid("kpi-expired-unpaid"))).includes(percent(report.overall.expired_unpaid_bp)));
  assert.ok((await s.label(tid("kpi-callbacks-missed"))).includes(percent(report.overall.callbacks_missed_bp)));
  await s.waitFor(`${tid("kpi-chart-rates")} canvas`, { what: "the rates chart" });
  const scrollToPanel = () => s.execute("document.querySelector('[data-testid=\"kpi-panel\"]').scrollIntoView()");
  await scrollToPanel();
  await shot("32-kpis-en");
  for (const [language, word] of [
    ["zh", "支付成功率"],
    ["es", "Tasa de pago"],
  ]) {
    await harness.setLanguage(s, language);
    await s.until(async () => ((await s.label(tid("kpi-success-rate"))) ?? "").includes(word), { what: `the KPIs in ${language}` });
    await scrollToPanel();
    await shot(`32-kpis-${language}`);
  }
  await harness.setLanguage(s, "en");
  await signOut();
});

test("a manager schedules the daily report by email on the dashboard; the app's deliverer sends yesterday's report with its files", async () => {
  await signIn("marta");
  await go("dashboard");
  await s.waitFor(tid("daily-report-schedule-save"), { what: "the daily report's schedule form" });
  // 00:00 on the market's clock has passed whenever the suite runs: the report of yesterday in Lima is due now.
  await s.type(tid("daily-report-at"), "00:00");
  await s.click(tid("daily-report-market-CO"));
  // Commas, as a person pastes a list (typed newlines are not sent by WebKit's driver).
  await s.type(tid("daily-report-recipients"), "finanzas@tienda.example, jefe@tienda.example");
  const savedAt = Date.now();
  await s.click(tid("daily-report-schedule-save"));
  await s
    .until(async () => ((await s.label(tid("daily-report-schedule-state"))) ?? "").includes("emailed at 00:00"), { what: "the schedule saved" })
    .catch(async (e) => {
      throw new Error(`${e.message}; the panel says: ${await s.label(tid("daily-report"))}`);
    });
  assert.equal(
    await s.label(tid("daily-report-schedule-state")),
    "The previous market day's report is emailed at 00:00 on each market's clock (PE) to finanzas@tienda.example, jefe@tienda.example; made as marta.",
  );
  const isReport = (m) => decodeHeader(parseMessage(m.raw).headers.subject ?? "").startsWith("VoucherDesk daily report / Reporte diario");
  const mail = await untilWoken(() => sink.messages.find(isReport) ?? null, { what: "the daily report's email at the sink" });
  assert.deepEqual(mail.to, ["<finanzas@tienda.example>", "<jefe@tienda.example>"]);
  // Yesterday on Lima's clock (UTC−5 all year), as the deliverer saw it: a run across midnight may see either day.
  const limaYesterday = (at) => new Date(at - 5 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
  const subject = decodeHeader(parseMessage(mail.raw).headers.subject);
  const yesterday = /(\d{4}-\d{2}-\d{2}) PE$/.exec(subject)?.[1];
  assert.ok([limaYesterday(savedAt), limaYesterday(Date.now())].includes(yesterday), subject);
  const files = [];
  const walk = (entity) => {
    for (const part of entity.parts ?? []) {
      // lettre writes the name as an RFC 2231 parameter (`filename*0="…"`), as mail clients read it.
      const name = /filename(?:\*0)?="?([^";]+)"?/i.exec(part.headers?.["content-disposition"] ?? "")?.[1];
      if (name) files.push({ name, bytes: part.bytes });
      walk(part);
    }
  };
  walk(parseMessage(mail.raw));
  assert.deepEqual(
    files.map((f) => f.name),
    [`voucherdesk-daily-${yesterday}-PE-payments.xlsx`, `voucherdesk-daily-${yesterday}-PE-settlements.xlsx`, `voucherdesk-daily-${yesterday}-PE.pdf`],
  );
  assert.equal(files[2].bytes.subarray(0, 5).toString("latin1"), "%PDF-");
  await s.until(async () => sink.messages.filter(isReport).length === 1, { what: "one email", timeout: 3_000 });
  await s.execute("document.querySelector('[data-testid=\"daily-report\"]').scrollIntoView()");
  await shot("33-daily-report-en");
  await harness.setLanguage(s, "zh");
  await s.until(async () => ((await s.label(tid("daily-report"))) ?? "").includes("每日报表"), { what: "the panel in Chinese" });
  await s.execute("document.querySelector('[data-testid=\"daily-report\"]').scrollIntoView()");
  await shot("33-daily-report-zh");
  await harness.setLanguage(s, "en");
  await s.click(tid("daily-report-schedule-stop"));
  await s.until(async () => (await s.label(tid("daily-report-schedule-state"))) === "The daily report is not emailed.", { what: "the schedule stopped" });
  await signOut();
});

test("a support agent issues a new voucher from an expired order's case file; the PSP makes it and the buyer is told; finance cancels it", async () => {
  // An order whose dLocal voucher expired unpaid (the PSP still says pending), that the core lets support re-issue.
  const open = JSON.parse(cli("exceptions", "list", "--kind", "stale_pending", "--status", "open", "--limit", "50", "--json"));
  const rows = Array.isArray(open) ? open : (open.rows ?? open.exceptions);
  const orderId = rows
    .map((r) => r.order_id)
    .find((id) => {
      const a = JSON.parse(cli("--operator", "ana", "vouchers", "available", "--order", id, "--json"));
      return a.psp === "dlocal" && a.issue.allowed;
    });
  assert.ok(orderId, "the demo has a dLocal order whose voucher expired unpaid");
  await signIn("ana");
  await go("lookup");
  await s.type(tid("lookup-search"), orderId);
  await s.click(tid(`lookup-result-${orderId}`));
  const verdict = await s.waitFor(`${tid("case-verdict")}[data-code="expired_unpaid"]`, { what: "the expired verdict" });
  assert.match(await verdict.attr("data-next-step"), /^(release_stock|offer_new_voucher)$/);
  // No "voucher instructions" for a voucher that can no longer be paid.
  assert.equal(await verdict.attr("data-buyer-message"), "");
  // The cancel button says why support may not.
  assert.equal(await (await s.waitFor(`${tid("voucher-cancel-why")}`, { what: "why cancel is closed" })).attr("data-code"), "auth.forbidden");
  await s.click(tid("verdict-issue-voucher"));
  const hours = await s.waitFor(tid("voucher-hours"), { what: "the issue dialog" });
  assert.equal(await hours.attr("value"), "48");
  await shot("15-case-file-issue-voucher");
  await s.click(tid("voucher-confirm"));
  const done = await s.waitFor(`${tid("voucher-done")}[data-action="issue"]`, { what: "the new voucher", timeout: 60_000 });
  const code = await done.attr("data-code");
  assert.match(code, /^\d+$/, code);
  // The ledger has the new voucher, pending, and the order names it; the buyer's instructions are queued.
  const [caseFile] = JSON.parse(cli("lookup", orderId, "--json"));
  const fresh = caseFile.payments.find((p) => p.voucher_code === code);
  assert.ok(fresh, `the case file lists voucher ${code}`);
  assert.equal(fresh.status, "pending");
  const messages = JSON.parse(cli("--operator", "ana", "notifications", "list", "--order", orderId, "--json"));
  assert.ok(messages.some((m) => m.kind === "voucher_instructions"), JSON.stringify(messages.slice(0, 3)));
  // The verdict follows: a valid voucher now, so the buyer is reminded how to pay.
  await s.waitFor(`${tid("case-verdict")}[data-next-step="remind_buyer"]`, { what: "the verdict after the new voucher" });
  await shot("15-case-file-new-voucher");
  await signOut();

  // The buyer will not pay after all: finance cancels the new dLocal ticket from the same case file.
  await signIn("fabio");
  await go("lookup");
  await s.type(tid("lookup-search"), orderId);
  await s.click(tid(`lookup-result-${orderId}`));
  await s.waitFor(`${tid("voucher-cancel")}:not([disabled])`, { what: "the cancel button, open to finance" });
  await s.click(tid("voucher-cancel"));
  await s.waitFor(tid("voucher-dialog"), { what: "the cancel dialog" });
  await s.click(tid("voucher-confirm"));
  const cancelled = await s.waitFor(`${tid("voucher-done")}[data-action="cancel"]`, { what: "the cancelled voucher", timeout: 60_000 });
  assert.equal(await cancelled.attr("data-code"), code);
  assert.equal(await cancelled.attr("data-status"), "cancelled");
  const [after] = JSON.parse(cli("lookup", orderId, "--json"));
  assert.equal(after.payments.find((p) => p.voucher_code === code).status, "cancelled");
  const told = JSON.parse(cli("--operator", "fabio", "notifications", "list", "--order", orderId, "--json"));
  assert.ok(told.some((m) => m.kind === "voucher_cancelled"), JSON.stringify(told.slice(0, 3)));
  await shot("15-case-file-cancelled-voucher");
  await signOut();
});

test("a case file refreshes from the PSP: the sandbox's new status, and the sync indicator", async () => {
  const { order_id: orderId, payment_id: paymentId } = pendingPaidBySandbox;
  await signIn("ana");
  // Support may not import: the background sync waits for someone who may, and says so.
  // The state of the sync's first round (at start, nobody signed in); the sync is not woken, so the
  // sandbox's payment stays unrecorded until the refresh below.
  const indicator = await s.waitFor(`${tid("sync-indicator")}[data-state="waiting"]`, { timeout: 60_000, what: "the sync indicator" });
  assert.match(await indicator.attr("title"), /Sync waiting/);
  await go("lookup");
  await s.type(tid("lookup-search"), orderId);
  await s.click(tid(`lookup-result-${orderId}`));
  const verdictBefore = await (await s.waitFor(tid("case-verdict"), { what: "the verdict" })).attr("data-code");
  await s.waitFor(`${tid("timeline-entry")}[data-status="pending"]`, { what: "the pending entry" });
  assert.equal((await s.findAll(`${tid("timeline-entry")}[data-status="paid"]`)).length, 0, "not paid before the refresh");
  await shot("12-case-file-before-refresh");

  await s.click(`${tid(`refresh-psp-${paymentId}`)} ${tid("refresh-psp-button")}`);
  const result = await s.waitFor(`${tid("refresh-result")}[data-after="paid"]`, { what: "the sandbox's answer" });
  assert.equal(await result.attr("data-before"), "pending");
  assert.equal(await result.attr("data-recorded"), "true");
  assert.match(await result.text(), /dlocal says PAID/);
  await s.waitFor(`${tid("timeline-entry")}[data-status="paid"]`, { what: "the new timeline entry" });
  const verdictAfter = await s.until(
    async () => {
      const code = await (await s.find(tid("case-verdict"))).attr("data-code");
      return code !== verdictBefore ? code : null;
    },
    { what: `the verdict to change from ${verdictBefore}` },
  );
  assert.notEqual(verdictAfter, verdictBefore);
  await shot("12-refresh-from-psp");
  await signOut();

  // The admin's PSP accounts screen: the account, its connection test against the sandbox.
  await signIn("admin");
  await go("settings");
  await s.waitFor(tid("psp-account-demo-dlocal"), { what: "the demo PSP account" });
  await s.execute(`document.querySelector('[data-testid="settings-psp-accounts"]').scrollIntoView()`);
  await s.click(tid("psp-account-test-demo-dlocal"));
  const test = await s
    .waitFor(`${tid("psp-account-demo-dlocal")} ${tid("psp-account-test-result")}[data-ok="true"]`, { what: "connection OK" })
    .catch(async (e) => {
      await shot("13-settings-psp-accounts-failed");
      throw new Error(`${e.message}; the section says: ${await s.text(tid("settings-psp-accounts"))}`);
    });
  assert.match(await test.text(), /connection OK/);
  await s.waitFor(tid("sync-indicator"));
  await shot("13-settings-psp-accounts");
  await signOut();
});

/** How far the page reaches past the window's right edge (0 when it fits). */
const overflowPx = () =>
  s.execute("return Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth");

test("every screen fits the 1280×800 window in English, Spanish and Chinese, with sign-out in reach", async () => {
  const seen = new Set();
  const wide = [];
  for (const name of ["admin", "fabio"]) {
    for (const language of ["en", "es", "zh"]) {
      await harness.signIn(s, name);
      await harness.setLanguage(s, language);
      assert.equal(await s.execute("return window.innerWidth"), 1280, "the app's default window is 1280 px wide");
      const screens = (await s.execute(`return [...document.querySelectorAll('[data-testid^="nav-"]')].map((e) => e.dataset.testid.slice(4))`)).filter(
        (screen) => name === "admin" || !seen.has(`${language}:${screen}`),
      );
      for (const screen of screens) {
        seen.add(`${language}:${screen}`);
        await go(screen);
        if (screen === "lookup") {
          // With a case file open: its cards, timeline and tables are the widest content.
          await s.type(tid("lookup-search"), paidNotRecorded);
          await s.click(tid(`lookup-result-${paidNotRecorded}`));
          await s.waitFor(tid("case-verdict"), { what: "the case file" });
        }
        await sleep(400); // lists fill in
        const over = await overflowPx();
        if (over > 0) wide.push(`${screen} in ${language} as ${name}: ${over} px too wide`);
        await shot(`layout-1280-${language}-${screen}`);
      }
      // Signing out is in reach: its control (or the menu that holds it) lies inside the window.
      const reach = await s.execute(`
        const el = document.querySelector('[data-testid="account-menu"]') || document.querySelector('[data-testid="sign-out"]');
        const r = el.getBoundingClientRect();
        return r.right <= window.innerWidth && r.bottom <= window.innerHeight && r.width > 0;
      `);
      assert.ok(reach, `sign-out is off-screen in ${language} for ${name}`);
      await harness.setLanguage(s, "en");
      await signOut();
    }
  }
  assert.deepEqual(wide, []);
});

/**
 * English words a Spanish or Chinese screen must not show: every word of the
 * English catalogue that the other catalogue does not use too, less proper
 * names and codes. Read from the catalogues, so a new English string is
 * covered without touching this test.
 */
function englishWords(language) {
  // A catalogue is two files: <lang>.ts and <lang>.refunds.ts.
  const words = (lang) => {
    const read = (file) => readFileSync(path.join(ROOT, "ui", "src", "i18n", file), "utf8");
    const text = read(`${lang}.ts`) + read(`${lang}.refunds.ts`);
    const found = new Set();
    for (const m of text.matchAll(/:\s*"((?:[^"\\]|\\.)*)"/g)) {
      for (const w of m[1].replace(/\{\{\s*\w+\s*\}\}/g, " ").match(/[A-Za-z]{3,}/g) ?? []) found.add(w.toLowerCase());
    }
    return found;
  };
  const proper = new Set(["voucherdesk", "efecty", "pagoefectivo", "dlocal", "psp", "cop", "pen", "usd", "csv", "tsv", "sms", "smtp", "kyc", "api", "cli", "xlsx", "excel", "pdf", "bogotá", "lima", "admin"]);
  const own = language === "es" ? words("es") : new Set();
  return new Set([...words("en")].filter((w) => !own.has(w) && !proper.has(w)));
}

test("every screen speaks Spanish or Chinese only: no English word that is not a name or a code", async () => {
  const leaks = [];
  for (const language of ["es", "zh"]) {
    const dictionary = englishWords(language);
    await harness.signIn(s, "admin");
    await harness.setLanguage(s, language);
    try {
      const screens = await s.execute(`return [...document.querySelectorAll('[data-testid^="nav-"]')].map((e) => e.dataset.testid.slice(4))`);
      for (const screen of screens) {
        await go(screen);
        if (screen === "lookup") {
          await s.type(tid("lookup-search"), paidNotRecorded);
          await s.click(tid(`lookup-result-${paidNotRecorded}`));
          await s.waitFor(tid("case-verdict"), { what: "the case file" });
        }
        await sleep(400); // lists fill in
        // What is on screen, less the data itself: ids, codes and raw records (monospace or marked
        // data-raw), emails, file names and paths, header names (X-Login), codes in capitals.
        const text = await s.execute(`
          const skip = ".mono, code, pre, [data-raw], select, script, style";
          const out = [];
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            const el = n.parentElement;
            if (!el || el.closest(skip) || el.getClientRects().length === 0) continue;
            // A closed <details> shows its summary only.
            const folded = el.closest("details:not([open])");
            if (folded && !el.closest("summary")) continue;
            out.push(n.textContent);
          }
          return out.join(" ");
        `);
        const found = new Set();
        for (const token of text.split(/\s+/)) {
          if (/[@\/\\]|\.(csv|tsv|sqlite)\b|X-[A-Z]/i.test(token)) continue;
          for (const word of token.match(/\p{L}{3,}/gu) ?? []) {
            if (word === word.toUpperCase() || !/^[A-Za-z]+$/.test(word)) continue;
            if (dictionary.has(word.toLowerCase())) found.add(word);
          }
        }
        if (found.size > 0) leaks.push(`${screen} in ${language}: ${[...found].sort().join(", ")}`);
      }
    } finally {
      await harness.setLanguage(s, "en");
      await signOut();
    }
  }
  assert.deepEqual(leaks, []);
});

// Last on the shared database: reconciling as of today moves the demo's queue on by months.
test("reconciling from the imports screen re-examines only what changed, and counts what a full run counts", async () => {
  await signIn("fabio");
  await go("imports");
  await s.click(tid("reconcile-now"));
  const scope = await s.waitFor(tid("reconcile-scope"), { what: "the reconcile answer's scope line" });
  assert.match(
    await scope.text(),
    /^Only what changed since the last run was re-examined: \d+ orders with their payments and settlement rows$/,
  );
  const answer = await (await s.find(tid("reconcile-result"))).text();
  await shot("08b-reconcile-only-what-changed");
  const full = JSON.parse(cli("--operator", "fabio", "reconcile", "--full", "--json"));
  assert.ok(
    answer.includes(`${full.matched} of ${full.orders} orders matched, ${full.open_exceptions} open exceptions`),
    `the app's answer "${answer}" against a full run's ${JSON.stringify({ matched: full.matched, orders: full.orders, open: full.open_exceptions })}`,
  );
  await signOut();
});

test("first run: an empty database asks for the admin, who is then signed in", async () => {
  await s.delete();
  s = null;
  await driver.stop();
  const empty = path.join(work, "first-run.sqlite");
  driver = await startDriver({ env: { ...process.env, VOUCHERDESK_DB: empty } });
  try {
    s = await Session.create(driver.base, APP);
    await s.type(tid("first-run-name"), "root");
    await s.type(tid("first-run-password"), "root-password-1");
    await s.type(tid("first-run-password-again"), "root-password-1");
    await shot("11-first-run");
    await s.click(tid("first-run-submit"));
    const who = await s.waitFor(`${tid("current-operator")}[data-name="root"]`, { what: "root signed in" });
    assert.equal(await who.attr("data-role"), "admin");
  } finally {
    if (s) await s.delete().catch(() => undefined);
    s = null;
    const deadline = performance.now() + 5_000;
    while (ourAppPids(empty).length > 0 && performance.now() < deadline) await sleep(200);
    for (const pid of ourAppPids(empty)) process.kill(pid, "SIGTERM");
  }
});
