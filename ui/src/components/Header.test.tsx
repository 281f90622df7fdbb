import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, screen } from "@testing-library/react";
import "../i18n";
import { ADMIN, ipc, renderSignedIn, useLanguage } from "../test/helpers";
import { Header } from "./Header";

describe("the header's account menu", () => {
  beforeEach(async () => {
    await useLanguage("en");
    ipc(() => {
      throw { code: "ipc", message: "no core in this test" };
    });
  });

  it("shows who is signed in and opens language, Lock and Sign out; Esc closes it back to its button", () => {
    let locked = 0;
    let signedOut = 0;
    renderSignedIn(<Header screen="lookup" onLock={() => (locked += 1)} />, ADMIN, {
      signOut: async () => {
        signedOut += 1;
      },
    });
    const button = screen.getByTestId("account-menu");
    const who = screen.getByTestId("current-operator");
    expect([who.dataset.name, who.dataset.role, who.textContent]).toEqual(["admin", "admin", "admin"]);
    expect(button.getAttribute("aria-label")).toBe("Account: Signed in as admin (Admin)");
    expect(button.getAttribute("aria-expanded")).toBe("false");
    // Closed: nothing of the menu is in the page.
    for (const id of ["account-menu-panel", "language-select", "lock-now", "sign-out"]) expect(screen.queryByTestId(id)).toBeNull();

    button.focus();
    fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    expect(document.activeElement).toBe(screen.getByTestId("language-select"));
    fireEvent.keyDown(document.activeElement as HTMLElement, { key: "Escape" });
    expect(screen.queryByTestId("account-menu-panel")).toBeNull();
    expect(document.activeElement).toBe(button);

    fireEvent.click(button);
    fireEvent.click(screen.getByTestId("lock-now"));
    expect(locked).toBe(1);
    expect(screen.queryByTestId("account-menu-panel")).toBeNull();
    fireEvent.click(button);
    fireEvent.click(screen.getByTestId("sign-out"));
    expect(signedOut).toBe(1);
  });

  it("says which build this is: version, commit and database schema", () => {
    renderSignedIn(<Header screen="lookup" onLock={() => undefined} />, ADMIN);
    fireEvent.click(screen.getByTestId("account-menu"));
    expect(screen.getByTestId("about-version").textContent).toBe("VoucherDesk 0.1.0 (commit test, schema 17)");
  });

  it("closes on a click outside", () => {
    renderSignedIn(<Header screen="lookup" onLock={() => undefined} />, ADMIN);
    fireEvent.click(screen.getByTestId("account-menu"));
    expect(screen.getByTestId("account-menu-panel")).toBeTruthy();
    fireEvent.mouseDown(screen.getByTestId("nav-lookup"));
    expect(screen.queryByTestId("account-menu-panel")).toBeNull();
  });

  it("offers the admin every screen in one row of tabs, with the sync state as an icon", () => {
    renderSignedIn(<Header screen="lookup" onLock={() => undefined} />, ADMIN);
    expect(screen.getAllByRole("button").filter((b) => b.dataset.testid?.startsWith("nav-")).map((b) => b.dataset.testid)).toEqual([
      "nav-lookup",
      "nav-exceptions",
      "nav-imports",
      "nav-dashboard",
      "nav-audit",
      "nav-settings",
      "nav-inbox",
      "nav-refunds",
      "nav-notifications",
    ]);
    expect(screen.getByTestId("sync-indicator").getAttribute("data-state")).toBe("loading");
  });
});
