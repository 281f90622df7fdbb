//! A REAL PostgreSQL server for tests: a private cluster in a temporary
//! directory, on a loopback port, with password authentication, started by
//! the test and stopped (immediately) when the value is dropped. If it cannot
//! start, the test fails: it never skips.
//!
//! Needs Debian's `postgresql` package (scripts/install-deps.sh). As root (CI),
//! the server runs as the `postgres` user, because PostgreSQL refuses root.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

/// The superuser of the private cluster, and its password.
pub const PG_USER: &str = "voucherdesk";
pub const PG_PASSWORD: &str = "team-test-password";
/// How long the server gets to start or stop, in seconds (pg_ctl -t).
const PG_CTL_TIMEOUT_SECONDS: u32 = 60;

pub struct PgServer {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    run_as_postgres: bool,
}

impl PgServer {
    pub fn start() -> PgServer {
        let bin = pg_bin_dir();
        let run_as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("vd-pg-").tempdir().unwrap();
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).unwrap();
        if run_as_postgres {
            chown_to_postgres(dir.path());
            chown_to_postgres(&pwfile);
        }
        let server = PgServer { port: free_port(), dir, bin, run_as_postgres };
        server.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                PG_USER,
                "--pwfile",
                path_str(&pwfile),
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        server.pg_ctl_start();
        server
    }

    /// postgres://voucherdesk@127.0.0.1:PORT/postgres, without the password.
    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The same, password included (for the few places that take only a URL).
    pub fn url_with_password(&self) -> String {
        format!("postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast, like a crash): every client loses its connection.
    /// Committed work survives (commits reach the OS before they return: no
    /// `synchronous_commit=off` here; `fsync=off` only risks an OS crash).
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.data()), "-m", "immediate", "-t", &PG_CTL_TIMEOUT_SECONDS.to_string(), "-w", "stop"],
        );
    }

    /// Starts it again on the same port, with the same data.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data()),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-t",
                &PG_CTL_TIMEOUT_SECONDS.to_string(),
                "-w",
                "start",
            ],
        );
    }

    /// One of the server's tools, as the user the server runs as.
    fn command(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut cmd = if self.run_as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// Runs `script` through the server's own `psql` as `login`, as a person
    /// at a terminal would: libpq's simple protocol, stopping at the first
    /// error. Returns that error as (SQLSTATE, message), or None when the whole
    /// script ran. A refused `COPY ... FROM STDIN` is asked this way because
    /// the `postgres` crate's extended-protocol COPY sends a Sync the server may
    /// answer twice when it refuses before the first row (rust-postgres #789):
    /// the crate then reports "unexpected message from server" instead of the
    /// refusal, depending on timing.
    pub fn psql_script(&self, login: &str, password: &str, script: &str) -> Option<(String, String)> {
        use std::io::Write;
        let mut child = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", login, "-d", "postgres"])
            .args(["-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-f", "-"])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run psql from {} ({e})", self.bin.display()));
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // "psql:<stdin>:3: ERROR:  42501: an upload needs the team's write lock"
        let error = stderr.lines().find_map(|line| line.split_once("ERROR:  ").map(|(_, rest)| rest.to_string()));
        match (out.status.success(), error) {
            (true, None) => None,
            (false, Some(error)) => {
                let (code, message) = error.split_once(": ").unwrap_or_else(|| panic!("no SQLSTATE in {error:?}"));
                Some((code.to_string(), message.to_string()))
            }
            (ok, error) => panic!("psql exited {} with error {error:?}: {stderr}", if ok { "well" } else { "badly" }),
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().unwrap_or_else(|e| {
            panic!(
                "cannot run {tool} from {} ({e}): install PostgreSQL with scripts/install-deps.sh",
                self.bin.display()
            )
        });
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}\n{}\nserver log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        if data.join("postmaster.pid").exists() {
            let _ = self.command("pg_ctl").args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"]).output();
        }
    }
}

/// The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin).
fn pg_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("VOUCHERDESK_PG_BIN") {
        return PathBuf::from(dir);
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| panic!("no PostgreSQL server under {}: run scripts/install-deps.sh", root.display()))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn chown_to_postgres(path: &Path) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("the postgres user exists (Debian's postgresql package)")
    };
    std::os::unix::fs::chown(path, Some(id("-u")), Some(id("-g"))).unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}
