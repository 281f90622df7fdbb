// Keyboard focus inside dialogs, drawers and popovers: what can take focus,
// and keeping Tab inside a container.

import { useEffect, useRef, type RefObject } from "react";

/** Elements Tab can reach (disabled and hidden-by-tabindex ones left out). */
export const FOCUSABLE = [
  "a[href]",
  "button:not([disabled])",
  "input:not([disabled]):not([type='hidden'])",
  "select:not([disabled])",
  "textarea:not([disabled])",
  "summary",
  "[tabindex]:not([tabindex='-1'])",
].join(",");

export function focusableIn(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.closest("[inert]") && !el.closest("details:not([open]) > :not(summary)"));
}

/** Mounted traps, innermost last. */
const traps: HTMLElement[] = [];

/**
 * While mounted: moves focus into `ref` (its `[data-autofocus]` element, else
 * its first field, else the container; a drawer starts on the container), keeps Tab and Shift+Tab inside it,
 * closes on Esc without letting Esc reach the page behind, and on unmount
 * gives focus back to whatever had it before (the opener).
 */
export function useFocusTrap(ref: RefObject<HTMLElement | null>, onEscape: () => void, startOn: "field" | "container" = "field"): void {
  const escape = useRef(onEscape);
  escape.current = onEscape;
  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const preferred =
      startOn === "container" ? null :
      root.querySelector<HTMLElement>("[data-autofocus]") ??
      focusableIn(root).find((el) => el.matches("input, select, textarea")) ??
      focusableIn(root).find((el) => !el.classList.contains("icon-button"));
    (preferred ?? root).focus();

    traps.push(root);
    const onKey = (e: KeyboardEvent) => {
      // Only the innermost trap answers (a dialog opened from a drawer); one that has handled the key stops it.
      if (e.defaultPrevented || traps[traps.length - 1] !== root) return;
      if (e.key === "Escape") {
        e.stopPropagation();
        e.preventDefault();
        escape.current();
        return;
      }
      if (e.key !== "Tab") return;
      const items = focusableIn(root);
      if (items.length === 0) {
        e.preventDefault();
        root.focus();
        return;
      }
      const first = items[0] as HTMLElement;
      const last = items[items.length - 1] as HTMLElement;
      const active = document.activeElement;
      if (e.shiftKey && (active === first || !root.contains(active))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (active === last || !root.contains(active))) {
        e.preventDefault();
        first.focus();
      }
    };
    // Esc with focus nowhere (on the page's body) closes the topmost trap.
    const onStrayKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented || traps[traps.length - 1] !== root) return;
      if (traps.some((t) => t.contains(e.target as Node))) return;
      onKey(e);
    };
    root.addEventListener("keydown", onKey);
    document.addEventListener("keydown", onStrayKey);
    return () => {
      root.removeEventListener("keydown", onKey);
      document.removeEventListener("keydown", onStrayKey);
      traps.splice(traps.indexOf(root), 1);
      if (opener && opener.isConnected) opener.focus();
    };
  }, [ref, startOn]);
}
