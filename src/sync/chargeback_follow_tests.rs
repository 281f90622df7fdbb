//! The store's queue of chargebacks to read again, fed by parsed dLocal
//! notifications as `listen` applies them.

use crate::model::observation::ObservationSource;
use crate::psp::dlocal::webhook;
use crate::store::Store;
use chrono::{DateTime, Utc};

fn observe(store: &mut Store, body: &str, at: DateTime<Utc>) {
    let (observed, _) = webhook::parse(body.as_bytes()).unwrap();
    store.apply_observation(&observed, ObservationSource::Notification, body, at, "listen").unwrap();
}

fn paid(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","amount":150000,"currency":"COP","payment_method_id":"EY","country":"CO",
        "created_date":"2026-03-01T14:15:00.000+0000","approved_date":"2026-03-02T15:00:00.000+0000",
        "status":"PAID","status_code":200,"order_id":"S-{id}"}}"#
    )
}

fn chargeback(id: &str, payment: &str, status: &str) -> String {
    format!(
        r#"{{"id":"{id}","payment_id":"{payment}","created_date":"2026-04-10T16:20:00.000+0000","status":"{status}"}}"#
    )
}

#[test]
fn chargebacks_to_follow_are_the_known_ones_not_final_bounded_and_rotating() {
    let mut store = Store::open_in_memory().unwrap();
    let at = DateTime::parse_from_rfc3339("2026-04-11T00:00:00Z").unwrap().to_utc();
    for id in ["D-1", "D-2", "D-3"] {
        observe(&mut store, &paid(id), at);
    }
    observe(&mut store, &chargeback("CB-1", "D-1", "COMPLETED"), at);
    observe(&mut store, &chargeback("CB-2", "D-2", "PENDING"), at);
    observe(&mut store, &chargeback("CB-2", "D-2", "REVERSAL"), at);
    observe(&mut store, &chargeback("CB-3", "D-3", "IN_DISPUTE"), at);
    // Not known to the ledger's payments: nothing to read it for.
    observe(&mut store, &chargeback("CB-4", "D-4", "PENDING"), at);
    let finals = ["DISPUTE_LOST", "REVERSAL"];
    let follow = |store: &Store, after: &str, limit: u32, since: DateTime<Utc>| {
        store
            .sync_chargebacks_to_follow("dlocal", &finals, since, after, limit)
            .unwrap()
            .into_iter()
            .map(|f| (f.chargeback_id, f.payment_id, f.last_status.unwrap_or_default()))
            .collect::<Vec<_>>()
    };
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let all = follow(&store, "", 50, epoch);
    let expected = [
        ("CB-1".to_string(), "D-1".to_string(), "COMPLETED".to_string()),
        ("CB-3".to_string(), "D-3".to_string(), "IN_DISPUTE".to_string()),
    ];
    assert_eq!(all, expected);
    assert_eq!(follow(&store, "", 1, epoch), expected[..1]);
    assert_eq!(follow(&store, "CB-1", 1, epoch), expected[1..]);
    assert_eq!(follow(&store, "CB-3", 1, epoch), []);
    assert_eq!(follow(&store, "", 50, at + chrono::TimeDelta::seconds(1)), [], "learned too long ago");
    assert_eq!(store.sync_chargebacks_to_follow("pagoefectivo", &finals, epoch, "", 50).unwrap(), []);
}
