// A REAL PostgreSQL server for the team e2e test, as cli/tests/support/team.rs
// makes one for the Rust tests: a private cluster in a temporary directory, on
// a loopback port, SCRAM password authentication, started and stopped by the
// test. As root (CI) the server runs as `postgres` (PostgreSQL refuses root).
// Needs Debian's `postgresql` package (scripts/install-deps.sh).

import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./webdriver.mjs";

export const PG_USER = "voucherdesk";
export const PG_PASSWORD = "team-e2e-password";
/** pg_ctl's wait for a start or stop, in seconds. */
const PG_CTL_TIMEOUT_SECONDS = "60";

/** The newest installed server's bin directory (`VOUCHERDESK_PG_BIN` wins). */
function pgBin() {
  if (process.env.VOUCHERDESK_PG_BIN) return process.env.VOUCHERDESK_PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(path.join(root, v, "bin/initdb")))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server under ${root}: run scripts/install-deps.sh`);
  return path.join(root, versions.at(-1), "bin");
}


const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function postgresIds() {
  const id = (flag) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

export async function startPostgres() {
  const bin = pgBin();
  const asPostgres = isRoot();
  const dir = mkdtempSync(path.join(tmpdir(), "vd-e2e-pg-"));
  const data = path.join(dir, "data");
  const log = path.join(dir, "server.log");
  const pwfile = path.join(dir, "pw");
  writeFileSync(pwfile, PG_PASSWORD);
  if (asPostgres) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const port = await freePort();
  const run = (tool, args) => {
    const [cmd, argv] = asPostgres ? ["runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]] : [path.join(bin, tool), args];
    const r = spawnSync(cmd, argv, { cwd: dir, encoding: "utf8" });
    if (r.status !== 0) {
      const serverLog = existsSync(log) ? readFileSync(log, "utf8") : "";
      throw new Error(`${tool} ${args.join(" ")} failed (${r.status}): ${r.stderr}\n${serverLog}`);
    }
  };
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off`;
  const start = () => run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-t", PG_CTL_TIMEOUT_SECONDS, "-w", "start"]);
  // A clean ("fast") stop: clients lose their connections at once; what was committed stays.
  const stop = () => run("pg_ctl", ["-D", data, "-m", "fast", "-t", PG_CTL_TIMEOUT_SECONDS, "-w", "stop"]);
  run("initdb", ["-D", data, "-U", PG_USER, "--pwfile", pwfile, "-A", "scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync"]);
  start();
  return {
    port,
    /** postgres://voucherdesk@127.0.0.1:PORT/postgres, without the password. */
    url: `postgres://${PG_USER}@127.0.0.1:${port}/postgres`,
    /** How the app and the CLI name it (`user@host:port/db`). */
    server: `${PG_USER}@127.0.0.1:${port}/postgres`,
    /** The last `lines` lines of the server's log (what a failed check reports). */
    logTail: (lines) => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(-lines).join("\n") : "(no server log)"),
    /** Stops it: every client loses its connection. */
    stop,
    /** Starts it again, same port and data. */
    restart: start,
    /** True while its postmaster runs (a test that failed mid-way may have left it stopped). */
    running: () => existsSync(path.join(data, "postmaster.pid")),
    /** Stops it if it runs, and removes its files. */
    remove() {
      if (existsSync(path.join(data, "postmaster.pid"))) {
        try {
          stop();
        } catch {
          // already gone
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
