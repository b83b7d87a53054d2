// The browser WebRTC client (docs/odyssey-compatibility.md sections 6-11, docs/streaming.md
// section 1). Plain ES module, relative imports only, no Node APIs: it loads from
// <script type="module"> as is.
//
//   const client = new Ithaca();
//   const stream = await client.connectWithCredentials(credentials, { onStatusChange });
//   client.attachToVideo(document.querySelector("video"));
//   const streamId = await client.startStream({ prompt: "a lighthouse at dusk" });
//   const prompt = await client.interact({ prompt: "now it rains" });
//   await client.endStream();
//   await client.disconnect();
//
// Beyond the official SDK (section 8): every command carries a request_id and is answered by the
// event that echoes it; every pending promise settles when the connection ends; a command issued
// before clientToStreamer is open waits for it (bounded); an unclean drop reconnects to the same
// session while the token is valid; connectWithCredentials is idempotent.
import { credentialsFromDict } from "./credentials.js";
import { debugLog } from "./debug.js";
import { clientSocketUrl, fetchIceServers, iceConfigUrl } from "./endpoints.js";
import { AuthError, ConnectionError, IthacaError, StreamError, errorFromCode } from "./errors.js";
import { hostedOnly } from "./hosted-only.js";
import { connectToStream } from "./spectator.js";

const DEFAULTS = Object.freeze({
  keepaliveMs: 10_000, // docs/odyssey-compatibility.md section 6: every 10 s
  attemptTimeoutMs: 20_000, // one connect attempt: ICE + DTLS on a loaded 2-core box is seconds
  requestTimeoutMs: 20_000, // a start may wait for a model to load
  channelWaitMs: 15_000, // how long a command waits for clientToStreamer to open
  reconnectBaseMs: 250, // backoff: base * 2^n (+ up to 25% jitter), capped
  reconnectMaxMs: 5_000,
  reconnectAttempts: 8, // attempts per drop; the token's expiry ends them sooner
  closeWaitMs: 2_000, // how long disconnect() waits for the close handshake
  errorCloseWaitMs: 1_000, // after a signaling `error`, the server's close is due
  configTimeoutMs: 5_000, // GET /config must not hold up a connect (host candidates do on a LAN)
});

const TERMINAL = new Set(["disconnected", "failed"]);
// The timing marks of one connect attempt (see the `timing` getter).
const ATTEMPT_MARKS = [
  "wsCreate",
  "wsOpen",
  "offer",
  "answer",
  "peerConnected",
  "track",
  "channelOpen",
  "connected",
];

function noKeyHere(what) {
  return new AuthError(
    `${what}() needs an API key, which this browser-safe entry never holds: import Ithaca ` +
      `(or Odyssey) from "@ithaca/sdk/server" (Node, trusted pages), or mint on your server ` +
      `and call connectWithCredentials()`,
    { code: "missing_api_key" },
  );
}

function randomId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return Math.random().toString(36).slice(2) + Date.now().toString(36);
}

function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function connectionError(code, message, extras = {}) {
  return new ConnectionError(message, { code, retryable: false, ...extras });
}

// The token's `exp` claim in ms, or null (the signature is the server's job).
function tokenExpiry(token) {
  try {
    const b64 = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(b64 + "==".slice(0, (4 - (b64.length % 4)) % 4))).exp;
    return typeof exp === "number" ? exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * One client, one session at a time. Statuses: authenticating -> connecting -> connected, then
 * reconnecting (after an unclean drop) -> connected, and finally disconnected (our disconnect())
 * or failed (a fatal error). After a terminal status connectWithCredentials may be called again.
 */
export class Ithaca {
  /**
   * Watches a broadcast as a spectator (WHEP): the same function as the module's
   * connectToStream, here for parity with the official SDK's Odyssey.connectToStream.
   */
  static connectToStream(webrtcUrl, spectatorToken, options) {
    return connectToStream(webrtcUrl, spectatorToken, options);
  }

  /** @param {Partial<typeof DEFAULTS>} [options] tuning; see DEFAULTS */
  constructor(options = {}) {
    this._opt = { ...DEFAULTS, ...options };
    this._status = "disconnected";
    this._handlers = {};
    this._creds = null;
    this._conn = null; // the current attempt: {ws, pc, commands, track, stream, connected, ended}
    this._pending = new Map(); // request_id -> {expect, resolve, reject, timer, conn}
    this._queue = []; // commands waiting for clientToStreamer: {send, reject, timer}
    this._connectPromise = null;
    this._streamId = null;
    this._video = null;
    this._mediaStream = null;
    this._everConnected = false;
    this._broadcast = null;
    this._lastAppliedPrompt = null;
    this._timing = {};
  }

  get status() {
    return this._status;
  }
  get sessionId() {
    return this._creds?.sessionId ?? null;
  }
  get streamId() {
    return this._streamId;
  }
  /** The running stream's BroadcastInfo (what onBroadcastReady got), or null. */
  get broadcast() {
    return this._streamId === null ? null : this._broadcast;
  }
  get mediaStream() {
    return this._mediaStream;
  }
  get isConnected() {
    return this._status === "connected";
  }
  get peerConnection() {
    return this._conn?.pc ?? null;
  }
  /**
   * performance.now() marks of the last connectWithCredentials call (an Ithaca addition, for
   * latency measurements): connectCall and config once, then those of the latest attempt:
   * wsCreate, wsOpen, offer, answer, peerConnected, track, channelOpen, connected. Each is also
   * a performance.mark("ithaca:NAME"), for the browser's performance timeline.
   */
  get timing() {
    return Object.freeze({ ...this._timing });
  }

  // The official SDK's names for the state above.
  get currentStatus() {
    return this._status;
  }
  get currentSessionId() {
    return this.sessionId;
  }
  get connectionState() {
    return this._conn?.pc?.connectionState ?? null;
  }
  get iceConnectionState() {
    return this._conn?.pc?.iceConnectionState ?? null;
  }
  /** What the streamer applied: stream_started's applied_prompt, then each acked prompt. */
  get lastAppliedPrompt() {
    return this._lastAppliedPrompt;
  }

  /**
   * The official SDK's API-key calls. This entry never holds a key, so they reject; the
   * "@ithaca/sdk/server" entry's Ithaca (Node, trusted pages) has them.
   */
  connect() {
    return Promise.reject(noKeyHere("connect"));
  }
  createClientCredentials() {
    return Promise.reject(noKeyHere("createClientCredentials"));
  }

  // The official SDK's recording and simulation calls: hosted Odyssey only.
  getRecording() {
    return hostedOnly("getRecording");
  }
  listStreamRecordings() {
    return hostedOnly("listStreamRecordings");
  }
  simulate() {
    return hostedOnly("simulate");
  }
  getSimulateStatus() {
    return hostedOnly("getSimulateStatus");
  }
  listSimulations() {
    return hostedOnly("listSimulations");
  }
  cancelSimulation() {
    return hostedOnly("cancelSimulation");
  }

  /**
   * Connects with client credentials (the frozen object of credentialsFromDict, or a dict).
   * Resolves with the MediaStream once video and clientToStreamer are both up. Called again
   * while a connection is live or under way, returns the same promise.
   */
  connectWithCredentials(credentials, handlers = {}) {
    if (this._connectPromise && !TERMINAL.has(this._status)) return this._connectPromise;
    if (typeof RTCPeerConnection === "undefined") {
      return Promise.reject(
        connectionError(
          "webrtc_unavailable",
          "this runtime has no WebRTC (RTCPeerConnection): connect from a browser, and mint " +
            "credentials on the server with createClientCredentials()",
          { retryable: false },
        ),
      );
    }
    let creds;
    try {
      creds =
        credentials && typeof credentials.sessionToken === "string" && credentials.sessionId
          ? credentialsFromDict({
              signaling_url: credentials.signalingUrl,
              session_token: credentials.sessionToken,
              expires_in: credentials.expiresIn,
              capabilities: credentials.capabilities,
            })
          : credentialsFromDict(credentials);
    } catch (e) {
      return Promise.reject(e);
    }
    this._creds = creds;
    this._expiresAt =
      tokenExpiry(creds.sessionToken) ?? Date.now() + Math.max(0, creds.expiresIn) * 1000;
    this._handlers = handlers ?? {};
    this._closing = false;
    this._everConnected = false;
    this._streamId = null;
    this._retries = 0;
    this._timing = {};
    this._mark("connectCall");
    this._connectPromise = new Promise((resolve, reject) => {
      this._connectResolve = resolve;
      this._connectReject = reject;
    });
    this._connectPromise.catch(() => {}); // a rejection the caller ignores is not unhandled
    this._setStatus("authenticating");
    this._fetchIceServers().then((ice) => {
      if (this._closing || TERMINAL.has(this._status)) return;
      this._iceServers = ice;
      this._mark("config");
      this._attempt();
    });
    return this._connectPromise;
  }

  /**
   * Starts a stream; resolves with its stream id. `portrait` (704x1280) is the default, as in
   * the official SDK. `image`: a data URL, a Blob/File, or null; with one the command goes over
   * the signaling WebSocket (large payloads), like the official SDK; otherwise over
   * clientToStreamer. `bypassPromptExpansion` is sent as the official SDK sends it. `params`:
   * the model's generation parameters, a plain object (sent only when given).
   */
  async startStream({
    prompt = "",
    portrait = true,
    image = null,
    broadcast = false,
    bypassPromptExpansion = false,
    params = undefined,
  } = {}) {
    if (
      params !== undefined &&
      (params === null || typeof params !== "object" || Array.isArray(params))
    ) {
      throw new TypeError("startStream: params must be a plain object");
    }
    const input =
      typeof Blob !== "undefined" && image instanceof Blob ? await blobToDataUrl(image) : image;
    const command = {
      type: "interactive_stream_start",
      prompt,
      portrait: Boolean(portrait),
      input_image_base64: input ?? null,
      broadcast: Boolean(broadcast),
    };
    if (bypassPromptExpansion === true) command.bypass_vlm_expansion = true;
    if (params !== undefined) command.params = params;
    const event = await this._request(command, "stream_started", {
      viaSignaling: typeof input === "string" && input !== "",
    });
    this._streamId = event.stream_id ?? null;
    return event.stream_id;
  }

  /** Changes the running stream's prompt; resolves with the acknowledged prompt. */
  async interact({ prompt } = {}) {
    const event = await this._request({ type: "update", prompt }, "update_acknowledged");
    return event.prompt;
  }

  /** Ends the running stream; resolves once the streamer says it ended. */
  async endStream() {
    await this._request({ type: "interactive_stream_end" }, "stream_ended");
    this._streamId = null;
  }

  /**
   * Clean disconnect: client_disconnecting, then close 1000, so the session ends at once and its
   * slot is freed. Pending commands reject with ConnectionError `disconnected`. Resolves once
   * the socket has closed (or after a short wait).
   */
  async disconnect() {
    if (TERMINAL.has(this._status) || this._closing) return;
    this._closing = true;
    clearTimeout(this._retryTimer);
    const conn = this._conn;
    const ws = conn?.ws;
    const closed = new Promise((resolve) => {
      if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
      ws.addEventListener("close", () => resolve(), { once: true });
      setTimeout(resolve, this._opt.closeWaitMs);
    });
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify({ type: "client_disconnecting" }));
      ws.close(1000, "client disconnecting");
    } else if (ws && ws.readyState === WebSocket.CONNECTING) {
      ws.close();
    }
    this._end("disconnected", connectionError("disconnected", "the client disconnected"));
    this._teardown(conn);
    await closed;
  }

  /** Shows the stream in a <video> element (kept across reconnects). Returns the element. */
  attachToVideo(videoElement) {
    this._video = videoElement ?? null;
    if (this._video) {
      this._video.srcObject = this._mediaStream;
      this._video.muted = true;
      this._video.playsInline = true;
      this._video.play?.()?.catch?.(() => {});
    }
    return this._video;
  }

  /**
   * TEST-ONLY: drops the connection as a network failure would: the signaling WebSocket closes
   * with code 4000 (no client_disconnecting, so the server sees an unclean drop), the peer
   * closes, commands in flight reject, and the client reconnects like after a real drop.
   */
  _simulateDrop() {
    const conn = this._conn;
    if (!conn || conn.ended) return;
    // Synchronous, so a test can count on what was pending at this moment: the attempt ends
    // here (its socket closed with 4000, its peer closed) exactly as if the socket had dropped.
    this._lost(
      conn,
      connectionError("signaling_closed", "signaling closed (code 4000: simulated drop)", {
        retryable: true,
        details: { close_code: 4000 },
      }),
    );
  }

  // ---- connection attempts ----

  _setStatus(status, message) {
    if (this._status === status) return;
    this._status = status;
    debugLog("status", status, message ?? "");
    this._handlers.onStatusChange?.(status, message);
  }

  _fetchIceServers() {
    return fetchIceServers(iceConfigUrl({ signalingUrl: this._creds.signalingUrl }), {
      timeoutMs: this._opt.configTimeoutMs,
    });
  }

  _mark(name) {
    this._timing[name] = performance.now();
    performance.mark?.(`ithaca:${name}`);
  }

  _attempt() {
    const creds = this._creds;
    const conn = {
      ws: null,
      pc: null,
      commands: null,
      track: null,
      stream: null,
      connected: false,
      ended: false,
      error: null,
      remoteSet: false,
      candidates: [],
      chain: Promise.resolve(),
    };
    this._conn = conn;
    for (const name of ATTEMPT_MARKS) delete this._timing[name];
    this._setStatus(this._everConnected ? "reconnecting" : "connecting");
    conn.timer = setTimeout(
      () =>
        this._lost(
          conn,
          connectionError("connect_timeout", "the connection attempt timed out", {
            retryable: true,
          }),
        ),
      this._opt.attemptTimeoutMs,
    );

    const pc = new RTCPeerConnection({ iceServers: this._iceServers, bundlePolicy: "max-bundle" });
    conn.pc = pc;
    pc.ontrack = (e) => {
      if (e.track.kind !== "video") return;
      if (conn === this._conn) this._mark("track");
      conn.track = e.track;
      conn.stream = e.streams[0] ?? new MediaStream([e.track]);
      this._checkReady(conn);
    };
    pc.ondatachannel = (e) => this._adoptChannel(conn, e.channel);
    pc.onicecandidate = (e) => {
      if (!e.candidate?.candidate) return;
      this._signal(conn, {
        type: "ice_candidate",
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "connected" && conn === this._conn) this._mark("peerConnected");
      if (pc.connectionState === "failed") {
        this._lost(
          conn,
          connectionError("peer_connection_failed", "the media connection failed", {
            retryable: true,
          }),
        );
      }
    };

    this._mark("wsCreate");
    const ws = new WebSocket(
      clientSocketUrl(creds.signalingUrl, creds.sessionId, creds.sessionToken),
    );
    conn.ws = ws;
    ws.onopen = () => {
      if (conn === this._conn) this._mark("wsOpen");
      conn.keepalive = setInterval(
        () => this._signal(conn, { type: "keepalive" }),
        this._opt.keepaliveMs,
      );
    };
    ws.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch {
        return;
      }
      conn.chain = conn.chain
        .then(() => this._onSignal(conn, message))
        .catch((err) =>
          this._lost(
            conn,
            connectionError("peer_connection_failed", `WebRTC negotiation failed: ${err}`, {
              retryable: true,
              cause: err,
            }),
          ),
        );
    };
    ws.onclose = (e) => {
      // A server `error` is followed by its close code (4401, 4409, 4502...): keep it with it.
      if (conn.error && conn.error.details.close_code === undefined) {
        conn.error.details.close_code = e.code;
      }
      const error =
        conn.error ??
        connectionError(
          "signaling_closed",
          `signaling closed (code ${e.code}${e.reason ? `: ${e.reason}` : ""})`,
          { retryable: true, details: { close_code: e.code } },
        );
      this._lost(conn, error);
    };
  }

  async _onSignal(conn, message) {
    if (conn.ended) return;
    debugLog("signaling", message.type);
    const pc = conn.pc;
    switch (message.type) {
      case "offer": {
        this._mark("offer");
        await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        conn.remoteSet = true;
        for (const c of conn.candidates.splice(0)) await this._addCandidate(pc, c);
        await pc.setLocalDescription(await pc.createAnswer());
        this._signal(conn, { type: "answer", sdp: pc.localDescription.sdp });
        this._mark("answer");
        break;
      }
      case "ice_candidate":
        if (!conn.remoteSet) conn.candidates.push(message);
        else await this._addCandidate(pc, message);
        break;
      case "error": {
        // The server closes the socket next; onclose ends the attempt with this error.
        conn.error = errorFromCode(message.reason ?? "unknown", message.message, {
          retryable: message.retryable,
          action: message.action,
        });
        clearTimeout(conn.errorTimer);
        conn.errorTimer = setTimeout(
          () => this._lost(conn, conn.error),
          this._opt.errorCloseWaitMs,
        );
        break;
      }
      default:
      // Unknown messages are ignored (docs/odyssey-compatibility.md section 1).
    }
  }

  async _addCandidate(pc, m) {
    try {
      await pc.addIceCandidate({
        candidate: m.candidate,
        sdpMid: m.sdpMid ?? null,
        sdpMLineIndex: m.sdpMLineIndex ?? null,
      });
    } catch {
      // a candidate the browser refuses is not fatal
    }
  }

  _adoptChannel(conn, channel) {
    if (channel.label === "streamerToClient") {
      channel.onmessage = (e) => {
        if (conn === this._conn && !conn.ended) this._onEvent(e.data);
      };
    } else if (channel.label === "clientToStreamer") {
      conn.commands = channel;
      const opened = () => {
        if (conn === this._conn) this._mark("channelOpen");
        this._checkReady(conn);
      };
      if (channel.readyState === "open") opened();
      else channel.addEventListener("open", opened, { once: true });
      channel.addEventListener("close", () =>
        this._lost(
          conn,
          connectionError("channel_closed", "the command channel closed", { retryable: true }),
        ),
      );
    }
  }

  _signal(conn, message) {
    if (conn.ended || conn.ws?.readyState !== WebSocket.OPEN) return false;
    conn.ws.send(JSON.stringify(message));
    return true;
  }

  _checkReady(conn) {
    if (conn.ended || conn.connected || conn !== this._conn) return;
    if (!conn.track || conn.commands?.readyState !== "open") return;
    conn.connected = true;
    clearTimeout(conn.timer);
    this._retries = 0;
    this._everConnected = true;
    this._mark("connected");
    this._mediaStream = conn.stream;
    if (this._video) this.attachToVideo(this._video);
    this._setStatus("connected");
    this._handlers.onConnected?.(conn.stream);
    this._connectResolve?.(conn.stream);
    this._connectResolve = null;
    for (const q of this._queue.splice(0)) {
      clearTimeout(q.timer);
      q.send();
    }
  }

  _teardown(conn) {
    if (!conn || conn.ended) return;
    conn.ended = true;
    clearTimeout(conn.timer);
    clearTimeout(conn.errorTimer);
    clearInterval(conn.keepalive);
    if (conn.ws && conn.ws.readyState <= WebSocket.OPEN && !this._closing) {
      // Not a clean disconnect: no client_disconnecting, so the session stays resumable.
      conn.ws.close(4000, "client dropped the connection");
    }
    try {
      conn.pc?.close();
    } catch {
      // already closed
    }
    // Commands in flight on this connection are lost with it.
    for (const [id, p] of this._pending) {
      if (p.conn !== conn) continue;
      this._pending.delete(id);
      clearTimeout(p.timer);
      p.reject(
        connectionError("connection_lost", `the connection ended before ${p.expect} arrived`, {
          retryable: true,
          cause: conn.error ?? undefined,
          details: { request_id: id },
        }),
      );
    }
  }

  // An attempt ended without our disconnect(): retry while it makes sense, else fail.
  _lost(conn, error) {
    if (conn.ended || conn !== this._conn || this._closing) return;
    this._teardown(conn);
    if (this._streamId !== null) {
      // The streamer tears the peer and its stream down with the connection.
      this._streamId = null;
      this._handlers.onStreamEnded?.();
    }
    const expired = Date.now() >= this._expiresAt;
    const retry = error.retryable && !expired && this._retries < this._opt.reconnectAttempts;
    if (!retry) {
      const fatal = expired
        ? errorFromCode("token_expired", "the session token expired; mint new credentials", {
            cause: error,
          })
        : error;
      this._end("failed", fatal);
      return;
    }
    this._handlers.onError?.(error, false);
    const delay = Math.min(
      this._opt.reconnectMaxMs,
      this._opt.reconnectBaseMs * 2 ** this._retries,
    );
    this._retries += 1;
    this._setStatus(this._everConnected ? "reconnecting" : "connecting", error.message);
    this._retryTimer = setTimeout(
      () => {
        if (this._closing || TERMINAL.has(this._status)) return;
        if (Date.now() < this._expiresAt) this._attempt();
        else this._end("failed", errorFromCode("token_expired", "the session token expired"));
      },
      delay * (1 + Math.random() * 0.25),
    );
  }

  // Terminal: every pending promise settles.
  _end(status, error) {
    clearTimeout(this._retryTimer);
    const settle = (reject, what) =>
      reject(
        error instanceof ConnectionError
          ? error
          : connectionError(error.code, `${what}: ${error.message}`, { cause: error }),
      );
    for (const [, p] of this._pending) {
      clearTimeout(p.timer);
      settle(p.reject, "the connection ended");
    }
    this._pending.clear();
    for (const q of this._queue.splice(0)) {
      clearTimeout(q.timer);
      settle(q.reject, "the connection ended");
    }
    this._conn = null;
    this._streamId = null;
    if (this._connectResolve) {
      this._connectReject(error);
      this._connectResolve = null;
    }
    this._setStatus(status, error.message);
    if (status === "failed") this._handlers.onError?.(error, true);
    this._handlers.onDisconnected?.();
  }

  // ---- commands ----

  _request(command, expect, { viaSignaling = false } = {}) {
    if (!this._connectPromise || TERMINAL.has(this._status) || this._closing) {
      return Promise.reject(
        connectionError("not_connected", `cannot send ${command.type}: ${this._status}`),
      );
    }
    const requestId = randomId();
    const text = JSON.stringify({ ...command, request_id: requestId });
    return new Promise((resolve, reject) => {
      const send = () => {
        const conn = this._conn;
        const p = { expect, resolve, reject, conn, type: command.type };
        p.timer = setTimeout(() => {
          this._pending.delete(requestId);
          reject(
            connectionError("request_timeout", `no ${expect} for ${command.type}`, {
              retryable: true,
              details: { request_id: requestId },
            }),
          );
        }, this._opt.requestTimeoutMs);
        this._pending.set(requestId, p);
        try {
          if (viaSignaling) {
            if (conn.ws.readyState !== WebSocket.OPEN) throw new Error("signaling is not open");
            conn.ws.send(text);
          } else {
            conn.commands.send(text);
          }
        } catch (e) {
          clearTimeout(p.timer);
          this._pending.delete(requestId);
          reject(connectionError("send_failed", `could not send ${command.type}: ${e}`));
        }
      };
      if (this._status === "connected" && this._conn?.connected) return send();
      // Not open yet (connecting, reconnecting): wait for clientToStreamer, bounded.
      const q = { send, reject };
      q.timer = setTimeout(() => {
        const i = this._queue.indexOf(q);
        if (i >= 0) this._queue.splice(i, 1);
        reject(
          connectionError(
            "channel_timeout",
            `${command.type} waited ${this._opt.channelWaitMs} ms for clientToStreamer to open`,
            { retryable: true },
          ),
        );
      }, this._opt.channelWaitMs);
      this._queue.push(q);
    });
  }

  _onEvent(data) {
    let event;
    try {
      event = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      return;
    }
    const h = this._handlers;
    h.onEvent?.(event); // every message as received: an Ithaca addition, for logs and tests
    let error = null;
    switch (event.type) {
      case "interactive_stream_error":
        error = errorFromCode(event.reason ?? "unknown", event.message, {
          details: event.request_id ? { request_id: event.request_id } : undefined,
        });
        if (!(error instanceof StreamError) && error.constructor === IthacaError) {
          error = new StreamError(error.message, { code: error.code });
        }
        if (event.reason === "session_timeout") this._streamId = null;
        h.onStreamError?.(event.reason ?? "unknown", event.message ?? "");
        break;
      case "stream_started":
        if (this._streamId !== event.stream_id) this._broadcast = null;
        this._streamId = event.stream_id ?? null;
        this._lastAppliedPrompt = event.applied_prompt ?? null;
        h.onStreamStarted?.(event.stream_id);
        break;
      case "update_acknowledged":
        this._lastAppliedPrompt = event.prompt ?? null;
        h.onInteractAcknowledged?.(event.prompt);
        break;
      case "stream_ended":
        this._streamId = null;
        h.onStreamEnded?.();
        break;
      case "broadcast_ready":
        // The official SDK's check: without both a URL and a token nobody can watch.
        if (typeof event.webrtc_url !== "string" || typeof event.spectator_token !== "string") {
          h.onStreamError?.(
            "broadcast_error",
            "broadcast_ready without webrtc_url or spectator_token: spectators cannot join",
          );
          return;
        }
        this._broadcast = Object.freeze({
          webrtcUrl: event.webrtc_url,
          hlsUrl: event.broadcast_url ?? null,
          spectatorToken: event.spectator_token,
          streamId: event.stream_id ?? this._streamId,
          raw: event,
        });
        h.onBroadcastReady?.(this._broadcast);
        return;
      default:
        return;
    }
    // The request this answers: by request_id; an event without one (a server that does not
    // echo ids) answers the oldest request waiting for that event type.
    let id = event.request_id;
    if (id === undefined && !error) {
      for (const [key, p] of this._pending) {
        if (p.expect === event.type) {
          id = key;
          break;
        }
      }
    }
    const p = id === undefined ? undefined : this._pending.get(id);
    if (!p || (!error && p.expect !== event.type)) return;
    this._pending.delete(id);
    clearTimeout(p.timer);
    if (error) p.reject(error);
    else p.resolve(event);
  }
}
