// A private Secret Service for the e2e run: a D-Bus session bus of
// our own and an unlocked gnome-keyring-daemon on it, as cli/tests/support/keyring.rs
// does for the Rust tests. The app and the CLI get DBUS_SESSION_BUS_ADDRESS
// pointing at it, so PSP secrets go to a real keyring that dies with the run.
// Needs dbus-daemon, dbus-send and gnome-keyring-daemon (scripts/install-deps.sh).

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, chmodSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** How long the bus and the keyring daemon get to come up. */
const DAEMON_START_TIMEOUT_MS = 15_000;

export async function startKeyring(dir) {
  const home = path.join(dir, "keyring-home");
  const runtime = path.join(dir, "keyring-run");
  for (const d of [home, runtime]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o700);
  }
  const config = path.join(dir, "bus.conf");
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir=${runtime}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>`,
  );
  const bus = spawn("dbus-daemon", [`--config-file=${config}`, "--nofork", "--print-address=1"], { stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise((resolve, reject) => {
    let text = "";
    bus.on("error", reject);
    bus.stdout.on("data", (chunk) => {
      text += chunk;
      const line = text.split("\n")[0];
      if (text.includes("\n")) resolve(line.trim());
    });
  });
  if (!address.startsWith("unix:")) throw new Error(`dbus-daemon printed no address: ${address}`);
  const keyring = spawn("gnome-keyring-daemon", ["--foreground", "--unlock", "--components=secrets"], {
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address, HOME: home, XDG_DATA_HOME: path.join(home, "data"), XDG_RUNTIME_DIR: runtime },
    stdio: ["pipe", "ignore", "ignore"],
  });
  keyring.stdin.end("e2e-keyring-password");
  const deadline = performance.now() + DAEMON_START_TIMEOUT_MS;
  for (;;) {
    const r = spawnSync(
      "dbus-send",
      ["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
      { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address }, encoding: "utf8" },
    );
    if ((r.stdout ?? "").includes("boolean true")) break;
    if (performance.now() > deadline) {
      keyring.kill();
      bus.kill();
      throw new Error(`gnome-keyring-daemon did not offer org.freedesktop.secrets within ${DAEMON_START_TIMEOUT_MS} ms`);
    }
    await sleep(100);
  }
  return {
    address,
    stop() {
      keyring.kill();
      bus.kill();
    },
  };
}

/** `voucherdesk sandbox --port 0 ...`; resolves with its URL once it listens. */
export async function startSandbox(cli, args, env) {
  const child = spawn(cli, ["sandbox", "--port", "0", ...args], { env, stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((resolve, reject) => {
    let text = "";
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the sandbox exited (${code}) before listening`)));
    child.stdout.on("data", (chunk) => {
      text += chunk;
      const m = text.match(/sandbox listening on (http:\/\/[^\s]+)/);
      if (m) resolve(m[1]);
    });
  });
  return { url, stop: () => child.kill() };
}
