import { beforeEach, describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";
import "../i18n";
import { App } from "../App";
import { CannotOpenScreen } from "./CannotOpen";
import { ipc, STATUS, useLanguage } from "../test/helpers";

const REFUSAL = {
  code: "store.too_new",
  message:
    "database /data/vd.sqlite was written by a newer VoucherDesk (schema version 99, this build knows up to 31); upgrade VoucherDesk to open it",
  db_path: "/data/vd.sqlite",
  file_schema: 99,
  app_schema: 31,
};
const VERSION = "0.1.0 (commit test, schema 31)";

describe("a database from a newer VoucherDesk", () => {
  beforeEach(async () => {
    await useLanguage("en");
  });

  it("fills the window instead of sign-in, with both schemas, the file and that nothing changed", async () => {
    const calls = ipc((cmd) => {
      if (cmd === "app_status") return { ...STATUS, db_path: REFUSAL.db_path, idle_lock_minutes: 0, version: VERSION, cannot_open: REFUSAL };
      throw { code: "internal", message: `command ${cmd} not found` };
    });
    render(<App />, {});
    const refusal = await screen.findByTestId("cannot-open");
    expect(screen.queryByTestId("sign-in-submit")).toBeNull();
    expect(screen.queryByTestId("first-run-submit")).toBeNull();
    // jsdom's browser language is English: one language, English.
    expect(refusal.querySelectorAll("section")).toHaveLength(1);
    expect(screen.getByTestId("cannot-open-en").textContent).toBe(
      "This database was written by a newer VoucherDesk" +
        "The file holds database schema 99; this VoucherDesk knows schema 31 at most." +
        "Database file: /data/vd.sqlite" +
        "Nothing was changed: the file is exactly as it was. Install the newer VoucherDesk to open it." +
        "This VoucherDesk: 0.1.0 (commit test, schema 31)",
    );
    expect(calls.map((c) => c.cmd).filter((c) => c !== "team_status")).toEqual(["app_status"]);
  });

  it("speaks the operator's language when known", () => {
    render(<CannotOpenScreen refusal={REFUSAL} version={VERSION} language="es" />);
    expect(screen.queryByTestId("cannot-open-en")).toBeNull();
    expect(screen.getByTestId("cannot-open-es").querySelector("h1")?.textContent).toBe(
      "Esta base de datos la escribió un VoucherDesk más reciente",
    );
    expect(screen.getByTestId("cannot-open-path-es").textContent).toBe("/data/vd.sqlite");
  });

  it("says it in English, Spanish and Chinese together when the language is not known", () => {
    render(<CannotOpenScreen refusal={REFUSAL} version={VERSION} language={null} />);
    expect(screen.getByTestId("cannot-open").querySelectorAll("section")).toHaveLength(3);
    expect(screen.getByTestId("cannot-open-en").querySelector("h1")?.textContent).toBe(
      "This database was written by a newer VoucherDesk",
    );
    expect(screen.getByTestId("cannot-open-es").textContent).toContain(
      "El archivo tiene el esquema de base de datos 99; este VoucherDesk conoce como máximo el esquema 31.",
    );
    expect(screen.getByTestId("cannot-open-zh").textContent).toContain("未做任何更改：文件保持原样。");
    for (const lang of ["en", "es", "zh"]) {
      expect(screen.getByTestId(`cannot-open-path-${lang}`).textContent).toBe("/data/vd.sqlite");
    }
  });
});
