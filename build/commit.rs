// Included by the faces' build scripts (cli/build.rs, src-tauri/build.rs): the
// commit a build comes from, for the version line. `VOUCHERDESK_COMMIT` set in
// the environment wins (a build from a source archive has no git).
fn emit_commit() {
    let commit = std::env::var("VOUCHERDESK_COMMIT").ok().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".to_string())
    });
    println!("cargo:rustc-env=VOUCHERDESK_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=VOUCHERDESK_COMMIT");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
