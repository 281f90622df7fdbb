import { memo } from "react";
import { formatAmount } from "../lib/format";

export const Money = memo(function Money({ minor, currency, testId }: { minor: number | null | undefined; currency: string; testId?: string }) {
  return (
    <span className="money" data-testid={testId} title={currency}>
      {formatAmount(minor, currency)}
    </span>
  );
});
