import { describe, expect, it } from "vitest";
import { render } from "@testing-library/react";
import "../i18n";
import { barcodeFormat } from "./barcode";
import { Barcode } from "../components/Barcode";

describe("barcode format choice", () => {
  it("ITF for all-digit codes of even length", () => {
    expect(barcodeFormat("4000005001")).toBe("ITF"); // an Efecty ticket number
    expect(barcodeFormat("12345678")).toBe("ITF");
    expect(barcodeFormat(" 1234 ".trim())).toBe("ITF");
  });

  it("CODE128 otherwise", () => {
    expect(barcodeFormat("20001")).toBe("CODE128"); // odd length
    expect(barcodeFormat("D-5001")).toBe("CODE128");
    expect(barcodeFormat("12AB34")).toBe("CODE128");
    expect(barcodeFormat("")).toBe("CODE128");
  });

  it("draws the code into an SVG with the chosen format", () => {
    const { getByTestId } = render(<Barcode code="4000005001" />);
    const box = getByTestId("voucher-barcode");
    expect(box.dataset.format).toBe("ITF");
    const svg = box.querySelector("svg");
    expect(svg).not.toBeNull();
    expect(svg?.querySelectorAll("rect").length).toBeGreaterThan(10);
  });

  it("draws CODE128 for a PagoEfectivo CIP of odd length", () => {
    const { getByTestId } = render(<Barcode code="20001" />);
    expect(getByTestId("voucher-barcode").dataset.format).toBe("CODE128");
  });
});
