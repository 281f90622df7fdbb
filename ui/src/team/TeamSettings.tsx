import { useTranslation } from "react-i18next";
import { When } from "../components/When";
import { useTeam } from "./TeamContext";

/** Settings → Team: where this desktop's copy stands and who runs the shared background work. */
export function TeamSettings() {
  const { t } = useTranslation();
  const { status } = useTeam();
  if (!status) {
    return (
      <section className="panel" data-testid="settings-team">
        <h3>{t("team.title")}</h3>
        <p className="muted small" data-testid="settings-team-local">
          {t("team.local")}
        </p>
      </section>
    );
  }
  return (
    <section className="panel" data-testid="settings-team">
      <h3>{t("team.title")}</h3>
      <dl className="kv">
        <dt>{t("team.server")}</dt>
        <dd className="mono" data-testid="settings-team-server">
          {status.server}
        </dd>
        <dt>{t("team.connection")}</dt>
        <dd data-testid="settings-team-online" data-online={status.online ? "true" : "false"}>
          {status.online ? t("team.connected") : t("team.disconnected")}
          {!status.online && status.offline_since && (
            <>
              {" · "}
              {t("team.since")} <When at={status.offline_since} />
            </>
          )}
          {!status.online && status.reason && <span className="muted small block">{status.reason}</span>}
        </dd>
        <dt>{t("team.cursor")}</dt>
        <dd className="mono" data-testid="settings-team-cursor">
          {status.cursor}
        </dd>
        <dt>{t("team.lastPull")}</dt>
        <dd data-testid="settings-team-last-pull">
          {status.last_pull_at ? (
            <>
              <When at={status.last_pull_at} /> · {t("team.rows", { count: status.last_pull_rows })}
            </>
          ) : (
            t("team.never")
          )}
        </dd>
        <dt>{t("team.thisDesktop")}</dt>
        <dd className="mono">{status.this_desktop}</dd>
      </dl>
      <h4>{t("team.leases")}</h4>
      {status.leases.length === 0 ? (
        <p className="muted small" data-testid="settings-team-no-leases">
          {t("team.noLeases")}
        </p>
      ) : (
        <table className="table" data-testid="settings-team-leases">
          <thead>
            <tr>
              <th>{t("team.lease")}</th>
              <th>{t("team.holder")}</th>
              <th>{t("team.until")}</th>
            </tr>
          </thead>
          <tbody>
            {status.leases.map((l) => (
              <tr key={l.name} data-testid={`settings-team-lease-${l.name}`} data-mine={l.mine ? "true" : "false"}>
                <td>{t(`team.leaseNames.${l.name === "psp_sync" ? "psp_sync" : "notification_outbox"}`)}</td>
                <td className="mono">
                  {l.holder}
                  {l.mine && ` (${t("team.mine")})`}
                </td>
                <td>
                  <When at={l.expires_at} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
