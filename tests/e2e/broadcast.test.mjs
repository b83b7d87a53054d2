// Broadcast (issue 6): one host stream, many view-only spectators over WHEP, against
// `ithaca server --dev`. The host is the SDK's browser client with startStream({broadcast:
// true}); spectators are Chromium pages on another origin (our connectToStream, and the
// unmodified official @odysseyml/odyssey 1.3.1 Odyssey.connectToStream), Python clients
// (connect_to_stream, tests/e2e/lib/spectators.py), and raw WHEP requests for what an SDK would
// never send. Then the example's host page and its spectator page.
//
// Checked: every spectator decodes the same stream and sees the host's interact (the frame
// marker); spectators take no slot; a spectator token opens no player session and no command
// channel; only the token that made a viewer may DELETE it; endStream() closes every spectator
// and WHEP answers 404 from then on. Prints the spectators' time to first frame.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";

import {
  Child,
  cleanup,
  freePort,
  launchBrowser,
  onCleanup,
  repoRoot,
  serveOtherOrigin,
  startServer,
} from "./lib/harness.mjs";
import { PAGE, SCRIPTS, call, openBroadcastPage } from "./lib/broadcast_page.mjs";
import { openPage, waitShown } from "./lib/example_page.mjs";

const PYTHON = path.join(repoRoot, "sdks", "python", ".venv", "bin", "python");
const SPECTATORS_PY = path.join(repoRoot, "tests", "e2e", "lib", "spectators.py");
const EXAMPLE_DIR = path.join(repoRoot, "examples", "express-vanilla");
const CHROMIUM_SPECTATORS = 5;
const PYTHON_SPECTATORS = 3;
// The operator's cap per stream (broadcast.max_spectators): exactly the spectators above plus
// the official SDK's, so the next one is refused.
const MAX_SPECTATORS = CHROMIUM_SPECTATORS + PYTHON_SPECTATORS + 1;
// How long a spectator may take to notice the end of the broadcast. A DTLS close from the
// streamer is seen at once; without one, Chromium reports ICE "disconnected" about 7.5 s after
// the media stopped and the SDK waits its 4 s grace (11-12 s measured here), and the Python SDK
// its 5 s media timeout.
const END_NOTICED_MS = 5_000; // the streamer's DTLS close_notify: well under a second
const OFFICIAL_END_MS = 3_000; // the streamer's ICE error answers: one of Chromium's checks

let server;
let browser;
let origin;
let hostPage;
let host; // {streamId, sessionId, info}
const viewers = []; // {page, name, official}
let python; // the Child running spectators.py
const done = new Set();
function needs(...steps) {
  for (const step of steps) if (!done.has(step)) throw new Error(`skipped: "${step}" failed`);
}

before(async () => {
  [server, browser] = await Promise.all([
    startServer({ env: { ITHACA_BROADCAST_MAX_SPECTATORS: String(MAX_SPECTATORS) } }),
    launchBrowser(),
  ]);
  origin = await serveOtherOrigin(PAGE, SCRIPTS);
  hostPage = await openBroadcastPage(browser, `${origin}/`);
});
after(cleanup);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pyLines = () => python.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
const pyEvents = (event) => pyLines().filter((e) => e.event === event);

async function until(what, timeoutMs, probe) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** POST /v1/sessions/{id}/spectator_tokens through the JS SDK's server entry. */
async function mintSpectatorToken(sessionId) {
  const { createSpectatorToken } = await import(
    pathToFileURL(path.join(repoRoot, "sdks", "js", "src", "server.js")).href
  );
  return createSpectatorToken(sessionId, { apiKey: server.apiKey, apiUrl: server.url });
}

test("the host's startStream({broadcast: true}) gets onBroadcastReady", async () => {
  const creds = await server.mint({ test: "broadcast-host" });
  const r = await call(hostPage, "hostStart", creds, "a lighthouse at dusk");
  assert.equal(r.ok, true, `${JSON.stringify(r)}\n${server.log()}`);
  const { info } = r;
  assert.equal(info.streamId, r.streamId);
  assert.equal(info.webrtcUrl, `${server.url}/broadcast/${r.streamId}`);
  assert.match(info.hlsUrl, new RegExp(`^${server.url}/broadcast/${r.streamId}/hls/[^/]+/`));
  assert.equal(info.spectatorToken.split(".").length, 3, "a JWT");
  assert.equal(r.raw.type, "broadcast_ready");
  assert.equal(typeof r.raw.request_id, "string", "the start's request_id is echoed");
  assert.equal(r.fromGetter, true);
  host = { streamId: r.streamId, sessionId: r.sessionId, info };
  done.add("host");
});

test(`${CHROMIUM_SPECTATORS} Chromium and ${PYTHON_SPECTATORS} Python spectators decode the stream; no slot used`, async () => {
  needs("host");
  const { webrtcUrl, spectatorToken } = host.info;
  // Per-viewer tokens from the app server's API (createSpectatorToken), beside the host's own.
  const minted = await mintSpectatorToken(host.sessionId);
  assert.equal(minted.webrtcUrl, webrtcUrl);
  assert.equal(minted.streamId, host.streamId);
  assert.notEqual(minted.spectatorToken, spectatorToken);
  const tokens = [spectatorToken, minted.spectatorToken];

  assert.ok(existsSync(PYTHON), `no Python venv at ${PYTHON}: run \`make py-deps\` first`);
  python = new Child("python-spectators", PYTHON, [
    SPECTATORS_PY,
    webrtcUrl,
    ...tokens,
    "--count",
    String(PYTHON_SPECTATORS),
    "--seconds",
    "90",
  ]);
  onCleanup(() => python.stop());

  for (let i = 0; i < CHROMIUM_SPECTATORS; i++) {
    viewers.push({ page: await openBroadcastPage(browser, `${origin}/`), name: `c${i}` });
  }
  const results = await Promise.all(
    viewers.map((v, i) => call(v.page, "watch", v.name, webrtcUrl, tokens[i % 2])),
  );
  for (const [i, r] of results.entries()) {
    assert.equal(r.ok, true, `spectator c${i}: ${JSON.stringify(r)}\n${server.log(30)}`);
    assert.equal(r.state, "connected");
    assert.match(r.sessionUrl, new RegExp(`^${server.url}/broadcast/${host.streamId}/whep/`));
  }
  const states = await until("every Chromium spectator's first frame", 15_000, async () => {
    const s = await Promise.all(viewers.map((v) => call(v.page, "viewerState", v.name)));
    return s.every((x) => x.framesDecoded > 0 && x.ttffMs !== null) && s;
  });
  await until("every Python spectator's first frame", 20_000, async () => {
    if (python.exited) throw new Error(`spectators.py exited:\n${python.log()}`);
    const errors = pyEvents("error");
    if (errors.length) throw new Error(`Python spectator failed: ${JSON.stringify(errors)}`);
    return pyEvents("first_frame").length === PYTHON_SPECTATORS;
  });

  const ttff = states.map((s) => s.ttffMs);
  const pyTtff = pyEvents("first_frame").map((e) => e.ms);
  console.log(
    `# spectator time to first frame: Chromium, WHEP POST -> first presented frame: median ` +
      `${median(ttff).toFixed(0)} ms (${ttff.map((t) => t.toFixed(0)).join(", ")}); Python, ` +
      `connect_to_stream() -> first decoded frame: median ${median(pyTtff)} ms (${pyTtff.join(", ")})`,
  );

  // Spectators take no slot: the account has one live session, the host's.
  const usage = (await server.api("GET", "/v1/usage")).body;
  assert.equal(usage.active_count, 1, JSON.stringify(usage));
  const sessions = (await server.api("GET", "/v1/sessions")).body.sessions;
  assert.deepEqual(
    sessions.map((s) => s.id ?? s.session_id),
    [host.sessionId],
  );
  done.add("spectators");
});

test("the official SDK's Odyssey.connectToStream (1.3.1, unmodified) watches too", async () => {
  needs("spectators");
  const v = {
    page: await openBroadcastPage(browser, `${origin}/`),
    name: "official",
    official: true,
  };
  const r = await call(v.page, "watch", v.name, host.info.webrtcUrl, host.info.spectatorToken, {
    official: true,
  });
  assert.equal(r.ok, true, JSON.stringify(r));
  viewers.push(v);
  await until("the official SDK's first frame", 15_000, async () => {
    const s = await call(v.page, "viewerState", v.name);
    return s.framesDecoded > 0;
  });
  done.add("official");
});

test("the host's interact changes the marker every spectator sees", async () => {
  needs("spectators");
  const r = await call(hostPage, "hostInteract", "now it rains");
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.ack, "now it rains");
  assert.notEqual(r.after, r.before);
  const seen = await Promise.all(
    viewers.map((v) => call(v.page, "viewerMarker", v.name, { equals: r.after }, 10_000)),
  );
  for (const [i, s] of seen.entries()) {
    assert.equal(
      s.ok,
      true,
      `${viewers[i].name} never showed marker ${r.after}: ${JSON.stringify(s)}`,
    );
  }
  await until(`marker ${r.after} in every Python spectator`, 10_000, async () => {
    const last = new Map();
    for (const e of pyEvents("marker")) last.set(e.spectator, e.sequence);
    return [...Array(PYTHON_SPECTATORS).keys()].every((i) => last.get(i) === r.after);
  });
});

test("the operator's cap refuses one more spectator (503); a DELETE makes room at once", async () => {
  needs("official");
  const { webrtcUrl, spectatorToken } = host.info;
  const last = viewers[CHROMIUM_SPECTATORS - 1];
  const over = await call(last.page, "watch", "over", webrtcUrl, spectatorToken);
  assert.equal(over.ok, false, "a spectator past the cap was let in");
  assert.equal(over.name, "ConnectionError", JSON.stringify(over));
  assert.equal(over.code, "spectator_limit_reached");
  assert.equal(over.status, 503);
  // The SDK's disconnect() DELETEs its viewer: the place is free for the next one.
  await call(last.page, "viewerLeave", last.name);
  const next = await call(last.page, "watch", "next", webrtcUrl, spectatorToken);
  assert.equal(next.ok, true, JSON.stringify(next));
  await call(last.page, "viewerLeave", "next");
});

test("a spectator token opens no player signaling session", async () => {
  needs("host");
  const ws = `${server.url.replace("http", "ws")}/signaling/client/${host.sessionId}?token=`;
  const r = await call(hostPage, "trySignaling", ws + encodeURIComponent(host.info.spectatorToken));
  assert.notEqual(r.timedOut, true, JSON.stringify(r));
  assert.ok(!r.messages.some((m) => m.type === "offer"), JSON.stringify(r));
  const error = r.messages.find((m) => m.type === "error");
  assert.match(error?.reason ?? "", /^(token_|spectator_)/, JSON.stringify(r));
  assert.ok(r.code >= 4400 && r.code < 4500, `close code ${r.code}`);
  // The host is still connected: the refused attempt did not touch its session.
  assert.equal(await call(hostPage, "hostStatus"), "connected");
  assert.equal((await server.session(host.sessionId)).state, "connected");
});

test("a WHEP offer with a data channel gets no usable channel; bad tokens are 401", async () => {
  needs("host");
  const { webrtcUrl, spectatorToken } = host.info;
  const page = viewers[0]?.page ?? hostPage;
  const r = await call(page, "rawWhep", "dc", webrtcUrl, spectatorToken, { dataChannel: true });
  if (r.status === 201) {
    try {
      // Whatever the answer says of the m=application section, the channel must never open.
      await until("the raw viewer's video", 10_000, async () => {
        const s = await call(page, "rawState", "dc");
        return s.framesDecoded > 0;
      });
      await sleep(1000);
      // If the browser did get a channel, nothing may listen on it: commands sent there change
      // nothing (the host's marker, its stream) and get no answer.
      const before = await call(hostPage, "hostMarker");
      const sent = await call(
        page,
        "rawSend",
        "dc",
        JSON.stringify({ type: "update", prompt: "x" }),
      );
      await call(page, "rawSend", "dc", JSON.stringify({ type: "interactive_stream_end" }));
      await sleep(1500);
      const s = await call(page, "rawState", "dc");
      if (sent.sent)
        console.log(
          "# note: the spectator's data channel opened (the answer accepted m=application)",
        );
      assert.deepEqual(s.received, [], "the streamer answered a spectator's command");
      assert.equal(
        await call(hostPage, "hostMarker"),
        before,
        "a spectator's command changed the stream",
      );
      assert.equal(await call(hostPage, "hostStreamId"), host.streamId, "the stream ended");
    } finally {
      await call(page, "rawClose", "dc");
      await fetch(r.sessionUrl, { method: "DELETE" });
    }
  } else {
    // Refusing the whole offer is as good: no channel either way.
    assert.ok(r.status >= 400 && r.status < 500, JSON.stringify(r));
  }

  const bad = await call(page, "watch", "bad", webrtcUrl, spectatorToken.slice(0, -4) + "AAAA");
  assert.equal(bad.ok, false);
  assert.equal(bad.name, "AuthError", JSON.stringify(bad));
  assert.equal(bad.code, "spectator_token_invalid");
  assert.equal(bad.status, 401);
  const other = await call(
    page,
    "watch",
    "other",
    `${server.url}/broadcast/st_nope`,
    spectatorToken,
  );
  assert.equal(other.ok, false);
  assert.ok([401, 404].includes(other.status), JSON.stringify(other));
});

test("only the token that made a viewer may DELETE it", async () => {
  needs("host");
  const { webrtcUrl, spectatorToken } = host.info;
  const page = viewers[0]?.page ?? hostPage;
  const r = await call(page, "rawWhep", "mine", webrtcUrl, spectatorToken);
  assert.equal(r.status, 201, JSON.stringify(r));
  onCleanup(() => fetch(r.sessionUrl, { method: "DELETE" }).catch(() => {}));
  assert.match(r.contentType, /^application\/sdp/);
  const other = await mintSpectatorToken(host.sessionId);
  const resource = new URL(r.sessionUrl);
  assert.equal(resource.searchParams.get("token"), spectatorToken);

  const withOther = new URL(resource);
  withOther.searchParams.set("token", other.spectatorToken);
  let d = await fetch(withOther, { method: "DELETE" });
  assert.equal(d.status, 403, await d.text());
  const bare = new URL(resource);
  bare.search = "";
  d = await fetch(bare, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${other.spectatorToken}` },
  });
  assert.equal(d.status, 403, await d.text());
  d = await fetch(bare, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${spectatorToken}` },
  });
  assert.equal(d.status, 204, await d.text());
  d = await fetch(resource, { method: "DELETE" });
  assert.equal(d.status, 404, "a viewer is deleted once");
  await call(page, "rawClose", "mine");
});

test("the HLS playlist is served", async () => {
  needs("host");
  const playlist = await until("the HLS playlist", 10_000, async () => {
    const r = await fetch(host.info.hlsUrl);
    return r.ok && (await r.text());
  });
  assert.match(playlist, /^#EXTM3U/);
  const segment = playlist.split("\n").find((l) => l && !l.startsWith("#"));
  assert.ok(segment, playlist);
  const s = await fetch(new URL(segment.trim(), host.info.hlsUrl));
  assert.equal(s.status, 200);
  assert.ok((await s.arrayBuffer()).byteLength > 0);
});

test("endStream() closes every spectator; WHEP then answers 404", async () => {
  needs("spectators");
  const { webrtcUrl, spectatorToken } = host.info;
  const r = await call(hostPage, "hostEnd");
  assert.equal(r.ok, true, JSON.stringify(r));
  const t0 = Date.now();
  // Every Chromium spectator, the official SDK's too, hears of the end within 3 s: its
  // onDisconnect fires only on connectionState "closed"/"failed", which Chromium reaches once
  // the streamer answers its ICE checks with errors (the DTLS close_notify alone leaves the
  // connection up until ICE consent lapses, ~18 s).
  const ends = await until("every Chromium spectator's onDisconnect", OFFICIAL_END_MS, async () => {
    const s = await Promise.all(viewers.map((v) => call(v.page, "viewerState", v.name)));
    return (
      s.every((x) => x.ends.length === 1) && s.map((x, i) => ({ ...x.ends[0], v: viewers[i] }))
    );
  });
  for (const e of ends) assert.ok(e.at - t0 <= OFFICIAL_END_MS, `${e.v.name}: ${e.at - t0} ms`);
  await until("every Python spectator's on_disconnected", END_NOTICED_MS, async () => {
    return pyEvents("disconnected").length === PYTHON_SPECTATORS;
  });
  const noticed = (ends) => ends.map((e) => `${e.reason} ${e.at - t0} ms`).join(", ") || "none";
  const official = (yes) => ends.filter((e) => Boolean(e.v.official) === yes);
  console.log(
    `# end of the broadcast noticed after endStream(): Chromium (ours): ${noticed(official(false))}; ` +
      `Chromium (official SDK): ${noticed(official(true))}; Python: ${noticed(pyEvents("disconnected"))}`,
  );
  await until("spectators.py to finish", 5_000, async () => python.exited);

  const page = viewers[0].page;
  const raw = await call(page, "rawWhep", "after", webrtcUrl, spectatorToken);
  assert.equal(raw.status, 404, JSON.stringify(raw));
  assert.equal(JSON.parse(raw.body).detail.code, "stream_not_found");
  const sdk = await call(page, "watch", "after-end", webrtcUrl, spectatorToken);
  assert.equal(sdk.name, "StreamError", JSON.stringify(sdk));
  assert.equal(sdk.code, "stream_not_found");
  await assert.rejects(mintSpectatorToken(host.sessionId), { code: "stream_not_found" });
  // The host is still connected, still one slot.
  assert.equal(await call(hostPage, "hostStatus"), "connected");
  assert.equal(await server.activeCount(), 1);
  await call(hostPage, "hostDisconnect");
  await server.waitFor("no active session", 5_000, async () => (await server.activeCount()) === 0);
  for (const v of viewers) await v.page.close();
});

test("the example: the host page shares a spectator link that plays", async () => {
  if (!existsSync(path.join(EXAMPLE_DIR, "node_modules", "express"))) {
    const { execFileSync } = await import("node:child_process");
    execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: EXAMPLE_DIR, stdio: "ignore" });
  }
  const { createApp } = await import(pathToFileURL(path.join(EXAMPLE_DIR, "server.js")).href);
  const app = createApp({ apiKey: server.apiKey, apiUrl: server.url });
  const srv = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  onCleanup(() => new Promise((r) => srv.close(r)));
  const appUrl = `http://localhost:${srv.address().port}`;

  const hostView = await openPage(browser, `${appUrl}/?autoconnect=1`);
  await waitShown(hostView, "connected", (s) => s.status === "connected");
  await hostView.check("#broadcast");
  await hostView.click("#start");
  await waitShown(hostView, "broadcast ready", (s) =>
    s.log.some((l) => l.startsWith("broadcast ready")),
  );
  const link = await hostView.getAttribute("#spectator-link", "href");
  const fragment = new URLSearchParams(new URL(link).hash.slice(1));
  assert.equal(new URL(link).pathname, "/spectator.html");
  assert.match(fragment.get("webrtcUrl"), new RegExp(`^${server.url}/broadcast/`));
  assert.equal(fragment.get("token").split(".").length, 3);
  assert.match(await hostView.getAttribute("#hls-link", "href"), /\/hls\/.*\.m3u8/);

  const spectatorView = await openPage(browser, link);
  await waitShown(spectatorView, "watching", (s) => s.status === "watching");
  const frames = await until("the spectator page's frames", 10_000, async () => {
    const n = await spectatorView.evaluate(async () => {
      let n = 0;
      (await window.spectator.peerConnection.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "video") n = r.framesDecoded;
      });
      return n;
    });
    return n > 0 && n;
  });
  assert.ok(frames > 0);

  await hostView.click("#end");
  const s = await waitShown(spectatorView, "ended", (s) => s.status === "ended", END_NOTICED_MS);
  assert.ok(
    s.log.some((l) => l.startsWith("broadcast over")),
    JSON.stringify(s),
  );
  await hostView.click("#disconnect");
  await waitShown(hostView, "disconnected", (s) => s.status === "disconnected");

  // A link without a token says so, without a request.
  const empty = await openPage(browser, `${appUrl}/spectator.html`);
  const e = await waitShown(empty, "the error", (s) => s.errorCode !== null);
  assert.equal(e.errorCode, "no_broadcast");
});

test("the Python backend example serves the same spectator page", async (t) => {
  if (!existsSync(PYTHON)) return t.skip(`no Python venv at ${PYTHON}`);
  const port = await freePort();
  const app = new Child(
    "python-backend",
    PYTHON,
    [path.join(repoRoot, "examples", "python-backend", "app.py")],
    { ...process.env, PORT: String(port), ITHACA_API_URL: server.url },
  );
  onCleanup(() => app.stop());
  const url = `http://127.0.0.1:${port}`;
  await until("the Python backend", 15_000, async () => {
    if (app.exited) throw new Error(`app.py exited (is aiohttp installed?):\n${app.log()}`);
    return fetch(`${url}/`).then(
      (r) => r.ok,
      () => false,
    );
  });
  for (const file of ["spectator.html", "spectator.js"]) {
    const r = await fetch(`${url}/${file}`);
    assert.equal(r.status, 200, file);
    assert.equal(await r.text(), readFileSync(path.join(EXAMPLE_DIR, "public", file), "utf8"));
  }
  const sdk = await fetch(`${url}/sdk/spectator.js`);
  assert.equal(sdk.status, 200);
});
