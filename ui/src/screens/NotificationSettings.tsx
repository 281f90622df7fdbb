// Settings → Notifications, admins only (the core refuses anyone
// else: ChangeSettings). The SMTP password and the SMS token are typed into
// password fields, sent once with Save, then cleared; no answer carries them
// back (only whether the OS keyring holds one), as in Settings → PSP accounts.

import { useEffect, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError } from "../api/errors";
import type {
  NotificationChannel,
  NotificationSettings,
  NotificationSettingsView,
  SmsSettings,
  SmtpSecurity,
  SmtpSettings,
} from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { OkNotice } from "../components/OkNotice";
import { useSubmission } from "../components/useSubmission";

const SECURITIES: readonly SmtpSecurity[] = ["starttls", "tls", "none"];
/** The submission port a new SMTP server starts with (core: config::SMTP_PORT_DEFAULT). */
export const SMTP_PORT_DEFAULT = 587;
const EMPTY_SMTP: SmtpSettings = { host: "", port: SMTP_PORT_DEFAULT, security: "starttls", username: "", from: "" };
const EMPTY_SMS: SmsSettings = { url: "", sender: "" };

/** A channel that is switched on by its checkbox; its fields show only while it is on. */
function ChannelFields({ label, on, onToggle, disabled, testId, children }: { label: string; on: boolean; onToggle: (on: boolean) => void; disabled: boolean; testId: string; children: ReactNode }) {
  return (
    <fieldset className="filters" disabled={disabled}>
      <label className="field compact checkbox">
        <input type="checkbox" checked={on} onChange={(e) => onToggle(e.target.checked)} data-testid={testId} />
        {label}
      </label>
      {on && children}
    </fieldset>
  );
}

export function NotificationSettingsPanel() {
  const { t } = useTranslation();
  const [view, setView] = useState<NotificationSettingsView | null>(null);
  const [smtpOn, setSmtpOn] = useState(false);
  const [smsOn, setSmsOn] = useState(false);
  const [smtp, setSmtp] = useState<SmtpSettings>(EMPTY_SMTP);
  const [sms, setSms] = useState<SmsSettings>(EMPTY_SMS);
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [testChannel, setTestChannel] = useState<NotificationChannel>("email");
  const [testTo, setTestTo] = useState("");
  const { error, setError, busy, run: submit } = useSubmission();
  const [notice, setNotice] = useState<string | null>(null);

  const show = (v: NotificationSettingsView) => {
    setView(v);
    setSmtpOn(v.settings.smtp !== null);
    setSmsOn(v.settings.sms !== null);
    setSmtp(v.settings.smtp ?? EMPTY_SMTP);
    setSms(v.settings.sms ?? EMPTY_SMS);
  };

  useEffect(() => {
    api
      .notificationSettingsGet()
      .then(show)
      .catch((e: unknown) => setError(toApiError(e)));
  }, []);

  const run = (f: () => Promise<string>) =>
    submit(async () => {
      setNotice(null);
      setNotice(await f());
    });

  const save = () =>
    run(async () => {
      const settings: NotificationSettings = {
        smtp: smtpOn ? { ...smtp, host: smtp.host.trim(), from: smtp.from.trim() } : null,
        sms: smsOn ? { url: sms.url.trim(), sender: sms.sender.trim() } : null,
        barcode_url_template: view?.settings.barcode_url_template ?? null,
      };
      try {
        show(await api.notificationSettingsSet(settings, { smtp_password: password, sms_token: token }));
      } finally {
        // Sent once: the form forgets them whatever the answer.
        setPassword("");
        setToken("");
      }
      return t("common.saved");
    });

  const sendTest = () =>
    run(async () => {
      const r = await api.notificationSendTest(testChannel, testTo.trim());
      return t("notificationSettings.testSent", { answer: r.answer });
    });

  const text = (value: string, onChange: (v: string) => void, testId: string, label: string, type = "text") => (
    <label className="field compact">
      <span>{label}</span>
      <input type={type} autoComplete="off" spellCheck={false} value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId} />
    </label>
  );

  return (
    <section className="panel" data-testid="settings-notifications">
      <h3>{t("notificationSettings.title")}</h3>
      <p className="muted small">{t("notificationSettings.intro")}</p>
      <ErrorNotice error={error} testId="notification-settings-error" full />
      <OkNotice text={notice} testId="notification-settings-notice" />
      <ChannelFields label={t("notificationSettings.email")} on={smtpOn} onToggle={setSmtpOn} disabled={!view} testId="ns-smtp-on">
        {text(smtp.host, (host) => setSmtp({ ...smtp, host }), "ns-smtp-host", t("notificationSettings.host"))}
        <label className="field compact">
          <span>{t("notificationSettings.port")}</span>
          <input type="number" min={1} max={65535} value={smtp.port} onChange={(e) => setSmtp({ ...smtp, port: Math.trunc(Number(e.target.value) || 0) })} data-testid="ns-smtp-port" />
        </label>
        <label className="field compact">
          <span>{t("notificationSettings.security")}</span>
          <select value={smtp.security} onChange={(e) => setSmtp({ ...smtp, security: e.target.value as SmtpSecurity })} data-testid="ns-smtp-security">
            {SECURITIES.map((s) => (
              <option key={s} value={s}>
                {t(`notificationSettings.securities.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {text(smtp.from, (from) => setSmtp({ ...smtp, from }), "ns-smtp-from", t("notificationSettings.from"))}
        {text(smtp.username, (username) => setSmtp({ ...smtp, username }), "ns-smtp-user", t("notificationSettings.user"))}
        {text(password, setPassword, "ns-smtp-password", view?.smtp_password_present ? t("notificationSettings.passwordStored") : t("notificationSettings.password"), "password")}
      </ChannelFields>
      <ChannelFields label={t("notificationSettings.sms")} on={smsOn} onToggle={setSmsOn} disabled={!view} testId="ns-sms-on">
        {text(sms.url, (url) => setSms({ ...sms, url }), "ns-sms-url", t("notificationSettings.url"))}
        {text(sms.sender, (sender) => setSms({ ...sms, sender }), "ns-sms-sender", t("notificationSettings.sender"))}
        {text(token, setToken, "ns-sms-token", view?.sms_token_present ? t("notificationSettings.tokenStored") : t("notificationSettings.token"), "password")}
      </ChannelFields>
      <div className="button-row">
        <button type="button" className="primary" disabled={!view || busy} onClick={() => void save()} data-testid="ns-save">
          {t("common.save")}
        </button>
      </div>
      <div className="filters" data-testid="ns-test">
        <strong>{t("notificationSettings.test")}</strong>
        <select value={testChannel} onChange={(e) => setTestChannel(e.target.value as NotificationChannel)} data-testid="ns-test-channel">
          <option value="email">{t("notifications.channels.email")}</option>
          <option value="sms">{t("notifications.channels.sms")}</option>
        </select>
        {text(testTo, setTestTo, "ns-test-to", t("notificationSettings.testTo"))}
        <button type="button" disabled={!view || busy || !testTo.trim()} onClick={() => void sendTest()} data-testid="ns-test-send">
          {t("notificationSettings.sendTest")}
        </button>
      </div>
    </section>
  );
}
