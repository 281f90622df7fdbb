import { useEffect } from "react";

/** Runs `load` now and then every `everyMs` while mounted; a new `load` starts the round again. */
export function usePolling(load: () => Promise<void>, everyMs: number): void {
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), everyMs);
    return () => clearInterval(timer);
  }, [load, everyMs]);
}
