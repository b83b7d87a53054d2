// Where the client and the spectator find the server: the one rule for the signaling URL and
// the one GET /config fetch (docs/streaming.md sections 1 and 5), shared by client.js and
// spectator.js. Plain ES module, no Node APIs.
//
//   player     ws(s)://HOST/signaling/client/{session_id}?token=...   from signaling_url
//   ICE config GET {signaling_url in its http(s) form}/config          (a player)
//              GET {origin of webrtc_url}/config                       (a spectator, WHEP)

const DEFAULT_CONFIG_TIMEOUT_MS = 5_000;

/** The http(s) form of a signaling URL, without trailing slashes. */
export function httpUrlOf(url) {
  return String(url)
    .replace(/^ws(s?):/i, "http$1:")
    .replace(/\/+$/, "");
}

/** The ws(s) form of a signaling URL, without trailing slashes. */
export function wsUrlOf(url) {
  return String(url)
    .replace(/^http(s?):/i, "ws$1:")
    .replace(/\/+$/, "");
}

/** The player's signaling WebSocket for a session. */
export function clientSocketUrl(signalingUrl, sessionId, sessionToken) {
  return (
    `${wsUrlOf(signalingUrl)}/client/${encodeURIComponent(sessionId)}` +
    `?token=${encodeURIComponent(sessionToken)}`
  );
}

/**
 * Where the ICE servers are: `{signalingUrl}` (a player's credentials) gives the signaling
 * URL's http form + /config; `{webrtcUrl}` (a broadcast's WHEP base) gives its origin + /config.
 */
export function iceConfigUrl({ signalingUrl, webrtcUrl } = {}) {
  if (typeof signalingUrl === "string") return `${httpUrlOf(signalingUrl)}/config`;
  return `${new URL(webrtcUrl).origin}/config`;
}

/**
 * GET /config's `iceServers`, or [] when it fails or takes longer than `timeoutMs`: not fatal,
 * host candidates do on one host or a LAN, and what follows reports a server that is really
 * down. Rejects only when `signal` aborts (with its reason).
 * @param {string} url from iceConfigUrl
 * @param {{signal?: AbortSignal, timeoutMs?: number}} [options]
 * @returns {Promise<RTCIceServer[]>}
 */
export async function fetchIceServers(url, { signal, timeoutMs = DEFAULT_CONFIG_TIMEOUT_MS } = {}) {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const onAbort = () => timeout.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const r = await fetch(url, { cache: "no-store", signal: timeout.signal });
    if (!r.ok) return [];
    const body = await r.json();
    return Array.isArray(body?.iceServers) ? body.iceServers : [];
  } catch {
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    return [];
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** A spectator's WHEP POST: {webrtcUrl}/whep?token=... */
export function whepUrl(webrtcUrl, spectatorToken) {
  return `${webrtcUrl.replace(/\/+$/, "")}/whep?token=${encodeURIComponent(spectatorToken)}`;
}
