// Spectators: watch a broadcast over WHEP (draft-ietf-wish-whep, docs/odyssey-compatibility.md
// section 9) with nothing but the `webrtcUrl` and `spectatorToken` of the host's onBroadcastReady.
// No API key, no session, no data channel: receive-only media. Plain ES module, no Node APIs.
//
//   const conn = await connectToStream(webrtcUrl, spectatorToken, { signal });
//   video.srcObject = conn.stream;
//   conn.onDisconnect((reason) => console.log("broadcast over:", reason));
//   await conn.disconnect(); // WHEP DELETE, then close
//
// Same shape as the official SDK's Odyssey.connectToStream / SpectatorConnection, plus typed
// errors, a promise that resolves only once media can flow (track + peer connected), and an end
// that is noticed even when the browser never reports "closed" (see SpectatorConnection).
import {
  AuthError,
  ConnectionError,
  IthacaError,
  RequestError,
  StreamError,
  UsageError,
  errorFromCode,
} from "./errors.js";
import { fetchIceServers, iceConfigUrl, whepUrl } from "./endpoints.js";

const DEFAULTS = Object.freeze({
  // The official SDK waits this long for ICE gathering before sending what it has (non-trickle
  // WHEP: every candidate must be in the offer).
  iceGatheringTimeoutMs: 5_000,
  // From the answer to a video track on a connected peer; the official SDK's value.
  trackTimeoutMs: 30_000,
  // GET /config must not hold up a viewer: without it host candidates still work on a LAN.
  configTimeoutMs: 5_000,
  // ICE "disconnected" can be a blip that heals by itself; this long without recovery means the
  // broadcast is gone (Chromium reports "failed" only after about 30 s).
  iceDisconnectedGraceMs: 4_000,
  // disconnect() waits this long for the DELETE's answer; the peer is closed before it.
  deleteTimeoutMs: 2_000,
});

function abortError(signal) {
  return signal.reason ?? new DOMException("The connection was aborted", "AbortError");
}

function throwIfAborted(signal) {
  if (signal?.aborted) throw abortError(signal);
}

/** Rejects with the signal's reason when it aborts; `cleanup()` detaches the listener. */
function abortable(signal) {
  let onAbort = null;
  const promise = new Promise((_, reject) => {
    if (!signal) return;
    onAbort = () => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  promise.catch(() => {});
  return { promise, cleanup: () => onAbort && signal.removeEventListener("abort", onAbort) };
}

// The typed error for a WHEP error answer {"detail": {"code", "message", "retryable"}}. A code
// this SDK knows keeps its class; an unknown one (or another server's answer) is classed by the
// HTTP status the WHEP draft gives it: 401/403 auth, 404 the stream, 429 usage, 5xx busy.
function errorFromWhep(status, body) {
  let detail = null;
  try {
    detail = JSON.parse(body)?.detail ?? null;
  } catch {
    // not JSON: a proxy, or a WHEP server that is not Ithaca
  }
  const code =
    typeof detail?.code === "string"
      ? detail.code
      : typeof detail?.error === "string"
        ? detail.error
        : status === 401
          ? "spectator_token_invalid"
          : status === 404
            ? "stream_not_found"
            : `http_${status}`;
  const message =
    typeof detail?.message === "string" && detail.message !== ""
      ? detail.message
      : status === 401
        ? "the spectator token is not valid for this broadcast"
        : status === 404
          ? "the broadcast was not found, or it has ended"
          : `the WHEP endpoint answered HTTP ${status}`;
  const extras = { retryable: detail?.retryable, action: detail?.action, status };
  const known = errorFromCode(code, message, extras);
  if (known.constructor !== IthacaError) return known;
  const Class =
    status === 401 || status === 403
      ? AuthError
      : status === 404 || status === 410
        ? StreamError
        : status === 429
          ? UsageError
          : status >= 500
            ? ConnectionError
            : RequestError;
  const retryable =
    typeof detail?.retryable === "boolean" ? detail.retryable : status === 503 || status === 502;
  return new Class(message, { code, retryable, action: detail?.action, status });
}

// DELETE on a WHEP resource; never throws (unreachable or slow: the server drops the viewer when
// its ICE consent expires). The resource authenticates the DELETE with the token that created
// it: Ithaca's Location carries it as ?token=, another server may want it as a header.
async function whepDelete(url, token, timeoutMs) {
  const headers = {};
  if (!new URL(url).searchParams.has("token")) headers.Authorization = `Bearer ${token}`;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  try {
    const r = await fetch(url, { method: "DELETE", headers, signal: timeout.signal });
    return r.status;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

function iceGatheringDone(pc, timeoutMs, signal) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onChange);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const onChange = () => pc.iceGatheringState === "complete" && done();
    const timer = setTimeout(done, timeoutMs); // send what was gathered so far
    pc.addEventListener("icegatheringstatechange", onChange);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * One spectator's receive-only connection. `stream` is the MediaStream to show; `disconnect()`
 * leaves (WHEP DELETE, then close), `close()` only closes. `onDisconnect(handler)` runs each
 * handler once when the connection ends for any reason: the host's stream ended, the network
 * failed, or this side closed it.
 *
 * Ended means: connectionState "closed" or "failed", the DTLS transport closed by the server
 * (what a streamer that ends a broadcast sends), ICE "failed" or "disconnected" for longer than
 * `iceDisconnectedGraceMs`, or disconnect()/close(). Browsers never report a peer that the
 * server closed as connectionState "closed": the DTLS transport and ICE states show it.
 */
export class SpectatorConnection {
  /**
   * Made by connectToStream; not meant to be constructed directly.
   * @param {RTCPeerConnection} pc
   * @param {string|null} sessionUrl the WHEP resource (the answer's Location), absolute
   * @param {{token: string, iceDisconnectedGraceMs: number, deleteTimeoutMs: number}} options
   */
  constructor(pc, sessionUrl, options) {
    this._pc = pc;
    this._sessionUrl = sessionUrl;
    this._token = options.token;
    this._opt = options;
    this._stream = null;
    this._endReason = null;
    this._handlers = [];
    this._iceTimer = null;
    this._watchedTransports = new Set();
    this._onEnd = null; // connectToStream's hook while the connection is not ready yet
    this._check = this._check.bind(this);
    pc.addEventListener("connectionstatechange", this._check);
    pc.addEventListener("iceconnectionstatechange", this._check);
  }

  /** The MediaStream to attach to a <video> (srcObject). */
  get stream() {
    return this._stream;
  }

  /** The peer connection's state (RTCPeerConnectionState). */
  get connectionState() {
    return this._pc.connectionState;
  }

  get peerConnection() {
    return this._pc;
  }

  /** The WHEP resource URL (the answer's Location), or null once left or when none was given. */
  get sessionUrl() {
    return this._sessionUrl;
  }

  /** Why the connection ended ("local", "closed", "failed", "dtls_closed"...), or null. */
  get endReason() {
    return this._endReason;
  }

  get closed() {
    return this._endReason !== null;
  }

  /**
   * Leaves the broadcast: DELETE on the WHEP resource (so the server frees this viewer at once),
   * and closes the peer. Resolves once the server answered (or after `deleteTimeoutMs`); never
   * rejects: leaving always succeeds locally.
   */
  async disconnect() {
    const url = this._sessionUrl;
    const ended = this.closed;
    this._sessionUrl = null;
    this._end("local");
    if (!url || ended) return; // the server ended it already: a DELETE would only 404
    await whepDelete(url, this._token, this._opt.deleteTimeoutMs);
  }

  /**
   * Closes the peer without a DELETE: for when the broadcast is ending anyway (the server then
   * answers 404) or a page is unloading. The server notices through ICE consent.
   */
  close() {
    this._sessionUrl = null;
    this._end("local");
  }

  /**
   * Calls `handler(reason)` once when the connection ends (at once if it has already ended).
   * Handlers add up; they cannot be removed.
   * @param {(reason: string) => void} handler
   */
  onDisconnect(handler) {
    if (typeof handler !== "function") throw new TypeError("onDisconnect needs a function");
    if (this.closed) return void handler(this._endReason);
    this._handlers.push(handler);
  }

  // ---- internal ----

  _watchTransport(transport) {
    if (!transport || this._watchedTransports.has(transport)) return;
    this._watchedTransports.add(transport);
    transport.addEventListener?.("statechange", this._check);
  }

  _check() {
    if (this.closed) return;
    const pc = this._pc;
    for (const r of pc.getReceivers?.() ?? []) this._watchTransport(r.transport);
    if (pc.connectionState === "closed" || pc.connectionState === "failed") {
      return this._end(pc.connectionState);
    }
    for (const t of this._watchedTransports) {
      if (t.state === "closed" || t.state === "failed") return this._end(`dtls_${t.state}`);
    }
    if (pc.iceConnectionState === "failed") return this._end("ice_failed");
    if (pc.iceConnectionState === "disconnected") {
      this._iceTimer ??= setTimeout(
        () => this._end("ice_disconnected"),
        this._opt.iceDisconnectedGraceMs,
      );
    } else if (this._iceTimer !== null) {
      clearTimeout(this._iceTimer);
      this._iceTimer = null;
    }
  }

  _end(reason) {
    if (this.closed) return;
    this._endReason = reason;
    clearTimeout(this._iceTimer);
    try {
      this._pc.close();
    } catch {
      // already closed
    }
    this._onEnd?.(reason);
    for (const handler of this._handlers.splice(0)) {
      try {
        handler(reason);
      } catch (e) {
        // One handler's bug must not stop the others, nor vanish.
        console.error("[ithaca] an onDisconnect handler threw:", e);
      }
    }
  }
}

/**
 * Watches a broadcast as a spectator: GET {origin}/config for ICE servers, a receive-only offer
 * (video and audio, every candidate gathered: non-trickle WHEP), POST {webrtcUrl}/whep?token=.
 * Resolves once the video track arrived and the peer is connected.
 *
 * Rejects with: ConnectionError `webrtc_unavailable` (no RTCPeerConnection, e.g. Node);
 * AuthError (401: the token is invalid, expired, or for another stream); StreamError (404: no
 * such broadcast, or it ended); ConnectionError for a full broadcast (503
 * `spectator_limit_reached`), an unreachable server (`network_error`), a failed peer
 * (`peer_connection_failed`) or no video within `trackTimeoutMs` (`track_timeout`); the
 * signal's reason (an AbortError) when `options.signal` aborts.
 *
 * @param {string} webrtcUrl the `webrtcUrl` of onBroadcastReady (the WHEP base URL)
 * @param {string} spectatorToken
 * @param {{signal?: AbortSignal, iceServers?: RTCIceServer[]} & Partial<typeof DEFAULTS>} [options]
 * @returns {Promise<SpectatorConnection>}
 */
export async function connectToStream(webrtcUrl, spectatorToken, options = {}) {
  if (typeof RTCPeerConnection === "undefined") {
    throw new ConnectionError(
      "this runtime has no WebRTC (RTCPeerConnection): watch a broadcast from a browser, or " +
        "with the Python SDK's connect_to_stream",
      { code: "webrtc_unavailable", retryable: false },
    );
  }
  if (typeof webrtcUrl !== "string" || !/^https?:$/.test(parseUrl(webrtcUrl)?.protocol)) {
    throw new TypeError(`connectToStream: webrtcUrl must be an absolute URL, got ${webrtcUrl}`);
  }
  if (typeof spectatorToken !== "string" || spectatorToken === "") {
    throw new TypeError("connectToStream: spectatorToken must be a non-empty string");
  }
  const opt = { ...DEFAULTS, ...options };
  const { signal } = opt;
  throwIfAborted(signal);

  const iceServers = Array.isArray(opt.iceServers)
    ? opt.iceServers
    : await fetchIceServers(iceConfigUrl({ webrtcUrl }), {
        signal,
        timeoutMs: opt.configTimeoutMs,
      });
  throwIfAborted(signal);

  const pc = new RTCPeerConnection({ iceServers, bundlePolicy: "max-bundle" });
  let conn = null;
  let deleteOnFailure = null; // the WHEP resource, once the server made one
  try {
    const tracks = []; // every "track" event, from setRemoteDescription on
    pc.addEventListener("track", (e) => tracks.push(e));
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addTransceiver("audio", { direction: "recvonly" });
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringDone(pc, opt.iceGatheringTimeoutMs, signal);
    throwIfAborted(signal);

    const postUrl = whepUrl(webrtcUrl, spectatorToken);
    let response;
    try {
      response = await fetch(postUrl, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", Accept: "application/sdp" },
        body: pc.localDescription.sdp,
        signal,
      });
    } catch (cause) {
      throwIfAborted(signal);
      throw new ConnectionError(`could not reach ${new URL(webrtcUrl).origin}: ${cause}`, {
        code: "network_error",
        retryable: true,
        cause,
      });
    }
    const body = await response.text();
    if (!response.ok) throw errorFromWhep(response.status, body);
    const location = response.headers.get("Location");
    const sessionUrl = location ? new URL(location, postUrl).href : null;
    deleteOnFailure = sessionUrl;
    if (!/^v=0/m.test(body)) {
      throw new ConnectionError(`the WHEP answer (HTTP ${response.status}) is not SDP`, {
        code: "invalid_response",
        status: response.status,
      });
    }

    conn = new SpectatorConnection(pc, sessionUrl, { ...opt, token: spectatorToken });
    await waitReady(pc, conn, tracks, body, opt);
    return conn;
  } catch (error) {
    if (conn) conn._end("failed_to_connect");
    else pc.close();
    // The server made a viewer for us: free it now rather than at its ICE timeout.
    if (deleteOnFailure) whepDelete(deleteOnFailure, spectatorToken, opt.deleteTimeoutMs);
    throw error;
  }
}

function parseUrl(s) {
  try {
    return new URL(s);
  } catch {
    return null;
  }
}

// Applies the answer, then waits for a video track on a connected peer.
function waitReady(pc, conn, tracks, answerSdp, opt) {
  const { signal } = opt;
  const abort = abortable(signal);
  let timer;
  const ready = new Promise((resolve, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ConnectionError(`no video within ${opt.trackTimeoutMs} ms of the WHEP answer`, {
            code: "track_timeout",
            retryable: true,
          }),
        ),
      opt.trackTimeoutMs,
    );
    const check = () => {
      const video = tracks.find((e) => e.track.kind === "video");
      if (!video || pc.connectionState !== "connected") return;
      const stream = video.streams?.[0] ?? new MediaStream([video.track]);
      for (const e of tracks) if (!stream.getTracks().includes(e.track)) stream.addTrack(e.track);
      conn._stream = stream;
      resolve();
    };
    conn._onEnd = (reason) =>
      reject(
        new ConnectionError(`the media connection failed before any video (${reason})`, {
          code: "peer_connection_failed",
          retryable: true,
        }),
      );
    pc.addEventListener("track", check); // after connectToStream's listener: in `tracks` now
    pc.addEventListener("connectionstatechange", check);
    const applied = () => {
      conn._check(); // the receivers' DTLS transports exist now: watch them from the start
      check();
    };
    pc.setRemoteDescription({ type: "answer", sdp: answerSdp }).then(applied, (cause) =>
      reject(
        new ConnectionError(`the WHEP answer was refused: ${cause?.message ?? cause}`, {
          code: "invalid_answer",
          cause,
        }),
      ),
    );
  });
  return Promise.race([ready, abort.promise]).finally(() => {
    clearTimeout(timer);
    abort.cleanup();
    conn._onEnd = null;
  });
}
