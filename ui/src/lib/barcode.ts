// Which symbology a voucher's payment code is printed in. PSP tickets use
// ITF (Interleaved 2 of 5: digits only, in pairs) for numeric codes of even
// length, and CODE128 for everything else.

export type BarcodeFormat = "ITF" | "CODE128";

export function barcodeFormat(code: string): BarcodeFormat {
  const c = code.trim();
  return c.length > 0 && c.length % 2 === 0 && /^[0-9]+$/.test(c) ? "ITF" : "CODE128";
}
