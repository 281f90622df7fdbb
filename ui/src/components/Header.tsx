import { useContext, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError, type ApiError } from "../api/errors";
import type { Language } from "../bindings";
import { LANGUAGES } from "../api/types";
import { changeLanguage, normaliseLanguage } from "../i18n";
import { SCREENS, SessionContext, screenOffered, type ScreenId } from "../session";
import { ErrorNotice } from "./ErrorNotice";
import { PopoverButton } from "./Popover";
import { SyncIndicator } from "./SyncIndicator";
import { TeamIndicatorBadge } from "../team/TeamBanner";

/** Switches the UI language; when signed in, remembers it for the operator (set_language). */
export function LanguageSelect({ testId = "language-select", onChosen }: { testId?: string; onChosen?: (lang: Language) => void }) {
  const { t, i18n } = useTranslation();
  const session = useContext(SessionContext);
  const [error, setError] = useState<ApiError | null>(null);
  const current = normaliseLanguage(i18n.language);
  const onChange = async (lang: Language) => {
    setError(null);
    await changeLanguage(lang);
    onChosen?.(lang);
    if (!session) return;
    try {
      session.setOperator(await api.setLanguage(lang));
    } catch (e) {
      setError(toApiError(e));
    }
  };
  return (
    <span className="language-select">
      <select aria-label={t("header.language")} value={current} onChange={(e) => void onChange(e.target.value as Language)} data-testid={testId}>
        {LANGUAGES.map((l) => (
          <option key={l} value={l} data-testid={`${testId}-${l}`}>
            {t(`languages.${l}`)}
          </option>
        ))}
      </select>
      <ErrorNotice error={error} testId={`${testId}-error`} />
    </span>
  );
}

/** The operator's menu: who is signed in, the language, Lock and Sign out (rendered only while open). */
export function AccountMenu({ onLock }: { onLock: () => void }) {
  const { t } = useTranslation();
  const session = useContext(SessionContext);
  if (!session) return null;
  const { operator } = session;
  const who = t("header.signedInAs", { name: operator.name, role: t(`roles.${operator.role}`) });
  return (
    <PopoverButton
      className="account-button"
      label={`${t("header.account")}: ${who}`}
      title={who}
      testId="account-menu"
      panelTestId="account-menu-panel"
      panelLabel={t("header.account")}
      buttonContent={
        <>
          <span className="operator" data-testid="current-operator" data-role={operator.role} data-name={operator.name}>
            {operator.name}
          </span>
          <span className="caret" aria-hidden="true">
            ▾
          </span>
        </>
      }
    >
      {(close) => (
        <div className="account-panel">
          <p className="account-who" data-testid="account-who">
            <strong>{operator.name}</strong> <span className="muted">{t(`roles.${operator.role}`)}</span>
          </p>
          <label className="field compact">
            <span>{t("header.language")}</span>
            <LanguageSelect />
          </label>
          {session.status?.version && (
            <p className="muted small" data-testid="about-version" title={t("header.version")}>
              VoucherDesk {session.status.version}
            </p>
          )}
          <div className="account-actions">
            <button
              type="button"
              onClick={() => {
                close();
                onLock();
              }}
              data-testid="lock-now"
            >
              {t("header.lock")}
            </button>
            <button type="button" onClick={() => void session.signOut()} data-testid="sign-out">
              {t("header.signOut")}
            </button>
          </div>
        </div>
      )}
    </PopoverButton>
  );
}

export function Header({ screen, onLock }: { screen: ScreenId; onLock: () => void }) {
  const { t } = useTranslation();
  const session = useContext(SessionContext);
  if (!session) return null;
  const { operator } = session;
  return (
    <header className="app-header">
      <span className="brand" data-testid="app-brand">
        {t("app.name")}
      </span>
      <nav className="tabs" aria-label={t("header.mainNav")}>
        {SCREENS.filter((s) => screenOffered(s, operator.role)).map((s) => (
          <button
            key={s}
            type="button"
            className={s === screen ? "tab active" : "tab"}
            aria-current={s === screen ? "page" : undefined}
            onClick={() => session.navigate(s)}
            data-testid={`nav-${s}`}
          >
            {t(`nav.${s}`)}
          </button>
        ))}
      </nav>
      <div className="header-right">
        <TeamIndicatorBadge />
        <SyncIndicator />
        <AccountMenu onLock={onLock} />
      </div>
    </header>
  );
}
