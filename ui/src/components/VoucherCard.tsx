import { useTranslation } from "react-i18next";
import type { OrderRecord, PaymentRecord } from "../bindings";
import { compactDuration, expiry } from "../lib/format";
import { useNow } from "../lib/useNow";
import { Barcode } from "./Barcode";
import { Money } from "./Money";
import { When } from "./When";

/** The cash network as styled text (no remote logos under the CSP). */
export function NetworkMark({ network, psp }: { network: string; psp: string }) {
  const n = network.toLowerCase();
  if (n === "efecty") {
    return (
      <span className="network network-efecty" data-testid="voucher-network">
        Efecty
      </span>
    );
  }
  if (n === "pagoefectivo") {
    return (
      <span className="network network-pagoefectivo" data-testid="voucher-network">
        Pago<b>Efectivo</b>
      </span>
    );
  }
  return (
    <span className="network network-other" data-testid="voucher-network">
      {network || psp || "—"}
    </span>
  );
}

export interface VoucherView {
  key: string;
  network: string;
  psp: string;
  code: string;
  amountMinor: number;
  currency: string;
  country: string;
  expiresAt: string | null;
  status: string;
  pspStatus: string;
  paidAt: string | null;
  fromOrder: boolean;
}

export function voucherFromPayment(p: PaymentRecord): VoucherView {
  return {
    key: `${p.psp}:${p.payment_id}`,
    network: p.network,
    psp: p.psp,
    code: p.voucher_code || p.payment_id,
    amountMinor: p.amount_minor,
    currency: p.currency,
    country: p.country,
    expiresAt: p.expires_at,
    status: p.status,
    pspStatus: p.psp_status,
    paidAt: p.paid_at,
    fromOrder: false,
  };
}

export function voucherFromOrder(o: OrderRecord): VoucherView | null {
  if (!o.voucher_code) return null;
  return {
    key: `order:${o.order_id}`,
    network: o.psp === "pagoefectivo" ? "pagoefectivo" : "",
    psp: o.psp,
    code: o.voucher_code,
    amountMinor: o.amount_minor,
    currency: o.currency,
    country: o.country,
    expiresAt: o.voucher_expires_at,
    status: o.status,
    pspStatus: "",
    paidAt: null,
    fromOrder: true,
  };
}

function ExpiryLine({ at, country, settled }: { at: string | null; country: string; settled: boolean }) {
  const { t, i18n } = useTranslation();
  const now = useNow(30_000);
  if (!at) return <span className="muted">{t("voucher.noExpiry")}</span>;
  const e = expiry(at, now, i18n.language);
  return (
    <span>
      <When at={at} country={country} />{" "}
      {e && !settled && (
        <span className={e.expired ? "badge badge-bad" : "badge badge-warn"} data-testid="voucher-countdown" data-expired={e.expired}>
          {e.expired ? t("voucher.expiredAgo", { when: e.relative }) : `${t("voucher.expiresIn", { when: e.relative })} · ${compactDuration(e.minutesLeft)}`}
        </span>
      )}
      {e && settled && (
        <span className="muted" data-testid="voucher-countdown" data-expired={e.expired}>
          {e.expired ? t("voucher.expiredAgo", { when: e.relative }) : t("voucher.expiresIn", { when: e.relative })}
        </span>
      )}
    </span>
  );
}

const PAID_ONCE: readonly string[] = ["paid", "refunded", "reversed", "charged_back"];
/** Voided at the PSP: the code can no longer be paid, so it is not shown as one to pay. */
const VOIDED: readonly string[] = ["cancelled", "rejected"];

export function VoucherCard({ v }: { v: VoucherView }) {
  const { t } = useTranslation();
  // Once paid (even if the money went back since), the voucher's expiry is
  // history, not an alarm: no red "expired" badge on a paid voucher.
  const paid = PAID_ONCE.includes(v.status);
  const voided = VOIDED.includes(v.status);
  return (
    <section className={`voucher-card voucher-${v.network || "other"}`} data-testid="voucher-card" data-payment={v.key}>
      <header className="voucher-head">
        <NetworkMark network={v.network} psp={v.psp} />
        <span className={`badge status-${v.status}`} data-testid="voucher-status" data-status={v.status} title={v.pspStatus ? `${v.psp}: ${v.pspStatus}` : undefined}>
          {t(v.fromOrder ? `shopStatuses.${v.status}` : `paymentStatuses.${v.status}`, { defaultValue: v.status })}
        </span>
      </header>
      {v.fromOrder && <p className="muted small">{t("voucher.fromOrder")}</p>}
      <dl className="kv">
        <dt>{t("voucher.code")}</dt>
        <dd className="mono" data-testid="voucher-code">
          {v.code}
        </dd>
        <dt>{t("voucher.amount")}</dt>
        <dd>
          <Money minor={v.amountMinor} currency={v.currency} testId="voucher-amount" /> <span className="muted">{v.currency}</span>
        </dd>
        <dt>{t("voucher.expires")}</dt>
        <dd>
          <ExpiryLine at={v.expiresAt} country={v.country} settled={paid || voided} />
        </dd>
        {v.paidAt && (
          <>
            <dt>{t("voucher.paidAt")}</dt>
            <dd>
              <When at={v.paidAt} country={v.country} testId="voucher-paid-at" />
            </dd>
          </>
        )}
        <dt>{t("voucher.psp")}</dt>
        <dd>{v.psp ? t(`pspAccounts.psps.${v.psp}`, { defaultValue: v.psp }) : "—"}</dd>
      </dl>
      {v.code && !voided && <Barcode code={v.code} />}
    </section>
  );
}
