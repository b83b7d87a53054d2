// The SDK's browser client (sdks/js/src/client.js), loaded unbundled from <script type="module">
// on another origin, against `ithaca server --dev`: connect, commands matched by request_id,
// typed errors, a drop and its automatic reconnect, and a clean disconnect.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { cleanup, launchBrowser, serveOtherOrigin, startServer } from "./lib/harness.mjs";

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"></head><body>
<video id="v" autoplay muted playsinline></video>
<script type="module">
import * as sdk from "/sdk/index.js";
window.sdk = sdk;
window.within = (p, ms, what) =>
  Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(what + " timed out")), ms))]);
window.settle = (p) =>
  p.then(
    (value) => ({ ok: true, value }),
    (e) => ({ ok: false, name: e?.name, code: e?.code, message: String(e?.message ?? e),
              isConnectionError: e instanceof sdk.ConnectionError,
              isStreamError: e instanceof sdk.StreamError, isAuthError: e instanceof sdk.AuthError }),
  );
window.framesDecoded = async (client) => {
  let n = 0;
  (await client.peerConnection.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded;
  });
  return n;
};
// What the client sends over signaling (types only), to see which path a command took.
window.wsSent = [];
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  try { wsSent.push(JSON.parse(data).type); } catch { wsSent.push("?"); }
  return send.call(this, data);
};
window.events = [];
window.handlers = {
  onConnected: () => events.push("connected"),
  onDisconnected: () => events.push("disconnected"),
  onStreamStarted: (id) => events.push("started:" + id),
  onStreamEnded: () => events.push("ended"),
  onInteractAcknowledged: (p) => events.push("ack:" + p),
  onStreamError: (reason) => events.push("stream_error:" + reason),
  onError: (e, fatal) => events.push("error:" + e.code + ":" + fatal),
  onStatusChange: (s) => events.push("status:" + s),
};
window.ready = true;
</script></body></html>`;

let server;
let page;

before(async () => {
  server = await startServer();
  const origin = await serveOtherOrigin(PAGE);
  page = await (await launchBrowser()).newPage();
  page.consoleLines = [];
  page.on("console", (m) => page.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => page.consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
});
after(cleanup);

async function waitState(id, state, timeoutMs = 5_000) {
  const t0 = Date.now();
  for (;;) {
    const s = await server.session(id);
    if (s.state === state || Date.now() - t0 > timeoutMs) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

let creds;
const done = new Set();
function needs(step) {
  if (!done.has(step)) throw new Error(`skipped: step "${step}" failed earlier`);
}

test("connect: idempotent, video decodes, a command issued early waits for the channel", async () => {
  creds = await server.mint({ test: "sdk-client" });
  const r = await page.evaluate(async (creds) => {
    const c = (window.client = new sdk.Ithaca());
    const p1 = c.connectWithCredentials(sdk.credentialsFromDict(creds), handlers);
    const p2 = c.connectWithCredentials(creds, handlers);
    // Before clientToStreamer is open: queued, sent once it opens. No stream runs yet, so the
    // streamer refuses it, which is the typed error path too.
    const early = settle(c.interact({ prompt: "too early" }));
    const statusAtStart = c.status;
    const stream = await within(p1, 20000, "connect");
    client.attachToVideo(document.getElementById("v"));
    const earlyResult = await within(early, 10000, "early interact");
    await new Promise((r) => setTimeout(r, 1000));
    return {
      same: p1 === p2,
      statusAtStart,
      tracks: stream.getTracks().map((t) => t.kind),
      status: c.status,
      sessionId: c.sessionId,
      streamId: c.streamId,
      frames: await framesDecoded(c),
      early: earlyResult,
      srcObject: document.getElementById("v").srcObject === stream,
    };
  }, creds);
  assert.equal(r.same, true, "connectWithCredentials is not idempotent");
  assert.equal(r.statusAtStart, "authenticating");
  assert.deepEqual(r.tracks, ["video"]);
  assert.equal(r.status, "connected");
  assert.equal(r.sessionId, creds.session_id);
  assert.equal(r.streamId, null);
  assert.ok(r.frames > 0, "no video frames decoded");
  assert.equal(r.srcObject, true);
  assert.equal(r.early.ok, false, JSON.stringify(r.early));
  assert.equal(r.early.isStreamError, true, JSON.stringify(r.early));
  assert.equal(r.early.code, "stream_not_active");
  assert.equal((await server.session(creds.session_id)).state, "connected");
  done.add("connect");
});

test("startStream resolves a stream id; concurrent interacts each get their own ack", async () => {
  needs("connect");
  const r = await page.evaluate(async () => {
    const c = client;
    const streamId = await within(c.startStream({ prompt: "a castle" }), 10000, "startStream");
    const acks = await within(
      Promise.all([
        c.interact({ prompt: "first" }),
        c.interact({ prompt: "second" }),
        c.interact({ prompt: "third" }),
      ]),
      10000,
      "interacts",
    );
    return { streamId, getter: c.streamId, acks, events: [...events] };
  });
  assert.match(r.streamId, /^st/);
  assert.equal(r.getter, r.streamId);
  assert.deepEqual(r.acks, ["first", "second", "third"]);
  assert.ok(r.events.includes(`started:${r.streamId}`), r.events.join(" "));
  assert.ok(r.events.includes("ack:second"), r.events.join(" "));
  done.add("start");
});

test("endStream resolves; a second one rejects with stream_not_active", async () => {
  needs("start");
  const r = await page.evaluate(async () => {
    const end = await settle(within(client.endStream(), 10000, "endStream"));
    const again = await settle(within(client.endStream(), 10000, "endStream again"));
    return { end, again, streamId: client.streamId, ended: events.includes("ended") };
  });
  assert.equal(r.end.ok, true, JSON.stringify(r.end));
  assert.equal(r.streamId, null);
  assert.equal(r.ended, true);
  assert.equal(r.again.isStreamError, true, JSON.stringify(r.again));
  assert.equal(r.again.code, "stream_not_active");
});

test("a drop rejects the pending interact, then the client reconnects to the same session", async () => {
  needs("connect");
  const r = await page.evaluate(async () => {
    const c = client;
    events.length = 0;
    const pending = settle(c.interact({ prompt: "lost" }));
    c._simulateDrop();
    const lost = await within(pending, 5000, "pending interact");
    const statusAfterDrop = c.status;
    const t0 = Date.now();
    while (c.status !== "connected" && Date.now() - t0 < 15000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    return { lost, statusAfterDrop, status: c.status, events: [...events] };
  });
  assert.equal(r.lost.ok, false, JSON.stringify(r.lost));
  assert.equal(r.lost.isConnectionError, true, JSON.stringify(r.lost));
  assert.equal(r.lost.code, "connection_lost");
  assert.equal(r.statusAfterDrop, "reconnecting");
  assert.equal(r.status, "connected", r.events.join(" "));
  assert.ok(r.events.includes("error:signaling_closed:false"), r.events.join(" "));
  assert.equal((await server.session(creds.session_id)).state, "connected");
  // The new connection works: video and a new stream.
  const s = await page.evaluate(async () => {
    await new Promise((r) => setTimeout(r, 500));
    const streamId = await within(client.startStream({ prompt: "again" }), 10000, "startStream");
    return { streamId, frames: await framesDecoded(client) };
  });
  assert.match(s.streamId, /^st/);
  assert.ok(s.frames > 0, "no video after the reconnect");
  done.add("reconnect");
});

test("startStream with an image Blob sends it over signaling as a data URL", async () => {
  needs("reconnect");
  const r = await page.evaluate(async () => {
    await within(client.endStream(), 10000, "endStream");
    const canvas = document.createElement("canvas");
    canvas.width = 64;
    canvas.height = 36;
    const g = canvas.getContext("2d");
    g.fillStyle = "#3a7";
    g.fillRect(0, 0, 64, 36);
    const blob = await new Promise((r) => canvas.toBlob(r, "image/png"));
    wsSent.length = 0;
    const streamId = await settle(
      within(client.startStream({ prompt: "from a picture", image: blob }), 10000, "start"),
    );
    return { streamId, wsSent: [...wsSent] };
  });
  assert.equal(r.streamId.ok, true, JSON.stringify(r.streamId));
  assert.match(r.streamId.value, /^st/);
  assert.ok(r.wsSent.includes("interactive_stream_start"), r.wsSent.join(" "));
});

test("disconnect rejects what is pending and ends the session with client_disconnect", async () => {
  needs("connect");
  const r = await page.evaluate(async () => {
    const pending = settle(client.interact({ prompt: "last words" }));
    wsSent.length = 0;
    await client.disconnect();
    const after = await settle(client.interact({ prompt: "after" }));
    return {
      pending: await pending,
      after,
      status: client.status,
      streamId: client.streamId,
      wsSent: [...wsSent],
    };
  });
  assert.equal(r.pending.isConnectionError, true, JSON.stringify(r.pending));
  assert.equal(r.pending.code, "disconnected");
  assert.equal(r.after.isConnectionError, true, JSON.stringify(r.after));
  assert.equal(r.after.code, "not_connected");
  assert.equal(r.status, "disconnected");
  assert.equal(r.streamId, null);
  assert.deepEqual(r.wsSent, ["client_disconnecting"]);
  const s = await waitState(creds.session_id, "ended");
  assert.equal(s.end_cause, "client_disconnect", JSON.stringify(s));
});

test("a refused token fails at once (no retry) and settles queued commands", async () => {
  const fresh = await server.mint({ test: "sdk-client-bad" });
  const parts = fresh.session_token.split(".");
  const sig = parts[2];
  parts[2] = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
  const bad = { ...fresh, session_token: parts.join(".") };
  const r = await page.evaluate(async (bad) => {
    events.length = 0;
    const c = new sdk.Ithaca();
    const connected = settle(c.connectWithCredentials(bad, handlers));
    const queued = settle(c.startStream({ prompt: "never" }));
    return {
      connected: await within(connected, 10000, "connect"),
      queued: await within(queued, 10000, "queued"),
      status: c.status,
      events: [...events],
    };
  }, bad);
  assert.equal(r.connected.ok, false);
  assert.equal(r.connected.isAuthError, true, JSON.stringify(r.connected));
  assert.equal(r.connected.code, "token_bad_signature");
  assert.equal(r.queued.isConnectionError, true, JSON.stringify(r.queued));
  assert.equal(r.status, "failed");
  assert.ok(!r.events.includes("status:reconnecting"), r.events.join(" "));
  assert.ok(r.events.includes("error:token_bad_signature:true"), r.events.join(" "));
  await server.api("DELETE", `/v1/sessions/${fresh.session_id}`);
});

test("a command that waits too long for clientToStreamer fails with channel_timeout", async () => {
  const fresh = await server.mint({ test: "sdk-client-wait" });
  const r = await page.evaluate(async (creds) => {
    const c = new sdk.Ithaca({ channelWaitMs: 1 });
    const connected = c.connectWithCredentials(creds);
    const early = await within(settle(c.startStream({ prompt: "x" })), 5000, "early start");
    await within(connected, 20000, "connect");
    await c.disconnect();
    return { early, status: c.status };
  }, fresh);
  assert.equal(r.early.isConnectionError, true, JSON.stringify(r.early));
  assert.equal(r.early.code, "channel_timeout");
  assert.match(r.early.message, /clientToStreamer/);
  assert.equal(r.status, "disconnected");
  assert.equal((await waitState(fresh.session_id, "ended")).end_cause, "client_disconnect");
});

test("a drop after the token expired ends in failed: no reconnect with a dead token", async () => {
  const short = await startServer({
    env: { ITHACA_TOKENS_TTL_SECONDS: "3", ITHACA_TOKENS_LEEWAY_SECONDS: "0" },
  });
  const shortCreds = await short.mint({ test: "expired-reconnect" });
  const minted = Date.now();
  const r = await page.evaluate(
    async ({ creds, waitMs }) => {
      const c = new sdk.Ithaca();
      const seen = [];
      await within(
        c.connectWithCredentials(creds, { onStatusChange: (s) => seen.push(s) }),
        15000,
        "connect",
      );
      await new Promise((r) => setTimeout(r, waitMs)); // the token expires meanwhile
      c._simulateDrop();
      const t0 = Date.now();
      while (c.status !== "failed" && Date.now() - t0 < 10000) {
        await new Promise((r) => setTimeout(r, 50));
      }
      return { status: c.status, seen };
    },
    { creds: shortCreds, waitMs: Math.max(0, 3500 - (Date.now() - minted)) },
  );
  assert.equal(r.status, "failed", r.seen.join(" "));
  assert.ok(!r.seen.slice(r.seen.indexOf("connected") + 1).includes("connected"), r.seen.join(" "));
  // The server ended the session: its token can no longer resume it.
  let s;
  for (let i = 0; i < 40; i++) {
    s = await short.session(shortCreds.session_id);
    if (s.state === "ended") break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(s.state, "ended");
  assert.equal(s.end_cause, "token_expired");
});
