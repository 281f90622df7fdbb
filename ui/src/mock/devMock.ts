// A fake core behind `invoke`, for running the UI in a plain browser
// (`npm run dev:mock`, `npm run build:mock`) and taking screenshots. Only
// main.tsx imports it, under `import.meta.env.MODE === "mock"`, so it never
// reaches a production bundle.
//
// URL knobs: ?as=marta (start signed in as that operator), ?first_run=1,
// ?lang=zh, ?idle=1 (idle lock after 1 minute), ?no_dashboard=1 (as if the
// core had no `dashboard` command), and #/exceptions etc. for the screen.

import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type {
  BatchInfo,
  CaseFile,
  Currency,
  ExceptionQuery,
  ExceptionRecord,
  ExceptionSort,
  ImportKind,
  Language,
  Operator,
  PickedFile,
  Refund,
  ResolutionAction,
  Role,
  Settings,
  StepAction,
} from "../bindings";
import { EXCEPTION_KINDS } from "../api/types";

import { REFUND_NOT_SENT, SYNC_RUNNING } from "./fixtures";
import { DAY_MS, audit, fail, rng, STORES, strip, iso, buildWorld } from "./world";
import type { World } from "./world";

function me(w: World): Operator {
  return w.signedIn ?? fail("auth.denied", "no operator is signed in");
}

function forbidden(op: Operator, what: string): never {
  fail("auth.forbidden", `${op.name} (${op.role}) may not ${what}`);
}

function managerLike(op: Operator): boolean {
  return op.role === "manager" || op.role === "admin";
}

/**
 * The core's `step_action` for the signed-in operator (lookup::step_action),
 * faked for the mock's case files: the fixture's exception while it is open,
 * with the step's own resolution for a queue owner (manager, admin), else
 * escalate.
 */
function stepActionFor(op: Operator, c: CaseFile, exceptions: readonly ExceptionRecord[]): StepAction | null {
  const a = c.step_action;
  if (!a || !exceptions.some((e) => e.id === a.exception_id && e.status === "open")) return null;
  const step = c.verdict.next_step;
  const own: ResolutionAction = step === "release_order" ? "mark_received" : step === "link_order" ? "link" : "accept";
  return { ...a, action: managerLike(op) ? own : "escalate" };
}

function matches(e: ExceptionRecord, q: ExceptionQuery, now: number): boolean {
  if (q.kind && e.kind !== q.kind) return false;
  if (q.status && e.status !== q.status) return false;
  if (q.psp && e.psp !== q.psp) return false;
  if (q.country && e.country !== q.country) return false;
  if (q.store && e.store !== q.store) return false;
  if (q.assignee === "" && e.assignee !== null) return false;
  if (q.assignee && e.assignee !== q.assignee) return false;
  if (q.age) {
    const days = (now - Date.parse(e.detected_at)) / DAY_MS;
    const [lo, hi] = q.age === "d0_1" ? [0, 2] : q.age === "d2_7" ? [2, 8] : q.age === "d8_30" ? [8, 31] : [31, Infinity];
    if (days < lo || days >= hi) return false;
  }
  return true;
}

function sortValue(e: ExceptionRecord, sort: ExceptionSort): number {
  if (sort === "amount_asc" || sort === "amount_desc") return e.amount_minor ?? 0;
  if (sort === "age_asc" || sort === "age_desc") return Math.floor(Date.parse(e.detected_at) / 1000);
  return 0;
}

function sorted(rows: ExceptionRecord[], sort: ExceptionSort): ExceptionRecord[] {
  const dir = sort === "age_desc" || sort === "amount_asc" ? 1 : sort === "id" ? 1 : -1;
  // age_desc = oldest first = ascending detected_at
  return [...rows].sort((a, b) => {
    const d = (sortValue(a, sort) - sortValue(b, sort)) * dir;
    return d !== 0 ? d : a.id.localeCompare(b.id);
  });
}

/** The files "chosen" in the mock's dialogs, by token, as the shell keeps them (src-tauri/src/picked_files.rs). */
type FileUse = "read" | "csv" | "pdf";
const picked = new Map<string, { path: string; use: FileUse }>();

function pick(path: string, use: FileUse): PickedFile {
  const token = `mock-${picked.size + 1}-${Math.random().toString(16).slice(2)}`;
  picked.set(token, { path, use });
  return { token, name: path.slice(path.lastIndexOf("/") + 1), path };
}

/** The path behind a token, refused like the shell refuses; a save token is spent. */
function chosen(token: unknown, use: FileUse): string {
  const key = String(token);
  const file = picked.get(key) ?? fail("files.not_picked", "this file was not chosen in a dialog of this session: choose it again");
  if (file.use !== use) fail("files.not_picked", `this file was chosen for ${file.use}, not for ${use}: choose it again`);
  if (use !== "read") picked.delete(key);
  return file.path;
}

function suggest(path: string): { profile: string | null; kind: ImportKind | null; headers: string[] } {
  const name = path.toLowerCase();
  if (name.includes("pagoefectivo-settlement") || name.includes("liquidacion")) return { profile: "pagoefectivo-settlement", kind: "settlements", headers: ["CIP", "CODIGO_TRANSACCION", "MONEDA", "MONTO_BRUTO", "COMISION", "MONTO_NETO", "FECHA_LIQUIDACION"] };
  if (name.includes("dlocal-settlement")) return { profile: "dlocal-settlement", kind: "settlements", headers: ["TRANSACTION_ID", "DLOCAL_TRANSACTION_ID", "ROW_TYPE"] };
  if (name.includes("pagoefectivo")) return { profile: "pagoefectivo", kind: "payments", headers: ["CIP", "CODIGO_TRANSACCION", "MONEDA", "MONTO", "ESTADO"] };
  if (name.includes("dlocal")) return { profile: "dlocal", kind: "payments", headers: ["PAYMENT_ID", "ORDER_ID", "COUNTRY", "PAYMENT_METHOD_ID"] };
  if (name.includes("shop") || name.includes("orders")) return { profile: "shop", kind: "orders", headers: ["order_id", "store", "created_at", "buyer_name"] };
  return { profile: null, kind: null, headers: ["fecha", "referencia", "valor"] };
}

/** One file's import as the shell answers it: progress events, then the outcome (or a refusal). */
async function importOne(w: World, op: Operator, token: unknown, kind: string, profile: string) {
  const path = chosen(token, "read");
  const file = path.slice(path.lastIndexOf("/") + 1);
  const total = 250_000;
  for (let i = 1; i <= 6; i++) {
    await new Promise((r) => setTimeout(r, 250));
    await emit("import-progress", { rows: Math.round((total * i) / 6), elapsed_ms: i * 250, rows_per_s: 160_000 + i * 1000 });
  }
  if (file.includes("bad")) {
    fail(
      "import.bad_rows",
      `${path}: 2 bad rows; nothing was imported\n${path}:4: amount: "abc" is not a number\n${path}:4: created_at: "notadate" is not a date/time in a known layout\n${path}:17: currency: unknown currency "CLP" (expected one of COP, PEN, USD)`,
    );
  }
  const existing = w.batches.find((b) => b.file_name === path);
  if (existing) return { outcome: "already_imported", file: path, batch_id: existing.id, imported_at: existing.imported_at.slice(0, 16).replace("T", " ") + " UTC", operator: existing.operator };
  const batch: BatchInfo = { id: w.batches.length + 1, kind, profile, file_name: path, sha256: "b".repeat(64), encoding: "UTF-8", rows_total: total, rows_new: total - 1200, rows_updated: 1100, rows_unchanged: 80, rows_duplicate: 20, operator: op.name, imported_at: iso(Date.now()) };
  w.batches.push(batch);
  audit(w, op.name, "import", `${kind} file ${path}`, "", JSON.stringify({ profile, rows: total }));
  return { outcome: "imported", file: path, kind, profile, batch_id: batch.id, sha256: batch.sha256, encoding: "UTF-8", delimiter: "comma", rows: { total, new: batch.rows_new, updated: 1100, unchanged: 80, duplicate: 20 }, elapsed_ms: 1540 };
}

function genericCase(w: World, id: string): CaseFile {
  const hit = w.hits.find((h) => h.order_id === id);
  if (!hit) fail("store", `no order ${id}`);
  const paid = hit.status === "paid";
  const exps = w.exceptions.filter((e) => e.order_id === id);
  const created = Date.parse(hit.created_at);
  const psp = hit.country === "CO" ? "dlocal" : "pagoefectivo";
  const code = hit.country === "CO" ? `40000${id.slice(3)}` : `9${id.slice(3)}12`;
  return {
    order_id: id,
    buyer_name: hit.buyer_name,
    order: {
      order_id: id,
      store: STORES[hit.country as "CO" | "PE"][0],
      created_at: hit.created_at,
      buyer_name: hit.buyer_name,
      buyer_email: hit.buyer_email,
      buyer_phone: hit.country === "CO" ? "+57 300 000 0000" : "+51 900 000 000",
      buyer_document: "10203040",
      country: hit.country,
      amount_minor: hit.amount_minor,
      currency: hit.currency,
      status: hit.status,
      psp,
      psp_payment_id: `P-${id}`,
      voucher_code: code,
      voucher_expires_at: iso(created + 3 * DAY_MS),
      source: "/home/fabio/reports/shop-orders.csv:42",
    },
    payments: [
      {
        psp,
        payment_id: `P-${id}`,
        order_id: id,
        linked_order_id: null,
        country: hit.country,
        network: hit.country === "CO" ? "efecty" : "pagoefectivo",
        currency: hit.currency,
        amount_minor: hit.amount_minor,
        status: paid ? "paid" : "pending",
        psp_status: paid ? "PAID" : "PENDING",
        created_at: hit.created_at,
        paid_at: paid ? iso(created + DAY_MS / 3) : null,
        expires_at: iso(created + 3 * DAY_MS),
        voucher_code: code,
        history: [
          { status: "pending", psp_status: "PENDING", status_at: hit.created_at, observed_at: hit.created_at, source: "file", file: "/home/fabio/reports/dlocal-2026-03-01.csv", line: 17 },
          ...(paid ? [{ status: "paid", psp_status: "PAID", status_at: iso(created + DAY_MS / 3), observed_at: iso(created + DAY_MS), source: "api", file: null, line: null }] : []),
        ],
      },
    ],
    settlements: [],
    exceptions: exps,
    verdict: {
      code: paid ? "all_good" : "awaiting_payment",
      text: paid ? "Paid; the shop says paid" : "Not paid yet",
      facts: {
        country: hit.country,
        psp: "dlocal",
        network: "efecty",
        payment_id: null,
        amount_minor: null,
        currency: null,
        paid_at: paid ? iso(created + DAY_MS / 3) : null,
        taken_back_at: null,
        voucher_expires_at: null,
        shop_status: paid ? "paid" : "pending_payment",
        times_paid: null,
        settle_by: null,
        settle_business_days: null,
        recorded_payment_id: null,
        psp_still_pending: false,
      },
      next_step: paid ? "nothing_to_do" : "remind_buyer",
      buyer_message: paid ? "payment_received" : "voucher_instructions",
    },
    step_action: null,
  };
}

function handler(w: World, params: URLSearchParams) {
  return async (cmd: string, args?: Record<string, unknown> | unknown): Promise<unknown> => {
    const a = (args ?? {}) as Record<string, unknown>;
    const now = Date.now();
    switch (cmd) {
      case "app_status":
        return { first_run: w.operators.length === 0, db_path: "/home/ana/.local/share/voucherdesk/voucherdesk.sqlite", operator: w.signedIn, idle_lock_minutes: w.settings.idle_lock_minutes, version: "0.1.0 (dev mock)" };
      case "create_first_admin": {
        const name = String(a.name ?? "").trim();
        if (!name) fail("errors.validation", "operator names are 1 to 64 printable characters");
        if (String(a.password ?? "").length < 8) fail("errors.validation", "passwords are 8 to 256 characters");
        w.operators.push({ name, role: "admin", language: "en", disabled: false, can_sign_in: true, created_at: iso(now), created_by: name, password: String(a.password) });
        w.signedIn = { name, role: "admin", language: "en" };
        audit(w, name, "operator.add", name, "", "admin");
        return w.signedIn;
      }
      case "sign_in": {
        const o = w.operators.find((x) => x.name.toLowerCase() === String(a.name ?? "").trim().toLowerCase());
        if (!o || o.disabled || o.password !== a.password) {
          audit(w, String(a.name), "sign_in", String(a.name), "", "sign-in refused");
          fail("auth.denied", "wrong name or password");
        }
        w.signedIn = { name: o.name, role: o.role as Role, language: o.language as Language };
        audit(w, o.name, "sign_in", o.name, "", "signed in");
        return w.signedIn;
      }
      case "sign_out":
        if (w.signedIn) audit(w, w.signedIn.name, "sign_out", w.signedIn.name, "", "");
        w.signedIn = null;
        return null;
      case "set_language": {
        const op = me(w);
        const o = w.operators.find((x) => x.name === op.name);
        if (o) o.language = String(a.language);
        w.signedIn = { ...op, language: String(a.language) as Language };
        return w.signedIn;
      }
      case "search_orders": {
        me(w);
        const q = strip(String(a.query ?? "").trim());
        if (!q) fail("errors.validation", "the search text is empty");
        const words = q.split(/\s+/);
        const digits = q.replace(/\D/g, "");
        return w.hits
          .filter((h) => {
            const c = w.cases.get(h.order_id);
            const hay = strip([h.order_id, h.buyer_name, h.buyer_email, c?.order?.buyer_phone ?? "", c?.order?.voucher_code ?? "", c?.payments.map((p) => p.payment_id).join(" ") ?? ""].join(" "));
            return words.every((word) => hay.includes(word)) || (digits.length >= 6 && hay.replace(/\D/g, "").includes(digits));
          })
          .slice(0, Number(a.limit ?? 20));
      }
      case "case_file": {
        const op = me(w);
        const id = String(a.order_id);
        const c = w.cases.get(id) ?? genericCase(w, id);
        const exceptions = [...c.exceptions.map((e) => w.exceptions.find((x) => x.id === e.id) ?? e), ...w.exceptions.filter((x) => x.order_id === id && !c.exceptions.some((e) => e.id === x.id))];
        return { ...c, exceptions, step_action: stepActionFor(op, c, exceptions) };
      }
      case "exception_counts": {
        me(w);
        const q = (a.filter ?? {}) as ExceptionQuery;
        const by_kind: Record<string, number> = {};
        for (const k of EXCEPTION_KINDS) by_kind[k] = 0;
        const by_age: Record<string, number> = { d0_1: 0, d2_7: 0, d8_30: 0, over_30: 0 };
        for (const e of w.exceptions) {
          if (matches(e, { ...q, kind: null }, now)) by_kind[e.kind] = (by_kind[e.kind] ?? 0) + 1;
          if (matches(e, { ...q, age: null }, now)) {
            const d = (now - Date.parse(e.detected_at)) / DAY_MS;
            by_age[d < 2 ? "d0_1" : d < 8 ? "d2_7" : d < 31 ? "d8_30" : "over_30"]! += 1;
          }
        }
        const total = w.exceptions.filter((e) => matches(e, q, now)).length;
        return { by_kind, by_age, total };
      }
      case "exception_page": {
        me(w);
        const q = (a.filter ?? {}) as ExceptionQuery;
        const sort = (a.sort ?? "age_desc") as ExceptionSort;
        const page = (a.page ?? {}) as { after?: { id: string }; limit?: number };
        const limit = Math.min(page.limit ?? 200, 500);
        const rows = sorted(w.exceptions.filter((e) => matches(e, q, now)), sort);
        const start = page.after ? rows.findIndex((r) => r.id === page.after?.id) + 1 : 0;
        const slice = rows.slice(start, start + limit).map((e) => ({ ...e, age_days: Math.floor((now - Date.parse(e.detected_at)) / DAY_MS) }));
        const last = slice[slice.length - 1];
        await new Promise((r) => setTimeout(r, 40));
        return { rows: slice, next_after: slice.length === limit && last ? { value: sortValue(last, sort), id: last.id } : null };
      }
      case "exception_history": {
        me(w);
        const e = w.exceptions.find((x) => x.id === a.id);
        if (!e) fail("exceptions.not_found", `no exception with id "${String(a.id)}"`);
        return [{ at: e.detected_at, event: "detected", from_status: null, to_status: "open", operator: "marta", note: e.detail }, ...(w.history.get(e.id) ?? [])];
      }
      case "resolve_exceptions": {
        const op = me(w);
        const action = String(a.action);
        if (["write_off", "link", "mark_received"].includes(action) && !managerLike(op)) forbidden(op, `resolve exceptions with ${action}`);
        const note = String(a.note ?? "").trim();
        const ids = (a.ids ?? []) as string[];
        let resolved = 0;
        const failed: { id: string; code: string; message: string }[] = [];
        for (const id of ids) {
          const e = w.exceptions.find((x) => x.id === id);
          if (!e) {
            failed.push({ id, code: "exceptions.not_found", message: `no exception with id "${id}"` });
            continue;
          }
          if (!note) {
            failed.push({ id, code: "errors.validation", message: "a note is required to resolve an exception" });
            continue;
          }
          if (e.status !== "open") {
            failed.push({ id, code: "exceptions.already_closed", message: `exception ${id} is already ${e.status} (by ${e.resolved_by ?? "reconciliation"})` });
            continue;
          }
          Object.assign(e, { status: "resolved", resolution: action, resolved_by: op.name, resolved_at: iso(now), note });
          w.history.set(id, [...(w.history.get(id) ?? []), { at: iso(now), event: `resolved: ${action}`, from_status: "open", to_status: "resolved", operator: op.name, note }]);
          audit(w, op.name, "exception.resolve", `exception ${id}`, '{"status":"open"}', JSON.stringify({ status: "resolved", action, note }));
          resolved++;
        }
        return { resolved, failed };
      }
      case "assign_exceptions": {
        const op = me(w);
        if (!managerLike(op)) forbidden(op, "assign exceptions");
        const ids = (a.ids ?? []) as string[];
        const who = (a.assignee as string | null) ?? null;
        if (who && !w.operators.some((o) => o.name === who)) fail("auth.denied", `no operator named "${who}"`);
        let assigned = 0;
        for (const e of w.exceptions) {
          if (ids.includes(e.id)) {
            e.assignee = who;
            assigned++;
          }
        }
        audit(w, op.name, "exception.assign", `${ids.length} exception(s)`, "", JSON.stringify({ ids, assignee: who }));
        return { assigned };
      }
      case "link_candidates": {
        me(w);
        return w.hits.slice(5, 10).map((h) => ({ order_id: h.order_id, psp: "", payment_id: "", buyer_name: h.buyer_name, amount_minor: h.amount_minor, currency: h.currency, at: h.created_at }));
      }
      case "export_exceptions": {
        me(w);
        chosen(a.token, "csv");
        return { rows: w.exceptions.filter((e) => matches(e, (a.filter ?? {}) as ExceptionQuery, now)).length };
      }
      case "suggest_profile":
        me(w);
        return suggest(chosen(a.token, "read"));
      case "import_file": {
        const op = me(w);
        if (op.role === "support") forbidden(op, "import files");
        return importOne(w, op, a.token, String(a.kind), String(a.profile));
      }
      case "import_files": {
        const op = me(w);
        if (op.role === "support") forbidden(op, "import files");
        const files = a.files as { token: string; kind: string; profile: string }[];
        const ended = [];
        for (const f of files) {
          await emit("import-file-started", { token: f.token });
          let end;
          try {
            end = { token: f.token, outcome: await importOne(w, op, f.token, f.kind, f.profile), error: null };
          } catch (e) {
            end = { token: f.token, outcome: null, error: e as { code: string; message: string } };
          }
          await emit("import-file-ended", end);
          ended.push(end);
        }
        return ended;
      }
      case "import_history":
        me(w);
        return [...w.batches].reverse().slice(0, Number(a.limit ?? 50));
      case "reconcile_now": {
        const op = me(w);
        if (op.role === "support") forbidden(op, "run reconciliation");
        const open = w.exceptions.filter((e) => e.status === "open").length;
        audit(w, op.name, "reconcile", "now", "", JSON.stringify({ open_exceptions: open }));
        return { as_of: new Date().toISOString().slice(0, 10), orders: w.hits.length, payments: w.hits.length, settlements: 300, matched: w.hits.length - 60, exceptions: {}, open_exceptions: open, markets: {}, newly_opened: 0, cleared: 0, elapsed_ms: 12, rechecked_orders: null };
      }
      case "dashboard": {
        me(w);
        if (params.get("no_dashboard") === "1") throw "command dashboard not found";
        const market = String(a.market ?? "all");
        const pick = (e: { country: string }) => market === "all" || e.country === market;
        const open = w.exceptions.filter((e) => e.status === "open" && pick(e));
        const by = (f: (e: ExceptionRecord) => string) => open.reduce<Record<string, number>>((acc, e) => ((acc[f(e)] = (acc[f(e)] ?? 0) + 1), acc), {});
        const orders = w.hits.filter(pick).length * 25;
        const paidOrders = Math.round(orders * 0.83);
        const random = rng(market.length);
        const currencies = market === "all" ? ["COP", "PEN"] : market === "CO" ? ["COP"] : ["PEN"];
        const trend = currencies.flatMap((currency) =>
          Array.from({ length: 30 }, (_, i) => {
            const n = Math.round((currency === "COP" ? 140 : 70) + random() * 60);
            return { day: new Date(now - (29 - i) * DAY_MS).toISOString().slice(0, 10), currency, paid_count: n, paid_minor: n * (currency === "COP" ? 250_000_00 : 180_00) };
          }),
        );
        const money = currencies.map((currency) => (currency === "COP" ? { currency, paid: 1_843_250_000_00, settled: 1_702_110_000_00, n: 7400 } : { currency, paid: 842_513_50, settled: 790_104_20, n: 3100 }));
        const byKind = by((e) => e.kind);
        return {
          market: market === "all" ? null : market,
          as_of: "2026-03-20",
          orders,
          paid_orders: paidOrders,
          matched: Math.round(paidOrders * 0.912),
          match_rate_bp: 9120,
          open_by_kind: byKind,
          open_by_age: by((e) => {
            const d = (now - Date.parse(e.detected_at)) / DAY_MS;
            return d < 2 ? "d0_1" : d < 8 ? "d2_7" : d < 31 ? "d8_30" : "over_30";
          }),
          open_total: open.length,
          paid: money.map((m) => ({ currency: m.currency, count: m.n, amount_minor: m.paid })),
          settled: money.map((m) => ({ currency: m.currency, count: m.n - 400, amount_minor: m.settled })),
          trend,
          settled_out: money.flatMap((m) => [
            { row_type: "REFUND", currency: m.currency, count: 120, amount_minor: Math.round(m.paid * 0.01) },
            { row_type: "CHARGEBACK", currency: m.currency, count: 9, amount_minor: Math.round(m.paid * 0.002) },
            { row_type: "FEE", currency: m.currency, count: m.n - 400, amount_minor: Math.round(m.paid * 0.03) },
          ]),
        };
      }
      case "audit_page": {
        me(w);
        const from = a.from ? Date.parse(String(a.from)) : -Infinity;
        const to = a.to ? Date.parse(String(a.to)) : Infinity;
        // Newest first; after_id = the last (oldest) id of the previous page.
        const after = a.after_id === undefined || a.after_id === null ? Infinity : Number(a.after_id);
        return [...w.audit]
          .reverse()
          .filter((r) => r.id < after && (!a.operator || r.operator === a.operator) && (!a.action || r.action === a.action) && Date.parse(r.at) >= from && Date.parse(r.at) < to)
          .slice(0, Number(a.limit ?? 100));
      }
      case "audit_verify":
        me(w);
        return params.get("broken") === "1" ? { entries: w.audit.length, first_broken: { id: 3, reason: "entry 3 was altered after it was written" } } : { entries: w.audit.length, first_broken: null };
      case "settings_get":
        me(w);
        return w.settings;
      case "settings_set": {
        const op = me(w);
        if (op.role !== "admin") forbidden(op, "change settings");
        w.settings = a.settings as Settings;
        audit(w, op.name, "settings.set", "settings", "", JSON.stringify(w.settings));
        return w.settings;
      }
      case "operators_list":
        me(w);
        return w.operators.map(({ password: _password, ...o }) => o);
      case "operator_add": {
        const op = me(w);
        if (op.role !== "admin") forbidden(op, "manage operators");
        const name = String(a.name).trim();
        if (w.operators.some((o) => o.name === name)) fail("operators.conflict", `an operator named "${name}" exists`);
        w.operators.push({ name, role: String(a.role), language: "en", disabled: false, can_sign_in: true, created_at: iso(now), created_by: op.name, password: String(a.password) });
        audit(w, op.name, "operator.add", name, "", String(a.role));
        return { name, role: a.role, language: "en" };
      }
      case "operator_set_role": {
        const op = me(w);
        if (op.role !== "admin") forbidden(op, "manage operators");
        const o = w.operators.find((x) => x.name === a.name);
        if (!o) fail("auth.denied", `no operator named "${String(a.name)}"`);
        audit(w, op.name, "operator.set_role", o.name, o.role, String(a.role));
        o.role = String(a.role);
        return null;
      }
      case "operator_disable": {
        const op = me(w);
        if (op.role !== "admin") forbidden(op, "manage operators");
        const o = w.operators.find((x) => x.name === a.name);
        if (!o) fail("auth.denied", `no operator named "${String(a.name)}"`);
        o.disabled = true;
        audit(w, op.name, "operator.disable", o.name, "", "disabled");
        return null;
      }
      case "notification_log":
        // The dev mock keeps no outbox (preview and re-send need the real core).
        me(w);
        return [];
      case "pick_import_files":
        return ["/home/fabio/reports/dlocal-payments-2026-03.csv", "/home/fabio/reports/pagoefectivo-bad.csv"].map((p) => pick(p, "read"));
      case "pick_save_path":
        return a.kind === "pdf" ? pick("/home/marta/refund-receipt.pdf", "pdf") : pick("/home/marta/exceptions-export.csv", "csv");
      // team mode: `?team=online` or `?team=offline`; local otherwise
      case "team_status": {
        const team = params.get("team");
        if (team !== "online" && team !== "offline") return null;
        const online = team === "online";
        return {
          server: "voucherdesk@team.example:5432/voucherdesk",
          online,
          reason: online ? null : "cannot reach the team server voucherdesk@team.example:5432/voucherdesk: connection refused",
          offline_since: online ? null : new Date(now - 90_000).toISOString(),
          cursor: 1204,
          last_pull_at: new Date(now - 2_000).toISOString(),
          last_pull_rows: 0,
          leases: [{ name: "psp_sync", holder: "bogota-1/desktop#4242", expires_at: new Date(now + 25_000).toISOString(), mine: false }],
          leases_at: new Date(now - 2_000).toISOString(),
          this_desktop: "shenzhen-2/desktop#77",
        };
      }
      // Refunds: enough for the case file's panel, the dialog and the finance inbox.
      case "refunds_list": {
        me(w);
        const f = (a.filter ?? {}) as { order_id?: string; status?: string };
        const items = mockRefunds(w).filter((r) => (!f.order_id || r.order_id === f.order_id) && (!f.status || r.status === f.status));
        return { items, next_after: null };
      }
      case "refunds_refundable": {
        me(w);
        const p = mockPayment(w, String(a.payment_id));
        const inFlight = mockRefunds(w)
          .filter((r) => r.payment_id === p.payment_id)
          .reduce((n, r) => n + r.amount_minor, 0);
        return { paid_minor: p.amount_minor, succeeded_minor: 0, in_flight_minor: inFlight, refundable_minor: p.amount_minor - inFlight, currency: p.currency };
      }
      case "refunds_preview": {
        me(w);
        const p = mockPayment(w, String(a.payment_id));
        if (p.psp !== "dlocal" && a.method !== "bank_transfer")
          fail(
            "refunds.method_unsupported",
            `PagoEfectivo cannot pay a ${String(a.method)} from VoucherDesk (its API has no refund or payout): refund this payment by bank_transfer, which finance pays and records with the bank's reference and proof`,
          );
        const paidAt = p.paid_at ? Date.parse(p.paid_at) : 0;
        const past = now - paidAt > 15 * DAY_MS;
        if (past && a.method === "psp_refund") {
          fail(
            "refunds.window_passed",
            `the payment was made on ${(p.paid_at ?? "").slice(0, 10)}, more than 15 days ago: past the PSP's refund window a refund must be a cash_withdrawal (finance approves it)`,
          );
        }
        const text = String(a.amount ?? "");
        if (!/^\d+(\.\d{1,2})?$/.test(text)) fail("refunds.bad_amount", `refund amount: "${text}" is not a number`);
        const minor = Math.round(Number(text) * 100);
        const tier = past ? Math.max(2, minor <= 20_000_000 ? 1 : minor <= 200_000_000 ? 2 : 3) : minor <= 20_000_000 ? 1 : minor <= 200_000_000 ? 2 : 3;
        const roles = tier === 1 ? [] : tier === 2 ? ["finance"] : ["finance", "manager"];
        const refundable = { paid_minor: p.amount_minor, succeeded_minor: 0, in_flight_minor: 0, refundable_minor: p.amount_minor, currency: p.currency };
        return { amount_minor: minor, currency: p.currency, amount: text, tier, finance_required: past, required_approvals: roles, two_people: roles.length === 2, refundable, exceeds_refundable: minor > p.amount_minor, payout_limit: null, exceeds_limit: null };
      }
      case "sync_status":
        me(w);
        return {
          ...SYNC_RUNNING,
          last_round_at: iso(now - 20_000),
          last_success_at: iso(now - 20_000),
          queue_size: 12,
          due_now: 0,
          polls_total: 340,
          changes_total: 9,
        };
      case "backup_overview":
        me(w);
        // `?backup=failed` shows the warning banner.
        return {
          schedule: { folder: "/media/usb/voucherdesk-backups", every_hours: 24 },
          status: {
            last_attempt_at: iso(now - 3_600_000),
            last_attempt_folder: "/media/usb/voucherdesk-backups",
            last_success_at: iso(now - 90_000_000),
            last_success_file: "/media/usb/voucherdesk-backups/voucherdesk-auto-20260319T020000Z.vdbackup",
            last_removed: 1,
            last_failure_at: params.get("backup") === "failed" ? iso(now - 3_600_000) : null,
            last_failure_code: params.get("backup") === "failed" ? "backup.folder_missing" : null,
            last_failure_reason: params.get("backup") === "failed" ? "the backup folder /media/usb/voucherdesk-backups is not there (is its disk or share connected?)" : null,
          },
          health: params.get("backup") === "failed" ? "failed" : "healthy",
          keep_daily: 14,
          keep_monthly: 12,
          grace_hours: 6,
        };
      case "daily_report_schedule":
        me(w);
        return { at: "07:00", markets: ["CO", "PE"], recipients: ["finanzas@tienda.example"], format: "xlsx", set_by: "marta" };
      default:
        throw `command ${cmd} not found`;
    }
  };
}

function mockPayment(w: World, paymentId: string): CaseFile["payments"][number] {
  for (const c of w.cases.values()) {
    const p = c.payments.find((x) => x.payment_id === paymentId);
    if (p) return p;
  }
  return fail("refunds.unknown_payment", `no payment "${paymentId}" on record`);
}

/** Two refunds awaiting finance, on the sample cases' paid payments. */
function mockRefunds(w: World): Refund[] {
  const paid = [...w.cases.values()].flatMap((c) => c.payments.filter((p) => p.status === "paid" && p.psp === "dlocal")).slice(0, 2);
  return paid.map((p, i) => ({
    id: 41 + i,
    psp: p.psp,
    payment_id: p.payment_id,
    order_id: p.order_id ?? "",
    amount_minor: Math.round(p.amount_minor / (i === 0 ? 5 : 2)),
    currency: p.currency as Currency,
    amount: String(Math.round(p.amount_minor / (i === 0 ? 5 : 2)) / 100),
    reason: i === 0 ? "product_return" : "duplicate_payment",
    note: "",
    method: "cash_withdrawal",
    details: { kind: "cash_pickup", payee: { name: "Ángela Núñez", document_type: "CC", document_number: "1020304050", phone: "+573001112233" } },
    tier: 2,
    finance_required: true,
    status: "pending_approval",
    required_approvals: ["finance"],
    awaiting: ["finance"],
    approvals: [],
    idempotency_key: `mock-${i}`,
    additional: false,
    requested_by: "ana",
    requested_at: "2026-11-20T15:04:00Z",
    ...REFUND_NOT_SENT,
    payee_check: { name_matches: true, document_matches: true },
  }));
}

export function installDevMock(): void {
  const params = new URLSearchParams(window.location.search);
  const world = buildWorld(params);
  mockWindows("main");
  mockIPC(handler(world, params), { shouldMockEvents: true });
  const lang = params.get("lang");
  if (lang) localStorage.setItem("voucherdesk.language", lang);
  // ?measure=1: after the first render, writes how wide the page and each
  // scroller is into the DOM (read with `chromium --dump-dom`): anything wider
  // than the window scrolls sideways.
  if (params.get("measure")) {
    setTimeout(() => {
      const out: string[] = [`window=${window.innerWidth} page=${document.documentElement.scrollWidth}`];
      for (const el of Array.from(document.querySelectorAll<HTMLElement>("body *"))) {
        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== "visible" && el.clientWidth > 0) {
          out.push(`${el.tagName.toLowerCase()}.${el.className || el.dataset.testid || ""} ${el.clientWidth}<${el.scrollWidth}`);
        }
      }
      const header = document.querySelector(".app-header");
      if (header) out.push(`header ${header.clientWidth}<${header.scrollWidth}`);
      const pre = document.createElement("pre");
      pre.id = "measure";
      pre.textContent = out.join("\n");
      document.body.appendChild(pre);
    }, Number(params.get("measure")) || 2500);
  }
  // eslint-disable-next-line no-console
  console.info("[voucherdesk] dev mock installed: no real core behind invoke()");
}
