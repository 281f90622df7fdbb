//! Security findings checked through the `voucherdesk` binary.

use crate::support;
use support::*;

#[test]
fn demo_refused_for_a_support_operator_exits_2_and_writes_nothing() {
    let ctx = Ctx::new();
    let before = ctx.stats();
    let out = ctx.fails_with(2, ["--operator", "sam", "demo", "--orders", "200", "--seed", "7"]);
    assert_eq!(stderr(&out), "error: sam (support) may not import files\n");
    assert!(!ctx.dir.path().join("demo-files").exists(), "no demo file was written");
    assert_eq!(ctx.stats(), before, "nothing was imported");
}

/// Posts `body` to `url_path` on `addr` over plain HTTP/1.1; returns the status line.
fn post_raw(addr: &str, url_path: &str, headers: &[(&str, &str)], body: &str) -> String {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).expect("connect to listen");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut request = format!("POST {url_path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
    conn.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

#[test]
fn listen_prints_a_forged_bodys_ansi_codes_and_newlines_escaped_on_one_log_line() {
    use std::io::BufRead;
    let ctx = Ctx::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_voucherdesk"))
        .arg("--db")
        .arg(&ctx.db)
        .args(["listen", "--port", "0", "--dlocal-secret-env", "VD_TEST_DLOCAL_SECRET"])
        .env("VD_TEST_DLOCAL_SECRET", "listen-test-secret")
        .env_remove("VOUCHERDESK_OPERATOR")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start listen");
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let order_id = "S-1\n2026-03-20T12:00:00Z dlocal 200 applied order S-2\u{1b}[2K\u{1b}[32m";
    let body = serde_json::json!({"id": "D-1", "status": "PAID", "order_id": order_id}).to_string();
    let status = post_raw(&addr, "/notifications/dlocal", &[("X-Date", "2026-03-20T12:00:00.000Z")], &body);
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    child.kill().unwrap();
    child.wait().unwrap();
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(rest.len(), 2, "{rest:#?}");
    assert_eq!(rest[0], "not reconciling after changes (give --operator to do so)");
    let logged = &rest[1];
    assert!(!logged.chars().any(char::is_control), "{logged:?}");
    let (_, line) = logged.split_once(' ').unwrap();
    assert_eq!(
        line,
        "dlocal 401 unsigned order S-1\\n2026-03-20T12:00:00Z dlocal 200 applied order S-2\\u{1b}[2K\\u{1b}[32m \
         payment D-1: no X-Login, Authorization header"
    );
}

/// The anchor beside the test database, as written by the last command.
fn anchor_of(ctx: &Ctx) -> serde_json::Value {
    let path = voucherdesk::audit::anchor_path_for(&ctx.db);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("anchor file")).expect("anchor JSON")
}

/// Drops the append-only triggers as an attacker holding the file would, then deletes the newest `n` entries.
fn delete_audit_tail(ctx: &Ctx, n: u32) {
    let conn = rusqlite::Connection::open(&ctx.db).unwrap();
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").unwrap();
    let deleted = conn
        .execute("DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log ORDER BY id DESC LIMIT ?1)", [n])
        .unwrap();
    assert_eq!(deleted, n as usize);
}

fn head_line(out: &std::process::Output) -> String {
    stdout(out).lines().find(|l| l.starts_with("head: ")).expect("a head line").to_string()
}

#[test]
fn audit_verify_catches_a_tail_deleted_after_the_triggers_are_dropped() {
    let ctx = Ctx::new();
    let out = ctx.ok(["audit", "verify"]);
    assert_eq!(stdout(&out).lines().next().unwrap(), "audit log intact: 5 entries verified");
    let anchor = anchor_of(&ctx);
    assert_eq!(anchor["count"], 5);
    assert_eq!(anchor["last_id"], 5);
    assert_eq!(head_line(&out), format!("head: entry 5 hash {}", anchor["last_hash"].as_str().unwrap()));

    delete_audit_tail(&ctx, 2);
    let out = ctx.fails_with(3, ["audit", "verify"]);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(first.starts_with("audit log BROKEN at entry 5: entries missing: 2; the anchor ("), "{first}");
    assert!(first.ends_with(") records 5 entries up to entry 5, the log holds 3"), "{first}");
    assert_eq!(stderr(&out), "error: the audit log has been tampered with\n");

    // Neither the failed check nor a later change moves the anchor back.
    ctx.ok(["operators", "add", "zoe", "--role", "support"]);
    ctx.ok(["operators", "add", "yan", "--role", "support"]);
    assert_eq!(anchor_of(&ctx), anchor);
    let out = ctx.fails_with(3, ["audit", "verify"]);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(first.starts_with("audit log BROKEN at entry 5: "), "{first}");
}

#[test]
fn audit_verify_checks_a_head_hash_kept_elsewhere() {
    let ctx = Ctx::new();
    let kept = anchor_of(&ctx)["last_hash"].as_str().unwrap().to_string();
    ctx.ok(["operators", "add", "zoe", "--role", "support"]);
    let out = ctx.ok(["audit", "verify", "--expect-head", &kept]);
    assert_eq!(stdout(&out).lines().next().unwrap(), "audit log intact: 6 entries verified");
    assert_eq!(anchor_of(&ctx)["count"], 6);

    // The anchor file removed with the tail: the kept hash still tells.
    delete_audit_tail(&ctx, 2);
    std::fs::remove_file(voucherdesk::audit::anchor_path_for(&ctx.db)).unwrap();
    let out = ctx.fails_with(3, ["audit", "verify", "--expect-head", &kept]);
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        format!(
            "audit log BROKEN at entry 4: no entry has the expected head hash {kept}: the log was truncated or rewritten"
        )
    );
}

#[test]
fn audit_verify_accepts_an_anchor_one_transaction_behind_but_not_a_deletion_below_it() {
    let ctx = Ctx::new();
    let anchor_path = voucherdesk::audit::anchor_path_for(&ctx.db);
    let behind = std::fs::read(&anchor_path).unwrap();
    ctx.ok(["operators", "add", "zoe", "--role", "support"]);
    assert_eq!(anchor_of(&ctx)["count"], 6);
    // A crash after the commit, before the anchor moved: it still says 5 entries.
    std::fs::write(&anchor_path, &behind).unwrap();
    let out = ctx.ok(["audit", "verify"]);
    assert_eq!(stdout(&out).lines().next().unwrap(), "audit log intact: 6 entries verified");
    // The next command that appends brings it level.
    ctx.ok(["operators", "add", "yan", "--role", "support"]);
    assert_eq!(anchor_of(&ctx)["count"], 7);

    std::fs::write(&anchor_path, &behind).unwrap();
    delete_audit_tail(&ctx, 3);
    let out = ctx.fails_with(3, ["audit", "verify"]);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(first.starts_with("audit log BROKEN at entry 5: entries missing: 1; "), "{first}");
}

#[test]
fn a_psp_url_that_is_not_this_machine_never_gets_the_sandboxs_keys() {
    let ctx = Ctx::new();
    ctx.import_recon_set();
    for args in [
        vec!["vouchers", "issue", "--order", "R-004", "--dlocal-url", "https://api.dlocal.example"],
        vec!["vouchers", "issue", "--order", "R-017", "--pagoefectivo-url", "https://pre1a.pagoefectivo.example"],
        vec!["refunds", "submit", "--once", "--dlocal-url", "https://api.dlocal.example"],
    ] {
        let mut cmd = ctx.cmd();
        cmd.args(&args);
        for var in ["VOUCHERDESK_DLOCAL_LOGIN", "VOUCHERDESK_DLOCAL_TRANS_KEY", "VOUCHERDESK_DLOCAL_SECRET"] {
            cmd.env_remove(var);
        }
        for var in [
            "VOUCHERDESK_PAGOEFECTIVO_SERVICE_ID",
            "VOUCHERDESK_PAGOEFECTIVO_ACCESS_KEY",
            "VOUCHERDESK_PAGOEFECTIVO_SECRET",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().expect("the binary runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let url = args[args.len() - 1];
        assert!(
            stderr(&out).contains(&format!("{url} is not a sandbox on this machine: set VOUCHERDESK_")),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}
