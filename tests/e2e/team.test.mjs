// End-to-end, team mode: two real app instances on two copies of ONE
// team, on a real PostgreSQL server this test starts on loopback (and stops).
// Ana (support) requests a refund in app A; Fabio (finance), whose inbox is
// already open in app B, sees it arrive through B's background pull (no
// restart, no navigation) and approves it; the CLI then reads it approved from
// the server, and A's open case file shows it approved. Then the server is
// stopped: A shows the read-only banner, lookups still work, a change is
// refused as team.offline, sign-out and sign-in still work; the server
// returns and the banner goes.
//
// Each app has its own tauri-driver / WebKitWebDriver pair on its own ports.
// Before each test both apps are put back on their sign-in screens (or started
// again if one died), so a failing test leaves nothing open for the next one.
// Waits for the other desktop's changes follow the server's change
// notifications (LISTEN/NOTIFY); their time limits only stop a test that would
// otherwise hang, they are no budget a loaded machine has to meet.

import { before, beforeEach, after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Session, startDriver } from "./webdriver.mjs";
import * as harness from "./harness.mjs";
import { APP, CLI, ROOT, tid } from "./harness.mjs";
import { startKeyring } from "./keyring.mjs";
import { PG_PASSWORD, startPostgres } from "./pg-server.mjs";

const SHOTS = path.join(ROOT, "artifacts/screenshots");
const REFUND_ORDER = "E2E-TEAM-1";
const REFUND_PAYMENT = "D-E2E-TEAM-1";
/** How long a change may take to reach the other desktop, or the offline state to show, before the test fails. */
const TEAM_WAIT_MS = 90_000;
/** 1,000,000 COP: tier 2, one finance approval. */
const REFUND_AMOUNT_MINOR = 100_000_000;

let pg;
let keyring;
let work;
let env;
const db = {};
const driver = {};
const s = {};

/** What the CLI last wrote on stderr (a team copy out of reach says so there): a failed check reports it. */
let lastCliStderr = "";

/** The CLI on `file` (a team copy: it reconnects to the team and pulls first). */
function cli(file, ...args) {
  const r = spawnSync(CLI, ["--db", file, ...args], { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"] });
  lastCliStderr = r.stderr ?? "";
  if (r.status !== 0) throw new Error(`voucherdesk ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ""}`);
  return r.stdout;
}

/**
 * Puts app `desk`'s window on top. The two windows overlap on the virtual
 * display (no window manager), and WebKit draws no frame for a window hidden
 * under another: a screenshot would wait for one.
 */
function raise(desk) {
  for (const pid of harness.appPids(APP, db[desk])) {
    const found = spawnSync("xdotool", ["search", "--onlyvisible", "--pid", String(pid)], { encoding: "utf8" });
    for (const id of found.stdout.trim().split("\n").filter(Boolean)) spawnSync("xdotool", ["windowraise", id]);
  }
}

/** The server's refunds, approvals, notifications and change sequence, read with psql: what a failed check reports. */
function serverState() {
  const sql = `SELECT 'refund ' || id || ' ' || status || ' change ' || change_seq FROM refunds UNION ALL
               SELECT 'approval ' || id || ' of refund ' || refund || ' by ' || operator || ' change ' || change_seq
                 FROM refund_approvals UNION ALL
               SELECT 'notification ' || id || ' ' || order_id || ' ' || trigger || ' ' || status || ' change ' || change_seq
                 FROM buyer_notifications UNION ALL
               SELECT 'change sequence at ' || last_value || CASE WHEN is_called THEN '' ELSE ' (unused)' END
                 FROM voucherdesk_change_seq`;
  const r = spawnSync("psql", ["-h", "127.0.0.1", "-p", String(pg.port), "-U", "voucherdesk", "-d", "postgres", "-Atc", sql], {
    encoding: "utf8",
    env: { ...env, PGPASSWORD: PG_PASSWORD },
  });
  const server = r.status === 0 ? `the server has:\n${r.stdout}` : `psql could not read the server: ${r.stderr || r.error}`;
  return `${server}\nthe CLI's last stderr:\n${lastCliStderr}\nthe server's log, last lines:\n${pg.logTail(40)}`;
}

async function shot(desk, name) {
  raise(desk);
  await sleep(300);
  await s[desk].screenshot(path.join(SHOTS, `${name}.png`), { xWindow: () => harness.xWindow(db[desk]) });
}

function ourAppPids() {
  return [db.a, db.b].filter(Boolean).flatMap((file) => harness.appPids(APP, file));
}

before(async () => {
  assert.ok(process.env.DISPLAY, "no X display: run the e2e suite under xvfb-run (make e2e)");
  for (const bin of [APP, CLI]) assert.ok(existsSync(bin), `${bin} is missing: build it first (make e2e builds it)`);
  work = mkdtempSync(path.join(tmpdir(), "voucherdesk-e2e-team-"));
  pg = await startPostgres();
  keyring = await startKeyring(work);
  env = {
    ...process.env,
    DBUS_SESSION_BUS_ADDRESS: keyring.address,
    E2E_TEAM_PASSWORD: PG_PASSWORD,
    VOUCHERDESK_TEAM_PASSWORD: PG_PASSWORD,
  };
  db.a = path.join(work, "desk-a.sqlite");
  db.b = path.join(work, "desk-b.sqlite");
  db.cli = path.join(work, "cli.sqlite");
  const server = ["--server", pg.url, "--password-env", "E2E_TEAM_PASSWORD"];
  execFileSync(CLI, ["team", "init", ...server], { encoding: "utf8", env });

  // Desk A's local workspace: the demo plus one paid 1,000,000 COP dLocal payment (paid yesterday).
  cli(db.a, "demo", "--orders", "200", "--seed", "7");
  const paidAt = new Date(Date.now() - 24 * 3600 * 1000);
  const createdAt = new Date(paidAt.getTime() - 2 * 3600 * 1000);
  const expiresAt = new Date(createdAt.getTime() + 3 * 24 * 3600 * 1000);
  const wire = (t) => t.toISOString().replace("Z", "+0000");
  writeFileSync(
    path.join(work, "team-orders.csv"),
    "order_id,store,created_at,buyer_name,buyer_email,buyer_phone,buyer_document,country,amount,currency,status,psp,psp_payment_id,voucher_code,voucher_expires_at\n" +
      `${REFUND_ORDER},Tienda Norte,${wire(createdAt)},"Peña, María José",maria.pena@example.com,+57 300 000 0000,1020304050,CO,1000000,COP,paid,dlocal,${REFUND_PAYMENT},9900000002,${wire(expiresAt)}\n`,
  );
  writeFileSync(
    path.join(work, "team-payments.csv"),
    "PAYMENT_ID,ORDER_ID,COUNTRY,PAYMENT_METHOD_ID,CURRENCY,AMOUNT,STATUS,STATUS_CODE,CREATED_DATE,APPROVED_DATE,EXPIRATION_DATE,TICKET_NUMBER\n" +
      `${REFUND_PAYMENT},${REFUND_ORDER},CO,EY,COP,1000000,PAID,200,${wire(createdAt)},${wire(paidAt)},${wire(expiresAt)},9900000002\n`,
  );
  cli(db.a, "--operator", "admin", "import", "orders", "--profile", "shop", path.join(work, "team-orders.csv"));
  cli(db.a, "--operator", "admin", "import", "payments", "--profile", "dlocal", path.join(work, "team-payments.csv"));

  // One team: A seeds it, B and the CLI's own copy join it.
  assert.match(cli(db.a, "team", "push", ...server), /pushed .* to the team /);
  assert.match(cli(db.b, "team", "join", ...server), /is now this desktop's copy of the team/);
  cli(db.cli, "team", "join", ...server);

  for (const desk of ["a", "b"]) await startApp(desk);
});

/** Starts (or starts again) app `desk` with its own tauri-driver, and waits for its sign-in screen. */
async function startApp(desk) {
  if (s[desk]) await s[desk].delete().catch(() => undefined);
  if (driver[desk]) await driver[desk].stop();
  for (const pid of harness.appPids(APP, db[desk])) process.kill(pid, "SIGTERM");
  // Each app its own tauri-driver and WebKitWebDriver, on free ports (startDriver picks them).
  driver[desk] = await startDriver({
    env: { ...env, VOUCHERDESK_DB: db[desk], VOUCHERDESK_SYNC_TICK_MS: "3600000", VOUCHERDESK_REFUND_INTERVAL_S: "2" },
  });
  s[desk] = await Session.create(driver[desk].base, APP);
  await s[desk].waitFor(tid("sign-in-name"), { timeout: 60_000, what: `the sign-in screen of app ${desk}` });
}

// Both apps start each test signed out with nothing open; the server is up.
beforeEach(async () => {
  if (pg && !pg.running()) pg.restart();
  for (const desk of ["a", "b"]) {
    if (s[desk] && (await s[desk].alive())) {
      try {
        raise(desk);
        await harness.resetToSignIn(s[desk]);
        continue;
      } catch (e) {
        console.error(`app ${desk} did not come back to its sign-in screen (${e.message}): starting it again`);
      }
    }
    await startApp(desk);
  }
});

after(async () => {
  for (const desk of ["a", "b"]) if (s[desk]) await s[desk].delete().catch(() => undefined);
  for (const desk of ["a", "b"]) {
    if (!driver[desk]) continue;
    if (process.env.E2E_TEAM_LOG) writeFileSync(`${process.env.E2E_TEAM_LOG}-${desk}.log`, driver[desk].output());
    await driver[desk].stop();
  }
  const deadline = performance.now() + 5_000;
  while (ourAppPids().length > 0 && performance.now() < deadline) await sleep(200);
  for (const pid of ourAppPids()) {
    console.error(`an app (pid ${pid}) outlived its WebDriver session: ending it`);
    process.kill(pid, "SIGTERM");
  }
  if (keyring) keyring.stop();
  if (pg) pg.remove();
  if (work) rmSync(work, { recursive: true, force: true });
});

test("two desktops of one team: support requests a refund in A, finance sees it arrive in B and approves it", async () => {
  const { a, b } = s;
  await harness.signIn(a, "ana");
  await harness.signIn(b, "fabio");
  for (const app of [a, b]) {
    const indicator = await app.waitFor(`${tid("team-indicator")}[data-online="true"]`, { what: "the team indicator" });
    assert.equal(await indicator.attr("data-server"), pg.server);
  }

  // Fabio's inbox is open before anything is requested.
  await harness.go(b, "inbox");
  await b.waitFor(tid("screen-inbox"));
  assert.equal((await b.findAll('[data-testid^="inbox-row-"]')).length, 0, "nothing awaits approval yet");

  // Ana requests the full amount (tier 2) from the case file in app A.
  raise("a");
  await harness.go(a, "lookup");
  await a.type(tid("lookup-search"), REFUND_ORDER);
  await a.click(tid(`lookup-result-${REFUND_ORDER}`));
  await a.waitFor(`${tid(`refunds-of-${REFUND_PAYMENT}`)} ${tid("refundable-amount")}[data-minor="${REFUND_AMOUNT_MINOR}"]`, { what: "the refundable amount" });
  await a.click(tid(`request-refund-${REFUND_PAYMENT}`));
  await a.waitFor(`${tid("refund-tier-preview")}[data-tier="2"]`, { what: "the tier-2 preview" });
  await a.select(tid("refund-reason"), "buyer_cancelled");
  await a.type(tid("refund-beneficiary-name"), "María José Peña");
  await a.type(tid("refund-bank"), "Bancolombia");
  await a.type(tid("refund-account"), "0012345678");
  await a.type(tid("refund-beneficiary-document"), "1020304050");
  await a.click(tid("refund-send"));
  const sentAt = performance.now();
  await a.waitGone(tid("refund-dialog"));
  const onServer = JSON.parse(cli(db.cli, "refunds", "list", "--status", "pending_approval", "--json")).filter((r) => r.payment_id === REFUND_PAYMENT);
  assert.equal(onServer.length, 1, "the team server has the one request");
  const id = onServer[0].id;
  assert.deepEqual([onServer[0].tier, onServer[0].amount_minor, onServer[0].requested_by], [2, REFUND_AMOUNT_MINOR, "ana"]);
  await a.waitFor(`${tid(`refund-row-${id}`)}[data-status="pending_approval"]`, { what: "the pending refund in A" });

  // It arrives in B's open inbox through the pull (team-changed), nobody navigating.
  const row = await b.waitFor(`${tid(`inbox-row-${id}`)}[data-tier="2"]`, { timeout: TEAM_WAIT_MS, what: "the refund in B's inbox" });
  assert.ok(row);
  console.log(`team: the refund was in B's open inbox ${Math.round(performance.now() - sentAt)} ms after A sent it (a figure, not a limit)`);
  await shot("b", "20-team-inbox-app-b");
  await b.click(tid(`inbox-open-${id}`));
  await b.waitFor(tid("inbox-case"));
  await b.type(tid(`inbox-comment-${id}`), "checked from Bogotá");
  await b.click(tid(`inbox-approve-${id}`));
  // Finance confirms the approval (amount, payee and tier named), and the inbox says what happened.
  await b.click(tid(`inbox-confirm-${id}`));
  await b.waitFor(`${tid("inbox-notice")}[data-id="${id}"][data-status="approved"]`, { timeout: TEAM_WAIT_MS, what: "the approval notice" });
  await b.waitGone(tid(`inbox-row-${id}`), { timeout: TEAM_WAIT_MS, what: "the approved refund leaving B's inbox" });

  // The server has it approved by fabio; A's open case file follows.
  const shown = JSON.parse(cli(db.cli, "refunds", "show", String(id), "--json"));
  assert.equal(shown.status, "approved");
  assert.deepEqual(
    shown.approvals.map((x) => [x.operator, x.role, x.decision, x.comment]),
    [["fabio", "finance", "approve", "checked from Bogotá"]],
    `the CLI's copy shows refund ${id} ${shown.status} with these approvals; ${serverState()}`,
  );
  assert.deepEqual(shown.awaiting, []);
  // The buyer is told once per channel that the refund was approved.
  const told = JSON.parse(cli(db.cli, "--operator", "ana", "notifications", "list", "--order", REFUND_ORDER, "--json")).filter((n) => n.kind === "refund_approved");
  assert.deepEqual(told.map((n) => n.channel).sort(), ["email", "sms"]);
  const approvedInA = await a.waitFor(`${tid(`refund-row-${id}`)}[data-status="approved"]`, { timeout: TEAM_WAIT_MS, what: "the approval in A's case file" });
  assert.ok(approvedInA);
  await shot("a", "21-team-case-file-app-a");

  // The outbox runs on one desktop: A (started first) holds its lease, B skips its rounds and says so.
  raise("b");
  await harness.go(b, "settings");
  const lease = await b.waitFor(`${tid("settings-team-lease-notification_outbox")}[data-mine="false"]`, { timeout: TEAM_WAIT_MS, what: "A's outbox lease in B's settings" });
  assert.match(await lease.text(), /\/desktop#\d+/);
  assert.equal(await b.text(tid("settings-team-server")), pg.server);
  await b.execute(`document.querySelector('[data-testid="settings-team"]').scrollIntoView()`);
  await shot("b", "23-team-settings-app-b");
  await harness.go(b, "notifications");
  const held = await harness.untilWoken(b, db.b, () => b.find(`${tid("deliverer-problem")}[data-code="team.lease_held"]`), { what: "B's deliverer skipping its rounds" });
  assert.match(await held.text(), /the notification outbox runs on another desktop of the team: \S+\/desktop#\d+/);
});

test("a desktop cut off from the team server stays readable, refuses changes, and recovers", async () => {
  const { a } = s;
  raise("a"); // its <select> menus open on screen
  await harness.signIn(a, "ana");
  await a.waitFor(`${tid("team-indicator")}[data-online="true"]`, { timeout: TEAM_WAIT_MS, what: "the team indicator online" });
  await harness.go(a, "lookup");
  pg.stop();
  const stoppedAt = performance.now();
  const banner = await a.waitFor(tid("team-offline-banner"), { timeout: TEAM_WAIT_MS, what: "the offline banner" });
  assert.match(
    await banner.text(),
    /Team server unreachable — read-only: lookups and lists work from this desktop's copy; changes are refused until it returns\./,
  );
  await a.waitFor(`${tid("team-indicator")}[data-online="false"]`, { timeout: TEAM_WAIT_MS, what: "the indicator offline" });
  console.log(`team: the offline banner showed ${Math.round(performance.now() - stoppedAt)} ms after the server stopped`);

  // Lookups work from the copy.
  await a.type(tid("lookup-search"), REFUND_ORDER);
  await a.waitFor(tid(`lookup-result-${REFUND_ORDER}`), { what: "a lookup while offline" });

  // A change is refused with the team's code, and nothing is queued.
  await a.click(tid(`lookup-result-${REFUND_ORDER}`));
  await a.waitFor(`${tid("notifications-panel")} :is(${tid("notifications-log")}, ${tid("notifications-empty")})`, { what: "the notification log" });
  const queuedBefore = (await a.findAll('[data-testid^="notification-row-"]')).length;
  await a.click(tid("resend-submit"));
  const refusal = await a.waitFor(`${tid("resend-error")}[data-code="team.offline"]`, { what: "the refusal" });
  assert.match(await refusal.text(), /The team server cannot be reached: this desktop is read-only until it returns/);
  assert.equal((await a.findAll('[data-testid^="notification-row-"]')).length, queuedBefore, "nothing queued");
  await shot("a", "22-team-offline-banner");

  // Signing out and in again works offline.
  await harness.signOut(a);
  await a.waitFor(tid("team-offline-banner"), { what: "the banner on the sign-in screen" });
  await harness.signIn(a, "ana");

  pg.restart();
  const restartedAt = performance.now();
  await a.waitGone(tid("team-offline-banner"), { timeout: TEAM_WAIT_MS, what: "the offline banner" });
  console.log(`team: the banner went ${Math.round(performance.now() - restartedAt)} ms after the server was back`);
  await a.waitFor(`${tid("team-indicator")}[data-online="true"]`, { timeout: TEAM_WAIT_MS, what: "the indicator online again" });
  // Changes go through again: the re-send is queued, on the server too.
  await harness.go(a, "lookup");
  await a.type(tid("lookup-search"), REFUND_ORDER);
  await a.click(tid(`lookup-result-${REFUND_ORDER}`));
  // The case file's re-send panel is loaded (its log or its empty state)
  // before the click, as in the offline half: a click on the panel of the
  // page being replaced is lost on a loaded machine.
  await a.waitFor(`${tid("notifications-panel")} :is(${tid("notifications-log")}, ${tid("notifications-empty")})`, { what: "the notification log" });
  await a.click(tid("resend-submit"));
  const answer = await a.waitFor(`:is(${tid("resend-queued")}, ${tid("resend-error")})`, { what: "the re-send's answer" });
  assert.equal(await answer.attr("data-testid"), "resend-queued", `the re-send was refused: ${await answer.text()}`);
  const queued = answer;
  const queuedId = await queued.attr("data-id");
  // The app answered after its team write committed; the CLI's copy pulls before it reads.
  // Besides the buyer's refund_approved messages (one per channel), exactly this one manual re-send.
  let lastListed = [];
  const listed = () => {
    lastListed = JSON.parse(cli(db.cli, "--operator", "ana", "notifications", "list", "--order", REFUND_ORDER, "--json"));
    return lastListed;
  };
  const queuedAt = performance.now();
  const onServer = await a
    .until(() => {
      const all = listed();
      return all.some((n) => String(n.id) === queuedId) ? all : null;
    }, { timeout: TEAM_WAIT_MS, what: `notification ${queuedId} on the server` })
    .catch((e) => {
      // Which side is behind: the server's rows, or the CLI copy's pull.
      const listedIds = lastListed.map((n) => `${n.id}/${n.trigger}`).join(", ");
      throw new Error(`${e.message}\nthe CLI's copy listed: ${listedIds}\n${serverState()}`);
    });
  console.log(`team: the re-send was on the server ${Math.round(performance.now() - queuedAt)} ms after the app said queued (0 expected)`);
  assert.deepEqual(onServer.filter((n) => n.trigger === "manual").map((n) => String(n.id)), [queuedId]);
});
