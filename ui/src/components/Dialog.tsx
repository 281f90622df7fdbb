import { useRef, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useFocusTrap } from "../lib/focus";

type PanelProps = {
  title: string;
  onClose: () => void;
  children: ReactNode;
  testId: string;
  wide?: boolean;
};

/** The title and the close button of a dialog or a drawer. */
function PanelHeader({ title, onClose, testId }: { title: string; onClose: () => void; testId: string }) {
  const { t } = useTranslation();
  return (
    <header className="dialog-header">
      <h2>{title}</h2>
      <button type="button" className="icon-button" onClick={onClose} aria-label={t("common.close")} data-testid={`${testId}-close`}>
        ×
      </button>
    </header>
  );
}

/**
 * A modal dialog: focus moves in on open (its first field), Tab stays inside,
 * Esc closes it and focus goes back to the opener.
 */
export function Dialog({ title, onClose, children, testId, wide = false }: PanelProps) {
  const ref = useRef<HTMLDivElement>(null);
  useFocusTrap(ref, onClose);
  return (
    <div className="overlay" role="presentation">
      <div className={`dialog${wide ? " dialog-wide" : ""}`} role="dialog" aria-modal="true" aria-label={title} data-testid={testId} ref={ref} tabIndex={-1}>
        <PanelHeader title={title} onClose={onClose} testId={testId} />
        <div className="dialog-body">{children}</div>
      </div>
    </div>
  );
}

/** A side panel over the screen; focus is managed as in a dialog (Esc closes it). */
export function Drawer({ title, onClose, children, testId, wide = false }: PanelProps) {
  const ref = useRef<HTMLElement>(null);
  useFocusTrap(ref, onClose, "container");
  return (
    <aside className={`drawer${wide ? " drawer-wide" : ""}`} role="dialog" aria-label={title} data-testid={testId} ref={ref} tabIndex={-1}>
      <PanelHeader title={title} onClose={onClose} testId={testId} />
      <div className="drawer-body">{children}</div>
    </aside>
  );
}

/** What a dialog keeps once its work is done: one button that closes it. */
export function DoneActions({ onClose, testId }: { onClose: () => void; testId: string }) {
  const { t } = useTranslation();
  return (
    <div className="dialog-actions">
      <button type="button" className="primary" onClick={onClose} data-testid={testId}>
        {t("common.close")}
      </button>
    </div>
  );
}
