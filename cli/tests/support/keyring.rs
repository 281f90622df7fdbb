//! A REAL Secret Service for tests: a private D-Bus session bus and an
//! unlocked gnome-keyring-daemon, started by the test and stopped when the
//! value is dropped. If they cannot start, the test fails (it never skips).
//!
//! Needs `dbus-daemon`, `dbus-send` and `gnome-keyring-daemon` (scripts/install-deps.sh).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// How long the bus and the keyring daemon get to come up.
const DAEMON_START_TIMEOUT_MS: u64 = 15_000;

/// A private session bus (no service activation: nothing starts behind our
/// back) with an unlocked gnome-keyring on it. Both die with this value.
pub struct KeyringSession {
    pub dir: tempfile::TempDir,
    pub address: String,
    bus: Child,
    keyring: Child,
}

impl KeyringSession {
    pub fn start() -> KeyringSession {
        let dir = tempfile::tempdir().unwrap();
        let (home, runtime) = (dir.path().join("keyring-home"), dir.path().join("run"));
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d).unwrap();
            let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
            std::fs::set_permissions(d, private).unwrap();
        }
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir={}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>"#,
                runtime.display()
            ),
        )
        .unwrap();
        let mut bus = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start dbus-daemon ({e}): run scripts/install-deps.sh"));
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap()).read_line(&mut address).unwrap();
        let address = address.trim().to_string();
        assert!(address.starts_with("unix:"), "dbus-daemon printed no address: {address:?}");
        let mut keyring = std::process::Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start gnome-keyring-daemon ({e}): run scripts/install-deps.sh"));
        {
            let mut stdin = keyring.stdin.take().unwrap();
            stdin.write_all(b"test-keyring-password").unwrap();
        } // closed: the daemon reads the password to EOF
        let session = KeyringSession { dir, address, bus, keyring };
        session.wait_for_secret_service();
        session
    }

    fn wait_for_secret_service(&self) {
        let deadline = Instant::now() + Duration::from_millis(DAEMON_START_TIMEOUT_MS);
        loop {
            let out = std::process::Command::new("dbus-send")
                .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
                .args(["org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"])
                .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
                .output()
                .expect("dbus-send is needed (scripts/install-deps.sh)");
            if String::from_utf8_lossy(&out.stdout).contains("boolean true") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gnome-keyring-daemon did not offer org.freedesktop.secrets within {DAEMON_START_TIMEOUT_MS} ms"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for KeyringSession {
    fn drop(&mut self) {
        for child in [&mut self.keyring, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
