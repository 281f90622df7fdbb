//! The generator of tests/fixtures/schemas/: for every schema version, a small
//! demo ledger in a file at that version, written with plain SQL that is valid
//! at that version (see that folder's README). Run it with
//! `cargo test -p voucherdesk --lib write_schema_fixtures -- --ignored`.

use super::audit::{AUDIT_GENESIS_HASH, AuditEntry, entry_hash};
use super::{MIGRATIONS, StoreResult, create_at_version};
use crate::model::exception::ExceptionKind;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Orders in each fixture: half Colombian (dLocal, Efecty), half Peruvian (PagoEfectivo).
const FIXTURE_ORDERS: usize = 24;
/// Orders of each market.
const FIXTURE_ORDERS_PER_MARKET: usize = FIXTURE_ORDERS / 2;
/// A fixture file stays below this, so that the folder stays small in git.
pub(crate) const FIXTURE_BYTES_MAX: u64 = 200 * 1024;
/// The order every upgrade test looks up, its payment and the payment's status.
pub(crate) const LOOKUP_ORDER_ID: &str = "CO-1001";
pub(crate) const LOOKUP_PAYMENT_ID: &str = "D-CO-0001";
pub(crate) const LOOKUP_STATUS: &str = "paid";

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).single().expect("a valid March 2026 instant")
}

/// One demo order and what happened to its voucher.
struct DemoOrder {
    order_id: String,
    country: &'static str,
    psp: &'static str,
    network: &'static str,
    currency: &'static str,
    store: &'static str,
    buyer: String,
    amount_minor: i64,
    payment_id: String,
    voucher_code: String,
    /// None: the buyer never went to the counter (no payment row).
    payment_status: Option<&'static str>,
    created_at: i64,
    expires_at: i64,
}

const BUYERS: [&str; 6] =
    ["María José Pérez", "Andrés Gómez", "Lucía Quispe", "José Ñáñez", "Camila Rodríguez", "Renzo Huamán"];

fn demo_orders() -> Vec<DemoOrder> {
    (0..FIXTURE_ORDERS)
        .map(|i| {
            let co = i < FIXTURE_ORDERS_PER_MARKET;
            let n = i % FIXTURE_ORDERS_PER_MARKET + 1;
            let created = at(1 + (i % 3) as u32, 14 + (i % 5) as u32);
            let payment_status = match i % 8 {
                7 => None,
                2 | 5 => Some("pending"),
                3 => Some("expired"),
                _ => Some("paid"),
            };
            DemoOrder {
                order_id: if co { format!("CO-{}", 1000 + n) } else { format!("PE-{}", 2000 + n) },
                country: if co { "CO" } else { "PE" },
                psp: if co { "dlocal" } else { "pagoefectivo" },
                network: if co { "efecty" } else { "pagoefectivo" },
                currency: if co { "COP" } else { "PEN" },
                store: if co { "Tienda Ñandu" } else { "Bodega Inca" },
                buyer: BUYERS[i % BUYERS.len()].to_string(),
                // COP 45,000 + 12,500 per order; PEN 45.00 + 12.50 per order (minor units).
                amount_minor: if co { (45_000 + 12_500 * n as i64) * 100 } else { 4_500 + 1_250 * n as i64 },
                payment_id: if co { format!("D-CO-{n:04}") } else { format!("{}", 90_001_000 + n) },
                voucher_code: if co {
                    format!("{}", 4_000_001_000_u64 + n as u64)
                } else {
                    format!("{}", 90_001_000 + n)
                },
                payment_status,
                created_at: created.timestamp(),
                expires_at: created.timestamp() + 72 * 3_600,
            }
        })
        .collect()
}

/// The audit log as the app writes it: each entry chained to the one before.
struct Chain {
    prev: String,
}

impl Chain {
    fn append(&mut self, conn: &Connection, e: AuditEntry) -> StoreResult<()> {
        let hash = entry_hash(&self.prev, &e);
        conn.execute(
            "INSERT INTO audit_log(at, operator, action, subject, before, after, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![e.at.timestamp(), e.operator, e.action, e.subject, e.before, e.after, self.prev, hash],
        )?;
        self.prev = hash;
        Ok(())
    }
}

fn entry(at: DateTime<Utc>, operator: &str, action: &str, subject: &str, after: &str) -> AuditEntry {
    AuditEntry {
        at,
        operator: operator.into(),
        action: action.into(),
        subject: subject.into(),
        before: String::new(),
        after: after.into(),
    }
}

/// One imported file of the demo.
struct DemoFile {
    batch: i64,
    kind: &'static str,
    profile: &'static str,
    name: &'static str,
    header: &'static [&'static str],
    imported_at: DateTime<Utc>,
}

/// Writes one import batch with its file text; returns each line's (offset, length) in the text.
fn import_batch(conn: &Connection, file: &DemoFile, lines: &[String]) -> StoreResult<Vec<(i64, i64)>> {
    let DemoFile { batch: id, kind, profile, name: file_name, header, imported_at } = *file;
    let imported_at = imported_at.timestamp();
    let mut text = header.join(",");
    text.push('\n');
    let mut spans = Vec::with_capacity(lines.len());
    for line in lines {
        spans.push((text.len() as i64, line.len() as i64));
        text.push_str(line);
        text.push('\n');
    }
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    let header_json = serde_json::to_string(header).map_err(|e| super::StoreError::Invalid(e.to_string()))?;
    let rows = lines.len() as i64;
    conn.execute(
        "INSERT INTO import_batches(id, kind, profile, file_name, sha256, encoding, delimiter, header_json,
             rows_total, rows_new, operator, imported_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'UTF-8', ',', ?6, ?7, ?7, 'ana', ?8)",
        params![id, kind, profile, file_name, sha256, header_json, rows, imported_at],
    )?;
    conn.execute("INSERT INTO import_files(batch_id, text) VALUES (?1, ?2)", params![id, text.as_bytes()])?;
    Ok(spans)
}

/// Fills a file at schema `version` with the demo ledger, using only what that version has.
fn fill(conn: &Connection, version: u32) -> StoreResult<()> {
    let has = |v: u32| version >= v;
    let orders = demo_orders();
    let mut chain = Chain { prev: AUDIT_GENESIS_HASH.to_string() };

    if has(2) {
        // A fixed salt keeps the generated files the same from run to run; light
        // parameters keep the generator quick (a PHC string carries its own).
        use argon2::password_hash::{PasswordHasher, SaltString};
        let invalid = |e: argon2::password_hash::Error| super::StoreError::Invalid(e.to_string());
        let salt = SaltString::from_b64("dm91Y2hlcmRlc2tmaXh0dXJl").map_err(invalid)?;
        let params = argon2::Params::new(1_024, 1, 1, None).map_err(|e| super::StoreError::Invalid(e.to_string()))?;
        let hash = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
            .hash_password(b"demo-admin-password", &salt)
            .map_err(invalid)?
            .to_string();
        conn.execute(
            "INSERT INTO operators(name, role, password_hash, language, created_at, created_by)
             VALUES ('ana', 'admin', ?1, 'es', ?2, 'setup'), ('luis', 'support', NULL, 'es', ?2, 'ana')",
            params![hash, at(1, 12).timestamp()],
        )?;
        chain.append(conn, entry(at(1, 12), "ana", "operator.create", "operator ana", r#"{"role":"admin"}"#))?;
        chain.append(conn, entry(at(1, 12), "ana", "operator.create", "operator luis", r#"{"role":"support"}"#))?;
    }

    // Orders (batch 1).
    let lines: Vec<String> = orders
        .iter()
        .map(|o| format!("{},{},{},{},{},{}", o.order_id, o.buyer, o.amount_minor, o.currency, o.psp, o.voucher_code))
        .collect();
    let spans = import_batch(
        conn,
        &DemoFile {
            batch: 1,
            kind: "orders",
            profile: "shop",
            name: "pedidos-2026-03-03.csv",
            header: &["order_id", "buyer", "amount_minor", "currency", "psp", "voucher"],
            imported_at: at(3, 9),
        },
        &lines,
    )?;
    for (i, (o, (offset, len))) in orders.iter().zip(&spans).enumerate() {
        let shop_status = match o.payment_status {
            Some("paid") => "paid",
            Some("expired") => "expired",
            _ => "pending_payment",
        };
        conn.execute(
            "INSERT INTO orders(order_id, store, created_at, buyer_name, buyer_email, buyer_phone, buyer_document,
                 country, amount_minor, currency, status, psp, psp_payment_id, voucher_code, voucher_expires_at,
                 batch_id, line, raw_offset, raw_len)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 1, ?16, ?17, ?18)",
            params![
                o.order_id,
                o.store,
                o.created_at,
                o.buyer,
                format!("comprador{}@correo.example", i + 1),
                format!("+57300{:07}", i + 1),
                format!("{}", 52_000_000 + i),
                o.country,
                o.amount_minor,
                o.currency,
                shop_status,
                o.psp,
                o.payment_id,
                o.voucher_code,
                o.expires_at,
                i as i64 + 2,
                offset,
                len
            ],
        )?;
    }
    chain.append(conn, entry(at(3, 9), "ana", "import", "orders file pedidos-2026-03-03.csv", r#"{"rows":24}"#))?;

    // Payments with their status history (batch 2).
    let paid: Vec<&DemoOrder> = orders.iter().filter(|o| o.payment_status.is_some()).collect();
    let lines: Vec<String> = paid
        .iter()
        .map(|o| format!("{},{},{},{}", o.payment_id, o.order_id, o.amount_minor, o.payment_status.unwrap_or("")))
        .collect();
    let spans = import_batch(
        conn,
        &DemoFile {
            batch: 2,
            kind: "payments",
            profile: "dlocal",
            name: "pagos-2026-03-04.csv",
            header: &["payment_id", "order_id", "amount", "status"],
            imported_at: at(4, 9),
        },
        &lines,
    )?;
    for (i, (o, (offset, len))) in paid.iter().zip(&spans).enumerate() {
        let status = o.payment_status.unwrap_or("pending");
        let (rank, psp_status) = match status {
            "paid" => (4, if o.psp == "dlocal" { "PAID" } else { "Pagado" }),
            "expired" => (3, if o.psp == "dlocal" { "EXPIRED" } else { "Expirado" }),
            _ => (0, if o.psp == "dlocal" { "PENDING" } else { "Pendiente" }),
        };
        let paid_at = (status == "paid").then_some(o.created_at + 20 * 3_600);
        conn.execute(
            "INSERT INTO payments(psp, payment_id, order_id, country, network, currency, amount_minor, status,
                 status_rank, psp_status, status_code, created_at, paid_at, expires_at, voucher_code, last_seen_status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '200', ?11, ?12, ?13, ?14, ?8)",
            params![
                o.psp,
                o.payment_id,
                o.order_id,
                o.country,
                o.network,
                o.currency,
                o.amount_minor,
                status,
                rank,
                psp_status,
                o.created_at,
                paid_at,
                o.expires_at,
                o.voucher_code
            ],
        )?;
        let payment = conn.last_insert_rowid();
        let pending = if o.psp == "dlocal" { "PENDING" } else { "Pendiente" };
        let history = "INSERT INTO payment_status_history(payment, status, psp_status, status_at, observed_at, source,
                 batch_id, line, raw_offset, raw_len)
             VALUES (?1, ?2, ?3, ?4, ?5, 'file', 2, ?6, ?7, ?8)";
        conn.execute(
            history,
            params![payment, "pending", pending, o.created_at, at(4, 9).timestamp(), i as i64 + 2, offset, len],
        )?;
        if status != "pending" {
            let status_at = paid_at.unwrap_or(o.expires_at);
            conn.execute(
                history,
                params![payment, status, psp_status, status_at, at(4, 9).timestamp(), i as i64 + 2, offset, len],
            )?;
        }
    }
    chain.append(conn, entry(at(4, 9), "ana", "import", "payments file pagos-2026-03-04.csv", r#"{"rows":21}"#))?;

    // Settlements (batch 3): every paid payment but the last Peruvian one, which stays not settled.
    let settled: Vec<&&DemoOrder> =
        paid.iter().filter(|o| o.payment_status == Some("paid") && o.order_id != "PE-2009").collect();
    let lines: Vec<String> =
        settled.iter().map(|o| format!("{},{},{},PAYMENT", o.payment_id, o.order_id, o.amount_minor)).collect();
    let spans = import_batch(
        conn,
        &DemoFile {
            batch: 3,
            kind: "settlements",
            profile: "dlocal-settlement",
            name: "liquidacion-2026-03-05.csv",
            header: &["payment_id", "order_id", "amount", "type"],
            imported_at: at(5, 9),
        },
        &lines,
    )?;
    for (i, (o, (offset, len))) in settled.iter().zip(&spans).enumerate() {
        // 3% fee, rounded down to the minor unit.
        let fee = o.amount_minor * 3 / 100;
        conn.execute(
            "INSERT INTO settlements(psp, order_id, payment_id, row_type, created_at, settled_on, local_amount_minor,
                 local_currency, fx_rate, settlement_currency, gross_minor, net_minor, fee_minor, batch_id, line,
                 raw_offset, raw_len)
             VALUES (?1, ?2, ?3, 'PAYMENT', ?4, '2026-03-05', ?5, ?6, '1', ?6, ?5, ?7, ?8, 3, ?9, ?10, ?11)",
            params![
                o.psp,
                o.order_id,
                o.payment_id,
                o.created_at + 24 * 3_600,
                o.amount_minor,
                o.currency,
                o.amount_minor - fee,
                fee,
                i as i64 + 2,
                offset,
                len
            ],
        )?;
    }
    chain.append(
        conn,
        entry(at(5, 9), "ana", "import", "settlements file liquidacion-2026-03-05.csv", r#"{"rows":11}"#),
    )?;

    // One reconciliation run and what it found.
    let summary = r#"{"as_of":"2026-03-05","exceptions_open":2}"#;
    conn.execute(
        "INSERT INTO reconcile_runs(id, as_of, settlement_lag_days, amount_tolerance, started_at, finished_at, operator,
             summary_json)
         VALUES (1, '2026-03-05', 2, 0, ?1, ?1, 'ana', ?2)",
        params![at(5, 10).timestamp(), summary],
    )?;
    chain.append(conn, entry(at(5, 10), "ana", "reconcile", "as of 2026-03-05", summary))?;
    let found = [
        (ExceptionKind::RecordedNotPaid, orders.iter().find(|o| o.order_id == "CO-1008")),
        (ExceptionKind::NotSettled, orders.iter().find(|o| o.order_id == "PE-2009")),
        (ExceptionKind::RecordedNotPaid, orders.iter().find(|o| o.order_id == "PE-2012")),
    ];
    for (kind, o) in found {
        let o = o.ok_or_else(|| super::StoreError::Invalid("demo order missing".into()))?;
        let id = kind.exception_id(&[&o.order_id]);
        let detected = at(5, 10).timestamp();
        conn.execute(
            "INSERT INTO exceptions(id, kind, status, order_id, psp, payment_id, country, store, amount_minor, currency,
                 facts, detail, detected_at, updated_at, last_run)
             VALUES (?1, ?2, 'open', ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}', ?10, ?11, ?11, 1)",
            params![
                id,
                kind.as_str(),
                o.order_id,
                o.psp,
                if o.payment_status.is_some() { o.payment_id.as_str() } else { "" },
                o.country,
                o.store,
                o.amount_minor,
                o.currency,
                format!("{} for order {}", kind.as_str(), o.order_id),
                detected
            ],
        )?;
        conn.execute(
            "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
             VALUES (?1, ?2, 'detected', NULL, 'open', 'ana', '')",
            params![id, detected],
        )?;
    }
    // The last Peruvian order without a payment was paid in cash at the shop: resolved by a person.
    let resolved = ExceptionKind::RecordedNotPaid.exception_id(&["PE-2012"]);
    let when = at(5, 15);
    conn.execute(
        "UPDATE exceptions SET status = 'resolved', resolution = 'write_off', resolved_by = 'ana', resolved_at = ?2,
             updated_at = ?2, note = 'paid at the shop' WHERE id = ?1",
        params![resolved, when.timestamp()],
    )?;
    conn.execute(
        "INSERT INTO exception_history(exception_id, at, event, from_status, to_status, operator, note)
         VALUES (?1, ?2, 'resolved: write_off', 'open', 'resolved', 'ana', 'paid at the shop')",
        params![resolved, when.timestamp()],
    )?;
    chain.append(conn, entry(when, "ana", "exception.resolve", &resolved, r#"{"action":"write_off"}"#))?;

    if has(3) {
        conn.execute(
            "INSERT INTO psp_notifications(psp, channel, fingerprint, received_at, headers_json, body, verdict, detail,
                 payment_id, order_id, claimed_status)
             VALUES ('dlocal', 'listen', 'fp-0001', ?1, '{}', ?2, 'applied', '', 'D-CO-0001', 'CO-1001', 'PAID'),
                    ('pagoefectivo', 'listen', 'fp-0002', ?1, '{}', ?3, 'forged', 'signature does not match',
                     '90001002', 'PE-2002', 'Pagado')",
            params![
                at(4, 16).timestamp(),
                br#"{"id":"D-CO-0001","status":"PAID"}"#.as_slice(),
                br#"{"eventType":"cip.paid","data":{"cip":"90001002"}}"#.as_slice()
            ],
        )?;
    }
    if has(4) {
        conn.execute(
            "INSERT INTO psp_accounts(name, psp, base_url, created_at, created_by)
             VALUES ('dlocal-co', 'dlocal', 'https://sandbox.dlocal.com', ?1, 'ana'),
                    ('pagoefectivo-pe', 'pagoefectivo', 'https://pre1a.services.pagoefectivo.pe', ?1, 'ana')",
            params![at(1, 13).timestamp()],
        )?;
        chain.append(conn, entry(at(1, 13), "ana", "credentials.add", "dlocal-co", r#"{"psp":"dlocal"}"#))?;
    }
    if has(5) {
        conn.execute(
            "INSERT INTO sync_queue(payment, psp, next_poll_at)
             SELECT id, psp, ?1 FROM payments WHERE status = 'pending' ORDER BY id",
            params![at(5, 12).timestamp()],
        )?;
    }
    if has(7) {
        let requested = at(5, 16).timestamp();
        conn.execute(
            "INSERT INTO refunds(id, psp, payment_id, order_id, amount_minor, currency, reason, note, method, details,
                 tier, status, idempotency_key, requested_by, requested_at, psp_refund_id, psp_status,
                 submit_attempts, submitted_at, finished_at, updated_at)
             VALUES (1, 'dlocal', 'D-CO-0002', 'CO-1002', 1000000, 'COP', 'duplicate_charge', 'paid twice',
                 'psp_refund', '{}', 1, 'succeeded', 'vd-refund-0001', 'luis', ?1, 'RF-0001', 'SUCCESS', 1, ?1, ?1,
                 ?1)",
            params![requested],
        )?;
        conn.execute(
            "INSERT INTO refund_approvals(refund, operator, role, decision, comment, at, tier, amount_minor)
             VALUES (1, 'ana', 'admin', 'approve', '', ?1, 1, 1000000)",
            params![requested],
        )?;
        chain.append(conn, entry(at(5, 16), "luis", "refund.request", "refund 1", r#"{"amount_minor":1000000}"#))?;
        chain.append(conn, entry(at(5, 16), "ana", "refund.approve", "refund 1", r#"{"tier":1}"#))?;
    }
    if has(9) {
        let notify = |id: i64, order: &str, kind: &str, status: &str, barcode: Option<&str>| -> StoreResult<()> {
            let queued = at(3, 10).timestamp();
            conn.execute(
                "INSERT INTO buyer_notifications(id, order_id, kind, channel, locale, recipient, subject, body_text,
                     body_html, status, attempts, next_attempt_at, client_ref, trigger, triggered_by, event_key,
                     queued_at, sent_at, updated_at)
                 VALUES (?1, ?2, ?3, 'email', 'es-CO', 'comprador@correo.example', 'Tu pedido ' || ?2, 'Texto',
                     '<p>Texto</p>', ?4, ?5, ?6, 'ref-' || ?1, 'event', 'system', ?3 || ':' || ?2, ?6, ?7, ?6)",
                params![
                    id,
                    order,
                    kind,
                    status,
                    i64::from(status == "sent"),
                    queued,
                    (status == "sent").then_some(queued + 5)
                ],
            )?;
            if let (true, Some(code)) = (has(12), barcode) {
                conn.execute("UPDATE buyer_notifications SET barcode = ?2 WHERE id = ?1", params![id, code])?;
            }
            Ok(())
        };
        notify(1, "CO-1001", "voucher_instructions", "sent", Some("4000001001"))?;
        notify(2, "CO-1001", "payment_received", "sent", None)?;
        notify(3, "CO-1003", "expiry_reminder", "queued", Some("4000001003"))?;
        if has(17) {
            notify(4, "PE-2004", "voucher_cancelled", "queued", None)?;
        }
        conn.execute(
            "INSERT INTO buyer_contact_changes(order_id, field, old_value, new_value, changed_by, changed_at)
             VALUES ('CO-1003', 'email', 'comprador3@correo.example', 'comprador.tres@correo.example', 'luis', ?1)",
            params![at(4, 11).timestamp()],
        )?;
        chain.append(conn, entry(at(4, 11), "luis", "notifications.contact", "CO-1003", r#"{"field":"email"}"#))?;
    }
    if has(14) {
        conn.execute(
            "INSERT INTO fx_rates(base, quote, market, market_date, rate, source, entered_by, entered_at)
             VALUES ('USD', 'COP', 'CO', '2026-03-05', '4012.35', 'manual', 'ana', ?1)",
            params![at(5, 8).timestamp()],
        )?;
        chain.append(conn, entry(at(5, 8), "ana", "fx.add", "USD/COP 2026-03-05", r#"{"rate":"4012.35"}"#))?;
    }
    if has(15) {
        conn.execute(
            "INSERT INTO psp_fee_rates(account, fee_bps, set_by, set_at) VALUES ('dlocal-co', 300, 'ana', ?1)",
            params![at(1, 13).timestamp()],
        )?;
    }
    if has(16) {
        conn.execute(
            "INSERT INTO voucher_issues(order_id, psp, reference, status, hours, expires_at, payment_id, attempts,
                 requested_by, requested_at, finished_at)
             VALUES ('PE-2004', 'pagoefectivo', 'PE-2004-v2', 'issued', 48, ?1, '90002004', 1, 'luis', ?2, ?2)",
            params![at(8, 16).timestamp(), at(6, 16).timestamp()],
        )?;
        chain.append(conn, entry(at(6, 16), "luis", "voucher.issue", "PE-2004", r#"{"hours":48}"#))?;
    }
    if has(18) {
        conn.execute("INSERT INTO sign_in_failures(name, failures, locked_until) VALUES ('luis', 2, NULL)", [])?;
    }
    if has(19) {
        // A PagoEfectivo payment refunded by a bank transfer finance made and recorded.
        let requested = at(6, 10).timestamp();
        let details = r#"{"kind":"bank_transfer","beneficiary":{"name":"Rosa Quispe","bank":"BCP","account":"19112345678012","account_type":"S","document":"45678912"},"transfer":{"reference":"BCP-778812","date":"2026-03-07","proof_file":"refund-2-transfer.pdf","proof_sha256":"0000000000000000000000000000000000000000000000000000000000000000","proof_bytes":1024,"recorded_by":"fiona","recorded_at":"2026-03-07T15:00:00Z"}}"#;
        conn.execute(
            "INSERT INTO refunds(id, psp, payment_id, order_id, amount_minor, currency, reason, note, method, details,
                 tier, status, idempotency_key, requested_by, requested_at, psp_refund_id, psp_status,
                 submit_attempts, submitted_at, finished_at, updated_at)
             VALUES (2, 'pagoefectivo', '90001001', 'PE-2001', 5750, 'PEN', 'buyer_cancelled', '',
                 'bank_transfer', ?1, 1, 'succeeded', 'vd-refund-0002', 'luis', ?2, 'BCP-778812',
                 'transferred on 2026-03-07, recorded by fiona', 1, ?3, ?3, ?3)",
            params![details, requested, at(7, 15).timestamp()],
        )?;
        chain.append(
            conn,
            entry(at(7, 15), "fiona", "refund.transfer_recorded", "refund 2", r#"{"reference":"BCP-778812"}"#),
        )?;
    }
    if has(20) {
        // The daily report's email, scheduled by a manager and sent.
        let queued = at(7, 12).timestamp();
        conn.execute(
            "INSERT INTO settings(key, value) VALUES ('daily_report_schedule',
                 '{\"at\":\"07:00\",\"markets\":[\"CO\"],\"recipients\":[\"finanzas@tienda.example\"],\"format\":\"xlsx\",\"set_by\":\"ana\"}')",
            [],
        )?;
        conn.execute(
            "INSERT INTO buyer_notifications(id, order_id, kind, channel, locale, recipient, subject, body_text,
                 body_html, params, status, attempts, next_attempt_at, client_ref, trigger, triggered_by, event_key,
                 queued_at, sent_at, updated_at)
             VALUES (5, 'daily-report CO 2026-03-06', 'daily_report', 'email', 'en', 'finanzas@tienda.example',
                 'VoucherDesk daily report / Reporte diario 2026-03-06 CO', 'Payments dated that day: 3',
                 '<pre>Payments dated that day: 3</pre>',
                 '{\"date\":\"2026-03-06\",\"market\":\"CO\",\"format\":\"xlsx\",\"made_by\":\"ana\"}',
                 'sent', 1, ?1, 'ref-5', 'event', '(daily report)', 'daily_report:CO:2026-03-06', ?1, ?2, ?2)",
            params![queued, queued + 5],
        )?;
        chain.append(conn, entry(at(7, 11), "ana", "reports.schedule", "daily report email", r#"{"at":"07:00"}"#))?;
    }
    Ok(())
}

/// What a fixture holds, written beside it as `vNN.json`: its rows counted
/// as `Store::table_row_counts` counts them.
fn manifest(conn: &Connection, version: u32) -> StoreResult<serde_json::Value> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut rows = serde_json::Map::new();
    for t in tables {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
        rows.insert(t, n.into());
    }
    let audit_entries: i64 = conn.query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))?;
    Ok(serde_json::json!({
        "schema_version": version,
        "rows": rows,
        "audit_entries": audit_entries,
        "lookup": {"order_id": LOOKUP_ORDER_ID, "payment_id": LOOKUP_PAYMENT_ID, "status": LOOKUP_STATUS},
    }))
}

/// Writes `vNN.sqlite` and `vNN.json` for schema `version` into `dir`.
pub(crate) fn write_fixture(dir: &Path, version: u32) -> StoreResult<PathBuf> {
    let path = dir.join(format!("v{version:02}.sqlite"));
    for leftover in [path.clone(), PathBuf::from(format!("{}-wal", path.display()))] {
        let _ = std::fs::remove_file(leftover);
    }
    let mut conn = create_at_version(&path, version)?;
    let tx = conn.transaction()?;
    fill(&tx, version)?;
    tx.commit()?;
    let manifest = manifest(&conn, version)?;
    conn.execute_batch("VACUUM")?;
    // Closing checkpoints the WAL into the file and removes it: one file to commit, still in WAL mode.
    conn.close().map_err(|(_, e)| e)?;
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| super::StoreError::Invalid(e.to_string()))?;
    std::fs::write(dir.join(format!("v{version:02}.json")), text + "\n")
        .map_err(|e| super::StoreError::Invalid(e.to_string()))?;
    Ok(path)
}

#[test]
#[ignore = "writes tests/fixtures/schemas/; run by hand when a migration is added"]
fn write_schema_fixtures() {
    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for m in MIGRATIONS {
        let path = write_fixture(&dir, m.version).unwrap();
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert!(bytes < FIXTURE_BYTES_MAX, "{} is {bytes} bytes", path.display());
    }
}

#[test]
fn every_fixture_is_what_the_generator_writes_today() {
    // A fixture edited by hand, or a generator changed without regenerating, shows here.
    let tmp = tempfile::tempdir().unwrap();
    for m in MIGRATIONS {
        write_fixture(tmp.path(), m.version).unwrap();
        let name = format!("v{:02}.json", m.version);
        let fresh = std::fs::read_to_string(tmp.path().join(&name)).unwrap();
        let committed = std::fs::read_to_string(fixtures_dir().join(&name)).unwrap();
        assert_eq!(fresh, committed, "{name}");
    }
}
