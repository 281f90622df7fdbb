import { formatAmount } from "../lib/format";

export function Money({ minor, currency, testId }: { minor: number | null | undefined; currency: string; testId?: string }) {
  return (
    <span className="money" data-testid={testId} title={currency}>
      {formatAmount(minor, currency)}
    </span>
  );
}
