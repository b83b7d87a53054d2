// The whole path of one session, in a real browser: mint over HTTP with the dev API key,
// connect, video decodes, a second client with the same token is refused, start / interact /
// end a stream (answers echo the request id, the frame marker follows the prompts), and a
// clean disconnect frees the slot within a second. The steps share one session, in order.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";

import { cleanup, drive, launchBrowser, openClientPage, startServer } from "./lib/harness.mjs";

let server;
let page;
let creds;
const done = new Set(); // steps that passed: a later step that needs one says so

function needs(step) {
  assert.ok(done.has(step), `this step needs "${step}", which did not pass`);
}

before(async () => {
  server = await startServer();
  page = await openClientPage(await launchBrowser(), server);
});
after(cleanup);

test("the dev node serves the demo page, marked dev-only", async () => {
  const r = await fetch(`${server.url}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type"), /^text\/html/);
  assert.equal(r.headers.get("x-ithaca-dev-only"), "true");
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.match(await r.text(), /DEV MODE/);
  // The page runs on the JS SDK, which the binary serves unbundled under /sdk/.
  for (const asset of ["/demo.js", "/watch.js", "/sdk/index.js", "/sdk/frame-marker.js"]) {
    const a = await fetch(server.url + asset);
    assert.equal(a.status, 200, asset);
    assert.match(a.headers.get("content-type"), /^text\/javascript/, asset);
  }
  assert.equal((await fetch(`${server.url}/sdk/server.js`)).status, 404, "the API-key path");
});

test("mint client credentials with the dev API key", async () => {
  creds = await server.mint({ test: "stream" });
  assert.deepEqual(Object.keys(creds), [
    "session_id",
    "signaling_url",
    "session_token",
    "expires_in",
    "capabilities",
  ]);
  assert.equal(creds.signaling_url, `${server.url.replace("http", "ws")}/signaling`);
  assert.equal((await server.session(creds.session_id)).state, "provisioned");
  done.add("mint");
});

test("the page connects with only the credentials, and video frames decode", async () => {
  needs("mint");
  const r = await drive(page, "connect", "a", creds);
  assert.ok(r.ok, `connect failed: ${JSON.stringify(r)}\n${server.log()}`);
  assert.equal(r.sessionId, creds.session_id);
  const frames = await drive(page, "waitFrames", "a", 10, 10_000);
  assert.ok(frames.ok, `frames did not decode: ${JSON.stringify(frames)}`);
  const session = await server.session(creds.session_id);
  assert.equal(session.state, "connected");
  assert.equal(await server.activeCount(), 1);
  done.add("connect");
});

test("a second client with the same token is refused while the first is connected", async () => {
  needs("connect");
  const r = await drive(page, "connect", "b", creds);
  assert.equal(r.ok, false, "the second client connected");
  assert.equal(r.code, "session_already_connected", JSON.stringify(r));
  assert.equal(r.closeCode, 4409);
  // The first one did not notice.
  const before = (await drive(page, "stats", "a")).framesDecoded;
  await sleep(500);
  const s = await drive(page, "stats", "a");
  assert.equal(s.status, "connected");
  assert.ok(s.framesDecoded > before, "the first client's video stalled");
  assert.equal((await server.session(creds.session_id)).state, "connected");
});

test("a command before any stream is rejected with its reason", async () => {
  needs("connect");
  const r = await drive(page, "call", "a", "interact", { prompt: "too early" });
  assert.equal(r.ok, false);
  assert.equal(r.code, "stream_not_active", JSON.stringify(r));
  assert.equal(typeof r.requestId, "string");
});

let started;
test("start a stream: stream_started echoes the request, frames carry the marker", async () => {
  needs("connect");
  const r = await drive(page, "call", "a", "startStream", {
    prompt: "a lighthouse on a cliff",
    portrait: false,
  });
  assert.ok(r.ok, `start failed: ${JSON.stringify(r)}`);
  const event = r.events.find((e) => e.type === "stream_started");
  assert.ok(event, `no stream_started: ${JSON.stringify(r)}`);
  assert.equal(typeof event.request_id, "string");
  assert.ok(event.stream_id, "no stream_id");
  assert.equal(r.value, event.stream_id, "startStream resolves with the stream id");
  assert.equal(event.applied_prompt, "a lighthouse on a cliff");
  // Each stream runs a fresh frame source whose start() is prompt 1 (frame_source.hpp); the
  // streamer may also report the sequence number its frames now carry.
  const want = typeof event.sequence === "number" ? { equals: event.sequence } : { any: true };
  const m = await drive(page, "waitMarker", "a", want, 5_000);
  assert.ok(m.ok, `no frame marker ${JSON.stringify(want)}: ${JSON.stringify(m)}`);
  started = m.sequence;
  done.add("start");
});

test("interact: update_acknowledged, and the frame marker shows the next prompt", async () => {
  needs("start");
  const r = await drive(page, "call", "a", "interact", { prompt: "now it rains" });
  assert.ok(r.ok, `interact failed: ${JSON.stringify(r)}`);
  assert.equal(r.value, "now it rains", "interact resolves with the acknowledged prompt");
  const event = r.events.find((e) => e.type === "update_acknowledged");
  assert.ok(event, `no update_acknowledged: ${JSON.stringify(r)}`);
  assert.equal(event.prompt, "now it rains");
  assert.equal(typeof event.request_id, "string");
  const next = (started + 1) & 0xffff; // every interact increments the sequence
  if (typeof event.sequence === "number") assert.equal(event.sequence, next);
  const m = await drive(page, "waitMarker", "a", { equals: next }, 5_000);
  assert.ok(m.ok, `marker never showed ${next}: ${JSON.stringify(m)}`);
});

test("end the stream: stream_ended", async () => {
  needs("start");
  const r = await drive(page, "call", "a", "endStream");
  assert.ok(r.ok, `end failed: ${JSON.stringify(r)}`);
  assert.ok(
    r.events.some((e) => e.type === "stream_ended"),
    `no stream_ended: ${JSON.stringify(r)}`,
  );
  const again = await drive(page, "call", "a", "endStream");
  assert.equal(again.code, "stream_not_active", JSON.stringify(again));
});

test("disconnect ends the session and frees the slot within 1 s", async () => {
  needs("connect");
  // A request in flight when the client disconnects is rejected, not left hanging.
  const r = await drive(page, "interactThenDisconnect", "a", "last words");
  assert.equal(r.ok, false, JSON.stringify(r));
  assert.equal(r.code, "disconnected", JSON.stringify(r));
  const t0 = Date.now();
  let session;
  let active;
  while (Date.now() - t0 < 1000) {
    [session, active] = await Promise.all([server.session(creds.session_id), server.activeCount()]);
    if (session.state === "ended" && active === 0) break;
    await sleep(20);
  }
  assert.equal(session.state, "ended", `after ${Date.now() - t0} ms: ${JSON.stringify(session)}`);
  assert.equal(session.end_cause, "client_disconnect");
  assert.equal(active, 0);
  const info = await drive(page, "info", "a");
  assert.equal(info.disconnects.length, 1);
  assert.equal(info.disconnects[0].clean, true);
  assert.equal(info.status, "disconnected");
  // An ended session cannot be joined again.
  const again = await drive(page, "connect", "c", creds);
  assert.equal(again.ok, false);
  assert.equal(again.code, "session_ended", JSON.stringify(again));
});
