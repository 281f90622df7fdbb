import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { OperatorSummary, Role, Settings } from "../bindings";
import { ROLES } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { OkNotice } from "../components/OkNotice";
import { useSubmission } from "../components/useSubmission";
import { LanguageSelect } from "../components/Header";
import { When } from "../components/When";
import { isAdmin } from "../lib/roles";
import { useSession } from "../session";
import { PspAccounts } from "./PspAccounts";
import { NotificationSettingsPanel } from "./NotificationSettings";
import { TeamSettings } from "../team/TeamSettings";
import { BackupSettings } from "./BackupSettings";

/** The idle lock the core accepts, in minutes (core: settings::IDLE_LOCK_MINUTES_MAX; it refuses anything else). */
export const IDLE_LOCK_MINUTES_MIN = 1;
export const IDLE_LOCK_MINUTES_MAX = 480;

function ReconciliationSettings({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const session = useSession();
  const [settings, setSettings] = useState<Settings | null>(null);
  const { error, setError, busy, run } = useSubmission();
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    api
      .settingsGet()
      .then(setSettings)
      .catch((e: unknown) => setError(toApiError(e)));
  }, []);

  const save = async () => {
    if (!settings) return;
    setSaved(false);
    await run(async () => {
      const s = await api.settingsSet(settings);
      setSettings(s);
      setSaved(true);
      session.setStatus({ ...session.status, idle_lock_minutes: s.idle_lock_minutes });
    });
  };

  const num = (key: keyof Settings, testId: string, label: string, bounds: { min: number; max?: number } = { min: 0 }) => (
    <label className="field compact">
      <span>{label}</span>
      <input
        type="number"
        min={bounds.min}
        max={bounds.max}
        step={1}
        value={settings ? settings[key] : ""}
        disabled={!settings || !admin}
        readOnly={!admin}
        onChange={(e) => settings && setSettings({ ...settings, [key]: Math.max(0, Math.trunc(Number(e.target.value) || 0)) })}
        data-testid={testId}
      />
    </label>
  );

  return (
    <section className="panel" data-testid="settings-reconciliation">
      <h3>{t("settings.reconciliation")}</h3>
      {!admin && (
        <p className="notice notice-info small" data-testid="settings-read-only">
          {t("settings.readOnly", { role: t("roles.admin") })}
        </p>
      )}
      <div className="filters">
        {num("settlement_lag_days", "settings-lag", t("settings.settlementLag"))}
        {num("amount_tolerance_minor", "settings-tolerance", t("settings.tolerance"))}
        {num(
          "idle_lock_minutes",
          "settings-idle",
          t("settings.idleLock", { min: IDLE_LOCK_MINUTES_MIN, max: IDLE_LOCK_MINUTES_MAX }),
          { min: IDLE_LOCK_MINUTES_MIN, max: IDLE_LOCK_MINUTES_MAX },
        )}
        {admin && (
          <button type="button" className="primary" disabled={!settings || busy} onClick={() => void save()} data-testid="settings-save">
            {t("common.save")}
          </button>
        )}
      </div>
      <OkNotice text={saved ? t("common.saved") : null} testId="settings-saved" />
      <ErrorNotice error={error} testId="settings-error" />
    </section>
  );
}

function Operators() {
  const { t } = useTranslation();
  const { operator: me } = useSession();
  const [list, setList] = useState<OperatorSummary[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("support");
  const [password, setPassword] = useState("");
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(() => {
    api
      .operatorsList()
      .then(setList)
      .catch((e: unknown) => setError(toApiError(e)));
  }, []);
  useEffect(load, [load]);

  const run = async (f: () => Promise<unknown>, done?: string) => {
    setError(null);
    setNotice(null);
    try {
      await f();
      if (done) setNotice(done);
      load();
    } catch (e) {
      setError(toApiError(e));
    }
  };

  return (
    <section className="panel" data-testid="settings-operators">
      <h3>{t("settings.operators")}</h3>
      <ErrorNotice error={error} testId="operators-error" />
      <OkNotice text={notice} testId="operators-notice" />
      {list && (
        <table className="table" data-testid="operators-table">
          <thead>
            <tr>
              <th>{t("settings.name")}</th>
              <th>{t("settings.role")}</th>
              <th>{t("settings.status")}</th>
              <th>{t("settings.created")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((o) => (
              <tr key={o.name} data-testid={`operator-row-${o.name}`} data-role={o.role} data-disabled={o.disabled}>
                <td>{o.name}</td>
                <td>
                  <select
                    aria-label={t("settings.setRole", { name: o.name })}
                    value={o.role}
                    disabled={o.disabled}
                    onChange={(e) => void run(() => api.operatorSetRole(o.name, e.target.value as Role))}
                    data-testid={`operator-role-${o.name}`}
                  >
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`roles.${r}`)}
                      </option>
                    ))}
                  </select>
                </td>
                <td>{o.disabled ? t("settings.disabled") : t("settings.active")}</td>
                <td className="small">
                  <When at={o.created_at} /> · {o.created_by === "(first run)" ? t("settings.firstRun") : o.created_by}
                </td>
                <td>
                  {!o.disabled && o.name !== me.name && (
                    <button type="button" onClick={() => void run(() => api.operatorDisable(o.name))} data-testid={`operator-disable-${o.name}`}>
                      {t("settings.disable")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const n = name.trim();
          void run(() => api.operatorAdd(n, role, password), t("settings.added", { name: n })).then(() => {
            setName("");
            setPassword("");
          });
        }}
      >
        <strong>{t("settings.addOperator")}</strong>
        <label className="field compact">
          <span>{t("settings.name")}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} data-testid="operator-add-name" />
        </label>
        <label className="field compact">
          <span>{t("settings.role")}</span>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)} data-testid="operator-add-role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field compact">
          <span>{t("settings.password")}</span>
          <input type="password" value={password} autoComplete="new-password" onChange={(e) => setPassword(e.target.value)} data-testid="operator-add-password" />
        </label>
        <button type="submit" className="primary" disabled={!name.trim() || password.length < 8} data-testid="operator-add-submit">
          {t("settings.add")}
        </button>
      </form>
    </section>
  );
}

export function SettingsScreen() {
  const { t } = useTranslation();
  const { operator, status } = useSession();
  const admin = isAdmin(operator.role);
  return (
    <div className="settings">
      <h2>{t("settings.title")}</h2>
      <section className="panel" data-testid="settings-language">
        <h3>{t("settings.language")}</h3>
        <LanguageSelect testId="settings-language-select" />
        <p className="muted small">{t("settings.languageHint")}</p>
      </section>
      <section className="panel" data-testid="settings-data">
        <h3>{t("settings.dataLocation")}</h3>
        <input className="mono wide" readOnly value={status.db_path} data-testid="settings-db-path" />
      </section>
      <BackupSettings admin={admin} />
      {/* team mode */}
      <TeamSettings />
      <ReconciliationSettings admin={admin} />
      {admin && <Operators />}
      {admin ? (
        <PspAccounts />
      ) : (
        <section className="panel" data-testid="settings-psp-accounts-locked">
          <h3>{t("pspAccounts.title")}</h3>
          <p className="muted small">{t("pspAccounts.adminOnly")}</p>
        </section>
      )}
      {/* buyer notifications */}
      {admin ? (
        <NotificationSettingsPanel />
      ) : (
        <section className="panel" data-testid="settings-notifications-locked">
          <h3>{t("notificationSettings.title")}</h3>
          <p className="muted small">{t("notificationSettings.adminOnly")}</p>
        </section>
      )}
    </div>
  );
}
