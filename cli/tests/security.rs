//! Security findings checked through the `voucherdesk` binary.

mod common;
use common::*;

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
