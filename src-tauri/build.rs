//! The app's commands are listed once: in `commands::handler`, the
//! `generate_handler!` that registers them. This script reads that list and
//! - declares each command in the app manifest, so that each one must be
//!   granted by a capability before the webview may call it;
//! - grants each in capabilities/main.json: its `"allow-…"` lines for app
//!   commands are rewritten from the list (the rest of the file stays as
//!   written; the app's grants come before the `core:` ones);
//! - hands the list to the crate as `commands::COMMANDS` (`$OUT_DIR/commands.rs`)
//!   and to the tests as `VOUCHERDESK_MANIFEST_COMMANDS`.

use std::path::Path;

/// The file whose `generate_handler!` registers every command.
const HANDLER_SOURCE: &str = "src/commands.rs";
const HANDLER_MACRO: &str = "tauri::generate_handler![";
/// The capability that grants the main window every app command.
const CAPABILITY: &str = "capabilities/main.json";

include!("../build/commit.rs");

/// The command names `generate_handler![…]` registers: each entry's last path
/// segment (`crate::psp_commands::sync_status` is `sync_status`), in order.
fn command_names(source: &str) -> Vec<String> {
    let start = source.find(HANDLER_MACRO).unwrap_or_else(|| panic!("{HANDLER_SOURCE} has no {HANDLER_MACRO}…]"))
        + HANDLER_MACRO.len();
    let end =
        start + source[start..].find(']').unwrap_or_else(|| panic!("{HANDLER_SOURCE}: {HANDLER_MACRO} never ends"));
    source[start..end]
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| entry.rsplit("::").next().unwrap_or(entry).to_string())
        .collect()
}

/// `capability` with its app-command grants (`"allow-x",` lines without a
/// `:`) replaced by one per command, where the first of them stood.
fn with_grants(capability: &str, names: &[String]) -> String {
    let mut lines = Vec::new();
    let mut granted = false;
    for line in capability.lines() {
        let entry = line.trim();
        if !(entry.starts_with("\"allow-") && !entry.contains(':')) {
            lines.push(line.to_string());
            continue;
        }
        if !granted {
            let indent = &line[..line.len() - line.trim_start().len()];
            lines.extend(names.iter().map(|name| format!("{indent}\"allow-{}\",", name.replace('_', "-"))));
            granted = true;
        }
    }
    assert!(granted, "{CAPABILITY} has no \"allow-…\" line for an app command: keep one where the grants go");
    lines.join("\n") + "\n"
}

fn main() {
    println!("cargo:rerun-if-changed={HANDLER_SOURCE}");
    let source = std::fs::read_to_string(HANDLER_SOURCE).expect("read the command handler's source");
    let names = command_names(&source);

    let capability = std::fs::read_to_string(CAPABILITY).expect("read the capability");
    let regranted = with_grants(&capability, &names);
    // Written only when it changes: tauri-build reruns this script when the capability changes.
    if regranted != capability {
        std::fs::write(CAPABILITY, regranted).expect("write the capability");
    }

    let listed: Vec<String> = names.iter().map(|name| format!("    {name:?},\n")).collect();
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("commands.rs");
    let constant = format!(
        "/// Every command, in the order `handler` registers them (build.rs reads them there).\npub const COMMANDS: &[&str] = &[\n{}];\n",
        listed.concat()
    );
    std::fs::write(out, constant).expect("write the command list");
    println!("cargo:rustc-env=VOUCHERDESK_MANIFEST_COMMANDS={}", names.join(","));

    // The commit shown in the account menu's version line.
    emit_commit();
    // The manifest keeps the names for the whole build.
    let names: &'static [&'static str] =
        Vec::leak(names.into_iter().map(|name| &*String::leak(name)).collect::<Vec<&'static str>>());
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(names)),
    )
    .expect("tauri build step failed");
}
