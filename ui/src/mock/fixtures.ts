// Case files of the sample story (tests/fixtures/samples), as the core
// returned them to a support operator (`voucherdesk --operator sam lookup
// --json`), with file paths shortened; after them, a few records that the
// dev mock and the tests both start from.
// Used by the dev mock and the unit tests; never by the app itself.
import type { CaseFile, Refund, SyncIndicator } from "../bindings";

export const SAMPLE_CASES: CaseFile[] = [
 {
  "order_id": "CO-1001",
  "buyer_name": "José Núñez",
  "order": {
   "order_id": "CO-1001",
   "store": "Tienda Ñandú",
   "created_at": "2026-03-02T14:15:00Z",
   "buyer_name": "José Núñez",
   "buyer_email": "jose.nunez@correo.example",
   "buyer_phone": "+57 300 123 4567",
   "buyer_document": "1020304050",
   "country": "CO",
   "amount_minor": 12500000,
   "currency": "COP",
   "status": "pending_payment",
   "psp": "dlocal",
   "psp_payment_id": "D-5001",
   "voucher_code": "4000005001",
   "voucher_expires_at": "2026-03-05T14:15:00Z",
   "source": "/home/ana/reports/shop-orders.csv:2"
  },
  "payments": [
   {
    "psp": "dlocal",
    "payment_id": "D-5001",
    "order_id": "CO-1001",
    "linked_order_id": null,
    "country": "CO",
    "network": "efecty",
    "currency": "COP",
    "amount_minor": 12500000,
    "status": "paid",
    "psp_status": "PAID",
    "created_at": "2026-03-02T14:15:00Z",
    "paid_at": "2026-03-05T03:30:00Z",
    "expires_at": "2026-03-05T14:15:00Z",
    "voucher_code": "4000005001",
    "history": [
     {
      "status": "paid",
      "psp_status": "PAID",
      "status_at": "2026-03-05T03:30:00Z",
      "observed_at": "2026-11-22T03:04:01Z",
      "source": "file",
      "file": "/home/ana/reports/dlocal-payments.csv",
      "line": 2
     }
    ]
   }
  ],
  "settlements": [],
  "exceptions": [
   {
    "id": "EX-158307065a2b4217",
    "kind": "not_settled",
    "status": "open",
    "order_id": "CO-1001",
    "psp": "dlocal",
    "payment_id": "D-5001",
    "country": "CO",
    "store": "Tienda Ñandú",
    "amount_minor": 12500000,
    "currency": "COP",
    "detail": "paid on 2026-03-04 (market date), no settlement after 16 days",
    "detected_at": "2026-11-22T03:04:01Z",
    "updated_at": "2026-11-22T03:04:01Z",
    "age_days": 0,
    "assignee": null,
    "resolution": null,
    "resolved_by": null,
    "resolved_at": null,
    "note": null
   },
   {
    "id": "EX-53d74298bf712919",
    "kind": "paid_not_recorded",
    "status": "open",
    "order_id": "CO-1001",
    "psp": "",
    "payment_id": "",
    "country": "CO",
    "store": "Tienda Ñandú",
    "amount_minor": 12500000,
    "currency": "COP",
    "detail": "paid at the PSP (dlocal:D-5001) but the shop still says pending_payment: deliver the order",
    "detected_at": "2026-11-22T03:04:01Z",
    "updated_at": "2026-11-22T03:04:01Z",
    "age_days": 0,
    "assignee": null,
    "resolution": null,
    "resolved_by": null,
    "resolved_at": null,
    "note": null
   }
  ],
  "verdict": {
   "code": "deliver_order",
   "text": "Paid at Efecty on 4 Mar 22:30 Bogotá; the shop still says pending_payment → deliver the order",
   "facts": {
    "country": "CO",
    "psp": "dlocal",
    "network": "efecty",
    "payment_id": "D-5001",
    "amount_minor": 12500000,
    "currency": "COP",
    "paid_at": "2026-03-05T03:30:00Z",
    "taken_back_at": null,
    "voucher_expires_at": null,
    "shop_status": "pending_payment",
    "times_paid": null,
    "settle_by": null,
    "settle_business_days": null,
    "recorded_payment_id": null,
    "psp_still_pending": false
   },
   "next_step": "release_order",
   "buyer_message": "payment_received"
  },
  "step_action": {
   "exception_id": "EX-53d74298bf712919",
   "kind": "paid_not_recorded",
   "action": "escalate"
  }
 },
 {
  "order_id": "CO-1002",
  "buyer_name": "Peña, María",
  "order": {
   "order_id": "CO-1002",
   "store": "Tienda Ñandú",
   "created_at": "2026-03-02T15:00:00Z",
   "buyer_name": "Peña, María",
   "buyer_email": "maria.pena@correo.example",
   "buyer_phone": "+57 301 555 0101",
   "buyer_document": "52123456",
   "country": "CO",
   "amount_minor": 8990000,
   "currency": "COP",
   "status": "paid",
   "psp": "dlocal",
   "psp_payment_id": "D-5002",
   "voucher_code": "4000005002",
   "voucher_expires_at": "2026-03-05T15:00:00Z",
   "source": "/home/ana/reports/shop-orders.csv:3"
  },
  "payments": [
   {
    "psp": "dlocal",
    "payment_id": "D-5002",
    "order_id": "CO-1002",
    "linked_order_id": null,
    "country": "CO",
    "network": "efecty",
    "currency": "COP",
    "amount_minor": 8990000,
    "status": "paid",
    "psp_status": "PAID",
    "created_at": "2026-03-02T15:00:00Z",
    "paid_at": "2026-03-02T21:40:00Z",
    "expires_at": "2026-03-05T15:00:00Z",
    "voucher_code": "4000005002",
    "history": [
     {
      "status": "paid",
      "psp_status": "PAID",
      "status_at": "2026-03-02T21:40:00Z",
      "observed_at": "2026-11-22T03:04:01Z",
      "source": "file",
      "file": "/home/ana/reports/dlocal-payments.csv",
      "line": 3
     }
    ]
   }
  ],
  "settlements": [
   {
    "psp": "dlocal",
    "payment_id": "D-5002",
    "row_type": "PAYMENT",
    "settled_on": "2026-03-06",
    "local_amount_minor": 8990000,
    "local_currency": "COP",
    "settlement_currency": "USD",
    "gross_minor": 2179,
    "net_minor": 2114,
    "fee_minor": 65,
    "source": "/home/ana/reports/dlocal-settlement.tsv:2"
   }
  ],
  "exceptions": [],
  "verdict": {
   "code": "all_good",
   "text": "Paid at Efecty on 2 Mar 16:40 Bogotá; the shop says paid",
   "facts": {
    "country": "CO",
    "psp": "dlocal",
    "network": "efecty",
    "payment_id": "D-5002",
    "amount_minor": 8990000,
    "currency": "COP",
    "paid_at": "2026-03-02T21:40:00Z",
    "taken_back_at": null,
    "voucher_expires_at": null,
    "shop_status": "paid",
    "times_paid": null,
    "settle_by": null,
    "settle_business_days": null,
    "recorded_payment_id": null,
    "psp_still_pending": false
   },
   "next_step": "nothing_to_do",
   "buyer_message": "payment_received"
  },
  "step_action": null
 },
 {
  "order_id": "PE-2001",
  "buyer_name": "Ángela Muñoz",
  "order": {
   "order_id": "PE-2001",
   "store": "Moda Andina",
   "created_at": "2026-03-03T23:30:00Z",
   "buyer_name": "Ángela Muñoz",
   "buyer_email": "angela.munoz@correo.example",
   "buyer_phone": "+51 987 654 321",
   "buyer_document": "45678912",
   "country": "PE",
   "amount_minor": 123450,
   "currency": "PEN",
   "status": "paid",
   "psp": "pagoefectivo",
   "psp_payment_id": "20001",
   "voucher_code": "20001",
   "voucher_expires_at": "2026-03-04T23:30:00Z",
   "source": "/home/ana/reports/shop-orders.csv:4"
  },
  "payments": [
   {
    "psp": "pagoefectivo",
    "payment_id": "20001",
    "order_id": "PE-2001",
    "linked_order_id": null,
    "country": "PE",
    "network": "pagoefectivo",
    "currency": "PEN",
    "amount_minor": 123450,
    "status": "paid",
    "psp_status": "Pagado",
    "created_at": "2026-03-03T23:30:00Z",
    "paid_at": "2026-03-04T16:02:13Z",
    "expires_at": "2026-03-04T23:30:00Z",
    "voucher_code": "20001",
    "history": [
     {
      "status": "paid",
      "psp_status": "Pagado",
      "status_at": "2026-03-04T16:02:13Z",
      "observed_at": "2026-11-22T03:04:01Z",
      "source": "file",
      "file": "/home/ana/reports/pagoefectivo-payments.csv",
      "line": 2
     }
    ]
   }
  ],
  "settlements": [
   {
    "psp": "pagoefectivo",
    "payment_id": "20001",
    "row_type": "PAYMENT",
    "settled_on": "2026-03-06",
    "local_amount_minor": 123450,
    "local_currency": "PEN",
    "settlement_currency": "PEN",
    "gross_minor": 123450,
    "net_minor": 119746,
    "fee_minor": 3704,
    "source": "/home/ana/reports/pagoefectivo-settlement.csv:2"
   }
  ],
  "exceptions": [],
  "verdict": {
   "code": "all_good",
   "text": "Paid at PagoEfectivo on 4 Mar 11:02 Lima; the shop says paid",
   "facts": {
    "country": "PE",
    "psp": "pagoefectivo",
    "network": "pagoefectivo",
    "payment_id": "20001",
    "amount_minor": 123450,
    "currency": "PEN",
    "paid_at": "2026-03-04T16:02:13Z",
    "taken_back_at": null,
    "voucher_expires_at": null,
    "shop_status": "paid",
    "times_paid": null,
    "settle_by": null,
    "settle_business_days": null,
    "recorded_payment_id": null,
    "psp_still_pending": false
   },
   "next_step": "nothing_to_do",
   "buyer_message": "payment_received"
  },
  "step_action": null
 },
 {
  "order_id": "PE-2002",
  "buyer_name": "Raúl Ibáñez",
  "order": {
   "order_id": "PE-2002",
   "store": "Moda Andina",
   "created_at": "2026-03-04T00:00:00Z",
   "buyer_name": "Raúl Ibáñez",
   "buyer_email": "raul.ibanez@correo.example",
   "buyer_phone": "+51 912 345 678",
   "buyer_document": "41234567",
   "country": "PE",
   "amount_minor": 5990,
   "currency": "PEN",
   "status": "fulfilled",
   "psp": "pagoefectivo",
   "psp_payment_id": "20002",
   "voucher_code": "20002",
   "voucher_expires_at": "2026-03-05T00:00:00Z",
   "source": "/home/ana/reports/shop-orders.csv:5"
  },
  "payments": [
   {
    "psp": "pagoefectivo",
    "payment_id": "20002",
    "order_id": "PE-2002",
    "linked_order_id": null,
    "country": "PE",
    "network": "pagoefectivo",
    "currency": "PEN",
    "amount_minor": 5990,
    "status": "paid",
    "psp_status": "Pagado",
    "created_at": "2026-03-04T00:00:00Z",
    "paid_at": "2026-03-04T02:45:00Z",
    "expires_at": "2026-03-05T00:00:00Z",
    "voucher_code": "20002",
    "history": [
     {
      "status": "paid",
      "psp_status": "Pagado",
      "status_at": "2026-03-04T02:45:00Z",
      "observed_at": "2026-11-22T03:04:01Z",
      "source": "file",
      "file": "/home/ana/reports/pagoefectivo-payments.csv",
      "line": 3
     }
    ]
   }
  ],
  "settlements": [
   {
    "psp": "pagoefectivo",
    "payment_id": "20002",
    "row_type": "PAYMENT",
    "settled_on": "2026-03-05",
    "local_amount_minor": 5990,
    "local_currency": "PEN",
    "settlement_currency": "PEN",
    "gross_minor": 5990,
    "net_minor": 5810,
    "fee_minor": 180,
    "source": "/home/ana/reports/pagoefectivo-settlement.csv:3"
   }
  ],
  "exceptions": [],
  "verdict": {
   "code": "all_good",
   "text": "Paid at PagoEfectivo on 3 Mar 21:45 Lima; the shop says fulfilled",
   "facts": {
    "country": "PE",
    "psp": "pagoefectivo",
    "network": "pagoefectivo",
    "payment_id": "20002",
    "amount_minor": 5990,
    "currency": "PEN",
    "paid_at": "2026-03-04T02:45:00Z",
    "taken_back_at": null,
    "voucher_expires_at": null,
    "shop_status": "fulfilled",
    "times_paid": null,
    "settle_by": null,
    "settle_business_days": null,
    "recorded_payment_id": null,
    "psp_still_pending": false
   },
   "next_step": "nothing_to_do",
   "buyer_message": "payment_received"
  },
  "step_action": null
 }
] as CaseFile[];

/** A refund's fields while nothing has been sent to the PSP: no rate locked, no attempt, no answer. */
export const REFUND_NOT_SENT = {
  fx: null,
  fx_quote: null,
  psp_refund_id: null,
  withdrawal_code: null,
  psp_status: null,
  submit_attempts: 0,
  submitted_at: null,
  finished_at: null,
  last_error: null,
  escalated: false,
} satisfies Partial<Refund>;

/** The PSP sync running as marta, not paused, with no error on record. */
export const SYNC_RUNNING: SyncIndicator = {
  runner: "running",
  runner_operator: "marta",
  runner_code: null,
  runner_message: null,
  paused: false,
  paused_by: null,
  paused_at: null,
  last_round_at: "2026-03-20T15:00:00Z",
  last_success_at: "2026-03-20T15:00:00Z",
  last_error_at: null,
  last_error_code: null,
  last_error_message: null,
  errors_last_hour: 0,
  queue_size: 42,
  due_now: 3,
  holds: [],
  polls_total: 120,
  changes_total: 7,
  errors_total: 0,
};
