import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { renderHook } from "@testing-library/react";
import "../i18n";
import { LookupScreen } from "./Lookup";
import { SAMPLE_CASES } from "../mock/fixtures";
import { ANA, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { SEARCH_DEBOUNCE_MS, useDebounced } from "../lib/useDebounced";
import type { OrderHit } from "../api/types";

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
    expect(screen.getByTestId("verdict-detail").textContent).toBe("Paid at Efecty on 4 Mar 22:30 Bogotá; the shop still says pending_payment → deliver the order");
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
    view.unmount();
    await useLanguage("zh");
    renderSignedIn(<LookupScreen initialOrder="CO-1001" />);
    expect((await screen.findByTestId("verdict-sentence")).textContent).toBe("已付款，但商店尚未记录：请发货。");
    expect(screen.getByTestId("voucher-paid-at").textContent).toMatch(/ · 2026年3月4日 22:30 波哥大时间$/);
    await useLanguage("en");
  });

  it("offers write-off, link and mark-received to a manager", async () => {
    core();
    renderSignedIn(<LookupScreen initialOrder="CO-1001" />, { name: "marta", role: "manager", language: "en" });
    await screen.findByTestId("case-verdict");
    const id = jose.exceptions[0]!.id;
    for (const a of ["accept", "escalate", "mark_received", "write_off", "link"]) expect(screen.getByTestId(`case-exception-${id}-${a}`)).toBeTruthy();
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
