import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { renderHook } from "@testing-library/react";
import "../i18n";
import { LookupScreen } from "./Lookup";
import { SAMPLE_CASES } from "../mock/fixtures";
import { ANA, MARTA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { SEARCH_DEBOUNCE_MS, useDebounced } from "../lib/useDebounced";
import type { OrderHit } from "../bindings";

const jose = SAMPLE_CASES[0]!;
const HIT: OrderHit = {
  order_id: jose.order_id,
  buyer_name: jose.buyer_name,
  buyer_email: jose.order!.buyer_email,
  country: "CO",
  amount_minor: jose.order!.amount_minor,
  currency: "COP",
  status: "pending_payment",
  created_at: jose.order!.created_at,
};

function core() {
  return ipc((cmd, args) => {
    if (cmd === "search_orders") return String(args.query).includes("nunez") ? [HIT] : [];
    if (cmd === "case_file") return jose;
    if (cmd === "notification_log") return [];
    if (cmd === "plugin:event|listen") return 1;
    throw { code: "ipc", message: `unexpected ${cmd}` };
  });
}

describe("search debounce", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("settles on the last value after the pause", () => {
    vi.useFakeTimers();
    const { result, rerender } = renderHook(({ v }) => useDebounced(v, SEARCH_DEBOUNCE_MS), { initialProps: { v: "n" } });
    rerender({ v: "nu" });
    rerender({ v: "nun" });
    act(() => {
      vi.advanceTimersByTime(SEARCH_DEBOUNCE_MS - 1);
    });
    expect(result.current).toBe("n");
    act(() => {
      vi.advanceTimersByTime(1);
    });
    expect(result.current).toBe("nun");
    expect(SEARCH_DEBOUNCE_MS).toBe(150);
  });

  it("asks the core once for a burst of keystrokes, with the final text", async () => {
    const calls = core();
    renderSignedIn(<LookupScreen />);
    const box = screen.getByTestId("lookup-search");
    for (const text of ["n", "nu", "nun", "nune", "nunez"]) fireEvent.change(box, { target: { value: text } });
    expect(calls.filter((c) => c.cmd === "search_orders")).toHaveLength(0);
    await screen.findByTestId("lookup-result-CO-1001");
    const searches = calls.filter((c) => c.cmd === "search_orders");
    expect(searches).toHaveLength(1);
    expect(searches[0]?.args).toEqual({ query: "nunez", limit: 20 });
  });
});

describe("lookup screen", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("finds José Núñez and shows the verdict, voucher and timeline", async () => {
    const calls = core();
    renderSignedIn(<LookupScreen />);
    fireEvent.change(screen.getByTestId("lookup-search"), { target: { value: "jose nunez" } });
    fireEvent.click(await screen.findByTestId("lookup-result-CO-1001"));
    const verdict = await screen.findByTestId("case-verdict");
    expect(verdict.dataset.code).toBe("deliver_order");
    expect(screen.getByTestId("verdict-sentence").textContent).toBe("Paid, but the shop has not recorded it: deliver the order.");
    expect(screen.getByTestId("verdict-detail").textContent).toBe("Paid at Efecty on Mar 4, 2026, 22:30 Bogotá time; the shop still says awaiting payment.");
    // The next step and its button: support hands the paid-not-recorded exception on to a manager.
    expect(verdict.dataset.nextStep).toBe("release_order");
    expect(screen.getByTestId("verdict-next-step").textContent).toBe("Next step: Confirm the payment so that the shop ships the order");
    const action = screen.getByTestId("verdict-action");
    expect(action.dataset.action).toBe("escalate");
    expect(action.dataset.exception).toBe(jose.exceptions.find((e) => e.kind === "paid_not_recorded")!.id);
    // A paid order is offered "payment received", never the voucher instructions.
    expect(screen.getByTestId("verdict-send").dataset.kind).toBe("payment_received");
    expect((screen.getByTestId("resend-kind") as HTMLSelectElement).value).toBe("payment_received");
    // The core's English sentence stays behind the details toggle.
    expect(screen.getByTestId("verdict-text").textContent).toContain("→ deliver the order");
    expect(calls.find((c) => c.cmd === "case_file")?.args).toEqual({ order_id: "CO-1001" });
    expect(screen.getByTestId("voucher-network").textContent).toBe("Efecty");
    expect(screen.getByTestId("voucher-code").textContent).toBe("4000005001");
    expect(screen.getByTestId("voucher-amount").textContent).toBe("$ 125.000");
    expect(screen.getByTestId("voucher-barcode").dataset.format).toBe("ITF");
    expect(screen.getByTestId("voucher-countdown").dataset.expired).toBe("true");
    expect(screen.getByTestId("timeline-source").textContent).toBe("dlocal-payments.csv:2");
    // Support is offered accept/escalate only.
    const id = jose.exceptions[0]!.id;
    expect(screen.getByTestId(`case-exception-${id}-accept`)).toBeTruthy();
    expect(screen.queryByTestId(`case-exception-${id}-write_off`)).toBeNull();
    // The age counts from the business event; the detection time is beside it.
    expect(screen.getByTestId(`case-exception-${id}-age`).textContent).toBe(`${jose.exceptions[0]!.age_days} d since the payment or order`);
    expect(screen.getByTestId(`case-exception-${id}`).textContent).toContain("detected ");
  });

  it("says the verdict in Spanish and Chinese", async () => {
    core();
    await useLanguage("es");
    const view = renderSignedIn(<LookupScreen initialOrder="CO-1001" />);
    expect((await screen.findByTestId("verdict-sentence")).textContent).toBe("Pagado, pero la tienda no lo registró: entregue el pedido.");
    expect(screen.getByTestId("verdict-detail").textContent).toBe("Pagado en Efecty el 4 de mar de 2026, 22:30 hora de Bogotá; la tienda aún dice pendiente de pago.");
    expect(screen.getByTestId("verdict-next-step").textContent).toBe("Siguiente paso: Confirme el pago para que la tienda despache el pedido");
    view.unmount();
    await useLanguage("zh");
    renderSignedIn(<LookupScreen initialOrder="CO-1001" />);
    expect((await screen.findByTestId("verdict-sentence")).textContent).toBe("已付款，但商店尚未记录：请发货。");
    const detail = screen.getByTestId("verdict-detail").textContent ?? "";
    expect(detail).toBe("已于 2026年3月4日 22:30 波哥大时间 在 Efecty 付款；商店仍显示「待付款」。");
    expect(detail).not.toMatch(/Paid|pending_payment|deliver/);
    expect(screen.getByTestId("voucher-paid-at").textContent).toMatch(/ · 2026年3月4日 22:30 波哥大时间$/);
    await useLanguage("en");
  });

  it("offers write-off, link and mark-received to a manager", async () => {
    core();
    renderSignedIn(<LookupScreen initialOrder="CO-1001" />, MARTA);
    await screen.findByTestId("case-verdict");
    const id = jose.exceptions[0]!.id;
    for (const a of ["accept", "escalate", "mark_received", "write_off", "link"]) expect(screen.getByTestId(`case-exception-${id}-${a}`)).toBeTruthy();
  });

  it("the verdict's buttons: a manager confirms the money, the buyer message opens its preview", async () => {
    // The core reads the case file for the signed-in manager.
    const forManager = { ...jose, step_action: { ...jose.step_action!, action: "mark_received" } };
    const calls = ipc((cmd, args) => {
      if (cmd === "case_file") return forManager;
      if (cmd === "notification_log") return [];
      if (cmd === "notification_preview")
        return { order_id: "CO-1001", kind: args.kind, channel: args.channel, locale: "es-CO", recipient: "jose@example.com", subject: "Pago recibido", text: "Recibimos tu pago", html: "" };
      if (cmd === "plugin:event|listen") return 1;
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<LookupScreen initialOrder="CO-1001" />, MARTA);
    const action = await screen.findByTestId("verdict-action");
    expect(action.dataset.action).toBe("mark_received");
    fireEvent.click(action);
    expect(await screen.findByTestId("resolve-dialog")).toBeTruthy();
    expect((screen.getByTestId("resolve-dialog").textContent ?? "").length).toBeGreaterThan(0);
    fireEvent.click(screen.getByTestId("resolve-dialog-close"));
    fireEvent.click(screen.getByTestId("verdict-send"));
    await screen.findByTestId("resend-preview-dialog");
    expect(calls.find((c) => c.cmd === "notification_preview")?.args).toMatchObject({ order_id: "CO-1001", kind: "payment_received" });
  });

  it("shows the core's refusal for a search", async () => {
    ipc(() => {
      throw { code: "errors.validation", message: "the search text is longer than 200 characters" };
    });
    render(<div />);
    renderSignedIn(<LookupScreen />, ANA);
    fireEvent.change(screen.getByTestId("lookup-search"), { target: { value: "x".repeat(201) } });
    const err = await screen.findByTestId("lookup-error");
    expect(err.dataset.code).toBe("errors.validation");
    await waitFor(() => expect(screen.getByTestId("lookup-error-detail").textContent).toContain("longer than 200"));
  });
});
