import { useEffect, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { api } from "../api/commands";
import type { Language, Operator } from "../bindings";
import { normaliseLanguage } from "../i18n";
import { ErrorNotice } from "../components/ErrorNotice";
import { LanguageSelect } from "../components/Header";
import { useSubmission } from "../components/useSubmission";
import { MARKS, markPainted } from "../lib/perfMarks";

const PASSWORD_CHARS_MIN = 8;

/**
 * The operator as signed in, with `lang` saved as their language when it
 * differs (the language picked before signing in is the one they meant). A
 * refusal leaves the operator as they were: the UI still shows `lang`.
 */
export async function withLanguage(op: Operator, lang: Language | null): Promise<Operator> {
  if (!lang || normaliseLanguage(op.language) === lang) return op;
  try {
    return await api.setLanguage(lang);
  } catch {
    return { ...op, language: lang };
  }
}

function AuthFrame({ title, children, testId, onLanguage }: { title: string; children: ReactNode; testId: string; onLanguage?: (lang: Language) => void }) {
  const { t } = useTranslation();
  return (
    <div className="auth-page" data-testid={testId}>
      <div className="auth-card">
        <div className="auth-top">
          <span className="brand">{t("app.name")}</span>
          <LanguageSelect onChosen={onLanguage} />
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </div>
  );
}

/** A form that submits with Enter or its submit button, without a page load. */
function AuthForm({ onSubmit, children }: { onSubmit: () => Promise<unknown>; children: ReactNode }) {
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit();
      }}
    >
      {children}
    </form>
  );
}

export function FirstRun({ onDone }: { onDone: (op: Operator) => void }) {
  const { t, i18n } = useTranslation();
  const [name, setName] = useState("admin");
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const { error, setError, busy, run } = useSubmission();
  const submit = async () => {
    setError(null);
    if (password.length < PASSWORD_CHARS_MIN) return setProblem(t("auth.passwordTooShort"));
    if (password !== again) return setProblem(t("auth.passwordsDiffer"));
    setProblem(null);
    await run(async () => {
      // The first admin has no language yet: the one this screen is in is theirs.
      const op = await api.createFirstAdmin(name.trim(), password);
      onDone(await withLanguage(op, normaliseLanguage(i18n.language)));
    });
  };
  return (
    <AuthFrame title={t("auth.firstRunTitle")} testId="first-run">
      <p className="muted">{t("auth.firstRunIntro")}</p>
      <AuthForm onSubmit={submit}>
        <label className="field">
          <span>{t("auth.name")}</span>
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            onFocus={(e) => e.currentTarget.select()}
            autoComplete="username"
            autoFocus
            data-testid="first-run-name"
            required
          />
        </label>
        <label className="field">
          <span>{t("auth.password")}</span>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" data-testid="first-run-password" />
        </label>
        <label className="field">
          <span>{t("auth.passwordAgain")}</span>
          <input type="password" value={again} onChange={(e) => setAgain(e.target.value)} autoComplete="new-password" data-testid="first-run-password-again" />
        </label>
        {problem && (
          <p className="field-error" data-testid="first-run-problem">
            {problem}
          </p>
        )}
        <ErrorNotice error={error} testId="first-run-error" />
        <button type="submit" className="primary wide" disabled={busy || !name.trim()} data-testid="first-run-submit">
          {t("auth.createAdmin")}
        </button>
      </AuthForm>
    </AuthFrame>
  );
}

export function SignIn({ onDone }: { onDone: (op: Operator) => void }) {
  const { t } = useTranslation();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const { error, busy, run } = useSubmission();
  /** A language picked on this screen: it is kept after sign-in (and saved for the operator). */
  const [chosen, setChosen] = useState<Language | null>(null);
  useEffect(() => markPainted(MARKS.signInReady), []);
  const submit = () => run(async () => onDone(await withLanguage(await api.signIn(name.trim(), password), chosen)), () => setPassword(""));
  return (
    <AuthFrame title={t("auth.signInTitle")} testId="sign-in" onLanguage={setChosen}>
      <AuthForm onSubmit={submit}>
        <label className="field">
          <span>{t("auth.name")}</span>
          <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="username" autoFocus data-testid="sign-in-name" />
        </label>
        <label className="field">
          <span>{t("auth.password")}</span>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" data-testid="sign-in-password" />
        </label>
        <ErrorNotice error={error} testId="sign-in-error" />
        <button type="submit" className="primary wide" disabled={busy || !name.trim() || !password} data-testid="sign-in-submit">
          {t("auth.signIn")}
        </button>
      </AuthForm>
    </AuthFrame>
  );
}

/** Idle: the console (or the core) locked itself; manual: the operator pressed Lock. */
export type LockReason = "idle" | "manual";

export function LockScreen({
  operator,
  minutes,
  reason = "idle",
  onUnlocked,
  onSignOut,
}: {
  operator: Operator;
  minutes: number;
  reason?: LockReason;
  onUnlocked: (op: Operator) => void;
  onSignOut: () => void;
}) {
  const { t } = useTranslation();
  const [password, setPassword] = useState("");
  const { error, busy, run } = useSubmission();
  const submit = () => run(async () => onUnlocked(await api.signIn(operator.name, password)), () => setPassword(""));
  return (
    <AuthFrame title={t("auth.lockedTitle")} testId="lock-screen">
      <p className="muted" data-testid="lock-reason" data-reason={reason}>
        {reason === "manual" ? t("lock.manual", { name: operator.name }) : t("auth.lockedIntro", { name: operator.name, minutes })}
      </p>
      <AuthForm onSubmit={submit}>
        <label className="field">
          <span>{t("auth.password")}</span>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus data-testid="lock-password" />
        </label>
        <ErrorNotice error={error} testId="lock-error" />
        <button type="submit" className="primary wide" disabled={busy || !password} data-testid="lock-submit">
          {t("auth.unlock")}
        </button>
        <button type="button" className="link-button" onClick={onSignOut} data-testid="lock-sign-out">
          {t("auth.signInAsSomeoneElse")}
        </button>
      </AuthForm>
    </AuthFrame>
  );
}
