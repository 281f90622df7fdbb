// A virtualized, paged list body: only the rows in view are rendered, a
// loader row stands for the next page, and `onNearEnd` asks for that page
// when the view comes within `prefetchRows` of the end.

import { useEffect, useRef, type ReactNode } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";

export function VirtualRows<R>({
  rows,
  hasMore,
  rowHeightPx,
  overscanRows,
  prefetchRows,
  onNearEnd,
  scrollTestId,
  empty,
  loadingText,
  renderRow,
}: {
  rows: R[];
  hasMore: boolean;
  rowHeightPx: number;
  overscanRows: number;
  prefetchRows: number;
  onNearEnd: () => void;
  scrollTestId: string;
  /** Shown above the rows (the empty-list notice, when there is one). */
  empty: ReactNode;
  loadingText: string;
  renderRow: (row: R, index: number, start: number) => ReactNode;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length + (hasMore ? 1 : 0),
    getScrollElement: () => scrollRef.current,
    estimateSize: () => rowHeightPx,
    overscan: overscanRows,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.length > 0 ? (items[items.length - 1]?.index ?? 0) : 0;
  useEffect(() => {
    if (hasMore && lastIndex >= rows.length - prefetchRows) onNearEnd();
  }, [lastIndex, hasMore, rows.length, prefetchRows, onNearEnd]);
  return (
    <div className="vbody" ref={scrollRef} data-testid={scrollTestId}>
      {empty}
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {items.map((item) => {
          const r = rows[item.index];
          if (!r) {
            return (
              <div key="loader" className="vrow loader muted" style={{ transform: `translateY(${item.start}px)`, height: rowHeightPx }}>
                {loadingText}
              </div>
            );
          }
          return renderRow(r, item.index, item.start);
        })}
      </div>
    </div>
  );
}
