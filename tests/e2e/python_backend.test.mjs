// The Python backend example (examples/python-backend/app.py) in headless Chromium: its aiohttp
// server mints credentials with the Python SDK and serves the Express example's vanilla page,
// which connects with the JS SDK. Video plays, an interact is acknowledged, a mint past the
// account's limit answers 429 CONCURRENT_LIMIT_REACHED, disconnect frees the slot, and an
// unreachable API answers 502.
//
// Needs the Python SDK's venv (sdks/python/.venv, made by `make py-deps` / `make test-python`);
// aiohttp is installed into it (the pin of examples/python-backend/requirements.txt) if missing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";

import {
  Child,
  cleanup,
  freePort,
  launchBrowser,
  onCleanup,
  repoRoot,
  startServer,
} from "./lib/harness.mjs";
import { openPage, waitShown } from "./lib/example_page.mjs";

const EXAMPLE_DIR = path.join(repoRoot, "examples", "python-backend");
const APP = path.join(EXAMPLE_DIR, "app.py");
const PYTHON = path.join(repoRoot, "sdks", "python", ".venv", "bin", "python");
const skip = existsSync(PYTHON)
  ? false
  : `no Python venv at ${PYTHON}: run \`make py-deps\` (or \`make test-python\`) first`;

let server; // account limit 1
let appUrl; // the example against `server`
let browser;

function ensureAiohttp() {
  try {
    execFileSync(PYTHON, ["-c", "import aiohttp, ithaca"], { stdio: "ignore" });
  } catch {
    const requirements = readFileSync(path.join(EXAMPLE_DIR, "requirements.txt"), "utf8");
    const pin = requirements.match(/^aiohttp==\S+/m)?.[0] ?? "aiohttp";
    execFileSync(PYTHON, ["-m", "pip", "install", "-q", pin], { stdio: "inherit" });
  }
}

/** Runs app.py on a free port (killed at cleanup); resolves to its URL once it answers. */
async function startApp(env, name = "python-backend") {
  const port = await freePort();
  const child = new Child(name, PYTHON, [APP], {
    ...process.env,
    ...env,
    PORT: String(port),
    PYTHONUNBUFFERED: "1",
  });
  onCleanup(() => child.stop());
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${url}/`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) return url;
    if (child.exited) throw new Error(`${name} exited before listening:\n${child.log()}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen:\n${child.log()}`);
    await sleep(100);
  }
}

before(async () => {
  if (skip) return;
  ensureAiohttp();
  [server, browser] = await Promise.all([
    startServer({ env: { ITHACA_SESSIONS_DEFAULT_MAX_CONCURRENT: "1" }, name: "limited" }),
    launchBrowser(),
  ]);
  // Mint (retrying while the in-process streamer registers) and end it: the server is ready.
  const creds = await server.mint({ test: "python-backend-warmup" });
  await server.api("DELETE", `/v1/sessions/${creds.session_id}`);
  await server.waitFor("no active session", 5_000, async () => (await server.activeCount()) === 0);
  appUrl = await startApp({ ITHACA_API_KEY: server.apiKey, ITHACA_API_URL: server.url });
});
after(cleanup);

test("the page and the JS SDK are served from the shared folders", { skip }, async () => {
  const page = await fetch(`${appUrl}/`);
  assert.equal(page.status, 200);
  const html = readFileSync(
    path.join(repoRoot, "examples", "express-vanilla", "public", "index.html"),
    "utf8",
  );
  assert.equal(await page.text(), html);
  const sdk = await fetch(`${appUrl}/sdk/index.js`);
  assert.equal(sdk.status, 200);
  assert.match(sdk.headers.get("content-type"), /javascript/);
  assert.equal(
    await sdk.text(),
    readFileSync(path.join(repoRoot, "sdks", "js", "src", "index.js"), "utf8"),
  );
  assert.equal((await fetch(`${appUrl}/sdk/index.d.ts`)).status, 404);
});

let first;
test(
  "Python-minted credentials: the page plays video, interact is acknowledged",
  { skip },
  async () => {
    first = await openPage(browser, `${appUrl}/?autoconnect=1`);
    const connected = await waitShown(
      first,
      "connected",
      (s) => s.status === "connected" && s.log.includes("connected"),
    );
    assert.equal(await server.activeCount(), 1);
    // The session is the one the Python SDK minted, with the app's metadata.
    const sid = connected.log.find((l) => l.startsWith("credentials for "))?.slice(16);
    assert.ok(sid, JSON.stringify(connected.log));
    const session = await server.session(sid);
    assert.equal(session?.metadata?.app, "python-backend", JSON.stringify(session));

    await first.click("#start");
    await waitShown(first, "stream started", (s) =>
      s.log.some((l) => l.startsWith("stream started")),
    );
    await first.fill("#prompt", "now it rains");
    await first.click("#interact");
    const s = await waitShown(first, "the ack", (s) =>
      s.log.includes("interact acknowledged: now it rains"),
    );
    assert.equal(s.errorCode, null, s.error);

    const frames = await first.evaluate(async () => {
      let n = 0;
      (await window.ithacaClient.peerConnection.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded;
      });
      return n;
    });
    assert.ok(frames > 0, "no frames decoded");
  },
);

test("a mint past the account's limit answers 429 CONCURRENT_LIMIT_REACHED", { skip }, async () => {
  assert.ok(first, "needs the first page connected");
  const r = await fetch(`${appUrl}/api/credentials`, { method: "POST" });
  const body = await r.json();
  assert.equal(r.status, 429);
  assert.equal(body.code, "CONCURRENT_LIMIT_REACHED");
  assert.equal(typeof body.message, "string");
  assert.equal(typeof body.retryable, "boolean");
});

test("disconnect frees the slot", { skip }, async () => {
  assert.ok(first, "needs the first page connected");
  await first.click("#disconnect");
  await waitShown(first, "disconnected", (s) => s.status === "disconnected");
  await server.waitFor("active_count 0", 5_000, async () => (await server.activeCount()) === 0);
  await first.close();
});

test("an unreachable API answers 502 network_error", { skip }, async () => {
  const url = await startApp(
    { ITHACA_API_KEY: "ik_unused", ITHACA_API_URL: `http://127.0.0.1:${await freePort()}` },
    "python-backend-unreachable",
  );
  const r = await fetch(`${url}/api/credentials`, { method: "POST" });
  const body = await r.json();
  assert.equal(r.status, 502);
  assert.equal(body.code, "network_error");
  assert.equal(body.retryable, true);
  assert.ok(!body.message.includes("ik_unused"), body.message);
});
