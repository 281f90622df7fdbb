import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import "./i18n";
import { App } from "./App";
import { ipc, useLanguage } from "./test/helpers";

describe("app start, first run, sign-in, language", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("first run creates the admin (passwords must match) and opens the console", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "app_status") return { first_run: true, db_path: "/x.sqlite", operator: null, idle_lock_minutes: 0 };
      if (cmd === "create_first_admin") return { name: "root", role: "admin", language: "en" };
      if (cmd === "exception_counts") return { by_kind: {}, by_age: {}, total: 0 };
      if (cmd === "exception_page") return { rows: [], next_after: null };
      return null;
    });
    render(<App />);
    fireEvent.change(await screen.findByTestId("first-run-name"), { target: { value: "root" } });
    fireEvent.change(screen.getByTestId("first-run-password"), { target: { value: "correct horse" } });
    fireEvent.change(screen.getByTestId("first-run-password-again"), { target: { value: "correct hors" } });
    fireEvent.click(screen.getByTestId("first-run-submit"));
    expect((await screen.findByTestId("first-run-problem")).textContent).toBe("The two passwords differ");
    fireEvent.change(screen.getByTestId("first-run-password-again"), { target: { value: "correct horse" } });
    fireEvent.click(screen.getByTestId("first-run-submit"));
    expect((await screen.findByTestId("current-operator")).dataset.role).toBe("admin");
    expect(calls.find((c) => c.cmd === "create_first_admin")?.args).toEqual({ name: "root", password: "correct horse" });
    expect(screen.getByTestId("app").dataset.screen).toBe("exceptions");
    // The next step: import the first files.
    expect(screen.getByTestId("first-run-next").textContent).toContain("Your admin account is ready.");
    fireEvent.click(screen.getByTestId("first-run-import"));
    await waitFor(() => expect(screen.getByTestId("app").dataset.screen).toBe("imports"));
    expect(screen.queryByTestId("first-run-next")).toBeNull();
    expect(calls.some((c) => c.cmd === "set_language")).toBe(false);
  });

  it("first run starts in the name field and keeps the language it was done in", async () => {
    const calls = ipc((cmd, args) => {
      if (cmd === "app_status") return { first_run: true, db_path: "/x.sqlite", operator: null, idle_lock_minutes: 0 };
      if (cmd === "create_first_admin") return { name: "root", role: "admin", language: "en" };
      if (cmd === "set_language") return { name: "root", role: "admin", language: args.language };
      if (cmd === "exception_counts") return { by_kind: {}, by_age: {}, total: 0 };
      if (cmd === "exception_page") return { rows: [], next_after: null };
      return null;
    });
    render(<App />);
    const name = await screen.findByTestId("first-run-name");
    expect(document.activeElement).toBe(name);
    fireEvent.change(screen.getByTestId("language-select"), { target: { value: "es" } });
    await waitFor(() => expect(screen.getByTestId("first-run-submit").textContent).toBe("Crear administrador"));
    fireEvent.change(screen.getByTestId("first-run-password"), { target: { value: "correct horse" } });
    fireEvent.change(screen.getByTestId("first-run-password-again"), { target: { value: "correct horse" } });
    fireEvent.click(screen.getByTestId("first-run-submit"));
    expect((await screen.findByTestId("first-run-import")).textContent).toBe("Importe sus primeros archivos");
    expect(calls.find((c) => c.cmd === "set_language")?.args).toEqual({ language: "es" });
  });

  it("keeps the language picked on the sign-in screen and saves it for the operator", async () => {
    await useLanguage("en");
    const calls = ipc((cmd, args) => {
      if (cmd === "app_status") return { first_run: false, db_path: "/x.sqlite", operator: null, idle_lock_minutes: 15, version: "0.1.0 (commit test, schema 17)" };
      if (cmd === "sign_in") return { name: "ana", role: "support", language: "es" };
      if (cmd === "set_language") return { name: "ana", role: "support", language: args.language };
      return null;
    });
    render(<App />);
    fireEvent.change(await screen.findByTestId("language-select"), { target: { value: "zh" } });
    await waitFor(() => expect(screen.getByTestId("sign-in-submit").textContent).toBe("登录"));
    fireEvent.change(screen.getByTestId("sign-in-name"), { target: { value: "ana" } });
    fireEvent.change(screen.getByTestId("sign-in-password"), { target: { value: "voucherdesk-ana" } });
    fireEvent.click(screen.getByTestId("sign-in-submit"));
    expect((await screen.findByTestId("nav-lookup")).textContent).toBe("查询");
    expect(calls.filter((c) => c.cmd === "set_language").map((c) => c.args)).toEqual([{ language: "zh" }]);
  });

  it("refused sign-in shows the localised message; the operator's language applies on sign-in", async () => {
    const calls = ipc((cmd, args) => {
      if (cmd === "app_status") return { first_run: false, db_path: "/x.sqlite", operator: null, idle_lock_minutes: 15, version: "0.1.0 (commit test, schema 17)" };
      if (cmd === "sign_in") {
        if (args.password !== "voucherdesk-ana") throw { code: "auth.denied", message: "wrong name or password" };
        return { name: "ana", role: "support", language: "es" };
      }
      if (cmd === "set_language") return { name: "ana", role: "support", language: args.language };
      return null;
    });
    render(<App />);
    fireEvent.change(await screen.findByTestId("sign-in-name"), { target: { value: "ana" } });
    fireEvent.change(screen.getByTestId("sign-in-password"), { target: { value: "nope-nope" } });
    fireEvent.click(screen.getByTestId("sign-in-submit"));
    expect((await screen.findByTestId("sign-in-error-headline")).textContent).toBe("Wrong name or password");
    fireEvent.change(screen.getByTestId("sign-in-password"), { target: { value: "voucherdesk-ana" } });
    fireEvent.click(screen.getByTestId("sign-in-submit"));
    expect((await screen.findByTestId("nav-lookup")).textContent).toBe("Consulta");
    expect(screen.getByTestId("app").dataset.screen).toBe("lookup");
    // Switch to Chinese from the header's account menu: remembered for the operator.
    expect(screen.queryByTestId("language-select")).toBeNull();
    fireEvent.click(screen.getByTestId("account-menu"));
    fireEvent.change(screen.getByTestId("language-select"), { target: { value: "zh" } });
    expect((await screen.findByText("查询")).dataset.testid).toBe("nav-lookup");
    expect(calls.find((c) => c.cmd === "set_language")?.args).toEqual({ language: "zh" });
    expect(document.documentElement.lang).toBe("zh-CN");
  });

  it("locks and unlocks with the operator's password", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "app_status") return { first_run: false, db_path: "/x.sqlite", operator: { name: "ana", role: "support", language: "en" }, idle_lock_minutes: 15, version: "0.1.0 (commit test, schema 17)" };
      if (cmd === "sign_in") return { name: "ana", role: "support", language: "en" };
      return null;
    });
    render(<App />);
    fireEvent.click(await screen.findByTestId("account-menu"));
    fireEvent.click(screen.getByTestId("lock-now"));
    expect(await screen.findByTestId("lock-screen")).toBeTruthy();
    expect(screen.getByTestId("lock-reason").textContent).toBe("ana, you locked the console. Enter your password to go on.");
    fireEvent.change(screen.getByTestId("lock-password"), { target: { value: "voucherdesk-ana" } });
    fireEvent.click(screen.getByTestId("lock-submit"));
    expect(await screen.findByTestId("app")).toBeTruthy();
    expect(calls.find((c) => c.cmd === "sign_in")?.args).toEqual({ name: "ana", password: "voucherdesk-ana" });
  });

  it("shows a clear message when the core cannot be reached", async () => {
    ipc(() => {
      throw { code: "store", message: "cannot open the database" };
    });
    render(<App />);
    expect((await screen.findByTestId("error")).dataset.code).toBe("store");
  });
});

describe("the core's own session lock", () => {
  it("shows the lock screen when a command answers auth.locked", async () => {
    ipc((cmd) => {
      if (cmd === "app_status") return { first_run: false, db_path: "/x.sqlite", operator: { name: "ana", role: "support", language: "en" }, idle_lock_minutes: 15, version: "0.1.0 (commit test, schema 17)" };
      if (cmd === "search_orders") throw { code: "auth.locked", message: "the session of ana locked itself after 15 idle minutes; sign in again" };
      return null;
    });
    render(<App />);
    fireEvent.change(await screen.findByTestId("lookup-search"), { target: { value: "nunez" } });
    expect(await screen.findByTestId("lock-screen")).toBeTruthy();
  });
});

describe("the queue's warm-up render", () => {
  const support = (cmd: string) => {
    if (cmd === "app_status") return { first_run: false, db_path: "/x.sqlite", operator: { name: "ana", role: "support", language: "en" }, idle_lock_minutes: 0 };
    if (cmd === "exception_counts") return { by_kind: {}, by_age: {}, total: 0 };
    if (cmd === "exception_page") return { rows: [], next_after: null };
    return null;
  };

  it("renders the queue out of sight after sign-in and drops it the moment the operator navigates", async () => {
    const calls = ipc(support);
    render(<App />);
    await screen.findByTestId("lookup-search");
    const warm = await screen.findByTestId("warm-up", {}, { timeout: 4_000 });
    expect(warm.getAttribute("aria-hidden")).toBe("true");
    expect(warm.hasAttribute("inert")).toBe(true);
    expect(warm.querySelector('[data-testid="exception-table"]')).not.toBeNull();
    // The page request follows the table's first render: wait for it, then
    // make sure the warm-up asked exactly once.
    await waitFor(() => expect(calls.filter((c) => c.cmd === "exception_page")).toHaveLength(1));
    fireEvent.click(screen.getByTestId("nav-exceptions"));
    // In the same render: never two queues in the page.
    expect(screen.queryByTestId("warm-up")).toBeNull();
    expect(screen.getAllByTestId("exception-table")).toHaveLength(1);
  });

  it("goes away by itself", async () => {
    ipc(support);
    render(<App />);
    await screen.findByTestId("warm-up", {}, { timeout: 4_000 });
    await waitFor(() => expect(screen.queryByTestId("warm-up")).toBeNull(), { timeout: 4_000 });
    expect(screen.getByTestId("app").dataset.screen).toBe("lookup");
  });
});
