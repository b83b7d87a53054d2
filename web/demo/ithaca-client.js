// ithaca-client.js: a small WebRTC client for Ithaca, as a plain ES module (no bundler, no
// dependencies). It speaks the protocol of docs/streaming.md, which is Odyssey's
// (odyssey-wire.md sections 1, 4 and 5) plus a request_id on every command:
//
//   const client = new IthacaClient();
//   const stream = await client.connect(credentials, { onError, onDisconnected, onEvent });
//   video.srcObject = stream;
//   await client.startStream({ prompt: "a lighthouse at dusk", portrait: false });
//   await client.interact("now it rains");
//   await client.endStream();
//   await client.disconnect();
//
// Every promise settles: a command resolves on the event that echoes its request_id and rejects
// on an interactive_stream_error with that request_id, on disconnect, or after a timeout.
// Failures are IthacaError values whose `reason` is a code of spec/errors.json (or one of the
// client-side codes below).

/** Client-side error codes (the server's come from spec/errors.json). */
export const ClientReason = Object.freeze({
  invalidCredentials: "invalid_credentials",
  signalingClosed: "signaling_closed", // the WebSocket closed without an error message
  connectTimeout: "connect_timeout",
  requestTimeout: "request_timeout",
  peerFailed: "peer_connection_failed",
  notConnected: "not_connected",
  disconnected: "disconnected", // the client called disconnect() while a request was waiting
});

/** An error with a stable reason code, as the server sends it or as the client names it. */
export class IthacaError extends Error {
  constructor(reason, message, { retryable = false, action, closeCode, requestId } = {}) {
    super(message || reason);
    this.name = "IthacaError";
    this.reason = reason;
    this.retryable = retryable;
    if (action !== undefined) this.action = action;
    if (closeCode !== undefined) this.closeCode = closeCode;
    if (requestId !== undefined) this.requestId = requestId;
  }
}

/** Reads the `session_id` claim of a session token (the signature is the server's job). */
export function extractSessionId(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) {
    throw new IthacaError(ClientReason.invalidCredentials, "session_token is not a JWT");
  }
  let claims;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new IthacaError(ClientReason.invalidCredentials, "session_token payload is not JSON");
  }
  if (typeof claims?.session_id !== "string" || claims.session_id === "") {
    throw new IthacaError(ClientReason.invalidCredentials, "session_token has no session_id");
  }
  return claims.session_id;
}

/**
 * Normalizes a credentials object (snake_case, or the JS SDK's camelCase). The session id is
 * always re-derived from the token: the `session_id` field is informational only.
 */
export function credentialsFromDict(d) {
  if (!d || typeof d !== "object") {
    throw new IthacaError(ClientReason.invalidCredentials, "credentials must be an object");
  }
  const signalingUrl = d.signaling_url ?? d.signalingUrl;
  const sessionToken = d.session_token ?? d.sessionToken;
  const expiresIn = d.expires_in ?? d.expiresIn;
  if (typeof signalingUrl !== "string" || typeof sessionToken !== "string") {
    throw new IthacaError(
      ClientReason.invalidCredentials,
      "credentials need signaling_url and session_token",
    );
  }
  if (typeof expiresIn !== "number") {
    throw new IthacaError(ClientReason.invalidCredentials, "credentials need expires_in");
  }
  return {
    sessionId: extractSessionId(sessionToken),
    signalingUrl: signalingUrl.replace(/^http/, "ws").replace(/\/+$/, ""),
    sessionToken,
    expiresIn,
    capabilities: d.capabilities ?? {},
  };
}

/** ws(s)://host/signaling -> http(s)://host/signaling */
export function httpUrlOf(signalingUrl) {
  return signalingUrl.replace(/^ws/, "http").replace(/\/+$/, "");
}

// Tuning constants, each with its reason.
const KEEPALIVE_MS = 10_000; // odyssey-wire.md section 4: every 10 s
const CONNECT_TIMEOUT_MS = 30_000; // ICE + DTLS on a loaded 2-core box takes a few seconds
const REQUEST_TIMEOUT_MS = 20_000; // a start may wait for a model to load
const CLOSE_WAIT_MS = 2_000; // how long disconnect() waits for the close handshake
const ERROR_CLOSE_WAIT_MS = 1_000; // after an `error` message, the server's close is due
// Commands larger than this go over signaling instead of the data channel: SCTP message size
// limits (64 KiB in many stacks) would refuse them. Only a start with an image gets this big.
const DATA_CHANNEL_MAX_BYTES = 60_000;

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

/**
 * One connection to one session. States: "idle" -> "connecting" -> "connected" ->
 * "disconnected" (final: connect again with a new IthacaClient, or the same one, which
 * starts over).
 *
 * Handlers (all optional): onStatus(status), onConnected(mediaStream), onDisconnected({code,
 * reason, clean, error}), onError(IthacaError) for signaling `error` messages, onEvent(event)
 * for every streamerToClient event, onStreamStarted(event), onInteractAcknowledged(event),
 * onStreamEnded(event), onStreamError(IthacaError), onSignal(direction, message) for logging.
 */
export class IthacaClient {
  constructor(options = {}) {
    this.keepaliveMs = options.keepaliveMs ?? KEEPALIVE_MS;
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.status = "idle";
    this.sessionId = null;
    this.mediaStream = null;
    this.streamId = null;
    this.lastError = null;
    // performance.now() marks of the last connect, for latency measurements.
    this.timing = {};
    this._pending = new Map(); // request_id -> {expect, resolve, reject, timer, type}
    this._handlers = {};
  }

  get connected() {
    return this.status === "connected";
  }

  /** Connects with client credentials; resolves with the MediaStream once video and the
   * command channel are both up. */
  async connect(credentials, handlers = {}) {
    if (this.status === "connecting" || this.status === "connected") {
      throw new IthacaError(ClientReason.notConnected, `already ${this.status}`);
    }
    const creds = credentialsFromDict(credentials);
    this._handlers = handlers;
    this.sessionId = creds.sessionId;
    this.mediaStream = null;
    this.streamId = null;
    this.lastError = null;
    this.timing = { connectStart: performance.now() };
    this._closing = false;
    this._finished = false;
    this._track = null;
    this._commands = null;
    this._remoteDescriptionSet = false;
    this._pendingCandidates = [];
    this._signalingChain = Promise.resolve();
    this._setStatus("connecting");

    const ready = new Promise((resolve, reject) => {
      this._connectResolve = resolve;
      this._connectReject = reject;
    });
    const timer = setTimeout(
      () => this._fail(new IthacaError(ClientReason.connectTimeout, "connect timed out")),
      this.connectTimeoutMs,
    );
    try {
      const iceServers = await this._fetchIceServers(creds.signalingUrl);
      if (this._finished) return await ready; // failed or disconnected meanwhile
      this._openPeer(iceServers);
      this._openSignaling(creds);
      return await ready;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts a stream. `image`: a data URL, a Blob/File, or null. Resolves with stream_started. */
  async startStream({ prompt, portrait = false, image = null, broadcast = false } = {}) {
    const input = image instanceof Blob ? await blobToDataUrl(image) : image;
    const command = {
      type: "interactive_stream_start",
      prompt,
      portrait: Boolean(portrait),
      input_image_base64: input ?? null,
      broadcast: Boolean(broadcast),
    };
    const event = await this._request(command, "stream_started");
    this.streamId = event.stream_id ?? null;
    return event;
  }

  /** Changes the prompt of the running stream. Resolves with update_acknowledged. */
  interact(prompt) {
    return this._request({ type: "update", prompt }, "update_acknowledged");
  }

  /** Ends the running stream. Resolves with stream_ended. */
  async endStream() {
    const event = await this._request({ type: "interactive_stream_end" }, "stream_ended");
    this.streamId = null;
    return event;
  }

  /** Clean disconnect: client_disconnecting, then close 1000. The session ends and its slot is
   * freed at once. Resolves when the socket has closed (or after a short wait). */
  async disconnect() {
    if (this.status === "idle" || this._finished) return;
    this._closing = true;
    const ws = this._ws;
    const closed = new Promise((resolve) => {
      if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
      ws.addEventListener("close", () => resolve(), { once: true });
      setTimeout(resolve, CLOSE_WAIT_MS);
    });
    if (ws && ws.readyState === WebSocket.OPEN) {
      this._send({ type: "client_disconnecting" });
      ws.close(1000, "client disconnecting");
    } else if (ws && ws.readyState === WebSocket.CONNECTING) {
      ws.close();
    }
    this._finish({
      code: 1000,
      reason: "client disconnecting",
      clean: true,
      error: new IthacaError(ClientReason.disconnected, "the client disconnected"),
    });
    await closed;
  }

  /** Video receive statistics of the peer connection (inbound-rtp, kind video). */
  async getStats() {
    const out = {
      framesDecoded: 0,
      framesReceived: 0,
      framesDropped: 0,
      keyFramesDecoded: 0,
      frameWidth: 0,
      frameHeight: 0,
      bytesReceived: 0,
      packetsLost: 0,
      jitter: 0,
      connectionState: this._pc?.connectionState ?? "closed",
    };
    if (!this._pc) return out;
    const report = await this._pc.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        for (const key of Object.keys(out)) {
          if (typeof s[key] === "number") out[key] = s[key];
        }
        out.codecId = s.codecId;
      }
    });
    if (out.codecId) out.codec = report.get(out.codecId)?.mimeType;
    return out;
  }

  // ---- internals ----

  _setStatus(status) {
    this.status = status;
    this._handlers.onStatus?.(status);
  }

  async _fetchIceServers(signalingUrl) {
    try {
      const response = await fetch(`${httpUrlOf(signalingUrl)}/config`);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      this.timing.config = performance.now();
      return Array.isArray(body.iceServers) ? body.iceServers : [];
    } catch (e) {
      // Not fatal: on one host or a LAN, host candidates are enough. The WebSocket that follows
      // reports a server that is really down.
      console.warn("ithaca: GET /config failed, using no ICE servers:", e);
      return [];
    }
  }

  _openPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
    this._pc = pc;
    pc.ontrack = (e) => {
      if (e.track.kind !== "video") return;
      this.timing.track = performance.now();
      this._track = e.track;
      this.mediaStream = e.streams[0] ?? new MediaStream([e.track]);
      this._checkReady();
    };
    pc.ondatachannel = (e) => this._adoptChannel(e.channel);
    pc.onicecandidate = (e) => {
      if (!e.candidate || !e.candidate.candidate) return; // end of candidates: nothing to send
      this._send({
        type: "ice_candidate",
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      });
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === "connected") this.timing.peerConnected ??= performance.now();
      if (state === "failed") {
        this._fail(new IthacaError(ClientReason.peerFailed, "the media connection failed"));
      }
    };
  }

  _adoptChannel(channel) {
    channel.binaryType = "arraybuffer";
    if (channel.label === "streamerToClient") {
      channel.onmessage = (e) => this._onEvent(e.data);
    } else if (channel.label === "clientToStreamer") {
      this._commands = channel;
      const opened = () => {
        this.timing.channelOpen = performance.now();
        this._checkReady();
      };
      if (channel.readyState === "open") opened();
      else channel.addEventListener("open", opened, { once: true });
      channel.addEventListener("close", () => {
        if (!this._finished && !this._closing) {
          this._fail(new IthacaError(ClientReason.peerFailed, "the command channel closed"));
        }
      });
    }
  }

  _checkReady() {
    if (this.status !== "connecting") return;
    if (!this._track || this._commands?.readyState !== "open") return;
    this.timing.connected = performance.now();
    this._setStatus("connected");
    this._handlers.onConnected?.(this.mediaStream);
    this._connectResolve?.(this.mediaStream);
  }

  _openSignaling(creds) {
    const url =
      `${creds.signalingUrl}/client/${encodeURIComponent(creds.sessionId)}` +
      `?token=${encodeURIComponent(creds.sessionToken)}`;
    this.timing.wsCreate = performance.now();
    const ws = new WebSocket(url);
    this._ws = ws;
    ws.onopen = () => {
      this.timing.wsOpen = performance.now();
      this._keepalive = setInterval(() => this._send({ type: "keepalive" }), this.keepaliveMs);
    };
    ws.onmessage = (e) => {
      let message;
      try {
        message = JSON.parse(e.data);
      } catch {
        console.warn("ithaca: signaling message is not JSON");
        return;
      }
      this._handlers.onSignal?.("in", message);
      // Offers and candidates are applied in arrival order.
      this._signalingChain = this._signalingChain
        .then(() => this._onSignal(message))
        .catch((err) => this._fail(new IthacaError(ClientReason.peerFailed, String(err))));
    };
    ws.onclose = (e) => {
      clearInterval(this._keepalive);
      clearTimeout(this._errorTimer);
      if (this._finished) return;
      const error =
        this.lastError ??
        new IthacaError(
          ClientReason.signalingClosed,
          `signaling closed (code ${e.code}${e.reason ? `: ${e.reason}` : ""})`,
          { closeCode: e.code },
        );
      if (error.closeCode === undefined) error.closeCode = e.code;
      this._finish({ code: e.code, reason: e.reason, clean: false, error });
    };
  }

  async _onSignal(message) {
    const pc = this._pc;
    if (this._finished || !pc) return;
    switch (message.type) {
      case "offer": {
        this.timing.offer ??= performance.now();
        await pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        this._remoteDescriptionSet = true;
        for (const c of this._pendingCandidates.splice(0)) await this._addCandidate(c);
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        this._send({ type: "answer", sdp: pc.localDescription.sdp });
        this.timing.answer ??= performance.now();
        break;
      }
      case "ice_candidate":
        if (!this._remoteDescriptionSet) this._pendingCandidates.push(message);
        else await this._addCandidate(message);
        break;
      case "error": {
        const error = new IthacaError(message.reason ?? "unknown", message.message, {
          retryable: Boolean(message.retryable),
          action: message.action,
        });
        this.lastError = error;
        this._handlers.onError?.(error);
        // The server closes the socket next, and onclose finishes with this error and the close
        // code. Should the close frame not come, give up waiting after a moment.
        clearTimeout(this._errorTimer);
        this._errorTimer = setTimeout(() => this._fail(error), ERROR_CLOSE_WAIT_MS);
        break;
      }
      default:
        console.warn("ithaca: unknown signaling message", message.type);
    }
  }

  async _addCandidate(message) {
    try {
      await this._pc.addIceCandidate({
        candidate: message.candidate,
        sdpMid: message.sdpMid ?? null,
        sdpMLineIndex: message.sdpMLineIndex ?? null,
      });
    } catch (e) {
      console.warn("ithaca: remote ICE candidate refused:", e);
    }
  }

  _send(message) {
    if (this._ws?.readyState !== WebSocket.OPEN) return false;
    this._handlers.onSignal?.("out", message);
    this._ws.send(JSON.stringify(message));
    return true;
  }

  _request(command, expect) {
    if (this.status !== "connected") {
      return Promise.reject(
        new IthacaError(ClientReason.notConnected, `cannot send ${command.type}: ${this.status}`),
      );
    }
    const requestId = randomId();
    const message = JSON.stringify({ ...command, request_id: requestId });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(requestId);
        reject(
          new IthacaError(ClientReason.requestTimeout, `no ${expect} for ${command.type}`, {
            requestId,
          }),
        );
      }, this.requestTimeoutMs);
      this._pending.set(requestId, { expect, resolve, reject, timer, type: command.type });
      try {
        if (
          message.length > DATA_CHANNEL_MAX_BYTES &&
          command.type === "interactive_stream_start"
        ) {
          if (this._ws?.readyState !== WebSocket.OPEN) throw new Error("signaling is not open");
          this._ws.send(message);
        } else {
          this._commands.send(message);
        }
      } catch (e) {
        clearTimeout(timer);
        this._pending.delete(requestId);
        reject(new IthacaError(ClientReason.notConnected, `send failed: ${e.message ?? e}`));
      }
    });
  }

  _onEvent(data) {
    let event;
    try {
      event = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      console.warn("ithaca: streamerToClient message is not JSON");
      return;
    }
    this._handlers.onEvent?.(event);
    let error = null;
    if (event.type === "interactive_stream_error") {
      error = new IthacaError(event.reason ?? "unknown", event.message, {
        requestId: event.request_id,
      });
      this._handlers.onStreamError?.(error);
    } else if (event.type === "stream_started") {
      this._handlers.onStreamStarted?.(event);
    } else if (event.type === "update_acknowledged") {
      this._handlers.onInteractAcknowledged?.(event);
    } else if (event.type === "stream_ended") {
      this.streamId = null;
      this._handlers.onStreamEnded?.(event);
    }
    // The request this answers: by request_id, or (an event without one, as from a streamer
    // that does not echo ids) the oldest request waiting for this event type.
    let id = event.request_id;
    if (id === undefined && !error) {
      for (const [key, p] of this._pending) {
        if (p.expect === event.type) {
          id = key;
          break;
        }
      }
    }
    const pending = id !== undefined ? this._pending.get(id) : undefined;
    if (!pending) return;
    if (!error && pending.expect !== event.type) return; // not its answer
    this._pending.delete(id);
    clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(event);
  }

  _fail(error) {
    if (this._finished) return;
    this.lastError ??= error;
    if (this._ws && this._ws.readyState <= WebSocket.OPEN) {
      // A failure is not a clean disconnect: no client_disconnecting, so the session stays
      // resumable until its token expires.
      this._ws.close(4000, error.reason.slice(0, 100));
    }
    this._finish({ code: 4000, reason: error.reason, clean: false, error });
  }

  _finish({ code, reason, clean, error }) {
    if (this._finished) return;
    this._finished = true;
    clearInterval(this._keepalive);
    clearTimeout(this._errorTimer);
    try {
      this._pc?.close();
    } catch {
      // already closed
    }
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer);
      const e = new IthacaError(error.reason, error.message, {
        retryable: error.retryable,
        action: error.action,
        closeCode: error.closeCode,
        requestId: id,
      });
      p.reject(e);
    }
    this._pending.clear();
    const wasConnecting = this.status === "connecting";
    this._setStatus("disconnected");
    if (wasConnecting) this._connectReject?.(error);
    this._handlers.onDisconnected?.({ code, reason, clean, error: clean ? null : error });
  }
}

/** connectWithCredentials(creds, handlers) -> Promise<IthacaClient>, for one-line use. */
export async function connect(credentials, handlers = {}, options = {}) {
  const client = new IthacaClient(options);
  await client.connect(credentials, handlers);
  return client;
}
