// The e2e harness: real `ithaca` processes on loopback and a headless Chromium, torn down even
// when a test fails or the runner is interrupted. Used by tests/e2e/*.test.mjs and by the
// benchmarks in bench/streaming/.
//
//   const server = await startServer();            // ithaca server --dev in a fresh data dir
//   const browser = await launchBrowser();         // /usr/bin/chromium, fresh profile
//   const page = await openClientPage(browser, server);
//   ...
//   await cleanup();                               // everything started, newest first
//
// Environment: ITHACA_BIN (default build/$PRESET/apps/ithaca/ithaca, PRESET=dev),
// CHROMIUM (default /usr/bin/chromium), E2E_VERBOSE=1 to echo the servers' logs.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export function ithacaBinary() {
  const bin =
    process.env.ITHACA_BIN ??
    path.join(repoRoot, "build", process.env.PRESET ?? "dev", "apps", "ithaca", "ithaca");
  if (!existsSync(bin)) throw new Error(`no ithaca binary at ${bin} (build it, or set ITHACA_BIN)`);
  return bin;
}

// What headless Chromium needs to run as root, with WebRTC autoplay.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
];

// Startup budget of a server on a loaded 2-core machine (it binds in milliseconds; the in-process
// streamer's GStreamer registry scan can take a few seconds the first time).
const SERVER_START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000; // SIGTERM, then SIGKILL
const LOG_LINES_KEPT = 400;

// ---- cleanup: a stack of undo functions, run newest first ----

const undo = [];
const liveChildren = new Set();

export function onCleanup(fn) {
  undo.push(fn);
}

export async function cleanup() {
  const errors = [];
  while (undo.length) {
    try {
      await undo.pop()();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length) console.error("e2e cleanup errors:", errors);
}

// Last resort when the runner exits without cleanup (a crash, an uncaught error): no orphans.
process.on("exit", () => {
  for (const child of liveChildren) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    cleanup().finally(() => process.exit(130));
  });
}

// ---- processes ----

/** A child process with its output kept (the last lines), and a stop() that always works. */
export class Child {
  constructor(name, file, args, env) {
    this.name = name;
    this.lines = [];
    this.exited = null; // {code, signal} once exited
    this.proc = spawn(file, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    liveChildren.add(this.proc);
    this.exit = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        liveChildren.delete(this.proc);
        this.exited = { code, signal };
        resolve(this.exited);
      });
      this.proc.on("error", (err) => {
        liveChildren.delete(this.proc);
        this.exited = { code: -1, signal: null, error: err };
        resolve(this.exited);
      });
    });
    const keep = (chunk) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        this.lines.push(line);
        if (process.env.E2E_VERBOSE) console.error(`[${this.name}] ${line}`);
      }
      if (this.lines.length > LOG_LINES_KEPT)
        this.lines.splice(0, this.lines.length - LOG_LINES_KEPT);
    };
    this.proc.stdout.on("data", keep);
    this.proc.stderr.on("data", keep);
  }

  get pid() {
    return this.proc.pid;
  }

  log(last = 60) {
    const lines = this.lines.slice(-last);
    if (this.exited) lines.push(`[${this.name} exited: ${JSON.stringify(this.exited)}]`);
    return lines.join("\n");
  }

  kill(signal = "SIGKILL") {
    if (!this.exited) this.proc.kill(signal);
    return this.exit;
  }

  async stop() {
    if (this.exited) return this.exited;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), STOP_GRACE_MS);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }
}

/** A free TCP port on 127.0.0.1 (for binaries without --port-file). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

let helpText = null;
async function serverHelp() {
  if (helpText === null) {
    const child = new Child("help", ithacaBinary(), ["server", "--help"], process.env);
    await child.exit;
    helpText = child.lines.join("\n");
  }
  return helpText;
}

async function waitFor(what, child, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== null && value !== false) return value;
    if (child?.exited) {
      throw new Error(
        `${child.name} exited (${JSON.stringify(child.exited)}) before ${what}:\n${child.log()}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${child ? `:\n${child.log()}` : ""}`);
    }
    await sleep(50);
  }
}

async function tempDir(prefix) {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onCleanup(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts `ithaca server --dev` in a fresh data dir on a loopback port and waits until /healthz
 * answers. Options: env (extra environment, e.g. ITHACA_TOKENS_TTL_SECONDS), localStreamer
 * (false: --no-local-streamer), args (more flags), name (for logs).
 */
export async function startServer({
  env = {},
  localStreamer = true,
  args = [],
  name = "server",
} = {}) {
  const dataDir = await tempDir("ithaca-e2e-data-");
  const portFile = path.join(dataDir, "port");
  const help = await serverHelp();
  const withPortFile = help.includes("--port-file");
  const listen = withPortFile ? "127.0.0.1:0" : `127.0.0.1:${await freePort()}`;
  const argv = ["server", "--dev", "--listen", listen, "--data", dataDir];
  if (withPortFile) argv.push("--port-file", portFile);
  if (!localStreamer) argv.push("--no-local-streamer");
  argv.push(...args);
  const child = new Child(name, ithacaBinary(), argv, { ...process.env, ...env });
  onCleanup(() => child.stop());

  const port = withPortFile
    ? await waitFor("the port file", child, SERVER_START_TIMEOUT_MS, async () => {
        const text = (await readFile(portFile, "utf8")).trim();
        return /^\d+$/.test(text) ? Number(text) : null;
      })
    : Number(listen.split(":")[1]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`, child, SERVER_START_TIMEOUT_MS, async () => {
    const r = await fetch(`${url}/healthz`);
    return r.ok;
  });
  const apiKey = (await readFile(path.join(dataDir, "dev-api-key"), "utf8")).trim();
  return new ServerHandle(child, url, dataDir, apiKey);
}

export class ServerHandle {
  constructor(child, url, dataDir, apiKey) {
    this.child = child;
    this.url = url;
    this.dataDir = dataDir;
    this.apiKey = apiKey;
    this.streamerSecretFile = path.join(dataDir, "streamer.secret");
  }

  log(last) {
    return this.child.log(last);
  }

  /** An API call with the dev API key: {status, body, headers}. */
  async api(method, route, body, { key = this.apiKey } = {}) {
    const headers = {};
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(this.url + route, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON (the demo page)
    }
    return { status: r.status, body: json, text, headers: r.headers };
  }

  /**
   * POST /v1/client_credentials with the dev API key. While no streamer is registered yet (one
   * starting beside the server) a mint is 503 no_streamer_available: retried until timeoutMs.
   */
  async mint(metadata = {}, { timeoutMs = 15_000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.api("POST", "/v1/client_credentials", { metadata });
      if (r.status === 201) return r.body;
      const code = r.body?.detail?.code;
      if (code !== "no_streamer_available" || Date.now() > deadline) {
        throw new Error(`mint failed: ${r.status} ${r.text}\n${this.log()}`);
      }
      await sleep(100);
    }
  }

  async session(id) {
    return (await this.api("GET", `/v1/sessions/${id}`)).body;
  }

  async activeCount() {
    return (await this.api("GET", "/v1/usage")).body.active_count;
  }

  /** Polls until `probe()` is truthy; returns its value, or throws after timeoutMs. */
  waitFor(what, timeoutMs, probe) {
    return waitFor(what, this.child, timeoutMs, probe);
  }
}

/** Starts `ithaca streamer --server URL --secret-file FILE --id ID` against a server. */
export function startStreamer(server, { id = "str_e2e", args = [], env = {} } = {}) {
  const child = new Child(
    `streamer ${id}`,
    ithacaBinary(),
    [
      "streamer",
      "--server",
      server.url,
      "--secret-file",
      server.streamerSecretFile,
      "--id",
      id,
      ...args,
    ],
    { ...process.env, ...env },
  );
  onCleanup(() => child.stop());
  return child;
}

// ---- the browser ----

/** Launches headless Chromium with a fresh profile; closed (and the profile removed) at cleanup. */
export async function launchBrowser() {
  const profile = await tempDir("ithaca-e2e-chromium-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
  onCleanup(() => context.close().catch(() => {}));
  return context;
}

const driverSource = readFileSync(new URL("./driver.js", import.meta.url), "utf8");

/**
 * A page of the server's origin (the demo page with autoconnect off) with the test driver
 * (lib/driver.js, which drives the JS SDK the binary serves at /sdk/) loaded as window.__e2e.
 */
export async function openClientPage(context, server) {
  const page = await context.newPage();
  page.consoleLines = [];
  page.on("console", (m) => {
    page.consoleLines.push(`${m.type()}: ${m.text()}`);
    if (process.env.E2E_VERBOSE) console.error(`[page] ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/?autoconnect=0`);
  await page.addScriptTag({ type: "module", content: driverSource });
  await page.waitForFunction(() => window.__e2e?.ready === true);
  return page;
}

/** Calls a driver function in the page: await window.__e2e[fn](...args). */
export function drive(page, fn, ...args) {
  return page.evaluate(([f, a]) => window.__e2e[f](...a), [fn, args]);
}

/**
 * An app's own origin for a test page: http://localhost:PORT (Ithaca listens on 127.0.0.1, so
 * every call the page makes to it is cross-origin). Serves the JS SDK's browser files at
 * /sdk/NAME.js (from sdks/js/src), each path of `scripts` as JavaScript, and `html` for
 * anything else. Closed at cleanup.
 */
export async function serveOtherOrigin(html, scripts = {}) {
  const sdkDir = path.join(repoRoot, "sdks", "js", "src");
  const app = http.createServer((req, res) => {
    const sdkFile = /^\/sdk\/([a-z-]+\.js)$/.exec(req.url)?.[1];
    let script = scripts[req.url.split("?")[0]];
    if (sdkFile) {
      try {
        script = readFileSync(path.join(sdkDir, sdkFile));
      } catch {
        res.writeHead(404);
        return res.end();
      }
    }
    if (script !== undefined) {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(script);
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(html);
  });
  await new Promise((r) => app.listen(0, "127.0.0.1", r));
  onCleanup(() => new Promise((r) => app.close(r)));
  return `http://localhost:${app.address().port}`;
}
