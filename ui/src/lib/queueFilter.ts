// A filter handed from another screen (a dashboard bar) to the exception
// queue: set just before navigating there, taken once when the queue mounts.

import type { ExceptionQuery } from "../bindings";

let pending: ExceptionQuery | null = null;

export function handQueueFilter(query: ExceptionQuery): void {
  pending = query;
}

/** The handed filter over `fallback` (then forgotten), or `fallback` alone. */
export function takeQueueFilter(fallback: ExceptionQuery): ExceptionQuery {
  const q = pending;
  pending = null;
  return q ? { ...fallback, ...q } : fallback;
}
