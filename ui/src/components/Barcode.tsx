import { useEffect, useRef, useState } from "react";
import JsBarcode from "jsbarcode";
import { useTranslation } from "react-i18next";
import { barcodeFormat } from "../lib/barcode";

/** A voucher's payment code as the PSP ticket prints it (ITF or CODE128). */
export function Barcode({ code, testId = "voucher-barcode" }: { code: string; testId?: string }) {
  const { t } = useTranslation();
  const ref = useRef<SVGSVGElement>(null);
  const [failed, setFailed] = useState(false);
  const format = barcodeFormat(code);
  useEffect(() => {
    if (!ref.current) return;
    try {
      JsBarcode(ref.current, code, {
        format,
        // The digits are printed below by us (no canvas text measuring).
        displayValue: false,
        height: 56,
        width: 2,
        margin: 8,
        background: "#ffffff",
        lineColor: "#111111",
      });
      setFailed(false);
    } catch {
      setFailed(true);
    }
  }, [code, format]);
  return (
    <div className="barcode" data-testid={testId} data-format={format}>
      {failed ? (
        <span className="muted">{t("voucher.barcodeFailed")}</span>
      ) : (
        <>
          <svg ref={ref} role="img" aria-label={`${format} ${code}`} />
          <div className="barcode-text mono">{code}</div>
        </>
      )}
    </div>
  );
}
