import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen } from "@testing-library/react";
import "../i18n";
import { VerdictPanel } from "./VerdictPanel";
import { MARTA, renderSignedIn, useLanguage } from "../test/helpers";
import { SAMPLE_CASES } from "../mock/fixtures";
import type { CaseFile, ResolutionAction } from "../bindings";

const jose = SAMPLE_CASES[0]!;
const PAID_NOT_RECORDED = "EX-53d74298bf712919";

describe("the verdict's step button", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("is the core's step action: its exception, its action, the exception's market", () => {
    const resolved: [string, ResolutionAction, string][] = [];
    const file: CaseFile = {
      ...jose,
      exceptions: jose.exceptions.map((e) => (e.id === PAID_NOT_RECORDED ? { ...e, country: "PE" } : e)),
      step_action: { exception_id: PAID_NOT_RECORDED, kind: "paid_not_recorded", action: "mark_received" },
    };
    renderSignedIn(<VerdictPanel file={file} onResolve={(...args) => resolved.push(args)} />, MARTA);
    const button = screen.getByTestId("verdict-action");
    expect(button.dataset.action).toBe("mark_received");
    expect(button.dataset.exception).toBe(PAID_NOT_RECORDED);
    expect(button.textContent).toBe("Mark received · Paid, not recorded");
    fireEvent.click(button);
    expect(resolved).toEqual([[PAID_NOT_RECORDED, "mark_received", "PE"]]);
  });

  it("shows no step button when the core gives no step action, even with the step's exception open", () => {
    expect(jose.verdict.next_step).toBe("release_order");
    expect(jose.exceptions.find((e) => e.id === PAID_NOT_RECORDED)?.status).toBe("open");
    renderSignedIn(<VerdictPanel file={{ ...jose, step_action: null }} onResolve={() => undefined} />, MARTA);
    expect(screen.queryByTestId("verdict-action")).toBeNull();
    expect(screen.getByTestId("verdict-next-step").textContent).toBe("Next step: Confirm the payment so that the shop ships the order");
  });

  it("words the support operator's escalation as the core sends it", () => {
    renderSignedIn(<VerdictPanel file={jose} onResolve={() => undefined} />);
    const button = screen.getByTestId("verdict-action");
    expect(button.dataset.action).toBe("escalate");
    expect(button.dataset.exception).toBe(PAID_NOT_RECORDED);
  });
});
