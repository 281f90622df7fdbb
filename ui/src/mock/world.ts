// The mock's world: a deterministic ledger of operators, cases, exceptions,
// import batches and audit rows that devMock.ts serves behind `invoke`.

import type {
  AuditRow,
  BatchInfo,
  CaseFile,
  ExceptionRecord,
  HistoryRecord,
  Language,
  Operator,
  OperatorSummary,
  OrderHit,
  Role,
  Settings,
} from "../bindings";
import { EXCEPTION_KINDS } from "../api/types";
import { SAMPLE_CASES } from "./fixtures";


export const DAY_MS = 86_400_000;

export interface MockOperator extends OperatorSummary {
  password: string;
}

export function fail(code: string, message: string): never {
  throw { code, message };
}

/** A small deterministic generator (mulberry32), so every reload looks the same. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const FIRST = ["José", "María", "Ángela", "Raúl", "Lucía", "Andrés", "Camila", "Jorge", "Valentina", "Sebastián", "Diana", "Óscar"];
export const LAST = ["Núñez", "Peña", "Muñoz", "Ibáñez", "Gómez", "Rodríguez", "Quispe", "Mamani", "Castaño", "Vargas", "Huamán", "Zúñiga"];
export const STORES = { CO: ["Tienda Ñandú", "Mercado Caribe"], PE: ["Moda Andina", "Lima Tech"] } as const;

export function strip(s: string): string {
  return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface World {
  operators: MockOperator[];
  signedIn: Operator | null;
  settings: Settings;
  cases: Map<string, CaseFile>;
  hits: OrderHit[];
  exceptions: ExceptionRecord[];
  history: Map<string, HistoryRecord[]>;
  batches: BatchInfo[];
  audit: AuditRow[];
}

export function buildWorld(params: URLSearchParams): World {
  const now = Date.now();
  const random = rng(7);
  const created = iso(now - 40 * DAY_MS);
  const operators: MockOperator[] = [
    { name: "admin", role: "admin", language: "en", disabled: false, can_sign_in: true, created_at: created, created_by: "admin", password: "voucherdesk-admin" },
    { name: "ana", role: "support", language: "es", disabled: false, can_sign_in: true, created_at: created, created_by: "admin", password: "voucherdesk-ana" },
    { name: "fabio", role: "finance", language: "en", disabled: false, can_sign_in: true, created_at: created, created_by: "admin", password: "voucherdesk-fabio" },
    { name: "marta", role: "manager", language: "zh", disabled: false, can_sign_in: true, created_at: created, created_by: "admin", password: "voucherdesk-marta" },
  ];
  const cases = new Map<string, CaseFile>();
  for (const c of SAMPLE_CASES) cases.set(c.order_id, structuredClone(c));
  const hits: OrderHit[] = SAMPLE_CASES.flatMap((c) =>
    c.order
      ? [{ order_id: c.order_id, buyer_name: c.buyer_name, buyer_email: c.order.buyer_email, country: c.order.country, amount_minor: c.order.amount_minor, currency: c.order.currency, status: c.order.status, created_at: c.order.created_at }]
      : [],
  );
  // Generated orders, for search and the queue.
  for (let i = 0; i < 400; i++) {
    const country = random() < 0.6 ? "CO" : "PE";
    const first = FIRST[Math.floor(random() * FIRST.length)] ?? "Ana";
    const last = LAST[Math.floor(random() * LAST.length)] ?? "Pérez";
    const id = `${country}-${String(3000 + i)}`;
    const amount = country === "CO" ? Math.round(20 + random() * 800) * 100_000 : Math.round(1000 + random() * 90000);
    hits.push({
      order_id: id,
      buyer_name: `${first} ${last}`,
      buyer_email: `${strip(first)}.${strip(last)}${i}@correo.example`,
      country,
      amount_minor: amount,
      currency: country === "CO" ? "COP" : "PEN",
      status: random() < 0.7 ? "paid" : "pending_payment",
      created_at: iso(now - Math.floor(random() * 60 * DAY_MS)),
    });
  }
  const exceptions: ExceptionRecord[] = SAMPLE_CASES.flatMap((c) => c.exceptions.map((e) => ({ ...e, detected_at: iso(now - 3 * 3600_000), occurred_at: e.occurred_at ?? iso(now - 3 * 3600_000), updated_at: iso(now - 3 * 3600_000) })));
  const total = Number(params.get("exceptions") ?? 5000);
  for (let i = 0; i < total; i++) {
    const hit = hits[2 + (i % (hits.length - 2))];
    if (!hit) continue;
    const kind = EXCEPTION_KINDS[Math.floor(Math.pow(random(), 1.6) * EXCEPTION_KINDS.length)] ?? "not_settled";
    const ageMs = Math.floor(Math.pow(random(), 2) * 70 * DAY_MS);
    const status = random() < 0.8 ? "open" : random() < 0.5 ? "resolved" : "cleared";
    const psp = hit.country === "CO" ? (random() < 0.8 ? "dlocal" : "payu") : random() < 0.7 ? "pagoefectivo" : "dlocal";
    const id = `EX-${Math.floor(random() * 0xffffffff).toString(16).padStart(8, "0")}${i.toString(16).padStart(8, "0")}`;
    const stores = STORES[hit.country as "CO" | "PE"];
    exceptions.push({
      id,
      kind,
      status,
      order_id: kind === "unknown_settlement" ? "" : hit.order_id,
      psp,
      payment_id: `P-${10000 + i}`,
      country: hit.country,
      store: stores[i % stores.length] ?? "",
      amount_minor: hit.amount_minor,
      currency: hit.currency,
      detail: `${kind.replace(/_/g, " ")} (${psp}:P-${10000 + i})`,
      detected_at: iso(now - ageMs + 3 * 3600_000),
      occurred_at: iso(now - ageMs),
      updated_at: iso(now - ageMs),
      age_days: Math.floor(ageMs / DAY_MS),
      assignee: random() < 0.3 ? (random() < 0.5 ? "marta" : "fabio") : null,
      resolution: status === "resolved" ? "accept" : null,
      resolved_by: status === "resolved" ? "marta" : null,
      resolved_at: status === "resolved" ? iso(now - ageMs / 2) : null,
      note: status === "resolved" ? "Checked in the PSP portal" : null,
    });
  }
  const batches: BatchInfo[] = [
    ["shop-orders.csv", "shop", "orders", 4],
    ["dlocal-payments.csv", "dlocal", "payments", 2],
    ["pagoefectivo-payments.csv", "pagoefectivo", "payments", 2],
    ["dlocal-settlement.tsv", "dlocal-settlement", "settlements", 1],
    ["pagoefectivo-settlement.csv", "pagoefectivo-settlement", "settlements", 2],
  ].map(([file, profile, kind, rows], i) => ({
    id: i + 1,
    kind: String(kind),
    profile: String(profile),
    file_name: `/home/fabio/reports/${String(file)}`,
    sha256: "9f2c".padEnd(64, String(i)),
    encoding: "UTF-8",
    rows_total: Number(rows),
    rows_new: Number(rows),
    rows_updated: 0,
    rows_unchanged: 0,
    rows_duplicate: 0,
    operator: "fabio",
    imported_at: iso(now - (5 - i) * 3600_000),
  }));
  const world: World = {
    operators,
    signedIn: null,
    settings: { settlement_lag_days: 3, amount_tolerance_minor: 0, idle_lock_minutes: Number(params.get("idle") ?? 15) },
    cases,
    hits,
    exceptions,
    history: new Map(),
    batches,
    audit: [],
  };
  if (params.get("first_run") === "1") world.operators = [];
  const as = params.get("as");
  const who = world.operators.find((o) => o.name === as);
  if (who) world.signedIn = { name: who.name, role: who.role as Role, language: (params.get("lang") ?? who.language) as Language };
  for (const b of batches) audit(world, "fabio", "import", `${b.kind} file ${b.file_name}`, "", JSON.stringify({ profile: b.profile, rows: b.rows_total }), b.imported_at);
  audit(world, "marta", "reconcile", "as of 2026-03-20", "", JSON.stringify({ open_exceptions: exceptions.filter((e) => e.status === "open").length }));
  return world;
}

/** An audit row, as the core would append it. */
export function audit(w: World, operator: string, action: string, subject: string, before: string, after: string, at?: string): void {
  const prev = w.audit[w.audit.length - 1];
  const id = (prev?.id ?? 0) + 1;
  w.audit.push({ id, at: at ?? iso(Date.now()), operator, action, subject, before, after, prev_hash: prev?.hash ?? "0".repeat(64), hash: id.toString(16).padStart(64, "a") });
}
