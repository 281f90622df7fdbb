import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import { toApiError } from "../api/errors";
import type { BackupOverview, PickedFile } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { OkNotice } from "../components/OkNotice";
import { useSubmission } from "../components/useSubmission";
import { When } from "../components/When";
import { formatInstant } from "../lib/dates";

/** The interval the core accepts, in hours (core: backup_schedule::EVERY_HOURS_MIN/MAX; it refuses anything else). */
export const BACKUP_EVERY_HOURS_MIN = 1;
export const BACKUP_EVERY_HOURS_MAX = 168;

/** An instant in UTC and, beside it, in the operator's and the market's time (as every other time in the app). */
export function BackupTime({ at, testId }: { at: string | null; testId: string }) {
  const { t, i18n } = useTranslation();
  if (!at) {
    return (
      <span className="muted" data-testid={testId}>
        {t("backups.never")}
      </span>
    );
  }
  return (
    <span data-testid={testId} data-at={at}>
      <span className="mono">{t("backups.utc", { time: formatInstant(at, "UTC", i18n.language) })}</span> · <When at={at} />
    </span>
  );
}

/**
 * Settings → Scheduled backups: the folder (chosen in the folder dialog), how
 * often, what the folder keeps, the last success and the last failure. Admins
 * change it; everyone else reads it.
 */
export function BackupSettings({ admin }: { admin: boolean }) {
  const { t } = useTranslation();
  const [overview, setOverview] = useState<BackupOverview | null>(null);
  const [picked, setPicked] = useState<PickedFile | null>(null);
  const [hours, setHours] = useState<number>(24);
  const [notice, setNotice] = useState<string | null>(null);
  const { error, setError, busy, run } = useSubmission();

  const show = (o: BackupOverview) => {
    setOverview(o);
    setHours(o.schedule.every_hours);
  };

  useEffect(() => {
    api
      .backupOverview()
      .then((o) => o && show(o))
      .catch((e: unknown) => setError(toApiError(e)));
  }, []);

  const choose = () =>
    run(async () => {
      const answer = await api.backupPickFolder(t("backups.dialogTitle"));
      if (answer) setPicked(answer);
    });
  const save = (off: boolean) =>
    run(async () => {
      setNotice(null);
      show(await api.backupScheduleSet(off ? null : (picked?.token ?? null), off, hours));
      setPicked(null);
      setNotice(off ? t("backups.turnedOff") : t("common.saved"));
    });
  const now = () =>
    run(async () => {
      setNotice(null);
      const o = await api.backupNow();
      show(o);
      if (o.health !== "failed") setNotice(t("backups.made", { file: o.status.last_success_file ?? "" }));
    });

  const status = overview?.status;
  const folder = picked?.path ?? overview?.schedule.folder ?? null;
  return (
    <section className="panel" data-testid="settings-backups" data-health={overview?.health}>
      <h3>{t("backups.title")}</h3>
      {!admin && <p className="notice notice-info small">{t("backups.adminOnly")}</p>}
      <div className="filters">
        <label className="field compact backup-folder-field">
          <span>{t("backups.folder")}</span>
          <input className="mono wide" readOnly value={folder ?? t("backups.noFolder")} data-testid="backup-folder" />
        </label>
        {admin && (
          <button type="button" disabled={busy} onClick={() => void choose()} data-testid="backup-choose-folder">
            {t("backups.choose")}
          </button>
        )}
        <label className="field compact">
          <span>{t("backups.everyHours", { min: BACKUP_EVERY_HOURS_MIN, max: BACKUP_EVERY_HOURS_MAX })}</span>
          <input
            type="number"
            min={BACKUP_EVERY_HOURS_MIN}
            max={BACKUP_EVERY_HOURS_MAX}
            step={1}
            value={hours}
            disabled={!overview || !admin}
            readOnly={!admin}
            onChange={(e) => setHours(Math.max(0, Math.trunc(Number(e.target.value) || 0)))}
            data-testid="backup-every-hours"
          />
        </label>
        {admin && (
          <span className="button-row">
            <button type="button" className="primary" disabled={!overview || busy || !folder} onClick={() => void save(false)} data-testid="backup-save">
              {t("common.save")}
            </button>
            {overview?.schedule.folder && (
              <>
                <button type="button" disabled={busy} onClick={() => void now()} data-testid="backup-now">
                  {t("backups.backUpNow")}
                </button>
                <button type="button" className="link-button" disabled={busy} onClick={() => void save(true)} data-testid="backup-turn-off">
                  {t("backups.turnOff")}
                </button>
              </>
            )}
          </span>
        )}
      </div>
      {overview && (
        <>
          <p className="muted small">{t("backups.keeps", { daily: overview.keep_daily, monthly: overview.keep_monthly })}</p>
          <p data-testid="backup-health" data-health={overview.health}>
            <strong>{t(`backups.health.${overview.health}`, { hours: overview.schedule.every_hours + overview.grace_hours })}</strong>
          </p>
          <dl className="facts">
            <dt>{t("backups.lastSuccess")}</dt>
            <dd>
              <BackupTime at={status?.last_success_at ?? null} testId="backup-last-success" />
              {status?.last_success_file && (
                <span className="notice-detail mono" data-testid="backup-last-file">
                  {status.last_success_file}
                </span>
              )}
            </dd>
            <dt>{t("backups.lastFailure")}</dt>
            <dd>
              <BackupTime at={status?.last_failure_at ?? null} testId="backup-last-failure" />
              {status?.last_failure_reason && (
                <span className="notice-detail" data-testid="backup-last-failure-reason" data-code={status.last_failure_code ?? undefined}>
                  {status.last_failure_reason}
                </span>
              )}
            </dd>
          </dl>
        </>
      )}
      <OkNotice text={notice} testId="backup-notice" />
      <ErrorNotice error={error} testId="backup-error" />
    </section>
  );
}
