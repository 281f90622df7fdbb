import { useEffect, useRef } from "react";

const ACTIVITY_EVENTS = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"] as const;

/**
 * Calls `onIdle` once after `minutes` without keyboard or pointer activity.
 * `minutes <= 0` or `enabled = false` disables it.
 */
export function useIdle(minutes: number, onIdle: () => void, enabled = true, checkEveryMs = 5_000): void {
  const last = useRef(Date.now());
  const callback = useRef(onIdle);
  callback.current = onIdle;
  useEffect(() => {
    if (!enabled || !(minutes > 0)) return;
    last.current = Date.now();
    const touch = () => {
      last.current = Date.now();
    };
    for (const e of ACTIVITY_EVENTS) window.addEventListener(e, touch, { passive: true });
    const timer = setInterval(() => {
      if (Date.now() - last.current >= minutes * 60_000) {
        last.current = Date.now();
        callback.current();
      }
    }, checkEveryMs);
    return () => {
      for (const e of ACTIVITY_EVENTS) window.removeEventListener(e, touch);
      clearInterval(timer);
    };
  }, [minutes, enabled, checkEveryMs]);
}
