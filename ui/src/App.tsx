import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type ComponentType } from "react";
import { useTranslation } from "react-i18next";
import { api, onSessionError } from "./api/commands";
import { toApiError, type ApiError } from "./api/errors";
import type { AppStatus, CannotOpen, CrashReports, Operator } from "./bindings";
import { CrashNotice } from "./components/CrashNotice";
import { BackupWarning } from "./components/BackupWarning";
import { ErrorNotice } from "./components/ErrorNotice";
import { Header } from "./components/Header";
import { WarmUp } from "./components/WarmUp";
import { changeLanguage, normaliseLanguage } from "./i18n";
import { useIdle } from "./lib/useIdle";
import { isManagerLike } from "./lib/roles";
import { FirstRun, LockScreen, SignIn, type LockReason } from "./screens/Auth";
import { CannotOpenScreen } from "./screens/CannotOpen";
import { LookupScreen } from "./screens/Lookup";
import { SCREENS, SessionContext, type ScreenId, type Session } from "./session";
import { TeamBanner } from "./team/TeamBanner";
import { TeamProvider } from "./team/TeamContext";

// Sign-in and the lookup are in the first bundle; every other screen (the
// dashboard brings Chart.js) is its own chunk, loaded when the app is idle
// after its first screen, or when opened.

/**
 * A screen in its own chunk. Once its code is in, it renders directly: going
 * through `lazy` would suspend once, and React holds back the reveal of
 * suspended content for up to 300 ms.
 */
function chunkedScreen(load: () => Promise<ComponentType>): { Screen: ComponentType; preload: () => Promise<unknown> } {
  let loaded: ComponentType | null = null;
  const preload = () =>
    load().then((c) => {
      loaded = c;
      return c;
    });
  const Lazy = lazy(() => preload().then((c) => ({ default: c })));
  const Screen = () => {
    // Chosen once per mount, so that the screen never switches (and remounts) midway.
    const [Loaded] = useState(() => loaded);
    return Loaded ? <Loaded /> : <Lazy />;
  };
  return { Screen, preload };
}

const exceptions = chunkedScreen(() => import("./screens/Exceptions").then((m) => m.ExceptionsScreen));
const imports = chunkedScreen(() => import("./screens/Imports").then((m) => m.ImportsScreen));
const dashboard = chunkedScreen(() => import("./screens/Dashboard").then((m) => m.DashboardScreen));
const audit = chunkedScreen(() => import("./screens/Audit").then((m) => m.AuditScreen));
const settings = chunkedScreen(() => import("./screens/Settings").then((m) => m.SettingsScreen));
const inbox = chunkedScreen(() => import("./screens/Inbox").then((m) => m.InboxScreen));
const refundsList = chunkedScreen(() => import("./screens/Refunds").then((m) => m.RefundsScreen));
// buyer notifications
const notifications = chunkedScreen(() => import("./screens/Notifications").then((m) => m.NotificationsScreen));
const NotificationsScreen = notifications.Screen;
const ExceptionsScreen = exceptions.Screen;
const ImportsScreen = imports.Screen;
const DashboardScreen = dashboard.Screen;
const AuditScreen = audit.Screen;
const SettingsScreen = settings.Screen;
const InboxScreen = inbox.Screen;
const RefundsScreen = refundsList.Screen;

/** How long after the first screen the other screens' code is fetched, in ms. */
const PRELOAD_SCREENS_AFTER_MS = 1_000;

/** Fetches the other screens' code once, so that opening one does not wait for it; resolves when the queue's is in. */
function preloadScreens(): Promise<unknown> {
  for (const screen of [imports, audit, settings, dashboard, inbox, refundsList, notifications]) {
    screen.preload().catch(() => undefined); // a failed fetch is retried when the screen opens
  }
  return exceptions.preload();
}

type Phase =
  | { kind: "loading" }
  | { kind: "failed"; error: ApiError }
  | { kind: "cannot_open"; refusal: CannotOpen; version: string }
  | { kind: "first_run" }
  | { kind: "sign_in" }
  | { kind: "ready"; operator: Operator };

/** `#/exceptions` at start-up opens that screen once (bookmarks, screenshots). */
let startScreen: ScreenId | null = (() => {
  const h = typeof window !== "undefined" ? window.location.hash.replace(/^#\/?/, "") : "";
  return (SCREENS as readonly string[]).includes(h) ? (h as ScreenId) : null;
})();

/** The screen each role lands on: the manager's queue, everyone else's lookup. */
export function homeScreen(op: Operator): ScreenId {
  return isManagerLike(op.role) ? "exceptions" : "lookup";
}

/** The app inside team mode's context: the read-only banner above every screen (sign-in included). */
export function App() {
  /** Crash reports not yet seen: a notice above every screen until dismissed. */
  const [crashReports, setCrashReports] = useState<CrashReports | null>(null);
  return (
    <TeamProvider>
      <div className="app-frame">
        <TeamBanner />
        {crashReports && <CrashNotice reports={crashReports} onDismissed={() => setCrashReports(null)} />}
        <AppScreens onCrashReports={setCrashReports} />
      </div>
    </TeamProvider>
  );
}

function AppScreens({ onCrashReports }: { onCrashReports: (reports: CrashReports | null) => void }) {
  const { t } = useTranslation();
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [screen, setScreen] = useState<ScreenId>("lookup");
  const [caseOrder, setCaseOrder] = useState<string | null>(null);
  /** Why the console is locked (the lock screen says so), or null. */
  const [locked, setLocked] = useState<LockReason | null>(null);
  /** Just after first run: the next step (import the first files) is offered above the screen. */
  const [welcome, setWelcome] = useState(false);
  /** The screen the queue's warm-up render started on (see WarmUp); null when there is none. */
  const [warmUpOn, setWarmUpOn] = useState<ScreenId | null>(null);
  const endWarmUp = useCallback(() => setWarmUpOn(null), []);
  const screenRef = useRef(screen);
  screenRef.current = screen;

  const load = useCallback(async () => {
    setPhase({ kind: "loading" });
    try {
      const s = await api.appStatus();
      setStatus(s);
      onCrashReports(s.crash_reports ?? null);
      if (s.cannot_open) setPhase({ kind: "cannot_open", refusal: s.cannot_open, version: s.version });
      else if (s.first_run) setPhase({ kind: "first_run" });
      else if (s.operator) enter(s.operator);
      else setPhase({ kind: "sign_in" });
    } catch (e) {
      setPhase({ kind: "failed", error: toApiError(e) });
    }
  }, [onCrashReports]);

  useEffect(() => {
    void load();
  }, [load]);

  const enter = (op: Operator) => {
    void changeLanguage(normaliseLanguage(op.language));
    setLocked(null);
    setScreen(startScreen ?? homeScreen(op));
    startScreen = null;
    setCaseOrder(null);
    setPhase({ kind: "ready", operator: op });
  };

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } catch {
      // signed out locally whatever the core says
    }
    setLocked(null);
    setPhase({ kind: "sign_in" });
  }, []);

  // The core ends idle sessions itself: follow it to the lock or sign-in screen.
  useEffect(() => {
    onSessionError((code) => {
      if (code === "auth.locked") setLocked((l) => l ?? "idle");
      else setPhase((p) => (p.kind === "ready" ? { kind: "sign_in" } : p));
    });
    return () => onSessionError(null);
  }, []);

  const ready = phase.kind === "ready";
  useEffect(() => {
    if (!ready) return;
    let live = true;
    const timer = setTimeout(() => {
      // Then render the queue once out of sight, unless it is already on screen.
      preloadScreens()
        .then(() => {
          if (live && screenRef.current !== "exceptions") setWarmUpOn(screenRef.current);
        })
        .catch(() => undefined);
    }, PRELOAD_SCREENS_AFTER_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [ready]);

  const idleMinutes = status?.idle_lock_minutes ?? 0;
  useIdle(idleMinutes, () => setLocked("idle"), phase.kind === "ready" && !locked);

  const session = useMemo<Session | null>(() => {
    if (phase.kind !== "ready" || !status) return null;
    return {
      operator: phase.operator,
      status,
      setOperator: (op) => setPhase({ kind: "ready", operator: op }),
      setStatus,
      navigate: (s) => {
        setScreen(s);
        window.history.replaceState(null, "", `#/${s}`);
      },
      openCase: (orderId) => {
        setCaseOrder(orderId);
        setScreen("lookup");
      },
      signOut,
    };
  }, [phase, status, signOut]);

  switch (phase.kind) {
    case "loading":
      return (
        <div className="center muted" data-testid="app-loading">
          {t("app.loading")}
        </div>
      );
    case "failed":
      return (
        <div className="center" data-testid="app-failed">
          <h1>{t("app.cannotStart")}</h1>
          <ErrorNotice error={phase.error} full />
          <button type="button" onClick={() => void load()} data-testid="app-retry">
            {t("app.retry")}
          </button>
        </div>
      );
    case "cannot_open":
      return <CannotOpenScreen refusal={phase.refusal} version={phase.version} />;
    case "first_run":
      return (
        <FirstRun
          onDone={(op) => {
            enter(op);
            setWelcome(true);
          }}
        />
      );
    case "sign_in":
      return <SignIn onDone={enter} />;
    case "ready":
      break;
  }
  if (!session) return null;
  if (locked) {
    return (
      <SessionContext.Provider value={session}>
        <LockScreen
          operator={phase.operator}
          minutes={idleMinutes}
          reason={locked}
          onUnlocked={(op) => {
            setLocked(null);
            setPhase({ kind: "ready", operator: op });
          }}
          onSignOut={() => void signOut()}
        />
      </SessionContext.Provider>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <div className="app" data-testid="app" data-screen={screen}>
        <Header screen={screen} onLock={() => setLocked("manual")} />
        <BackupWarning />
        {welcome && screen !== "imports" && (
          <div className="notice notice-info first-run-next" role="status" data-testid="first-run-next">
            <span>
              <strong>{t("firstRun.nextTitle")}</strong> {t("firstRun.nextText")}
            </span>
            <span className="button-row">
              <button
                type="button"
                className="primary"
                autoFocus
                onClick={() => {
                  setWelcome(false);
                  session.navigate("imports");
                }}
                data-testid="first-run-import"
              >
                {t("firstRun.import")}
              </button>
              <button type="button" className="link-button" onClick={() => setWelcome(false)} data-testid="first-run-later">
                {t("firstRun.later")}
              </button>
            </span>
          </div>
        )}
        <main className="screen" data-testid={`screen-${screen}`}>
          {screen === "lookup" && <LookupScreen initialOrder={caseOrder} onOrderShown={() => setCaseOrder(null)} />}
          <Suspense fallback={<p className="muted">{t("app.loading")}</p>}>
            {screen === "exceptions" && <ExceptionsScreen />}
            {screen === "imports" && <ImportsScreen />}
            {screen === "dashboard" && <DashboardScreen />}
            {screen === "audit" && <AuditScreen />}
            {screen === "settings" && <SettingsScreen />}
            {screen === "inbox" && <InboxScreen />}
            {screen === "refunds" && <RefundsScreen />}
            {screen === "notifications" && <NotificationsScreen />}
          </Suspense>
        </main>
        {/* Dropped by any navigation: hidden copies never stand next to a screen the operator opened. */}
        {warmUpOn === screen && (
          <WarmUp onDone={endWarmUp}>
            <ExceptionsScreen />
          </WarmUp>
        )}
      </div>
    </SessionContext.Provider>
  );
}
