import { useEffect, type ReactNode } from "react";

/**
 * How long a warm-up render stays mounted, in ms: long enough for the screen's
 * first page to arrive (a few ms on a million orders) and be laid out.
 */
export const WARM_UP_MS = 1_500;

/**
 * Renders a screen once where nobody sees or reaches it, then drops it.
 *
 * Why: JavaScriptCore compiles a function only once it has run, so the very
 * first render of a screen is slow. The exceptions queue's first opening took
 * ~110 ms against ~45 ms for the second (docs/BENCHMARKS.md); after a warm-up
 * the operator's first opening is a second one. The screen runs for real (its
 * own data, its own effects); it is hidden, inert and out of the tab order,
 * and the caller drops it as soon as the operator navigates anywhere.
 */
export function WarmUp({ children, onDone }: { children: ReactNode; onDone: () => void }) {
  useEffect(() => {
    const timer = setTimeout(onDone, WARM_UP_MS);
    return () => clearTimeout(timer);
  }, [onDone]);
  return (
    <div className="warm-up" aria-hidden="true" inert data-testid="warm-up">
      {children}
    </div>
  );
}
