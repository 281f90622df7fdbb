/**
 * User Timing marks that the desktop benchmark (bench/app_speed.mjs) reads
 * with `performance.getEntriesByName`: a screen's mark is set once the frame
 * that first shows it has been painted (the task after the next animation
 * frame). They cost nothing the operator would notice and send nothing anywhere.
 */
export const MARKS = { signInReady: "voucherdesk:sign-in-ready", lookupReady: "voucherdesk:lookup-ready" } as const;

export function markPainted(name: string): void {
  if (typeof requestAnimationFrame !== "function" || typeof performance?.mark !== "function") return;
  requestAnimationFrame(() => setTimeout(() => performance.mark(name), 0));
}
