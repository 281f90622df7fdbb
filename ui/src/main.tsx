import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import "./styles/index.css";
import { App } from "./App";
import { htmlLang, normaliseLanguage } from "./i18n";
import i18n from "./i18n";

async function start(): Promise<void> {
  // Browser-only development and screenshots: a fake core behind invoke().
  // `import.meta.env.MODE` is a build-time constant, so in a production build
  // this branch and the mock module are dropped from the bundle.
  if (import.meta.env.MODE === "mock") {
    const { installDevMock } = await import("./mock/devMock");
    installDevMock();
  }
  document.documentElement.lang = htmlLang(normaliseLanguage(i18n.language));
  const root = document.getElementById("root");
  if (!root) throw new Error("no #root element");
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
