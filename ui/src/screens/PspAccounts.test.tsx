import { describe, expect, it } from "vitest";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import "../i18n";
import { PspAccounts } from "./PspAccounts";
import { ipc, renderSignedIn, useLanguage } from "../test/helpers";
import type { PspAccountRow } from "../bindings";

const ROOT = { name: "root", role: "admin" as const, language: "en" as const };
const ROW: PspAccountRow = {
  name: "co-main",
  psp: "dlocal",
  base_url: "http://127.0.0.1:8717",
  created_at: "2026-03-20T15:00:00Z",
  created_by: "root",
  rotated_at: null,
  last_test: null,
  secret_present: true,
};

describe("PSP accounts", () => {
  it("sends the typed secrets once and clears them from the form", async () => {
    await useLanguage("en");
    let rows: PspAccountRow[] = [];
    const calls = ipc((cmd) => {
      if (cmd === "psp_accounts_list") return rows;
      if (cmd === "psp_account_add") {
        rows = [ROW];
        return ROW;
      }
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<PspAccounts />, ROOT);
    await screen.findByText("No PSP account yet");
    fireEvent.change(screen.getByTestId("psp-add-name"), { target: { value: "co-main" } });
    fireEvent.change(screen.getByTestId("psp-add-base-url"), { target: { value: "http://127.0.0.1:8717" } });
    for (const [f, v] of [["login", "lg-1"], ["trans_key", "tk-2"], ["secret", "sk-3"]] as const) {
      const input = screen.getByTestId(`psp-add-${f}`) as HTMLInputElement;
      expect(input.type).toBe("password");
      fireEvent.change(input, { target: { value: v } });
    }
    fireEvent.click(screen.getByTestId("psp-add-submit"));
    await screen.findByTestId("psp-account-co-main");
    const add = calls.find((c) => c.cmd === "psp_account_add");
    expect(add?.args).toEqual({ name: "co-main", psp: "dlocal", base_url: "http://127.0.0.1:8717", secrets: { login: "lg-1", trans_key: "tk-2", secret: "sk-3" } });
    for (const f of ["login", "trans_key", "secret"]) expect((screen.getByTestId(`psp-add-${f}`) as HTMLInputElement).value).toBe("");
    expect(document.body.innerHTML).not.toContain("sk-3");
  });

  it("shows a failed connection test with the PSP's refusal", async () => {
    let rows: PspAccountRow[] = [ROW];
    ipc((cmd) => {
      if (cmd === "psp_accounts_list") return rows;
      if (cmd === "psp_account_test") {
        const last_test = { ok: false, message: "dLocal payment status: credentials or signature refused (HTTP 403, dLocal code 3001): Invalid Credentials. [dlocal.credentials]", at: "2026-03-20T15:01:00Z" };
        rows = [{ ...ROW, last_test }];
        return last_test;
      }
      throw { code: "ipc", message: `unexpected ${cmd}` };
    });
    renderSignedIn(<PspAccounts />, ROOT);
    fireEvent.click(await screen.findByTestId("psp-account-test-co-main"));
    await waitFor(() => expect(screen.getByTestId("psp-account-test-result").getAttribute("data-ok")).toBe("false"));
    expect(screen.getByTestId("psp-account-test-result").textContent).toContain("dLocal code 3001");
  });
});
