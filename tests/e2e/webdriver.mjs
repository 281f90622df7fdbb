// A small W3C WebDriver client over fetch (Node >= 18), enough to drive the
// real VoucherDesk binary through tauri-driver. No dependencies.

import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { writeFile, mkdir } from "node:fs/promises";
import path from "node:path";

const ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf";

export const KEYS = { enter: "\uE007", backspace: "\uE003", selectAll: "\uE009a", escape: "\uE00C", tab: "\uE004" };

/** One WebDriver command may take this long before it fails (a hung command fails its test, not the suite). */
const COMMAND_TIMEOUT_MS = 90_000;
/** A screenshot through WebDriver may take this long before the X display's copy is used instead. */
const SCREENSHOT_TIMEOUT_MS = 15_000;
/** Capturing the window from the X display may take this long. */
const X_CAPTURE_TIMEOUT_MS = 15_000;
/** How long a tooltip takes to go once the pointer has left its element. */
const TOOLTIP_GONE_MS = 300;
/** Errors that mean "the element went away between finding it and using it". */
const GONE_ERRORS = new Set(["stale element reference", "no such element", "detached shadow root"]);

export const isGoneError = (e) => GONE_ERRORS.has(e?.code);

class WebDriverError extends Error {
  constructor(method, url, status, value) {
    super(`${method} ${url} -> ${status}: ${value?.error ?? ""} ${value?.message ?? JSON.stringify(value)}`);
    this.code = value?.error;
  }
}

async function request(base, method, url, body, { timeout = COMMAND_TIMEOUT_MS } = {}) {
  let res;
  try {
    res = await fetch(base + url, {
      method,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
  } catch (e) {
    if (e?.name === "TimeoutError") throw new WebDriverError(method, url, 0, { error: "timeout", message: `no answer in ${timeout} ms` });
    throw e;
  }
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    throw new WebDriverError(method, url, res.status, { message: text });
  }
  if (!res.ok || (json.value && json.value.error)) throw new WebDriverError(method, url, res.status, json.value);
  return json.value;
}

/** A TCP port on loopback that nothing listens on now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts tauri-driver (which starts WebKitWebDriver) and waits until it answers.
 * Its port and WebKitWebDriver's are free ones picked here unless given (or set with
 * `E2E_WEBDRIVER_PORT` / `E2E_NATIVE_PORT`), so two runs on one machine never share a driver.
 */
export async function startDriver({ port, nativePort, env = process.env, log } = {}) {
  port ??= process.env.E2E_WEBDRIVER_PORT ? Number(process.env.E2E_WEBDRIVER_PORT) : await freePort();
  nativePort ??= process.env.E2E_NATIVE_PORT ? Number(process.env.E2E_NATIVE_PORT) : await freePort();
  const child = spawn("tauri-driver", ["--port", String(port), "--native-port", String(nativePort)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = [];
  const keep = (chunk) => {
    lines.push(chunk.toString());
    if (log) log(chunk.toString());
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = null;
  child.on("exit", (code) => (exited = code));
  const base = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 20_000;
  for (;;) {
    if (exited !== null) throw new Error(`tauri-driver exited with ${exited}:\n${lines.join("")}`);
    try {
      await request(base, "GET", "/status");
      break;
    } catch {
      if (performance.now() > deadline) throw new Error(`tauri-driver did not answer on ${base}:\n${lines.join("")}`);
      await sleep(200);
    }
  }
  return {
    base,
    output: () => lines.join(""),
    stop: async () => {
      if (exited === null) {
        child.kill("SIGTERM");
        await Promise.race([new Promise((r) => child.once("exit", r)), sleep(5_000)]);
      }
    },
  };
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(base, application, args = []) {
    const value = await request(base, "POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application, args } } },
    });
    return new Session(base, value.sessionId);
  }

  cmd(method, url, body, options) {
    return request(this.base, method, `/session/${this.id}${url}`, body, options);
  }

  /** True while the app answers (a script round trip within a few seconds). */
  async alive() {
    try {
      return (await this.cmd("POST", "/execute/sync", { script: "return 1", args: [] }, { timeout: 10_000 })) === 1;
    } catch {
      return false;
    }
  }

  async delete() {
    await this.cmd("DELETE", "");
  }

  async find(css) {
    const v = await this.cmd("POST", "/element", { using: "css selector", value: css });
    return new Element(this, v[ELEMENT_KEY], css);
  }

  async findAll(css) {
    const vs = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return vs.map((v) => new Element(this, v[ELEMENT_KEY], css));
  }

  // Every deadline here is on the monotonic clock: on a shared machine the wall
  // clock can jump, and a wait measured by it once gave up after 3 s of 15.
  /** Waits for an element matching `css` (and, if given, `ok(element)`). */
  async waitFor(css, { timeout = 15_000, ok, what } = {}) {
    const deadline = performance.now() + timeout;
    let last = null;
    for (;;) {
      try {
        const el = await this.find(css);
        if (!ok || (await ok(el))) return el;
        last = new Error("condition not met");
      } catch (e) {
        last = e;
      }
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what ?? css}: ${last?.message}`);
      await sleep(150);
    }
  }

  /**
   * The text of the first match of `css`, read in the page (textContent, trimmed). WebKitWebDriver's
   * own element text is empty for some elements that are plainly on screen (the header's tabs once
   * the language changed), so labels are read here.
   */
  async label(css) {
    await this.waitFor(css);
    return this.execute("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null", [css]);
  }

  /** How many elements match `css` now, counted in the page: nothing to go stale. */
  async count(css) {
    return this.execute("return document.querySelectorAll(arguments[0]).length", [css]);
  }

  async waitGone(css, { timeout = 15_000, what } = {}) {
    const deadline = performance.now() + timeout;
    for (;;) {
      let last;
      try {
        if ((await this.count(css)) === 0) return;
      } catch (e) {
        last = e;
      }
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what ?? css} to go away${last ? `: ${last.message}` : ""}`);
      await sleep(150);
    }
  }

  /** Waits until `fn()` returns a truthy value and returns it. */
  async until(fn, { timeout = 15_000, what = "condition" } = {}) {
    const deadline = performance.now() + timeout;
    let last;
    for (;;) {
      try {
        const v = await fn();
        if (v) return v;
      } catch (e) {
        last = e;
      }
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
      await sleep(150);
    }
  }

  /** Runs `act` on a fresh match of `css`, again when the element went stale in between (at most 3 times). */
  async #withElement(css, act, { ok } = {}) {
    for (let attempt = 1; ; attempt++) {
      const el = await this.waitFor(css, { ok });
      try {
        await act(el);
        return el;
      } catch (e) {
        if (!isGoneError(e) || attempt === 3) throw e;
      }
    }
  }

  async click(css) {
    return this.#withElement(
      css,
      async (el) => {
        // WebKitWebDriver clicks an element at the window's edge without bringing it in:
        // centre it first, as a person would scroll to it.
        await this.cmd("POST", "/execute/sync", {
          script: "arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' })",
          args: [{ [ELEMENT_KEY]: el.id }],
        });
        await el.click();
      },
      { ok: (e) => e.enabled() },
    );
  }

  async type(css, text, { clear = true } = {}) {
    return this.#withElement(css, async (el) => {
      if (clear) await el.clear();
      await el.sendKeys(text);
    });
  }

  /** Sends keys to whatever has the focus (Esc, Tab, Enter). */
  async keys(text) {
    const actions = [...text].flatMap((value) => [
      { type: "keyDown", value },
      { type: "keyUp", value },
    ]);
    await this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.cmd("DELETE", "/actions");
  }

  /** Chooses `value` in a <select> by clicking its option. */
  async select(css, value) {
    await this.waitFor(css);
    await this.click(`${css} option[value="${value}"]`);
  }

  async text(css) {
    let text;
    await this.#withElement(css, async (el) => {
      text = await el.text();
    });
    return text;
  }

  async execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /**
   * Saves a PNG of the window, never hanging the suite: the X display's copy of
   * the app's window (`xWindow()`, ImageMagick's `import`) when there is one, else
   * WebDriver's screenshot within SCREENSHOT_TIMEOUT_MS. A screenshot that
   * cannot be taken is reported, not failed: the test's assertions decide.
   */
  async screenshot(file, { xWindow } = {}) {
    await mkdir(path.dirname(file), { recursive: true });
    // The pointer off whatever it last clicked, so no tooltip covers the picture.
    try {
      const park = { type: "pointerMove", duration: 0, x: 0, y: 0, origin: "viewport" };
      await this.cmd("POST", "/actions", { actions: [{ type: "pointer", id: "mouse", parameters: { pointerType: "mouse" }, actions: [park] }] });
      await this.cmd("DELETE", "/actions");
      await new Promise((resolve) => setTimeout(resolve, TOOLTIP_GONE_MS));
    } catch {
      // A picture with a tooltip still beats none.
    }
    const id = xWindow?.();
    if (id) {
      const r = spawnSync("import", ["-window", id, file], { timeout: X_CAPTURE_TIMEOUT_MS, stdio: "ignore" });
      if (r.status === 0) return file;
    }
    try {
      const b64 = await this.cmd("GET", "/screenshot", undefined, { timeout: SCREENSHOT_TIMEOUT_MS });
      await writeFile(file, Buffer.from(b64, "base64"));
      return file;
    } catch (e) {
      console.error(`screenshot ${path.basename(file)} not taken: ${e.message}`);
      return null;
    }
  }
}

class Element {
  constructor(session, id, css) {
    this.s = session;
    this.id = id;
    this.css = css;
  }
  click() {
    return this.s.cmd("POST", `/element/${this.id}/click`, {});
  }
  clear() {
    return this.s.cmd("POST", `/element/${this.id}/clear`, {});
  }
  sendKeys(text) {
    return this.s.cmd("POST", `/element/${this.id}/value`, { text });
  }
  text() {
    return this.s.cmd("GET", `/element/${this.id}/text`);
  }
  attr(name) {
    return this.s.cmd("GET", `/element/${this.id}/attribute/${name}`);
  }
  enabled() {
    return this.s.cmd("GET", `/element/${this.id}/enabled`);
  }
}
