// A button that opens a small panel under it (the header's account menu and
// sync details). The panel is in the DOM only while open; Esc or a click
// outside closes it, and Esc gives focus back to the button.

import { useCallback, useEffect, useId, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { FOCUSABLE } from "../lib/focus";

export function PopoverButton({
  buttonContent,
  label,
  title,
  className = "",
  testId,
  panelTestId,
  panelLabel,
  children,
  buttonData = {},
}: {
  buttonContent: ReactNode;
  /** The button's accessible name. */
  label: string;
  /** The button's tooltip; defaults to its label. */
  title?: string;
  className?: string;
  testId: string;
  panelTestId: string;
  panelLabel: string;
  children: ReactNode | ((close: () => void) => ReactNode);
  /** Extra data-* attributes of the button (e2e reads state from them). */
  buttonData?: Record<string, string>;
}) {
  const [open, setOpen] = useState(false);
  const wrapRef = useRef<HTMLSpanElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const panelId = useId();

  const close = useCallback((refocus: boolean) => {
    setOpen(false);
    if (refocus) buttonRef.current?.focus();
  }, []);

  useEffect(() => {
    if (!open) return;
    panelRef.current?.querySelector<HTMLElement>(FOCUSABLE)?.focus();
    const onDown = (e: MouseEvent) => {
      if (wrapRef.current && !wrapRef.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", onDown);
    return () => document.removeEventListener("mousedown", onDown);
  }, [open]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape" && open) {
      e.stopPropagation();
      e.preventDefault();
      close(true);
    }
  };

  const dataAttrs = Object.fromEntries(Object.entries(buttonData).map(([k, v]) => [`data-${k}`, v]));
  return (
    <span className="popover-wrap" ref={wrapRef} onKeyDown={onKeyDown}>
      <button
        type="button"
        ref={buttonRef}
        className={`popover-button ${className}`.trim()}
        aria-label={label}
        title={title ?? label}
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((o) => !o)}
        data-testid={testId}
        {...dataAttrs}
      >
        {buttonContent}
      </button>
      {open && (
        <div className="popover" id={panelId} role="dialog" aria-label={panelLabel} ref={panelRef} data-testid={panelTestId}>
          {typeof children === "function" ? children(() => close(true)) : children}
        </div>
      )}
    </span>
  );
}
