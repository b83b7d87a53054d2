// The full example (examples/express-vanilla) in headless Chromium: its Express server mints
// credentials with the SDK and the vanilla page connects with the browser SDK. Video plays, an
// interact is acknowledged, disconnect frees the slot; a page minting past the account's limit
// shows CONCURRENT_LIMIT_REACHED, and a page whose token expired before connecting shows
// token_expired.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";

import { cleanup, launchBrowser, onCleanup, repoRoot, startServer } from "./lib/harness.mjs";
import { openPage, waitShown } from "./lib/example_page.mjs";

const EXAMPLE_DIR = path.join(repoRoot, "examples", "express-vanilla");

let limited; // account limit 1
let shortTtl; // tokens live 1 s, no leeway
let appUrl; // the example against `limited`
let shortTtlAppUrl; // the example against `shortTtl`
let browser;

/** Mints (retrying while the streamer registers) and ends the session: the server is ready. */
async function warmUp(server) {
  const creds = await server.mint({ test: "example-warmup" });
  await server.api("DELETE", `/v1/sessions/${creds.session_id}`);
  await server.waitFor("no active session", 5_000, async () => (await server.activeCount()) === 0);
}

async function listen(app) {
  const srv = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  onCleanup(() => new Promise((r) => srv.close(r)));
  return `http://localhost:${srv.address().port}`;
}

before(async () => {
  if (!existsSync(path.join(EXAMPLE_DIR, "node_modules", "express"))) {
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: EXAMPLE_DIR, stdio: "ignore" });
  }
  const { createApp } = await import(pathToFileURL(path.join(EXAMPLE_DIR, "server.js")).href);
  [limited, shortTtl, browser] = await Promise.all([
    startServer({ env: { ITHACA_SESSIONS_DEFAULT_MAX_CONCURRENT: "1" }, name: "limited" }),
    startServer({
      env: { ITHACA_TOKENS_TTL_SECONDS: "1", ITHACA_TOKENS_LEEWAY_SECONDS: "0" },
      name: "short-ttl",
    }),
    launchBrowser(),
  ]);
  await Promise.all([warmUp(limited), warmUp(shortTtl)]);
  appUrl = await listen(createApp({ apiKey: limited.apiKey, apiUrl: limited.url }));
  shortTtlAppUrl = await listen(createApp({ apiKey: shortTtl.apiKey, apiUrl: shortTtl.url }));
});
after(cleanup);

let first;
test("the page connects and plays video, interact is acknowledged", async () => {
  first = await openPage(browser, `${appUrl}/`);
  await first.click("#connect");
  await waitShown(
    first,
    "connected",
    (s) => s.status === "connected" && s.log.includes("connected"),
  );
  assert.equal(await limited.activeCount(), 1);

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
    const v = document.getElementById("video");
    return { n, attached: v.srcObject !== null, width: v.videoWidth };
  });
  assert.ok(frames.n > 0, `no frames decoded: ${JSON.stringify(frames)}`);
  assert.equal(frames.attached, true);
});

test("a second page past the account's limit shows CONCURRENT_LIMIT_REACHED", async () => {
  assert.ok(first, "needs the first page connected");
  const second = await openPage(browser, `${appUrl}/?autoconnect=1`);
  const s = await waitShown(second, "the error", (s) => s.errorCode !== null);
  assert.equal(s.errorCode, "CONCURRENT_LIMIT_REACHED", s.error);
  assert.match(s.error, /^CONCURRENT_LIMIT_REACHED: ./);
  assert.equal(s.status, "failed");
  await second.close();
  // The HTTP answer the page got: 429 with the error's code and message.
  const r = await fetch(`${appUrl}/api/credentials`, { method: "POST" });
  const body = await r.json();
  assert.equal(r.status, 429);
  assert.equal(body.code, "CONCURRENT_LIMIT_REACHED");
  assert.equal(typeof body.message, "string");
});

test("disconnect frees the slot", async () => {
  assert.ok(first, "needs the first page connected");
  await first.click("#disconnect");
  await waitShown(first, "disconnected", (s) => s.status === "disconnected");
  await limited.waitFor("active_count 0", 5_000, async () => (await limited.activeCount()) === 0);
  await first.close();
});

test("a token that expired before connecting shows token_expired", async () => {
  const page = await openPage(browser, `${shortTtlAppUrl}/?autoconnect=1&connectDelayMs=2000`);
  const s = await waitShown(page, "the error", (s) => s.errorCode !== null);
  assert.equal(s.errorCode, "token_expired", s.error);
  assert.equal(s.status, "failed");
  await page.close();
});
