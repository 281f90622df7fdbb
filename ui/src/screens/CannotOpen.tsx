import i18n, { htmlLang, knownLanguage } from "../i18n";
import type { CannotOpen, Language } from "../bindings";
import { LANGUAGES } from "../api/types";

/**
 * The whole window when the database was refused (a newer VoucherDesk wrote
 * it): in the operator's language when this machine knows it, else in all
 * three. Nothing here can change the file.
 */
export function CannotOpenScreen({
  refusal,
  version,
  language = knownLanguage(),
}: {
  refusal: CannotOpen;
  version: string;
  language?: Language | null;
}) {
  const languages = language ? [language] : LANGUAGES;
  return (
    <div className="center cannot-open" role="alert" data-testid="cannot-open">
      {languages.map((lang) => {
        const t = i18n.getFixedT(lang);
        return (
          <section key={lang} lang={htmlLang(lang)} data-testid={`cannot-open-${lang}`}>
            <h1>{t("cannotOpen.title")}</h1>
            <p>{t("cannotOpen.schemas", { file: refusal.file_schema, app: refusal.app_schema })}</p>
            <p>
              {t("cannotOpen.file")}: <code data-testid={`cannot-open-path-${lang}`}>{refusal.db_path}</code>
            </p>
            <p>
              <strong>{t("cannotOpen.unchanged")}</strong> {t("cannotOpen.next")}
            </p>
            <p className="muted">{t("cannotOpen.thisApp", { version })}</p>
          </section>
        );
      })}
    </div>
  );
}
