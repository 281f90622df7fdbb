//! The commands through Tauri's IPC layer (mock runtime, real library, a
//! temporary database opened as the app opens it, with its read-only
//! connections): the `{code, message}` error shape, the session, and the
//! library's role checks as each role meets them.

use crate::common;

use common::MockApp;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use voucherdesk_desktop::commands::COMMANDS;
use voucherdesk_desktop::picked_files::{FileUse, SaveKind};
use voucherdesk_desktop::state::{AppState, Opened};

struct Harness {
    app: MockApp,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::open(&dir.path().join("ipc.sqlite")).unwrap();
        Harness { app: MockApp::new(state), dir }
    }

    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.app.call(cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        common::ok(self.call(cmd, args), cmd)
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        common::err(self.call(cmd, args), cmd)
    }

    fn sign_in(&self, name: &str, password: &str) -> Value {
        self.ok("sign_in", json!({ "name": name, "password": password }))
    }
}

fn sample(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/samples").join(name);
    path.canonicalize().unwrap().display().to_string()
}

/// First run, the admin, the team, and the walkthrough samples imported and reconciled.
fn populated() -> Harness {
    let h = Harness::new();
    assert_eq!(h.ok("app_status", json!({}))["first_run"], json!(true));
    let admin = h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    assert_eq!(admin, json!({ "name": "root", "role": "admin", "language": "en" }));
    for (name, role) in [("ana", "support"), ("fabio", "finance"), ("marta", "manager")] {
        let password = format!("voucherdesk-{name}");
        h.ok("operator_add", json!({ "name": name, "role": role, "password": password }));
    }
    for (file, kind, profile) in [
        ("shop-orders.csv", "orders", "shop"),
        ("dlocal-payments.csv", "payments", "dlocal"),
        ("pagoefectivo-payments.csv", "payments", "pagoefectivo"),
        ("dlocal-settlement.tsv", "settlements", "dlocal-settlement"),
        ("pagoefectivo-settlement.csv", "settlements", "pagoefectivo-settlement"),
    ] {
        let outcome =
            h.ok("import_file", json!({ "token": h.app.chosen(sample(file)), "kind": kind, "profile": profile }));
        assert_eq!(outcome["outcome"], json!("imported"), "{file}: {outcome}");
    }
    let summary = h.ok("reconcile_now", json!({ "as_of": "2026-03-20" }));
    assert!(summary["open_exceptions"].as_u64().unwrap() > 0, "{summary}");
    h
}

/// Longest a test waits for the app's background work to report (it reports
/// in milliseconds; the bound only keeps a broken build from hanging).
const BACKGROUND_REPORT_WAIT_SECS: u64 = 60;

/// After an orders import the app brings the search index level on its own,
/// so the first name search finds it level; two imports close together are
/// both indexed, whether the second came during the first's round or after.
#[test]
fn an_orders_import_has_the_search_index_levelled_in_the_background() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    let level = h.app.events(voucherdesk_desktop::commands::SEARCH_INDEX_LEVEL_EVENT);
    let more = h.dir.path().join("more-orders.csv");
    let sample_text = std::fs::read_to_string(sample("shop-orders.csv")).unwrap();
    let (header, rows) = sample_text.split_once('\n').unwrap();
    std::fs::write(&more, format!("{header}\n{}", rows.replace("CO-1", "CO-7").replace("PE-2", "PE-8"))).unwrap();
    for file in [sample("shop-orders.csv"), more.display().to_string()] {
        let outcome = h.ok("import_file", json!({ "token": h.app.chosen(&file), "kind": "orders", "profile": "shop" }));
        assert_eq!(outcome["outcome"], json!("imported"), "{outcome}");
    }
    let mut indexed = 0;
    let wait = std::time::Duration::from_secs(BACKGROUND_REPORT_WAIT_SECS);
    while indexed < 8 {
        let payload = level.recv_timeout(wait).expect("the index was not levelled in the background");
        indexed += payload.parse::<i64>().unwrap();
    }
    assert_eq!(indexed, 8, "every order of both files indexed once");
    let other = voucherdesk::store::Store::open(&h.dir.path().join("ipc.sqlite")).unwrap();
    assert_eq!(other.search_backlog().unwrap(), 0);
    // A buyer renamed by a later file is indexed again with the new name.
    let renamed = h.dir.path().join("renamed-orders.csv");
    std::fs::write(&renamed, sample_text.replace("José Núñez", "Josefina Quispe")).unwrap();
    let outcome = h.ok("import_file", json!({ "token": h.app.chosen(&renamed), "kind": "orders", "profile": "shop" }));
    assert_eq!(outcome["outcome"], json!("imported"), "{outcome}");
    let mut reindexed = 0;
    while reindexed < 1 {
        let payload = level.recv_timeout(wait).expect("the renamed order was not indexed again");
        reindexed += payload.parse::<i64>().unwrap();
    }
    assert_eq!((reindexed, other.search_backlog().unwrap()), (1, 0));
    let found = h.ok("search_orders", json!({ "query": "quispe", "limit": 5 }));
    assert!(found.to_string().contains("CO-1001"), "{found}");
}

/// "Import all" as one run: the files end orders first, then payments, then
/// settlement reports, each on its own (a bad file refuses itself, not its
/// neighbours), each told by an event as it ends; the reply keeps the order
/// given; the search index is level when the reply comes; imported files
/// spend their tokens, refused ones keep theirs; the same files again change nothing.
#[test]
fn import_all_runs_the_chosen_files_as_one_run_each_file_on_its_own() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    let ended_events = h.app.events(voucherdesk_desktop::commands::IMPORT_FILE_ENDED_EVENT);
    let started_events = h.app.events(voucherdesk_desktop::commands::IMPORT_FILE_STARTED_EVENT);
    let bad = h.dir.path().join("bad-orders.csv");
    let good = std::fs::read_to_string(sample("shop-orders.csv")).unwrap();
    let bad_text = good.replace("CO-1", "CO-9").replace("PE-2", "PE-9").replacen(",COP,", ",XXX,", 1);
    std::fs::write(&bad, bad_text).unwrap();
    let chosen = [
        (sample("pagoefectivo-settlement.csv"), "settlements", "pagoefectivo-settlement"),
        (sample("dlocal-payments.csv"), "payments", "dlocal"),
        (bad.display().to_string(), "orders", "shop"),
        (sample("dlocal-settlement.tsv"), "orders", "dlocal-settlement"),
        (sample("shop-orders.csv"), "orders", "shop"),
        (sample("pagoefectivo-payments.csv"), "payments", "pagoefectivo"),
    ];
    let tokens: Vec<String> = chosen.iter().map(|(path, _, _)| h.app.chosen(path)).collect();
    let files: Vec<Value> = chosen
        .iter()
        .zip(&tokens)
        .map(|((_, kind, profile), token)| json!({ "token": token, "kind": kind, "profile": profile }))
        .collect();
    let reply = h.ok("import_files", json!({ "files": files }));
    let ended = reply.as_array().unwrap();
    assert_eq!(ended.len(), 6, "{reply}");
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(ended[i]["token"], json!(token), "the reply keeps the order given");
    }
    let new_rows = |i: usize| ended[i]["outcome"]["rows"]["new"].clone();
    assert_eq!(
        (new_rows(0), new_rows(1), new_rows(4), new_rows(5)),
        (json!(2), json!(2), json!(4), json!(2)),
        "{reply}"
    );
    assert_eq!(ended[2]["error"]["code"], json!("import.bad_rows"), "{reply}");
    assert!(ended[2]["error"]["message"].as_str().unwrap().contains("bad-orders.csv:2: "), "{reply}");
    assert_eq!(ended[3]["error"]["code"], json!("import.profile_kind"), "{reply}");
    assert_eq!(ended[2]["outcome"], Value::Null);

    // Told as each ended: orders (the file asked to be read as orders among
    // them), then payments, then settlement reports.
    let told: Vec<Value> = (0..6)
        .map(|_| {
            let payload = ended_events.recv_timeout(std::time::Duration::from_secs(BACKGROUND_REPORT_WAIT_SECS));
            serde_json::from_str(&payload.expect("every file's end is told")).unwrap()
        })
        .collect();
    let order: Vec<usize> = told.iter().map(|e| tokens.iter().position(|t| e["token"] == json!(t)).unwrap()).collect();
    let group = |range: std::ops::Range<usize>| order[range].iter().copied().collect::<std::collections::BTreeSet<_>>();
    assert_eq!((group(0..3), group(3..5), order[5]), ([2, 3, 4].into(), [1, 5].into(), 0), "{order:?}");
    // Each file's write was told as it began, in the same order (a local file ends before the next begins).
    let began: Vec<usize> = (0..6)
        .map(|_| {
            let payload = started_events.recv_timeout(std::time::Duration::from_secs(BACKGROUND_REPORT_WAIT_SECS));
            let started: Value = serde_json::from_str(&payload.expect("every file's start is told")).unwrap();
            tokens.iter().position(|t| started == json!({ "token": t })).unwrap()
        })
        .collect();
    assert_eq!(began, order);
    for event in &told {
        let i = tokens.iter().position(|t| event["token"] == json!(t)).unwrap();
        assert_eq!(event, &ended[i], "the event says what the reply says");
    }

    // The search index is level: a name search finds the buyer at once.
    let other = voucherdesk::store::Store::open(&h.dir.path().join("ipc.sqlite")).unwrap();
    assert_eq!(other.search_backlog().unwrap(), 0);
    let found = h.ok("search_orders", json!({ "query": "nunez", "limit": 5 }));
    assert!(found.to_string().contains("CO-1001"), "{found}");
    assert!(!found.to_string().contains("CO-9001"), "the refused file wrote nothing: {found}");
    let history = h.ok("import_history", json!({ "limit": 10 }));
    assert_eq!(history.as_array().unwrap().len(), 4, "one batch per imported file: {history}");

    // Imported files spent their tokens; the refused ones can be imported again with another profile.
    let not_picked = |t: &String| {
        h.call("suggest_profile", json!({ "token": t })).err().is_some_and(|e| e["code"] == json!("files.not_picked"))
    };
    let spent: Vec<bool> = tokens.iter().map(not_picked).collect();
    assert_eq!(spent, [true, true, false, false, true, true]);
    let retry = json!({ "files": [{ "token": tokens[3], "kind": "settlements", "profile": "dlocal-settlement" }] });
    let retried = h.ok("import_files", retry);
    assert_eq!(retried[0]["outcome"]["rows"]["new"], json!(1), "{retried}");

    // The same files again: every one imported before, nothing changed.
    let again: Vec<Value> = chosen
        .iter()
        .filter(|(path, _, _)| *path != bad.display().to_string())
        .map(|(path, kind, profile)| {
            let kind = if *profile == "dlocal-settlement" { "settlements" } else { kind };
            json!({ "token": h.app.chosen(path), "kind": kind, "profile": profile })
        })
        .collect();
    let files_again = h.ok("import_files", json!({ "files": again }));
    let outcomes: Vec<Value> =
        files_again.as_array().unwrap().iter().map(|e| e["outcome"]["outcome"].clone()).collect();
    assert_eq!(outcomes, vec![json!("already_imported"); 5], "{files_again}");

    // A run has a size: more files than that are refused whole, none read.
    let limit = voucherdesk_desktop::commands::IMPORT_RUN_FILES_MAX;
    let too_many: Vec<Value> = (0..=limit)
        .map(|_| json!({ "token": h.app.chosen(sample("shop-orders.csv")), "kind": "orders", "profile": "shop" }))
        .collect();
    let refused = h.err("import_files", json!({ "files": too_many }));
    assert_eq!(
        refused,
        json!({ "code": "errors.validation", "message": format!("at most {limit} files in one import") })
    );
    assert_eq!(h.ok("import_files", json!({ "files": [] })), json!([]), "nothing chosen, nothing done");

    // One unknown profile or one token not handed out refuses the run whole, before any file is read.
    let fresh_orders = h.dir.path().join("fresh-orders.csv");
    std::fs::write(&fresh_orders, good.replace("CO-1", "CO-5").replace("PE-2", "PE-5")).unwrap();
    let fresh = h.app.chosen(&fresh_orders);
    let with = |other: Value| json!({ "files": [{ "token": fresh, "kind": "orders", "profile": "shop" }, other] });
    let unknown_profile =
        h.err("import_files", with(json!({ "token": tokens[2], "kind": "orders", "profile": "=cmd|' /C calc'!A0" })));
    assert_eq!(unknown_profile["code"], json!("import.profile"), "{unknown_profile}");
    let not_handed_out =
        h.err("import_files", with(json!({ "token": "/etc/passwd", "kind": "orders", "profile": "shop" })));
    assert_eq!(not_handed_out["code"], json!("files.not_picked"), "{not_handed_out}");
    assert_eq!(h.ok("import_history", json!({ "limit": 50 })).as_array().unwrap().len(), 5, "nothing more written");
    assert!(h.call("suggest_profile", json!({ "token": fresh })).is_ok(), "the good file is still chosen");
}

#[test]
fn errors_cross_as_code_and_message() {
    let h = Harness::new();
    assert_eq!(
        h.err("search_orders", json!({ "query": "nunez", "limit": 5 })),
        json!({ "code": "auth.required", "message": "nobody is signed in" })
    );
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    h.ok("sign_out", json!({}));
    assert_eq!(
        h.err("sign_in", json!({ "name": "root", "password": "not-the-password" })),
        json!({ "code": "auth.denied", "message": "wrong name or password" })
    );
    let again = h.err("create_first_admin", json!({ "name": "eve", "password": "eve-password" }));
    assert_eq!(again["code"], json!("operators.conflict"), "{again}");
}

#[test]
fn every_command_is_wired() {
    let h = Harness::new();
    for cmd in COMMANDS {
        if let Err(e) = h.call(cmd, json!({})) {
            let text = e.to_string();
            assert!(!text.contains("not found"), "{cmd} is not handled: {text}");
        }
    }
    let build_list: Vec<&str> = env!("VOUCHERDESK_MANIFEST_COMMANDS").split(',').collect();
    assert_eq!(build_list, COMMANDS, "build.rs (the app manifest) and commands::COMMANDS differ");
    let capability: Value =
        serde_json::from_str(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/capabilities/main.json"))).unwrap();
    let granted: Vec<String> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|p| p.replace('-', "_"))
        .collect();
    assert_eq!(granted, COMMANDS, "capabilities/main.json grants a different set of app commands");
}

#[test]
fn roles_meet_the_library_rules() {
    let h = populated();
    h.ok("sign_out", json!({}));

    // Support: looks up José Núñez's order and reads the verdict.
    let ana = h.sign_in("ana", "voucherdesk-ana");
    assert_eq!(ana["role"], json!("support"));
    let hits = h.ok("search_orders", json!({ "query": "jose nunez", "limit": 10 }));
    let order_id = hits[0]["order_id"].as_str().expect("a hit").to_string();
    let case = h.ok("case_file", json!({ "order_id": order_id }));
    assert_eq!(case["verdict"]["code"], json!("deliver_order"), "{case}");
    assert!(case["verdict"]["text"].as_str().unwrap().ends_with("→ deliver the order"));

    // ... and is refused a write-off, by the library, with who and what.
    let open = json!({ "status": "open", "kind": "paid_not_recorded" });
    let page = h.ok("exception_page", json!({ "filter": open, "sort": "age_desc", "page": { "limit": 50 } }));
    let id = page["rows"][0]["id"].as_str().unwrap().to_string();
    let refused = h.err("resolve_exceptions", json!({ "ids": [id], "action": "write_off", "note": "lost" }));
    assert_eq!(
        refused,
        json!({ "code": "auth.forbidden", "message": "ana (support) may not resolve exceptions with write_off" })
    );
    let refused = h.err(
        "import_file",
        json!({ "token": h.app.chosen(sample("shop-orders.csv")), "kind": "orders", "profile": "shop" }),
    );
    assert_eq!(refused["code"], json!("auth.forbidden"), "{refused}");
    assert_eq!(
        h.err(
            "settings_set",
            json!({ "settings": { "settlement_lag_days": 3, "amount_tolerance_minor": 0, "idle_lock_minutes": 15 } })
        )["code"],
        json!("auth.forbidden")
    );

    // Finance imports and reconciles but may not assign.
    h.sign_in("fabio", "voucherdesk-fabio");
    h.ok("reconcile_now", json!({ "as_of": "2026-03-20" }));
    assert_eq!(
        h.err("assign_exceptions", json!({ "ids": [id], "assignee": "marta" }))["code"],
        json!("auth.forbidden")
    );

    // The manager writes it off: it leaves the open queue and enters the audit log.
    h.sign_in("marta", "voucherdesk-marta");
    let before = h.ok("exception_counts", json!({ "filter": { "status": "open" } }))["total"].as_i64().unwrap();
    assert_eq!(h.ok("assign_exceptions", json!({ "ids": [id], "assignee": "marta" })), json!({ "assigned": 1 }));
    let done = h.ok("resolve_exceptions", json!({ "ids": [id], "action": "write_off", "note": "confirmed lost" }));
    assert_eq!(done, json!({ "resolved": 1, "failed": [] }));
    let after = h.ok("exception_counts", json!({ "filter": { "status": "open" } }))["total"].as_i64().unwrap();
    assert_eq!(after, before - 1);
    let again = h.ok("resolve_exceptions", json!({ "ids": [id], "action": "accept", "note": "twice" }));
    assert_eq!(again["failed"][0]["code"], json!("exceptions.already_closed"), "{again}");
    let audit = h.ok("audit_page", json!({ "action": "exception.resolve", "limit": 10 }));
    assert_eq!(audit[0]["operator"], json!("marta"));
    assert!(audit[0]["subject"].as_str().unwrap().contains(&id));
    assert_eq!(h.ok("audit_verify", json!({}))["first_broken"], Value::Null);

    // Everyone chooses their own language; it is remembered.
    assert_eq!(h.ok("set_language", json!({ "language": "zh" }))["language"], json!("zh"));
    assert_eq!(h.ok("app_status", json!({}))["operator"]["language"], json!("zh"));
    assert_eq!(h.err("set_language", json!({ "language": "fr" }))["code"], json!("errors.validation"));
}

/// The queue's page, counts and history come from read-only connections: they
/// see each write the moment its command has returned, and ask for a session
/// like every other command.
#[test]
fn reads_on_the_read_only_connections_see_every_write_at_once() {
    let h = populated();
    h.ok("sign_out", json!({}));
    let page_args = json!({ "filter": { "status": "open" }, "sort": "age_desc", "page": { "limit": 5 } });
    assert_eq!(
        h.err("exception_page", page_args.clone()),
        json!({ "code": "auth.required", "message": "nobody is signed in" })
    );
    assert_eq!(h.err("exception_counts", json!({ "filter": {} }))["code"], json!("auth.required"));

    h.sign_in("marta", "voucherdesk-marta");
    let page = h.ok("exception_page", page_args);
    let ids: Vec<String> = page["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().into()).collect();
    assert!(ids.len() >= 2, "the samples leave at least two open exceptions: {page}");
    let mine = json!({ "filter": { "status": "open", "assignee": "marta" } });
    assert_eq!(h.ok("exception_counts", mine.clone())["total"], json!(0));

    assert_eq!(h.ok("assign_exceptions", json!({ "ids": &ids[..2], "assignee": "marta" })), json!({ "assigned": 2 }));
    assert_eq!(h.ok("exception_counts", mine.clone())["total"], json!(2));
    let assigned = h.ok("exception_page", json!({ "filter": mine["filter"], "sort": "id", "page": { "limit": 50 } }));
    let mut got: Vec<&str> = assigned["rows"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut want: Vec<&str> = ids[..2].iter().map(String::as_str).collect();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    let history = h.ok("exception_history", json!({ "id": ids[0] }));
    assert_eq!(history.as_array().unwrap().last().unwrap()["event"], json!("assigned to marta"), "{history}");

    let done = h.ok("resolve_exceptions", json!({ "ids": [ids[0]], "action": "accept", "note": "checked" }));
    assert_eq!(done, json!({ "resolved": 1, "failed": [] }));
    assert_eq!(h.ok("exception_counts", mine)["total"], json!(1));
    let audit = h.ok("audit_page", json!({ "action": "exception.resolve", "limit": 1 }));
    assert!(audit[0]["subject"].as_str().unwrap().contains(&ids[0]), "{audit}");
}

#[test]
fn a_rejected_import_names_the_line() {
    let h = populated();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad-orders.csv");
    let good = std::fs::read_to_string(sample("shop-orders.csv")).unwrap();
    let mut lines: Vec<String> = good.lines().take(3).map(str::to_string).collect();
    lines[2] = lines[2].replacen(",COP,", ",XXX,", 1).replacen(",PEN,", ",XXX,", 1);
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let e = h.err("import_file", json!({ "token": h.app.chosen(&bad), "kind": "orders", "profile": "shop" }));
    assert_eq!(e["code"], json!("import.bad_rows"), "{e}");
    assert!(e["message"].as_str().unwrap().contains("bad-orders.csv:3: "), "{e}");
    let suggestion = h.ok("suggest_profile", json!({ "token": h.app.chosen(sample("dlocal-payments.csv")) }));
    assert_eq!(suggestion["profile"], json!("dlocal"));
    assert_eq!(suggestion["kind"], json!("payments"));
    // The app's connection lives on: the next change is committed, so another
    // process (the CLI, a second desktop) sees it at once.
    h.ok("operator_add", json!({ "name": "nico", "role": "support", "password": "voucherdesk-nico" }));
    let other = voucherdesk::store::Store::open(&h.dir.path().join("ipc.sqlite")).unwrap();
    let names: Vec<String> = voucherdesk::operators::list(&other).unwrap().into_iter().map(|o| o.name).collect();
    assert!(names.contains(&"nico".to_string()), "another connection does not see the change: {names:?}");
}

// ------------------------------------------------------------------ chosen files

/// Every file command takes a token the shell handed out for that use and
/// refuses anything else (a raw path, another use, a spent or forgotten
/// token) before a file is touched.
#[test]
fn file_commands_take_only_files_the_operator_chose() {
    let h = populated();
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("queue.csv");
    let raw = target.display().to_string();
    let not_picked = json!({
        "code": "files.not_picked",
        "message": "this file was not chosen in a dialog of this session: choose it again"
    });
    let open = json!({ "status": "open" });
    let path_commands = |key: &str, export_to: &str, import_from: &str| {
        [
            ("export_exceptions", json!({ "filter": open, key: export_to })),
            ("refunds_export_csv", json!({ "filter": {}, key: export_to })),
            ("refunds_receipt_save", json!({ "id": 1, key: export_to })),
            ("suggest_profile", json!({ key: import_from })),
            ("import_file", json!({ key: import_from, "kind": "orders", "profile": "shop" })),
        ]
    };

    // A raw path where the token goes is an unknown token; nothing is written.
    for (cmd, args) in path_commands("token", &raw, &sample("shop-orders.csv")) {
        assert_eq!(h.err(cmd, args), not_picked, "{cmd}");
    }
    // The old argument is gone: a path alone is not even a call.
    for (cmd, args) in path_commands("path", &raw, &sample("shop-orders.csv")) {
        let refused = h.err(cmd, args);
        let text = refused.as_str().unwrap_or_default();
        assert!(text.contains(&format!("command {cmd} missing required key token")), "{cmd}: {refused}");
    }
    assert!(!target.exists(), "a refused command wrote {raw}");

    // Each token serves its own use only; a refused use spends nothing.
    let read = h.app.chosen(sample("shop-orders.csv"));
    assert_eq!(
        h.err("export_exceptions", json!({ "filter": open, "token": read })),
        json!({
            "code": "files.not_picked",
            "message": "this file was chosen as a file to open, not as where to save a CSV file: choose it again"
        })
    );
    let csv = h.app.chosen_for(&target, FileUse::Write(SaveKind::Csv));
    assert_eq!(
        h.err("suggest_profile", json!({ "token": csv }))["message"],
        json!("this file was chosen as where to save a CSV file, not as a file to open: choose it again")
    );
    assert_eq!(
        h.err("refunds_receipt_save", json!({ "id": 1, "token": csv }))["message"],
        json!("this file was chosen as where to save a CSV file, not as where to save a PDF file: choose it again")
    );
    assert!(!target.exists());

    // A save answer serves one export; a second export with it is refused and leaves the file as it was.
    let open_total = h.ok("exception_counts", json!({ "filter": open }))["total"].clone();
    let exported = h.ok("export_exceptions", json!({ "filter": open, "token": csv }));
    assert_eq!(exported["rows"], open_total);
    let written = std::fs::read(&target).unwrap();
    assert!(written.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 CSV with a BOM");
    assert_eq!(h.err("export_exceptions", json!({ "filter": {}, "token": csv })), not_picked);
    assert_eq!(h.err("refunds_export_csv", json!({ "filter": {}, "token": csv })), not_picked);
    assert_eq!(std::fs::read(&target).unwrap(), written);

    // An import answer serves the suggestion and the import, and is spent once imported.
    let payments = h.app.chosen(sample("dlocal-payments.csv"));
    assert_eq!(h.ok("suggest_profile", json!({ "token": payments }))["profile"], json!("dlocal"));
    let again = h.ok("import_file", json!({ "token": payments, "kind": "payments", "profile": "dlocal" }));
    assert_eq!(again["outcome"], json!("already_imported"), "{again}");
    assert_eq!(h.err("suggest_profile", json!({ "token": payments })), not_picked);

    // An import the library refuses keeps the token; a new session forgets it.
    h.sign_in("ana", "voucherdesk-ana");
    let orders = h.app.chosen(sample("shop-orders.csv"));
    let import = json!({ "token": orders, "kind": "orders", "profile": "shop" });
    assert_eq!(h.err("import_file", import.clone())["code"], json!("auth.forbidden"));
    assert_eq!(h.ok("suggest_profile", json!({ "token": orders }))["profile"], json!("shop"));
    h.ok("sign_out", json!({}));
    h.sign_in("fabio", "voucherdesk-fabio");
    assert_eq!(h.err("import_file", import), not_picked);
}

// ------------------------------------------------------------------ ledger exports and the daily report

#[test]
fn ledger_exports_and_the_daily_report_through_ipc() {
    let h = populated();
    h.ok("sign_out", json!({}));
    h.sign_in("ana", "voucherdesk-ana");
    // What the ledger holds for the range, by the core's own count (the CLI's `report daily` figures).
    let store = voucherdesk::store::Store::open(&h.dir.path().join("ipc.sqlite")).unwrap();
    let ana = voucherdesk::operators::act_as(&store, "ana").unwrap();
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let query = voucherdesk::exports::ExportQuery {
        from: day("2026-03-01"),
        to: day("2026-03-20"),
        psp: None,
        market: Some(voucherdesk::market::Country::Colombia),
        store: None,
    };
    let colombian = voucherdesk::exports::ledger_totals(&store, &ana, &query).unwrap().payments;
    drop(store);
    assert!(colombian > 0);
    let range = |rows: &str, token: &str| json!({ "rows": rows, "from": "2026-03-01", "to": "2026-03-20", "market": "CO", "psp": null, "store": "", "token": token });

    let csv_path = h.dir.path().join("payments.csv");
    let csv = h.app.chosen_for(&csv_path, FileUse::Write(SaveKind::Csv));
    assert_eq!(h.ok("export_ledger", range("payments", &csv))["rows"], json!(colombian));
    let text = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(text.lines().count() as u64, colombian + 1, "a header and a line per payment");
    assert_eq!(h.err("export_ledger", range("payments", &csv))["code"], json!("files.not_picked"), "spent");

    let xlsx_path = h.dir.path().join("settlements.xlsx");
    let xlsx = h.app.chosen_for(&xlsx_path, FileUse::Write(SaveKind::Xlsx));
    let settled = h.ok("export_ledger", range("settlements", &xlsx));
    assert!(settled["rows"].as_u64().unwrap() > 0, "{settled}");
    assert!(std::fs::read(&xlsx_path).unwrap().starts_with(b"PK"), "a workbook is a zip");

    // A receipt's save answer is no export's; a reversed range is refused; nothing is written.
    let pdf_path = h.dir.path().join("receipt.pdf");
    let pdf = h.app.chosen_for(&pdf_path, FileUse::Write(SaveKind::Pdf));
    assert_eq!(h.err("export_ledger", range("payments", &pdf))["code"], json!("files.not_picked"));
    let reversed_path = h.dir.path().join("reversed.csv");
    let reversed = h.app.chosen_for(&reversed_path, FileUse::Write(SaveKind::Csv));
    let refused = h.err(
        "export_ledger",
        json!({ "rows": "payments", "from": "2026-03-20", "to": "2026-03-01", "token": reversed }),
    );
    assert_eq!(refused["code"], json!("exports.backwards"), "{refused}");
    assert!(!pdf_path.exists() && !reversed_path.exists());

    // The report's email schedule: support reads it and may not set it; a manager may.
    assert_eq!(h.ok("daily_report_schedule", json!({})), Value::Null);
    let schedule = json!({ "at": "07:00", "markets": ["PE"], "recipients": ["finanzas@tienda.example"], "format": "csv", "off": false });
    assert_eq!(h.err("daily_report_schedule_set", schedule.clone())["code"], json!("auth.forbidden"));
    h.ok("sign_out", json!({}));
    h.sign_in("marta", "voucherdesk-marta");
    let set = h.ok("daily_report_schedule_set", schedule);
    assert_eq!(
        set,
        json!({ "at": "07:00", "markets": ["PE"], "recipients": ["finanzas@tienda.example"], "format": "csv", "set_by": "marta" })
    );
    let bad =
        json!({ "at": "7pm", "markets": ["PE"], "recipients": ["x@tienda.example"], "format": "csv", "off": false });
    let refused = h.err("daily_report_schedule_set", bad);
    assert_eq!(refused["code"], json!("report.bad_schedule"), "{refused}");
    assert_eq!(h.ok("daily_report_schedule", json!({})), set, "the refusal changed nothing");
}

// ------------------------------------------------------------------ buyer notifications

#[test]
fn notification_resends_follow_the_role_rules_through_ipc() {
    let h = populated();
    h.ok("sign_out", json!({}));
    h.sign_in("ana", "voucherdesk-ana");
    // José Núñez's order in the walkthrough samples (Bogotá, email and phone).
    let order_id = "CO-1001";
    // Paid: its voucher instructions would ask the buyer to pay again, so the core refuses them.
    let unfit = h.err(
        "notification_preview",
        json!({ "order_id": order_id, "kind": "voucher_instructions", "channel": "email" }),
    );
    assert_eq!(unfit["code"], json!("notifications.kind_unfit"), "{unfit}");
    let preview =
        h.ok("notification_preview", json!({ "order_id": order_id, "kind": "payment_received", "channel": "email" }));
    assert_eq!(preview["locale"], json!("es-CO"));
    assert!(preview["subject"].as_str().unwrap().starts_with("Recibimos tu pago del pedido "), "{preview}");
    assert_eq!(
        h.ok("notification_log", json!({ "order_id": order_id, "limit": 50 })),
        json!([]),
        "a preview sends nothing"
    );

    let resend =
        json!({ "order_id": order_id, "kind": "payment_received", "channel": "email", "override_limit": false });
    for _ in 0..3 {
        assert!(h.ok("notification_resend", resend.clone()).as_i64().is_some());
    }
    let refused = h.err("notification_resend", resend.clone());
    assert_eq!(refused["code"], json!("notifications.resend_limit"), "{refused}");
    assert_eq!(
        refused["message"],
        json!(format!(
            "order {order_id} was already re-sent 3 times in the last 24 h (limit 3); a manager may override"
        ))
    );
    let mut forced = resend.clone();
    forced["override_limit"] = json!(true);
    let forbidden = h.err("notification_resend", forced.clone());
    assert_eq!(
        forbidden,
        json!({ "code": "auth.forbidden", "message": "ana (support) may not override the re-send limit: ask a manager" })
    );
    assert_eq!(h.ok("notification_log", json!({ "order_id": order_id, "limit": 50 })).as_array().unwrap().len(), 3);

    h.ok("sign_out", json!({}));
    h.sign_in("marta", "voucherdesk-marta");
    h.ok("notification_resend", forced);
    let log = h.ok("notification_log", json!({ "order_id": order_id, "limit": 50 }));
    assert_eq!(log.as_array().unwrap().len(), 4);
    assert_eq!((log[0]["trigger"].clone(), log[0]["triggered_by"].clone()), (json!("override"), json!("marta")));
    assert_eq!(log[0]["status"], json!("queued"));
    let queued = h.ok("notification_log", json!({ "status": "queued", "limit": 50 }));
    assert_eq!(queued.as_array().unwrap().len(), 4);
}

/// A database whose header says a newer VoucherDesk (schema 99) wrote it.
fn newer_database(path: &Path) {
    drop(voucherdesk::store::Store::open(path).unwrap());
    let mut bytes = std::fs::read(path).unwrap();
    // The SQLite header's user_version (where the store keeps its schema version): 4 bytes, big-endian, at 60.
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_newer_database_opens_a_refusing_window_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.sqlite");
    newer_database(&path);
    let before = std::fs::read(&path).unwrap();
    let cannot_open = match AppState::open_for_window(&path).unwrap() {
        Opened::Refused(cannot_open) => cannot_open,
        Opened::Ready(_) => panic!("a newer database must be refused"),
    };
    let app = MockApp::refusing(cannot_open);
    let status = common::ok(app.call("app_status", json!({})), "app_status");
    let known = voucherdesk::store::schema_version_latest();
    let db_path = path.display().to_string();
    assert_eq!(
        status,
        json!({
            "first_run": false,
            "db_path": db_path,
            "operator": null,
            "idle_lock_minutes": 0,
            "version": voucherdesk::version::version_line(env!("VOUCHERDESK_COMMIT")),
            "crash_reports": null,
            "cannot_open": {
                "code": "store.too_new",
                "message": format!(
                    "database {db_path} was written by a newer VoucherDesk (schema version 99, this build knows up to {known}); upgrade VoucherDesk to open it"
                ),
                "db_path": db_path,
                "file_schema": 99,
                "app_schema": known,
            },
        })
    );
    // Nothing else is there to touch the file.
    let refused = common::err(app.call("sign_in", json!({ "name": "root", "password": "root-password" })), "sign_in");
    assert!(refused.to_string().contains("not found"), "{refused}");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file must be left as it was");
}

#[test]
fn crash_reports_are_announced_until_dismissed() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("crash-reports");
    let state = AppState::open(&dir.path().join("ipc.sqlite")).unwrap().with_crash_reports(reports.clone());
    let app = MockApp::new(state);
    let status = |app: &MockApp| common::ok(app.call("app_status", json!({})), "app_status");
    assert_eq!(status(&app)["crash_reports"], json!(null));

    let panic = voucherdesk::crash::Panic {
        thread: "main".into(),
        location: "src/x.rs:1:1".into(),
        message: "boom".into(),
        backtrace: "0: f".into(),
    };
    let at: chrono::DateTime<chrono::Utc> = "2026-12-06T07:00:00Z".parse().unwrap();
    voucherdesk::crash::write_report(&reports, "v", at, &panic).unwrap();
    let newest = voucherdesk::crash::write_report(&reports, "v", at + chrono::Duration::seconds(1), &panic).unwrap();
    assert_eq!(
        status(&app)["crash_reports"],
        json!({ "count": 2, "folder": reports.display().to_string(), "newest": newest.display().to_string() })
    );

    assert_eq!(common::ok(app.call("crash_reports_dismiss", json!({})), "crash_reports_dismiss"), json!(null));
    assert_eq!(status(&app)["crash_reports"], json!(null));
    assert_eq!(voucherdesk::crash::reports(&reports).unwrap().len(), 2, "dismissing deletes nothing");
}

#[test]
fn an_app_without_a_crash_folder_opens_none() {
    let h = Harness::new();
    assert_eq!(
        h.err("crash_reports_open_folder", json!({})),
        json!({ "code": "errors.validation", "message": "this app keeps no crash reports" })
    );
    assert_eq!(h.ok("crash_reports_dismiss", json!({})), json!(null));
}

#[test]
fn scheduled_backups_are_set_by_an_admin_with_a_chosen_folder_and_made_now() {
    let h = Harness::new();
    h.ok("create_first_admin", json!({ "name": "root", "password": "root-password" }));
    h.ok("operator_add", json!({ "name": "fabio", "role": "finance", "password": "voucherdesk-fabio" }));
    let folder = h.dir.path().join("backups");
    std::fs::create_dir(&folder).unwrap();
    let off = h.ok("backup_overview", json!({}));
    assert_eq!(off["health"], json!("off"));
    assert_eq!(off["schedule"], json!({ "folder": null, "every_hours": 24 }));
    assert_eq!((off["keep_daily"].clone(), off["keep_monthly"].clone()), (json!(14), json!(12)));

    // Finance reads the overview (the banner is everyone's) but may not change the schedule.
    h.ok("sign_out", json!({}));
    h.sign_in("fabio", "voucherdesk-fabio");
    assert_eq!(h.ok("backup_overview", json!({}))["health"], json!("off"));
    let token = h.app.chosen_for(&folder, FileUse::Folder);
    let refused = h.err("backup_schedule_set", json!({ "folder_token": token, "off": false, "every_hours": 24 }));
    assert_eq!(refused["code"], json!("auth.forbidden"));
    assert_eq!(h.err("backup_now", json!({}))["code"], json!("auth.forbidden"));
    h.ok("sign_out", json!({}));

    // A path the dialog did not give is refused before anything changes; a read token too.
    h.sign_in("root", "root-password");
    let raw = h.err(
        "backup_schedule_set",
        json!({ "folder_token": folder.display().to_string(), "off": false, "every_hours": 24 }),
    );
    assert_eq!(raw["code"], json!("files.not_picked"));
    let read = h.app.chosen(&folder);
    let wrong = h.err("backup_schedule_set", json!({ "folder_token": read, "off": false, "every_hours": 24 }));
    assert_eq!(wrong["message"], json!("this file was chosen as a file to open, not as a folder: choose it again"));
    assert_eq!(h.ok("backup_overview", json!({}))["schedule"]["folder"], json!(null));

    let token = h.app.chosen_for(&folder, FileUse::Folder);
    let set = h.ok("backup_schedule_set", json!({ "folder_token": token, "off": false, "every_hours": 12 }));
    assert_eq!(set["schedule"], json!({ "folder": folder.display().to_string(), "every_hours": 12 }));
    assert_eq!(set["health"], json!("pending"));
    // Another interval keeps the folder.
    let again = h.ok("backup_schedule_set", json!({ "folder_token": null, "off": false, "every_hours": 24 }));
    assert_eq!(again["schedule"]["folder"], json!(folder.display().to_string()));

    let made = h.ok("backup_now", json!({}));
    assert_eq!(made["health"], json!("healthy"));
    let file = made["status"]["last_success_file"].as_str().unwrap().to_string();
    assert!(Path::new(&file).starts_with(&folder) && Path::new(&file).is_file(), "{file}");
    let archives: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
    assert_eq!(archives.len(), 1);

    let cleared = h.ok("backup_schedule_set", json!({ "folder_token": null, "off": true, "every_hours": 24 }));
    assert_eq!((cleared["schedule"]["folder"].clone(), cleared["health"].clone()), (json!(null), json!("off")));
}
