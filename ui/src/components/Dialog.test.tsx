import { useState } from "react";
import { beforeEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/react";
import "../i18n";
import { useLanguage } from "../test/helpers";
import { Dialog, Drawer } from "./Dialog";

/** A page with an opener, a dialog or drawer, and something behind that listens for Esc. */
function Page({ kind }: { kind: "dialog" | "drawer" }) {
  const [open, setOpen] = useState(false);
  const [escBehind, setEscBehind] = useState(0);
  const Frame = kind === "dialog" ? Dialog : Drawer;
  return (
    <div
      onKeyDown={(e) => {
        if (e.key === "Escape") setEscBehind((n) => n + 1);
      }}
    >
      <button type="button" onClick={() => setOpen(true)} data-testid="opener">
        open
      </button>
      <span data-testid="esc-behind">{escBehind}</span>
      {open && (
        <Frame title="Test" onClose={() => setOpen(false)} testId="frame">
          <label>
            Name <input data-testid="first-field" />
          </label>
          <button type="button" data-testid="last-button">
            OK
          </button>
        </Frame>
      )}
    </div>
  );
}

function press(key: string, shiftKey = false) {
  fireEvent.keyDown(document.activeElement ?? document.body, { key, shiftKey });
}

describe("dialog focus", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("moves focus to the first field, keeps Tab inside, and Esc closes it back to the opener without reaching the page", () => {
    render(<Page kind="dialog" />);
    const opener = screen.getByTestId("opener");
    opener.focus();
    fireEvent.click(opener);
    expect(document.activeElement).toBe(screen.getByTestId("first-field"));
    // Tab from the last element wraps to the first (the close button), Shift+Tab from the first to the last.
    screen.getByTestId("last-button").focus();
    press("Tab");
    expect(document.activeElement).toBe(screen.getByTestId("frame-close"));
    press("Tab", true);
    expect(document.activeElement).toBe(screen.getByTestId("last-button"));
    press("Escape");
    expect(screen.queryByTestId("frame")).toBeNull();
    expect(document.activeElement).toBe(opener);
    expect(screen.getByTestId("esc-behind").textContent).toBe("0");
  });

  it("closes on Esc even when focus has fallen to the page", () => {
    render(<Page kind="dialog" />);
    fireEvent.click(screen.getByTestId("opener"));
    (document.activeElement as HTMLElement).blur();
    fireEvent.keyDown(document.body, { key: "Escape" });
    expect(screen.queryByTestId("frame")).toBeNull();
  });

  it("a drawer starts on itself, traps Tab, and Esc closes it back to the opener", () => {
    render(<Page kind="drawer" />);
    const opener = screen.getByTestId("opener");
    opener.focus();
    fireEvent.click(opener);
    const drawer = screen.getByTestId("frame");
    expect(document.activeElement).toBe(drawer);
    expect(drawer.getAttribute("role")).toBe("dialog");
    screen.getByTestId("last-button").focus();
    press("Tab");
    expect(document.activeElement).toBe(screen.getByTestId("frame-close"));
    press("Escape");
    expect(screen.queryByTestId("frame")).toBeNull();
    expect(document.activeElement).toBe(opener);
    expect(screen.getByTestId("esc-behind").textContent).toBe("0");
  });
});
