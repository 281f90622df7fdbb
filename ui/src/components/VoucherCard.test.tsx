import { beforeEach, describe, expect, it } from "vitest";
import { screen } from "@testing-library/react";
import "../i18n";
import { VoucherCard, type VoucherView } from "./VoucherCard";
import { MARTA, renderSignedIn, useLanguage } from "../test/helpers";

const voucher = (status: string): VoucherView => ({
  key: `pagoefectivo:${status}`,
  network: "pagoefectivo",
  psp: "pagoefectivo",
  code: "10000567",
  amountMinor: 67043,
  currency: "PEN",
  country: "PE",
  expiresAt: "2026-03-04T14:20:00Z",
  status,
  pspStatus: status.toUpperCase(),
  paidAt: status === "pending" || status === "expired" ? null : "2026-03-03T16:55:00Z",
  fromOrder: false,
});

describe("the voucher's expiry", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("of a cancelled or rejected voucher is history, and its code is shown without a barcode to pay", () => {
    for (const status of ["cancelled", "rejected"]) {
      const { unmount } = renderSignedIn(<VoucherCard v={voucher(status)} />, MARTA);
      expect(screen.getByTestId("voucher-countdown").classList.contains("badge-bad"), status).toBe(false);
      expect(screen.getByTestId("voucher-code").textContent).toBe("10000567");
      expect(screen.queryByTestId("voucher-barcode"), status).toBeNull();
      unmount();
    }
    const { unmount } = renderSignedIn(<VoucherCard v={voucher("pending")} />, MARTA);
    expect(screen.getByTestId("voucher-barcode")).toBeTruthy();
    unmount();
  });

  it("is an alarm only while the voucher was never paid", () => {
    for (const [status, alarm] of [
      ["pending", true],
      ["expired", true],
      ["paid", false],
      ["refunded", false],
      ["reversed", false],
      ["charged_back", false],
    ] as const) {
      const { unmount } = renderSignedIn(<VoucherCard v={voucher(status)} />, MARTA);
      const countdown = screen.getByTestId("voucher-countdown");
      expect(countdown.dataset.expired, status).toBe("true");
      expect(countdown.classList.contains("badge-bad"), status).toBe(alarm);
      unmount();
    }
  });
});
