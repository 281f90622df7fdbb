// Settings → PSP accounts, admins only (the core refuses anyone
// else: ManageCredentials). Secrets are typed into password fields, sent
// once with add/rotate, then cleared from the form; no answer ever carries
// them back (a row says only whether the OS keyring holds them).

import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { ConnectionTest, PspAccountRow, PspName } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { OkNotice } from "../components/OkNotice";
import { When } from "../components/When";

/** The secret fields of each PSP, in form order (core: credentials::PspKind::secret_fields). */
export const SECRET_FIELDS: Record<PspName, readonly string[]> = {
  dlocal: ["login", "trans_key", "secret"],
  pagoefectivo: ["service_id", "access_key", "secret"],
};
const PSPS: readonly PspName[] = ["dlocal", "pagoefectivo"];

function emptySecrets(psp: PspName): Record<string, string> {
  return Object.fromEntries(SECRET_FIELDS[psp].map((f) => [f, ""]));
}

function SecretInputs({ psp, values, onChange, prefix }: { psp: PspName; values: Record<string, string>; onChange: (v: Record<string, string>) => void; prefix: string }) {
  const { t } = useTranslation();
  return (
    <>
      {SECRET_FIELDS[psp].map((f) => (
        <label key={f} className="field compact">
          <span>{t(`pspAccounts.fields.${f}`)}</span>
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={values[f] ?? ""}
            onChange={(e) => onChange({ ...values, [f]: e.target.value })}
            data-testid={`${prefix}-${f}`}
          />
        </label>
      ))}
    </>
  );
}

function TestResult({ test }: { test: ConnectionTest | null }) {
  const { t } = useTranslation();
  if (!test) return <span className="muted small">{t("pspAccounts.neverTested")}</span>;
  return (
    <span className={`small ${test.ok ? "ok-text" : "warn-text"}`} data-testid="psp-account-test-result" data-ok={String(test.ok)} title={test.at}>
      {test.ok ? t("pspAccounts.connectionOk") : test.message} · <When at={test.at} />
    </span>
  );
}

export function PspAccounts() {
  const { t } = useTranslation();
  const [list, setList] = useState<PspAccountRow[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [psp, setPsp] = useState<PspName>("dlocal");
  const [baseUrl, setBaseUrl] = useState("");
  const [secrets, setSecrets] = useState<Record<string, string>>(emptySecrets("dlocal"));
  const [rotating, setRotating] = useState<{ name: string; psp: PspName; secrets: Record<string, string> } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(() => {
    api
      .pspAccountsList()
      .then((l) => {
        setList(l);
        setError(null);
      })
      .catch((e: unknown) => setError(toApiError(e)));
  }, []);
  useEffect(load, [load]);

  const run = async (key: string, f: () => Promise<string | null>) => {
    setBusy(key);
    setError(null);
    setNotice(null);
    try {
      setNotice(await f());
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
      load();
    }
  };

  const add = () =>
    run("add", async () => {
      const n = name.trim();
      try {
        await api.pspAccountAdd(n, psp, baseUrl.trim(), secrets);
      } finally {
        // Sent once: the form forgets them whatever the answer.
        setSecrets(emptySecrets(psp));
      }
      setName("");
      setBaseUrl("");
      return t("pspAccounts.added", { name: n });
    });

  const complete = (values: Record<string, string>, p: PspName) => SECRET_FIELDS[p].every((f) => (values[f] ?? "").length > 0);

  return (
    <section className="panel" data-testid="settings-psp-accounts">
      <h3>{t("pspAccounts.title")}</h3>
      <p className="muted small">{t("pspAccounts.intro")}</p>
      <ErrorNotice error={error} testId="psp-accounts-error" full />
      {error && (
        <span className="mono small" data-testid="psp-accounts-error-code">
          {error.code}
        </span>
      )}
      <OkNotice text={notice} testId="psp-accounts-notice" />
      {list && list.length === 0 && <p className="muted">{t("pspAccounts.none")}</p>}
      {list && list.length > 0 && (
        <table className="table" data-testid="psp-accounts-table">
          <thead>
            <tr>
              <th>{t("pspAccounts.name")}</th>
              <th>{t("pspAccounts.psp")}</th>
              <th>{t("pspAccounts.baseUrl")}</th>
              <th>{t("pspAccounts.keyring")}</th>
              <th>{t("pspAccounts.lastTest")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.name} data-testid={`psp-account-${a.name}`}>
                <td>{a.name}</td>
                <td>{t(`pspAccounts.psps.${a.psp}`)}</td>
                <td className="mono small">{a.base_url}</td>
                <td>{a.secret_present ? t("pspAccounts.secretPresent") : <span className="warn-text">{t("pspAccounts.secretMissing")}</span>}</td>
                <td>
                  <TestResult test={a.last_test} />
                </td>
                <td className="button-row">
                  <button
                    type="button"
                    disabled={busy !== null}
                    onClick={() =>
                      void run(`test:${a.name}`, async () => {
                        const r = await api.pspAccountTest(a.name);
                        return r.ok ? `${a.name}: ${t("pspAccounts.connectionOk")}` : null;
                      })
                    }
                    data-testid={`psp-account-test-${a.name}`}
                  >
                    {busy === `test:${a.name}` ? t("pspAccounts.testing") : t("pspAccounts.test")}
                  </button>
                  <button type="button" disabled={busy !== null} onClick={() => setRotating({ name: a.name, psp: a.psp, secrets: emptySecrets(a.psp) })} data-testid={`psp-account-rotate-${a.name}`}>
                    {t("pspAccounts.rotate")}
                  </button>
                  <button
                    type="button"
                    disabled={busy !== null}
                    onClick={() => {
                      if (window.confirm(t("pspAccounts.confirmRemove", { name: a.name }))) {
                        void run(`remove:${a.name}`, async () => {
                          await api.pspAccountRemove(a.name);
                          return t("pspAccounts.removed", { name: a.name });
                        });
                      }
                    }}
                    data-testid={`psp-account-remove-${a.name}`}
                  >
                    {t("pspAccounts.remove")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      {rotating && (
        <form
          className="filters"
          data-testid="psp-account-rotate-form"
          onSubmit={(e) => {
            e.preventDefault();
            const target = rotating;
            void run(`rotate:${target.name}`, async () => {
              try {
                await api.pspAccountRotate(target.name, target.secrets);
              } finally {
                setRotating(null);
              }
              return t("pspAccounts.rotated", { name: target.name });
            });
          }}
        >
          <strong>{t("pspAccounts.rotateTitle", { name: rotating.name })}</strong>
          <SecretInputs psp={rotating.psp} values={rotating.secrets} onChange={(v) => setRotating({ ...rotating, secrets: v })} prefix="psp-rotate" />
          <button type="submit" className="primary" disabled={!complete(rotating.secrets, rotating.psp) || busy !== null} data-testid="psp-rotate-submit">
            {t("pspAccounts.rotate")}
          </button>
          <button type="button" onClick={() => setRotating(null)} data-testid="psp-rotate-cancel">
            {t("common.cancel")}
          </button>
        </form>
      )}

      <form
        className="filters"
        data-testid="psp-account-add-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <strong>{t("pspAccounts.add")}</strong>
        <label className="field compact">
          <span>{t("pspAccounts.name")}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="psp-add-name" />
        </label>
        <label className="field compact">
          <span>{t("pspAccounts.psp")}</span>
          <select
            value={psp}
            onChange={(e) => {
              const p = e.target.value as PspName;
              setPsp(p);
              setSecrets(emptySecrets(p));
            }}
            data-testid="psp-add-psp"
          >
            {PSPS.map((p) => (
              <option key={p} value={p}>
                {t(`pspAccounts.psps.${p}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field compact">
          <span>{t("pspAccounts.baseUrl")}</span>
          <input className="mono" value={baseUrl} placeholder="https://" onChange={(e) => setBaseUrl(e.target.value)} data-testid="psp-add-base-url" />
        </label>
        <SecretInputs psp={psp} values={secrets} onChange={setSecrets} prefix="psp-add" />
        <button type="submit" className="primary" disabled={!name.trim() || !baseUrl.trim() || !complete(secrets, psp) || busy !== null} data-testid="psp-add-submit">
          {t("pspAccounts.addButton")}
        </button>
      </form>
    </section>
  );
}
