// Compatibility: the official Odyssey SDK (@odysseyml/odyssey 1.3.1 from npm), unmodified, pointed
// at Ithaca. Node mints with createClientCredentials() (API_URL); a page on another origin
// (window.__ODYSSEY_API_URL__) streams with connectWithCredentials(), and a trusted page uses
// connect() with the key, which needs CORS on the Odyssey routes. If these fail, the server is
// wrong, not the test.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { cleanup, launchBrowser, serveOtherOrigin, startServer } from "./lib/harness.mjs";

const SDK = readFileSync(
  new URL("./node_modules/@odysseyml/odyssey/dist/index.js", import.meta.url),
  "utf8",
);

// The page runs one whole session through the SDK and reports what it saw.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<video id="v" autoplay muted playsinline></video>
<script>window.__ODYSSEY_API_URL__ = new URLSearchParams(location.search).get("api");</script>
<script type="module">
import { Odyssey, credentialsFromDict } from "/odyssey.js";
const within = (p, ms, what) =>
  Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(what + " timed out")), ms))]);
async function framesDecoded(client) {
  let n = 0;
  (await client.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded;
  });
  return n;
}
window.runSession = async ({ creds, apiKey }) => {
  const out = { events: [] };
  const handlers = {
    onInteractAcknowledged: (p) => out.events.push("ack:" + p),
    onStreamStarted: () => out.events.push("started"),
    onStreamEnded: () => out.events.push("ended"),
    onError: (e) => out.events.push("error:" + e),
  };
  const client = new Odyssey(apiKey ? { apiKey } : {});
  try {
    const stream = creds
      ? await within(client.connectWithCredentials(credentialsFromDict(creds), handlers), 20000, "connect")
      : await within(client.connect(handlers), 40000, "connect");
    out.tracks = stream.getTracks().map((t) => t.kind);
    out.sessionId = client.currentSessionId;
    client.attachToVideo(document.getElementById("v"));
    await new Promise((r) => setTimeout(r, 1000));
    out.framesIdle = await framesDecoded(client);
    out.streamId = await within(client.startStream({ prompt: "a castle", portrait: false }), 10000, "startStream");
    out.ack = await within(client.interact({ prompt: "at night" }), 10000, "interact");
    await within(client.endStream(), 10000, "endStream");
    await new Promise((r) => setTimeout(r, 500));
    out.framesEnd = await framesDecoded(client);
    client.disconnect();
    out.status = client.currentStatus;
  } catch (e) {
    out.error = String(e);
    out.status = client.currentStatus;
  }
  return out;
};
window.ready = true;
</script></body></html>`;

let server;
let page;
let pageUrl;

before(async () => {
  server = await startServer();
  const origin = await serveOtherOrigin(PAGE, { "/odyssey.js": SDK });
  pageUrl = `${origin}/?api=${encodeURIComponent(server.url)}`;
  page = await (await launchBrowser()).newPage();
});
after(cleanup);

async function runInPage(args) {
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.ready === true);
  return page.evaluate((a) => window.runSession(a), args);
}

async function endedCleanly(sessionId) {
  for (let i = 0; i < 20; i++) {
    const s = (await server.api("GET", `/v1/sessions/${sessionId}`)).body;
    if (s.state === "ended") return s.end_cause;
    await new Promise((r) => setTimeout(r, 50));
  }
  return "still live";
}

test("createClientCredentials() in Node mints through the Odyssey routes", async () => {
  process.env.API_URL = server.url; // read by the SDK's constructor
  const { Odyssey, credentialsToDict, extractSessionId } = await import("@odysseyml/odyssey");
  const creds = await new Odyssey({ apiKey: server.apiKey }).createClientCredentials();
  const dict = credentialsToDict(creds);
  assert.equal(dict.signaling_url, `${server.url.replace("http", "ws")}/signaling`);
  assert.equal(dict.expires_in, 600);
  assert.equal(extractSessionId(dict.session_token), dict.session_id);
  assert.equal(
    (await server.api("GET", `/v1/sessions/${dict.session_id}`)).body.state,
    "provisioned",
  );
  await server.api("DELETE", `/v1/sessions/${dict.session_id}`);
});

test("connectWithCredentials() streams, starts, interacts, ends and disconnects", async () => {
  const creds = await server.mint({ test: "odyssey-sdk" });
  const r = await runInPage({ creds });
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.deepEqual(r.tracks, ["video"]);
  assert.ok(r.framesIdle > 0, "no video decoded");
  assert.match(r.streamId, /^st/);
  assert.equal(r.ack, "at night");
  assert.ok(r.framesEnd > r.framesIdle, `video stalled: ${JSON.stringify(r)}`);
  assert.deepEqual(r.events, ["started", "ack:at night", "ended"]);
  assert.equal(r.status, "disconnected");
  assert.equal(await endedCleanly(creds.session_id), "client_disconnect");
});

test("connect() with the API key in a trusted page works across origins (CORS)", async () => {
  const r = await runInPage({ apiKey: server.apiKey });
  assert.equal(r.error, undefined, JSON.stringify(r));
  assert.ok(r.framesIdle > 0, "no video decoded");
  assert.equal(r.ack, "at night");
  assert.equal(await endedCleanly(r.sessionId), "client_disconnect");
});
