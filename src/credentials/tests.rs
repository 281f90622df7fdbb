use super::*;
use crate::operators::{self, Role};

const DLOCAL_JSON: &str = r#"{"login":"lg-7f3a","trans_key":"tk-91bc","secret":"sk-55d0e"}"#;

fn setup() -> (Store, Operator, Operator) {
    let mut store = Store::open_in_memory().unwrap();
    let admin = operators::add(&mut store, None, "root", Role::Admin, None).unwrap();
    let manager = operators::add(&mut store, Some(&admin), "marta", Role::Manager, None).unwrap();
    (store, admin, manager)
}

fn dlocal() -> AccountSecrets {
    AccountSecrets::parse_json(PspKind::Dlocal, DLOCAL_JSON).unwrap()
}

fn audit_text(store: &Store) -> String {
    store.audit_entries(0, 100).unwrap().iter().map(|e| format!("{:?}\n", e.entry)).collect()
}

#[test]
fn parses_both_psps_and_names_fields_never_values() {
    let pe = AccountSecrets::parse_json(
        PspKind::PagoEfectivo,
        r#"{"service_id":"1234","access_key":"ak-1","secret":"sec-2"}"#,
    )
    .unwrap();
    assert_eq!(pe.psp(), PspKind::PagoEfectivo);
    let err = |psp, text: &str| AccountSecrets::parse_json(psp, text).unwrap_err().to_string();
    assert_eq!(
        err(PspKind::Dlocal, r#"{"login":"lg-7f3a","secret":"sk-55d0e"}"#),
        "bad secrets: missing field \"trans_key\" for dlocal (expected login, trans_key, secret)"
    );
    assert_eq!(
        err(PspKind::Dlocal, r#"{"login":"lg-7f3a","trans_key":"tk 91bc","secret":"sk-55d0e"}"#),
        "bad secrets: field \"trans_key\" contains whitespace or control characters"
    );
    assert_eq!(
        err(PspKind::PagoEfectivo, r#"{"service_id":98765,"access_key":"ak-1","secret":"sec-2"}"#),
        "bad secrets: field \"service_id\" must be a JSON string"
    );
    assert_eq!(
        err(PspKind::Dlocal, r#"{"login":"lg-7f3a","trans_key":"","secret":"sk-55d0e"}"#),
        "bad secrets: field \"trans_key\" is empty"
    );
    assert_eq!(
        err(PspKind::PagoEfectivo, DLOCAL_JSON),
        "bad secrets: unknown field \"login\" for pagoefectivo (expected service_id, access_key, secret)"
    );
    assert_eq!(
        err(PspKind::Dlocal, r#"{"login":"sk-99999"#),
        "bad secrets: the secrets are not valid JSON (line 1, column 18)"
    );
    let long = format!(r#"{{"login":"{}","trans_key":"t","secret":"s"}}"#, "x".repeat(SECRET_FIELD_CHARS_MAX + 1));
    assert_eq!(err(PspKind::Dlocal, &long), "bad secrets: field \"login\" is longer than 256 characters");
    assert_eq!(
        PspKind::parse("paypal").unwrap_err().to_string(),
        "unknown PSP \"paypal\" (expected dlocal or pagoefectivo)"
    );
}

#[test]
fn reads_the_environment_with_a_prefix() {
    let env: HashMap<&str, &str> =
        [("PE_SERVICE_ID", "1234"), ("PE_ACCESS_KEY", "ak-1234"), ("PE_SECRET", "sec-2345")].into_iter().collect();
    let var = |name: &str| env.get(name).map(|v| v.to_string());
    let secrets = AccountSecrets::from_env(PspKind::PagoEfectivo, "PE", var).unwrap();
    // The four-digit service id is shorter than the redaction's minimum: not a secret on its own.
    assert_eq!(secrets.redact("1234/ak-1234/sec-2345/ok"), "1234/[redacted]/[redacted]/ok");
    let missing = AccountSecrets::from_env(PspKind::Dlocal, "PE_", var).unwrap_err();
    assert_eq!(missing.to_string(), "bad secrets: environment variable PE_LOGIN is not set");
}

#[test]
fn debug_prints_never_show_secrets() {
    let printed = format!("{:?}", dlocal());
    assert_eq!(printed, "Dlocal(DlocalSecrets { login: <redacted>, trans_key: <redacted>, secret: <redacted> })");
}

#[test]
fn base_urls_are_https_or_loopback_http_without_userinfo() {
    assert_eq!(check_base_url("https://api.dlocal.com/").unwrap(), "https://api.dlocal.com");
    assert_eq!(check_base_url("http://127.0.0.1:8717").unwrap(), "http://127.0.0.1:8717");
    let err = |u: &str| check_base_url(u).unwrap_err().to_string();
    assert_eq!(
        err("http://api.dlocal.com"),
        "bad base URL: plain http is only allowed on this machine (127.0.0.1, localhost); use https"
    );
    assert_eq!(err("https://user:pw@api.dlocal.com"), "bad base URL: it must not contain a user name or password");
    assert_eq!(err("ftp://x.example"), "bad base URL: scheme \"ftp\" is not http or https");
}

#[test]
fn add_list_rotate_remove_with_audit_and_no_secret_in_sqlite() {
    let (mut store, admin, manager) = setup();
    let vault = MemoryVault::default();
    let account = add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
    assert_eq!((account.psp, account.created_by.as_str(), account.rotated_at), (PspKind::Dlocal, "root", None));
    assert_eq!(vault.users(), vec!["dlocal:co-main"]);
    let listed = list(&store, &vault, &admin).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].secret_present);

    let refused = list(&store, &vault, &manager).unwrap_err();
    assert_eq!(refused.to_string(), "marta (manager) may not manage PSP credentials");
    assert_eq!(refused.code(), "auth.forbidden");

    let rotated =
        AccountSecrets::parse_json(PspKind::Dlocal, r#"{"login":"lg-2","trans_key":"tk-2","secret":"sk-2"}"#).unwrap();
    let account = rotate(&mut store, &vault, &admin, "CO-MAIN", &rotated).unwrap();
    assert!(account.rotated_at.is_some());
    assert_eq!(
        vault.read("dlocal:co-main").unwrap().unwrap().as_str(),
        r#"{"login":"lg-2","secret":"sk-2","trans_key":"tk-2"}"#
    );

    remove(&mut store, &vault, &admin, "co-main").unwrap();
    assert!(vault.users().is_empty());
    assert!(list(&store, &vault, &admin).unwrap().is_empty());
    let actions: Vec<String> = store.audit_entries(0, 100).unwrap().into_iter().map(|e| e.entry.action).collect();
    assert_eq!(&actions[2..], ["credentials.add", "credentials.rotate", "credentials.remove"]);
    let audit = audit_text(&store);
    for value in ["lg-7f3a", "tk-91bc", "sk-55d0e", "lg-2", "tk-2", "sk-2"] {
        assert!(!audit.contains(value), "{value} leaked into the audit log");
    }
}

#[test]
fn an_unavailable_vault_changes_nothing() {
    let (mut store, admin, _) = setup();
    let vault = MemoryVault::default();
    add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
    let audit_before = store.audit_entries(0, 100).unwrap().len();
    vault.set_available(false);
    let e = add(&mut store, &vault, &admin, "co-backup", "https://api.dlocal.com", &dlocal()).unwrap_err();
    assert_eq!(e.code(), "credentials.keyring_unavailable");
    assert!(
        e.to_string().starts_with(
            "the OS credential store is unavailable (the memory vault is switched off); nothing was changed"
        ),
        "{e}"
    );
    assert_eq!(
        rotate(&mut store, &vault, &admin, "co-main", &dlocal()).unwrap_err().code(),
        "credentials.keyring_unavailable"
    );
    assert_eq!(remove(&mut store, &vault, &admin, "co-main").unwrap_err().code(), "credentials.keyring_unavailable");
    assert_eq!(store.psp_accounts(10).unwrap().len(), 1);
    assert_eq!(store.psp_accounts(10).unwrap()[0].rotated_at, None);
    assert_eq!(store.audit_entries(0, 100).unwrap().len(), audit_before);
    vault.set_available(true);
    assert_eq!(vault.users(), vec!["dlocal:co-main"]);
}

#[test]
fn a_taken_name_never_overwrites_the_existing_secrets() {
    let (mut store, admin, _) = setup();
    let vault = MemoryVault::default();
    add(&mut store, &vault, &admin, "co-main", "https://api.dlocal.com", &dlocal()).unwrap();
    let other =
        AccountSecrets::parse_json(PspKind::Dlocal, r#"{"login":"x1","trans_key":"x2","secret":"x3"}"#).unwrap();
    let e = add(&mut store, &vault, &admin, "CO-MAIN", "https://api.dlocal.com", &other).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("credentials.conflict", "a PSP account named \"CO-MAIN\" already exists")
    );
    assert_eq!(vault.read("dlocal:co-main").unwrap().unwrap().as_str(), dlocal().to_keyring_value().as_str());
    assert_eq!(vault.users(), vec!["dlocal:co-main"]);
}

struct Echo;
impl ConnectionTester for Echo {
    fn test<'a>(&'a self, account: &'a PspAccount, secrets: &'a AccountSecrets) -> TestFuture<'a> {
        let AccountSecrets::Dlocal(s) = secrets else { unreachable!("dlocal only here") };
        let message = format!("HTTP 401 from {} for login {} key {}", account.base_url, s.login, s.secret);
        Box::pin(async move { Err(message) })
    }
}

#[test]
fn a_failed_test_is_recorded_without_the_secrets() {
    let (mut store, admin, _) = setup();
    let vault = MemoryVault::default();
    add(&mut store, &vault, &admin, "co-main", "http://127.0.0.1:9", &dlocal()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let result = runtime.block_on(test(&mut store, &vault, &admin, "co-main", &Echo)).unwrap();
    assert!(!result.ok);
    assert_eq!(result.message, "HTTP 401 from http://127.0.0.1:9 for login [redacted] key [redacted]");
    let stored = store.psp_account("co-main").unwrap().unwrap().last_test.unwrap();
    assert_eq!((stored.ok, stored.message), (false, result.message));
    assert!(!audit_text(&store).contains("sk-55d0e"));

    vault.delete("dlocal:co-main").unwrap();
    let missing = prepare_test(&store, &vault, &admin, "co-main").unwrap_err();
    assert_eq!(missing.code(), "credentials.secret_missing");
    assert!(!list(&store, &vault, &admin).unwrap()[0].secret_present);
}
