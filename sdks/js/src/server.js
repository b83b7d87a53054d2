// Server-side entry point (Node >= 18): everything of the browser entry, plus what needs the
// API key. Never bundle this into a page.
import { credentialsFromDict, credentialsFromParts } from "./credentials.js";
import { AuthError, ConnectionError, IthacaError, UsageError, errorFromCode } from "./errors.js";

import { Ithaca as BrowserIthaca } from "./client.js";

export * from "./index.js";

/**
 * The client with an API key, for Node and trusted pages only: connect(handlers) mints client
 * credentials with the key, then connects with them. It shadows the browser entry's Ithaca.
 * A page that holds an API key gives it to anyone who opens the page, so constructing one
 * with a key in a browser warns loudly.
 */
export class Ithaca extends BrowserIthaca {
  /** @param {{apiKey?: string, apiUrl?: string} & Record<string, unknown>} [options] */
  constructor(options = {}) {
    const { apiKey, apiUrl, ...tuning } = options;
    super(tuning);
    this._apiKey = apiKey;
    this._apiUrl = apiUrl;
    if (typeof window !== "undefined" && typeof apiKey === "string" && apiKey !== "") {
      console.warn(
        "[ithaca] An API key is in a browser page: anyone who opens it can read the key. " +
          "Mint credentials on your server (createClientCredentials) and call " +
          "connectWithCredentials() in the page instead.",
      );
    }
  }

  /** Mints with the API key, then connectWithCredentials(credentials, handlers). */
  async connect(handlers = {}) {
    const credentials = await this.createClientCredentials();
    return this.connectWithCredentials(credentials, handlers);
  }

  /** The official SDK's method: mints client credentials with this client's key and URL. */
  createClientCredentials() {
    return mintClientCredentials({ apiKey: this._apiKey, apiUrl: this._apiUrl });
  }

  /** listModels() with this client's API key and URL. */
  listModels() {
    return listModels({ apiKey: this._apiKey, apiUrl: this._apiUrl });
  }

  /** createSpectatorToken(sessionId) with this client's API key and URL. */
  createSpectatorToken(sessionId) {
    return createSpectatorToken(sessionId, { apiKey: this._apiKey, apiUrl: this._apiUrl });
  }
}

/** The official SDK's name for the keyed client. */
export { Ithaca as Odyssey };

/**
 * Two calls under one name. With options (or none) it mints, as mintClientCredentials does;
 * with (signalingUrl, sessionToken, expiresIn, capabilities?) it builds credentials from their
 * parts, synchronously, as the official SDK's createClientCredentials does.
 */
export function createClientCredentials(optionsOrSignalingUrl, ...parts) {
  if (typeof optionsOrSignalingUrl === "string") {
    return credentialsFromParts(optionsOrSignalingUrl, ...parts);
  }
  return mintClientCredentials(optionsOrSignalingUrl);
}

/**
 * Mint client credentials: POST {apiUrl}/v1/client_credentials with the API key.
 * apiKey and apiUrl default to the environment's ITHACA_API_KEY and ITHACA_API_URL (then
 * ODYSSEY_API_URL, so an app that pointed the official SDK here keeps working).
 * `model` names the model the session must run on (the server's default model, else any,
 * when absent); a model no streamer serves rejects with RequestError `unknown_model`.
 * @param {{apiKey?: string, apiUrl?: string, metadata?: Record<string, string>,
 *          capabilities?: Record<string, boolean>, model?: string,
 *          signal?: AbortSignal}} [options]
 */
export async function mintClientCredentials(options = {}) {
  const body = {};
  if (options.metadata !== undefined) body.metadata = options.metadata;
  if (options.capabilities !== undefined) body.capabilities = options.capabilities;
  if (options.model !== undefined) body.model = options.model;
  return credentialsFromDict(await postWithKey("/v1/client_credentials", body, options));
}

/**
 * The models this deployment serves: GET {apiUrl}/v1/models with the API key. Resolves with
 * the answer as the server gives it, `{models: [{name, version, formats, params,
 * image_to_video, max_sessions, streamers, capacity, in_use}], default}`.
 * @param {{apiKey?: string, apiUrl?: string, signal?: AbortSignal}} [options]
 */
export async function listModels(options = {}) {
  const json = await requestWithKey("GET", "/v1/models", undefined, options);
  if (!Array.isArray(json?.models)) {
    throw new IthacaError("the models answer lacks models", { code: "invalid_response" });
  }
  return json;
}

function postWithKey(route, body, options) {
  return requestWithKey("POST", route, body, options);
}

// {method} {apiUrl}{route} with the API key (and a JSON body unless undefined); the parsed
// JSON answer, or a typed error. apiKey and apiUrl default to the environment's ITHACA_API_KEY
// and ITHACA_API_URL.
async function requestWithKey(method, route, body, options) {
  const env = globalThis.process?.env ?? {};
  const apiKey = options.apiKey ?? env.ITHACA_API_KEY;
  const apiUrl = options.apiUrl ?? env.ITHACA_API_URL ?? env.ODYSSEY_API_URL;
  if (typeof apiKey !== "string" || apiKey === "") {
    throw new AuthError("No API key: pass apiKey or set ITHACA_API_KEY.", {
      code: "missing_api_key",
    });
  }
  if (typeof apiUrl !== "string" || apiUrl === "") {
    throw new TypeError(
      "No API URL: pass apiUrl or set ITHACA_API_URL (e.g. http://127.0.0.1:8080).",
    );
  }
  const url = apiUrl.replace(/\/+$/, "") + route;

  let response;
  try {
    const headers = { Authorization: `Bearer ${apiKey}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (cause) {
    if (cause?.name === "AbortError") throw cause;
    throw new ConnectionError(`Could not reach ${url}: ${cause?.cause?.message ?? cause}`, {
      code: "network_error",
      retryable: true,
      cause,
    });
  }

  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok) {
    if (json === undefined) {
      throw new IthacaError(`${url} answered ${response.status} with a body that is not JSON`, {
        code: "invalid_response",
        status: response.status,
      });
    }
    return json;
  }
  throw errorFromResponse(response, json);
}

/**
 * A spectator token for a session's live broadcast, e.g. one per viewer: POST
 * {apiUrl}/v1/sessions/{sessionId}/spectator_tokens with the API key. Resolves with
 * `{spectatorToken, webrtcUrl, hlsUrl, streamId, expiresIn}`; rejects with a typed error
 * (RequestError/StreamError `stream_not_found` when the session broadcasts nothing).
 * @param {string} sessionId
 * @param {{apiKey?: string, apiUrl?: string, signal?: AbortSignal}} [options]
 */
export async function createSpectatorToken(sessionId, options = {}) {
  if (typeof sessionId !== "string" || sessionId === "") {
    throw new TypeError("createSpectatorToken: sessionId must be a non-empty string");
  }
  const json = await postWithKey(
    `/v1/sessions/${encodeURIComponent(sessionId)}/spectator_tokens`,
    {},
    options,
  );
  if (typeof json?.spectator_token !== "string" || typeof json?.webrtc_url !== "string") {
    throw new IthacaError("the spectator token answer lacks spectator_token or webrtc_url", {
      code: "invalid_response",
    });
  }
  return Object.freeze({
    spectatorToken: json.spectator_token,
    webrtcUrl: json.webrtc_url,
    hlsUrl: json.broadcast_url ?? null,
    streamId: json.stream_id ?? null,
    expiresIn: typeof json.expires_in === "number" ? json.expires_in : null,
  });
}

function errorFromResponse(response, json) {
  const status = response.status;
  const detail = json?.detail;
  const code =
    typeof detail?.code === "string"
      ? detail.code
      : typeof detail?.error === "string"
        ? detail.error
        : null;
  if (code !== null) {
    const details =
      detail.details && typeof detail.details === "object" ? { ...detail.details } : {};
    const header = response.headers.get("retry-after");
    const retryAfter = header === null ? NaN : Number(header);
    if (code === "RATE_LIMITED" && details.retry_after_seconds === undefined && retryAfter >= 0) {
      details.retry_after_seconds = retryAfter;
    }
    return errorFromCode(code, detail.message, {
      retryable: detail.retryable,
      action: detail.action,
      details,
      status,
    });
  }
  // Not Ithaca's error shape (a proxy in between, say): classify by status alone.
  const message = `HTTP ${status} from the API`;
  const extras = { code: `http_${status}`, status };
  if (status === 401 || status === 403) return new AuthError(message, extras);
  if (status === 429) return new UsageError(message, { ...extras, retryable: true });
  if (status >= 500) return new ConnectionError(message, { ...extras, retryable: status !== 500 });
  return new IthacaError(message, extras);
}
