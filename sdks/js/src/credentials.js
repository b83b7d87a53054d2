// Client credentials (docs/odyssey-compatibility.md section 2), read and written exactly as
// spec/vectors/credentials.json says. Browser-safe (atob, TextDecoder); no API key.
import { CredentialsError } from "./errors.js";

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The `session_id` claim of a session token. The signature is not checked (the signaling server
 * does that); only the shape: three dot-separated parts, the middle one base64url JSON with a
 * non-empty string `session_id`.
 * @param {string} token
 * @returns {string}
 */
export function extractSessionId(token) {
  if (typeof token !== "string") {
    throw invalidToken("session_token must be a string");
  }
  const parts = token.split(".");
  if (parts.length !== 3) {
    throw invalidToken(`session_token must have 3 dot-separated parts, not ${parts.length}`);
  }
  let payload;
  try {
    payload = JSON.parse(decodeBase64url(parts[1]));
  } catch (cause) {
    throw invalidToken("session_token payload is not base64url JSON", cause);
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw invalidToken("session_token payload is not a JSON object");
  }
  const id = payload.session_id;
  if (typeof id !== "string" || id === "") {
    throw invalidToken("session_token payload has no non-empty string session_id");
  }
  return id;
}

/**
 * Credentials from a dict as the server returns it (snake_case; camelCase keys also accepted).
 * `session_id` is always re-derived from the token; the dict's value is ignored.
 * @param {Record<string, unknown>} data
 */
export function credentialsFromDict(data) {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new CredentialsError("credentials must be an object", {
      code: "wrong_type",
      field: "credentials",
    });
  }
  const signalingUrl = field(data, "signaling_url", "signalingUrl");
  const sessionToken = field(data, "session_token", "sessionToken");
  const expiresIn = field(data, "expires_in", "expiresIn");
  if (typeof signalingUrl !== "string") throw wrongType("signaling_url", "a string");
  if (typeof sessionToken !== "string") throw wrongType("session_token", "a string");
  if (!Number.isInteger(expiresIn)) throw wrongType("expires_in", "an integer");
  const capabilities = data.capabilities ?? {};
  if (typeof capabilities !== "object" || Array.isArray(capabilities)) {
    throw wrongType("capabilities", "an object");
  }
  return Object.freeze({
    sessionId: extractSessionId(sessionToken),
    signalingUrl,
    sessionToken,
    expiresIn,
    capabilities: Object.freeze({ ...capabilities }),
  });
}

/**
 * Credentials from their parts, as the official SDK's createClientCredentials(signalingUrl,
 * sessionToken, expiresIn, capabilities?) builds them: sessionId from the token's claim, the
 * same checks as credentialsFromDict.
 * @param {string} signalingUrl
 * @param {string} sessionToken
 * @param {number} expiresIn
 * @param {Record<string, unknown>} [capabilities]
 */
export function credentialsFromParts(signalingUrl, sessionToken, expiresIn, capabilities) {
  return credentialsFromDict({
    signaling_url: signalingUrl,
    session_token: sessionToken,
    expires_in: expiresIn,
    capabilities,
  });
}

/**
 * The dict the wire carries: keys session_id, signaling_url, session_token, expires_in,
 * capabilities, in that order.
 * @param {{sessionId: string, signalingUrl: string, sessionToken: string, expiresIn: number,
 *          capabilities?: object}} c
 */
export function credentialsToDict(c) {
  return {
    session_id: c.sessionId,
    signaling_url: c.signalingUrl,
    session_token: c.sessionToken,
    expires_in: c.expiresIn,
    capabilities: { ...(c.capabilities ?? {}) },
  };
}

/** Compact JSON of credentialsToDict(c), byte-identical in every SDK. */
export function credentialsToJSON(c) {
  return JSON.stringify(credentialsToDict(c));
}

function field(data, snake, camel) {
  const v = data[snake] ?? data[camel];
  if (v === undefined || v === null) {
    throw new CredentialsError(`credentials lack ${snake}`, {
      code: "missing_field",
      field: snake,
    });
  }
  return v;
}

function wrongType(name, what) {
  return new CredentialsError(`credentials ${name} must be ${what}`, {
    code: "wrong_type",
    field: name,
  });
}

function invalidToken(message, cause) {
  return new CredentialsError(message, { code: "invalid_token", field: "session_token", cause });
}

function decodeBase64url(s) {
  if (!BASE64URL.test(s) || s.length % 4 === 1) throw new Error("not base64url");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - (s.length % 4)) % 4);
  const binary = atob(b64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}
