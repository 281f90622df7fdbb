import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { api } from "../api/commands";
import type { TeamStatus } from "../bindings";
import { listenWhileMounted } from "../lib/listenWhileMounted";
import { afterChange, screensReload, TEAM_STATUS_POLL_MS } from "./teamState";

export interface TeamView {
  /** Null in local mode (or before the first answer). */
  status: TeamStatus | null;
  /** Goes up each time other desktops' changes arrived in this copy. */
  revision: number;
}

const TeamContext = createContext<TeamView>({ status: null, revision: 0 });

export function useTeam(): TeamView {
  return useContext(TeamContext);
}

/** Runs `reload` each time other desktops' changes arrive (not on mount). */
export function useTeamRefresh(reload: () => void): void {
  const { revision } = useTeam();
  const first = useRef(revision);
  const latest = useRef(reload);
  latest.current = reload;
  useEffect(() => {
    if (revision !== first.current) latest.current();
  }, [revision]);
}

/** Asks `team_status` every few seconds and on each `team-changed` event. */
export function TeamProvider({ children }: { children: ReactNode }) {
  const [view, setView] = useState<TeamView>({ status: null, revision: 0 });
  useEffect(() => {
    let live = true;
    const read = () =>
      api
        .teamStatus()
        .then((status) => live && setView((v) => ({ ...v, status: status ?? null })))
        .catch(() => undefined); // an app without team mode: stays local
    void read();
    const timer = setInterval(() => void read(), TEAM_STATUS_POLL_MS);
    const stopListening = listenWhileMounted(() =>
      api.onTeamChanged((change) => {
        if (!live) return;
        setView((v) => ({ status: afterChange(v.status, change), revision: v.revision + (screensReload(change) ? 1 : 0) }));
        void read();
      }),
    );
    return () => {
      live = false;
      clearInterval(timer);
      stopListening();
    };
  }, []);
  return <TeamContext.Provider value={view}>{children}</TeamContext.Provider>;
}
