/**
 * Subscribes to an event source for as long as an effect lives: the returned
 * cleanup unsubscribes, also when it runs before the subscription settled.
 * A source that cannot be listened to is left alone.
 */
export function listenWhileMounted(subscribe: () => Promise<() => void>): () => void {
  let unlisten: (() => void) | null = null;
  let live = true;
  subscribe()
    .then((u) => {
      if (live) unlisten = u;
      else u();
    })
    .catch(() => undefined);
  return () => {
    live = false;
    unlisten?.();
  };
}
