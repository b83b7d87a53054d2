// connectToStream / SpectatorConnection (src/spectator.js) against a fake fetch and a fake
// RTCPeerConnection: what goes on the wire (GET /config, the WHEP POST, DELETE), the typed
// errors, abort and timeouts, and when onDisconnect fires. The real thing runs in Chromium in
// tests/e2e/broadcast.test.mjs.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";

import {
  AuthError,
  ConnectionError,
  Ithaca,
  RequestError,
  SpectatorConnection,
  StreamError,
  connectToStream,
} from "../src/index.js";
import { createSpectatorToken, Ithaca as ServerIthaca } from "../src/server.js";

const WEBRTC_URL = "http://media.test:8080/broadcast/st_1";
const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic3BlY3RhdG9yIn0.sig";
const ANSWER =
  "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
const OFFER = "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";

// ---- fakes ----

class FakeMediaStream {
  constructor(tracks = []) {
    this.tracks = [...tracks];
  }
  getTracks() {
    return this.tracks;
  }
  addTrack(t) {
    this.tracks.push(t);
  }
}

class FakeTransport extends EventTarget {
  state = "new";
  set(state) {
    this.state = state;
    this.dispatchEvent(new Event("statechange"));
  }
}

// What the next FakePC does; reset before each test.
let behavior;
let pcs;

class FakePC extends EventTarget {
  constructor(config) {
    super();
    this.config = config;
    this.transceivers = [];
    this.connectionState = "new";
    this.iceConnectionState = "new";
    this.iceGatheringState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.transport = new FakeTransport();
    this.closed = false;
    pcs.push(this);
  }
  addTransceiver(kind, init) {
    this.transceivers.push({ kind, direction: init?.direction });
  }
  async createOffer() {
    return { type: "offer", sdp: OFFER };
  }
  async setLocalDescription(d) {
    this.localDescription = { type: d.type, sdp: d.sdp };
    this.iceGatheringState = "gathering";
    if (behavior.gathers) {
      setTimeout(() => {
        this.localDescription = {
          type: d.type,
          sdp: d.sdp + "a=candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n",
        };
        this.set("iceGatheringState", "complete", "icegatheringstatechange");
      }, 1);
    }
  }
  async setRemoteDescription(d) {
    if (behavior.refuseAnswer) throw new Error("bad answer");
    this.remoteDescription = d;
    const video = { kind: "video", id: "v" };
    this.videoTrack = video;
    const e = new Event("track");
    e.track = video;
    e.streams = behavior.withStreams ? [new FakeMediaStream([video])] : [];
    this.dispatchEvent(e);
    if (behavior.connects) {
      setTimeout(() => {
        this.set("iceConnectionState", "connected", "iceconnectionstatechange");
        this.set("connectionState", "connected", "connectionstatechange");
      }, 2);
    }
  }
  getReceivers() {
    return this.remoteDescription ? [{ track: this.videoTrack, transport: this.transport }] : [];
  }
  close() {
    // Like browsers: close() changes the state without an event.
    this.closed = true;
    this.connectionState = "closed";
  }
  set(prop, value, event) {
    this[prop] = value;
    this.dispatchEvent(new Event(event));
  }
}

let calls;
let routes; // (method, url) -> Response | throws
const realFetch = globalThis.fetch;

function fakeFetch(url, init = {}) {
  const method = init.method ?? "GET";
  calls.push({ method, url: String(url), headers: init.headers ?? {}, body: init.body });
  if (init.signal?.aborted) return Promise.reject(init.signal.reason);
  return Promise.resolve().then(() => routes(method, String(url), init));
}

function whepCreated(location = "/broadcast/st_1/whep/v_1?token=" + TOKEN) {
  return new Response(ANSWER, {
    status: 201,
    headers: { "Content-Type": "application/sdp", Location: location },
  });
}

function jsonError(status, code, extra = {}) {
  return new Response(JSON.stringify({ detail: { code, message: `${code}!`, ...extra } }), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function defaultRoutes(method, url) {
  if (method === "GET" && url === "http://media.test:8080/config") {
    return Response.json({ iceServers: [{ urls: ["stun:stun.test:3478"] }] });
  }
  if (method === "POST" && url.startsWith(`${WEBRTC_URL}/whep`)) return whepCreated();
  if (method === "DELETE") return new Response(null, { status: 204 });
  return new Response("no route", { status: 500 });
}

beforeEach(() => {
  behavior = { gathers: true, connects: true, withStreams: true, refuseAnswer: false };
  pcs = [];
  calls = [];
  routes = defaultRoutes;
  globalThis.fetch = fakeFetch;
  globalThis.RTCPeerConnection = FakePC;
  globalThis.MediaStream = FakeMediaStream;
});

afterEach(() => {
  globalThis.fetch = realFetch;
  delete globalThis.RTCPeerConnection;
  delete globalThis.MediaStream;
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deletes = () => calls.filter((c) => c.method === "DELETE");

async function rejectsWith(promise, Class, check = () => {}) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.constructor, Class, `expected ${Class.name}, got ${e?.name}: ${e?.message}`);
    check(e);
    return true;
  });
}

// ---- tests ----

describe("connectToStream: the handshake", () => {
  test("without RTCPeerConnection (Node) it rejects with webrtc_unavailable, before any request", async () => {
    delete globalThis.RTCPeerConnection;
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), ConnectionError, (e) => {
      assert.equal(e.code, "webrtc_unavailable");
      assert.equal(e.retryable, false);
    });
    assert.equal(calls.length, 0);
  });

  test("bad arguments are TypeErrors", async () => {
    await assert.rejects(connectToStream("not a url", TOKEN), TypeError);
    await assert.rejects(connectToStream("ftp://x/broadcast/1", TOKEN), TypeError);
    await assert.rejects(connectToStream(WEBRTC_URL, ""), TypeError);
    await assert.rejects(connectToStream(WEBRTC_URL), TypeError);
    assert.equal(calls.length, 0);
  });

  test("GET /config, a recvonly gathered offer POSTed as application/sdp, Location resolved", async () => {
    const conn = await connectToStream(WEBRTC_URL + "/", TOKEN);
    assert.ok(conn instanceof SpectatorConnection);
    const [config, post] = calls;
    assert.equal(config.method, "GET");
    assert.equal(config.url, "http://media.test:8080/config");
    const pc = pcs[0];
    assert.deepEqual(pc.config.iceServers, [{ urls: ["stun:stun.test:3478"] }]);
    assert.deepEqual(pc.transceivers, [
      { kind: "video", direction: "recvonly" },
      { kind: "audio", direction: "recvonly" },
    ]);
    assert.equal(post.method, "POST");
    assert.equal(post.url, `${WEBRTC_URL}/whep?token=${encodeURIComponent(TOKEN)}`);
    assert.equal(post.headers["Content-Type"], "application/sdp");
    assert.match(post.body, /a=candidate:/, "the offer is sent after gathering (non-trickle)");
    assert.equal(pc.remoteDescription.type, "answer");
    assert.equal(pc.remoteDescription.sdp, ANSWER);
    assert.equal(conn.sessionUrl, `http://media.test:8080/broadcast/st_1/whep/v_1?token=${TOKEN}`);
    assert.equal(conn.connectionState, "connected");
    assert.deepEqual(
      conn.stream.getTracks().map((t) => t.kind),
      ["video"],
    );
    assert.equal(conn.peerConnection, pc);
    assert.equal(conn.closed, false);
    assert.equal(calls.length, 2);
  });

  test("it resolves only once the peer is connected, not at the answer", async () => {
    behavior.connects = false;
    let settled = false;
    const p = connectToStream(WEBRTC_URL, TOKEN).finally(() => (settled = true));
    await sleep(30);
    assert.equal(settled, false, "resolved before the peer connected");
    const pc = pcs[0];
    assert.ok(pc.remoteDescription, "the answer was applied");
    pc.set("connectionState", "connected", "connectionstatechange");
    const conn = await p;
    assert.equal(conn.connectionState, "connected");
  });

  test("a stream is made for a track that came without one", async () => {
    behavior.withStreams = false;
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    assert.ok(conn.stream instanceof FakeMediaStream);
    assert.equal(conn.stream.getTracks()[0], pcs[0].videoTrack);
  });

  test("iceServers given: no GET /config; a /config failure is not fatal", async () => {
    await connectToStream(WEBRTC_URL, TOKEN, { iceServers: [] });
    assert.deepEqual(
      calls.map((c) => c.method),
      ["POST"],
    );
    calls = [];
    routes = (method, url, init) =>
      method === "GET"
        ? Promise.reject(new TypeError("fetch failed"))
        : defaultRoutes(method, url, init);
    await connectToStream(WEBRTC_URL, TOKEN);
    assert.deepEqual(pcs[1].config.iceServers, []);
  });

  test("ICE gathering that never completes is cut at iceGatheringTimeoutMs", async () => {
    behavior.gathers = false;
    const t0 = Date.now();
    await connectToStream(WEBRTC_URL, TOKEN, { iceGatheringTimeoutMs: 40 });
    assert.ok(Date.now() - t0 >= 35);
    assert.equal(calls.filter((c) => c.method === "POST").length, 1);
  });
});

describe("connectToStream: typed errors", () => {
  for (const [status, code, Class, retryable] of [
    [401, "spectator_token_invalid", AuthError, false],
    [404, "stream_not_found", StreamError, false],
    [503, "spectator_limit_reached", ConnectionError, true],
    [502, "streamer_unavailable", ConnectionError, true],
    [415, "unsupported_media_type", RequestError, false],
  ]) {
    test(`${status} ${code} -> ${Class.name}; the peer is closed`, async () => {
      routes = (method, url, init) =>
        method === "POST"
          ? jsonError(status, code, { retryable })
          : defaultRoutes(method, url, init);
      await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), Class, (e) => {
        assert.equal(e.code, code);
        assert.equal(e.status, status);
        assert.equal(e.retryable, retryable);
        assert.equal(e.message, `${code}!`);
      });
      assert.equal(pcs[0].closed, true);
      assert.equal(deletes().length, 0);
    });
  }

  test("a 401 or 404 that is not JSON still gets its class and a code", async () => {
    routes = (method) =>
      method === "POST" ? new Response("nope", { status: 401 }) : Response.json({});
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), AuthError, (e) =>
      assert.equal(e.code, "spectator_token_invalid"),
    );
    routes = (method) =>
      method === "POST" ? new Response("", { status: 404 }) : Response.json({});
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), StreamError, (e) =>
      assert.equal(e.code, "stream_not_found"),
    );
  });

  test("an unreachable server is ConnectionError network_error (retryable)", async () => {
    routes = () => Promise.reject(new TypeError("fetch failed"));
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), ConnectionError, (e) => {
      assert.equal(e.code, "network_error");
      assert.equal(e.retryable, true);
    });
  });

  test("a 201 whose body is not SDP is invalid_response; its resource is DELETEd", async () => {
    routes = (method, url, init) =>
      method === "POST"
        ? new Response("{}", {
            status: 201,
            headers: { Location: "/broadcast/st_1/whep/v_9?token=t" },
          })
        : defaultRoutes(method, url, init);
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), ConnectionError, (e) =>
      assert.equal(e.code, "invalid_response"),
    );
    assert.deepEqual(
      deletes().map((c) => c.url),
      ["http://media.test:8080/broadcast/st_1/whep/v_9?token=t"],
    );
  });

  test("an answer the browser refuses is invalid_answer; its resource is DELETEd", async () => {
    behavior.refuseAnswer = true;
    await rejectsWith(connectToStream(WEBRTC_URL, TOKEN), ConnectionError, (e) =>
      assert.equal(e.code, "invalid_answer"),
    );
    assert.equal(deletes().length, 1);
    assert.equal(pcs[0].closed, true);
  });

  test("no connected peer within trackTimeoutMs: track_timeout, the resource is DELETEd", async () => {
    behavior.connects = false;
    await rejectsWith(
      connectToStream(WEBRTC_URL, TOKEN, { trackTimeoutMs: 40 }),
      ConnectionError,
      (e) => {
        assert.equal(e.code, "track_timeout");
        assert.equal(e.retryable, true);
      },
    );
    assert.equal(pcs[0].closed, true);
    assert.equal(deletes().length, 1);
  });

  test("a peer that fails before video: peer_connection_failed", async () => {
    behavior.connects = false;
    const p = connectToStream(WEBRTC_URL, TOKEN);
    await sleep(20);
    pcs[0].set("connectionState", "failed", "connectionstatechange");
    await rejectsWith(p, ConnectionError, (e) => assert.equal(e.code, "peer_connection_failed"));
  });
});

describe("connectToStream: abort", () => {
  test("an aborted signal rejects at once with its reason; nothing is sent", async () => {
    const c = new AbortController();
    c.abort();
    await assert.rejects(connectToStream(WEBRTC_URL, TOKEN, { signal: c.signal }), {
      name: "AbortError",
    });
    assert.equal(calls.length, 0);
    assert.equal(pcs.length, 0);
  });

  test("aborting while waiting for the peer closes it and DELETEs the resource", async () => {
    behavior.connects = false;
    const c = new AbortController();
    const p = connectToStream(WEBRTC_URL, TOKEN, { signal: c.signal });
    await sleep(20);
    assert.ok(pcs[0].remoteDescription);
    c.abort(new Error("user left"));
    await assert.rejects(p, /user left/);
    assert.equal(pcs[0].closed, true);
    assert.equal(deletes().length, 1);
  });

  test("aborting during the POST rejects with the abort reason, not a ConnectionError", async () => {
    const c = new AbortController();
    routes = (method, url, init) => {
      if (method !== "POST") return defaultRoutes(method, url, init);
      return new Promise((_, reject) =>
        init.signal.addEventListener("abort", () => reject(init.signal.reason)),
      );
    };
    const p = connectToStream(WEBRTC_URL, TOKEN, { signal: c.signal });
    await sleep(20);
    c.abort();
    await assert.rejects(p, { name: "AbortError" });
    assert.equal(pcs[0].closed, true);
  });
});

describe("SpectatorConnection: leaving and being left", () => {
  test("disconnect(): DELETE on the Location, then closed; handlers fire once with 'local'", async () => {
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    const seen = [];
    conn.onDisconnect((r) => seen.push(["a", r]));
    conn.onDisconnect((r) => seen.push(["b", r]));
    await conn.disconnect();
    assert.deepEqual(
      deletes().map((c) => c.url),
      [`http://media.test:8080/broadcast/st_1/whep/v_1?token=${TOKEN}`],
    );
    assert.equal(deletes()[0].headers.Authorization, undefined, "the token is in the URL already");
    assert.equal(pcs[0].closed, true);
    assert.deepEqual(seen, [
      ["a", "local"],
      ["b", "local"],
    ]);
    assert.equal(conn.closed, true);
    assert.equal(conn.endReason, "local");
    assert.equal(conn.sessionUrl, null);
    await conn.disconnect();
    conn.close();
    assert.equal(deletes().length, 1, "one DELETE only");
    assert.equal(seen.length, 2, "handlers fire once");
    // Registered after the end: called at once.
    conn.onDisconnect((r) => seen.push(["late", r]));
    assert.deepEqual(seen[2], ["late", "local"]);
  });

  test("a Location without ?token=: the DELETE carries the token as Bearer", async () => {
    routes = (method, url, init) =>
      method === "POST" ? whepCreated("whep/v_2") : defaultRoutes(method, url, init);
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    assert.equal(conn.sessionUrl, "http://media.test:8080/broadcast/st_1/whep/v_2");
    await conn.disconnect();
    assert.equal(deletes()[0].headers.Authorization, `Bearer ${TOKEN}`);
  });

  test("disconnect() never rejects, even when the server is gone", async () => {
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    routes = () => Promise.reject(new TypeError("fetch failed"));
    await conn.disconnect();
    assert.equal(conn.closed, true);
  });

  test("close(): no DELETE; handlers fire", async () => {
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    let reason = null;
    conn.onDisconnect((r) => (reason = r));
    conn.close();
    await sleep(5);
    assert.equal(reason, "local");
    assert.equal(deletes().length, 0);
    assert.equal(pcs[0].closed, true);
  });

  for (const [what, act, expected] of [
    [
      "connectionState failed",
      (pc) => pc.set("connectionState", "failed", "connectionstatechange"),
      "failed",
    ],
    ["the DTLS transport closed by the server", (pc) => pc.transport.set("closed"), "dtls_closed"],
    [
      "ICE failed",
      (pc) => pc.set("iceConnectionState", "failed", "iceconnectionstatechange"),
      "ice_failed",
    ],
  ]) {
    test(`${what}: handlers fire once, the peer is closed, no DELETE`, async () => {
      const conn = await connectToStream(WEBRTC_URL, TOKEN);
      const seen = [];
      conn.onDisconnect((r) => seen.push(r));
      act(pcs[0]);
      act(pcs[0]);
      assert.deepEqual(seen, [expected]);
      assert.equal(pcs[0].closed, true);
      await conn.disconnect();
      assert.equal(deletes().length, 0, "no DELETE for a connection the server ended");
    });
  }

  test("ICE disconnected past the grace period ends it; a blip that heals does not", async () => {
    const conn = await connectToStream(WEBRTC_URL, TOKEN, { iceDisconnectedGraceMs: 60 });
    const seen = [];
    conn.onDisconnect((r) => seen.push(r));
    const pc = pcs[0];
    pc.set("iceConnectionState", "disconnected", "iceconnectionstatechange");
    await sleep(20);
    pc.set("iceConnectionState", "connected", "iceconnectionstatechange");
    await sleep(80);
    assert.deepEqual(seen, [], "a healed blip ended the connection");
    pc.set("iceConnectionState", "disconnected", "iceconnectionstatechange");
    await sleep(100);
    assert.deepEqual(seen, ["ice_disconnected"]);
    assert.equal(pc.closed, true);
  });

  test("a throwing handler does not stop the others", async () => {
    const conn = await connectToStream(WEBRTC_URL, TOKEN);
    let second = false;
    const errors = [];
    const consoleError = console.error;
    console.error = (...args) => errors.push(args);
    try {
      conn.onDisconnect(() => {
        throw new Error("handler bug");
      });
      conn.onDisconnect(() => (second = true));
      conn.close();
    } finally {
      console.error = consoleError;
    }
    assert.equal(second, true);
    assert.equal(errors[0]?.[1]?.message, "handler bug", "the bug is reported, not swallowed");
  });

  test("Ithaca.connectToStream is the same function (the official SDK's static)", async () => {
    const conn = await Ithaca.connectToStream(WEBRTC_URL, TOKEN);
    assert.ok(conn instanceof SpectatorConnection);
    assert.equal(typeof ServerIthaca.connectToStream, "function", "inherited by the server entry");
  });
});

describe("onBroadcastReady", () => {
  const event = {
    type: "broadcast_ready",
    stream_id: "st_1",
    webrtc_url: WEBRTC_URL,
    broadcast_url: `${WEBRTC_URL}/hls/k/index.m3u8`,
    spectator_token: TOKEN,
    future_field: 1,
  };

  function clientWith(handlers) {
    const client = new Ithaca();
    client._handlers = handlers;
    return client;
  }

  test("camelCase info with the stream id, the raw message, frozen; client.broadcast", () => {
    let info = null;
    const client = clientWith({ onBroadcastReady: (i) => (info = i) });
    client._onEvent(JSON.stringify({ type: "stream_started", stream_id: "st_1" }));
    assert.equal(client.broadcast, null);
    client._onEvent(JSON.stringify(event));
    assert.deepEqual(
      { ...info, raw: undefined },
      {
        webrtcUrl: WEBRTC_URL,
        hlsUrl: `${WEBRTC_URL}/hls/k/index.m3u8`,
        spectatorToken: TOKEN,
        streamId: "st_1",
        raw: undefined,
      },
    );
    assert.deepEqual(info.raw, event);
    assert.ok(Object.isFrozen(info));
    assert.equal(client.broadcast, info);
    client._onEvent(JSON.stringify({ type: "stream_ended" }));
    assert.equal(client.broadcast, null, "the broadcast ends with its stream");
  });

  test("no HLS: hlsUrl null", () => {
    let info = null;
    const client = clientWith({ onBroadcastReady: (i) => (info = i) });
    client._onEvent(JSON.stringify({ ...event, broadcast_url: undefined }));
    assert.equal(info.hlsUrl, null);
  });

  test("without webrtc_url or spectator_token: onStreamError broadcast_error, no info", () => {
    const seen = [];
    const client = clientWith({
      onBroadcastReady: () => seen.push("ready"),
      onStreamError: (reason) => seen.push(reason),
    });
    client._onEvent(JSON.stringify({ ...event, spectator_token: undefined }));
    client._onEvent(JSON.stringify({ ...event, webrtc_url: undefined }));
    assert.deepEqual(seen, ["broadcast_error", "broadcast_error"]);
  });
});

describe("createSpectatorToken (server entry)", () => {
  let server;
  let apiUrl;
  let reply;
  let last;
  before(async () => {
    globalThis.fetch = realFetch;
    server = createServer((req, res) => {
      last = { method: req.method, url: req.url, auth: req.headers.authorization };
      const r = reply();
      res.writeHead(r.status, { "Content-Type": "application/json" });
      res.end(JSON.stringify(r.body));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    apiUrl = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    globalThis.fetch = realFetch; // a real HTTP server here
  });

  test("201: POSTs with the key, answers camelCase", async () => {
    reply = () => ({
      status: 201,
      body: {
        spectator_token: TOKEN,
        webrtc_url: WEBRTC_URL,
        broadcast_url: "http://h/x.m3u8",
        stream_id: "st_1",
        expires_in: 3600,
      },
    });
    const info = await createSpectatorToken("ses_a/b", { apiKey: "ith_k", apiUrl: apiUrl + "/" });
    assert.deepEqual(last, {
      method: "POST",
      url: "/v1/sessions/ses_a%2Fb/spectator_tokens",
      auth: "Bearer ith_k",
    });
    assert.deepEqual(
      { ...info },
      {
        spectatorToken: TOKEN,
        webrtcUrl: WEBRTC_URL,
        hlsUrl: "http://h/x.m3u8",
        streamId: "st_1",
        expiresIn: 3600,
      },
    );
    const client = new ServerIthaca({ apiKey: "ith_k2", apiUrl });
    await client.createSpectatorToken("ses_1");
    assert.equal(last.auth, "Bearer ith_k2");
  });

  test("404 stream_not_found is a typed error; a bad answer is invalid_response", async () => {
    reply = () => ({
      status: 404,
      body: { detail: { code: "stream_not_found", message: "none" } },
    });
    await assert.rejects(createSpectatorToken("ses_1", { apiKey: "k", apiUrl }), (e) => {
      assert.equal(e.code, "stream_not_found");
      assert.equal(e.status, 404);
      return true;
    });
    reply = () => ({ status: 201, body: { webrtc_url: WEBRTC_URL } });
    await assert.rejects(createSpectatorToken("ses_1", { apiKey: "k", apiUrl }), {
      code: "invalid_response",
    });
    await assert.rejects(createSpectatorToken("", { apiKey: "k", apiUrl }), TypeError);
    await assert.rejects(createSpectatorToken("ses_1", { apiKey: "", apiUrl }), {
      code: "missing_api_key",
    });
  });
});
