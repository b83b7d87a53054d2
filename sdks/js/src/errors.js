// Typed errors, one class per family (odyssey-wire.md section 7), for every stable code of
// spec/errors.json. test/errors.test.js fails when the catalog gains a code CODES lacks.

/** Base of every error the SDK raises on purpose. */
export class IthacaError extends Error {
  /**
   * @param {string} message
   * @param {{code?: string, retryable?: boolean, action?: string|null, details?: object,
   *          status?: number|null, cause?: unknown}} [options]
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? "error";
    this.retryable = options.retryable === true;
    this.action = typeof options.action === "string" ? options.action : null;
    this.details = isPlainObject(options.details) ? options.details : {};
    this.status = Number.isInteger(options.status) ? options.status : null;
  }
}

/** Missing, invalid or revoked API key or token; a credential may not do this. */
export class AuthError extends IthacaError {}

/** The connection could not be made or was lost; the session or streamer is gone or busy. */
export class ConnectionError extends IthacaError {}

/** A stream command was refused (no stream running, bad image, missing capability...). */
export class StreamError extends IthacaError {}

/** The account hit one of its limits. */
export class UsageError extends IthacaError {}
export class ConcurrentLimitReachedError extends UsageError {}
export class MonthlyLimitReachedError extends UsageError {}
export class StreamDurationExceededError extends UsageError {}
export class AccountSuspendedError extends UsageError {}
export class RateLimitError extends UsageError {
  /** Seconds to wait before retrying (`details.retry_after_seconds`), or null. */
  get retryAfterSeconds() {
    const s = this.details.retry_after_seconds;
    return typeof s === "number" && Number.isFinite(s) ? s : null;
  }
}

/** The request itself is wrong (malformed body, unknown route or session). */
export class RequestError extends IthacaError {}

/** The server failed or is unavailable for a while (store down, shutting down, internal). */
export class ServerError extends IthacaError {}

/** A credentials dict or session token does not have the shape section 1 requires. */
export class CredentialsError extends IthacaError {
  /**
   * @param {string} message
   * @param {{code: "missing_field"|"wrong_type"|"invalid_token", field: string, cause?: unknown}} options
   */
  constructor(message, options) {
    super(message, { code: options.code, cause: options.cause });
    this.field = options.field;
  }
}

// code -> [class, retryable]. The stable codes of spec/errors.json, then the usage codes of the
// hosted Odyssey API that Ithaca does not send but an Odyssey-compatible server may.
const CODES = {
  invalid_request: [RequestError, false],
  invalid_json: [RequestError, false],
  invalid_metadata: [RequestError, false],
  missing_api_key: [AuthError, false],
  invalid_api_key: [AuthError, false],
  malformed_api_key: [AuthError, false],
  api_key_revoked: [AuthError, false],
  forbidden: [AuthError, false],
  not_found: [RequestError, false],
  method_not_allowed: [RequestError, false],
  session_not_found: [RequestError, false],
  session_ended: [ConnectionError, false],
  session_already_connected: [ConnectionError, false],
  credential_already_issued: [RequestError, false],
  request_too_large: [RequestError, false],
  unsupported_media_type: [RequestError, false],
  CONCURRENT_LIMIT_REACHED: [ConcurrentLimitReachedError, true],
  RATE_LIMITED: [RateLimitError, true],
  token_malformed: [AuthError, false],
  token_unsupported_alg: [AuthError, false],
  token_unknown_kid: [AuthError, false],
  token_bad_signature: [AuthError, false],
  token_expired: [AuthError, false],
  token_not_yet_valid: [AuthError, false],
  token_wrong_audience: [AuthError, false],
  token_wrong_role: [AuthError, false],
  token_wrong_session: [AuthError, false],
  token_revoked: [AuthError, false],
  no_streamer_available: [ConnectionError, true],
  streamer_not_available: [ConnectionError, true],
  streamer_disconnected: [ConnectionError, false],
  duration_limit_reached: [ConnectionError, false],
  session_timeout: [StreamError, false],
  invalid_command: [StreamError, false],
  stream_not_active: [StreamError, false],
  stream_already_active: [StreamError, false],
  invalid_image: [StreamError, false],
  capability_missing: [StreamError, false],
  origin_not_allowed: [AuthError, false],
  streamer_unauthorized: [AuthError, false],
  streamer_failed: [ConnectionError, true],
  // Broadcast (WHEP): the spectator's token, the stream, the operator's cap per stream.
  spectator_token_invalid: [AuthError, false],
  stream_not_found: [StreamError, false],
  spectator_limit_reached: [ConnectionError, true],
  store_unavailable: [ServerError, true],
  shutting_down: [ServerError, true],
  config_invalid: [ServerError, false],
  internal: [ServerError, true],
  // Odyssey-only usage codes (odyssey-wire.md section 3).
  MONTHLY_LIMIT_REACHED: [MonthlyLimitReachedError, false],
  STREAM_DURATION_EXCEEDED: [StreamDurationExceededError, false],
  ACCOUNT_SUSPENDED: [AccountSuspendedError, false],
};

/** The codes errorFromCode knows, in catalog order. */
export const KNOWN_CODES = Object.freeze(Object.keys(CODES));

/**
 * The error for a wire error code. An unknown code gives a plain IthacaError.
 * `extras.retryable` overrides the catalog's value when it is a boolean.
 * @param {string} code
 * @param {string} [message]
 * @param {{retryable?: boolean, action?: string|null, details?: object, status?: number|null,
 *          cause?: unknown}} [extras]
 * @returns {IthacaError}
 */
export function errorFromCode(code, message, extras = {}) {
  const known = Object.hasOwn(CODES, code) ? CODES[code] : null;
  const Class = known ? known[0] : IthacaError;
  const retryable =
    typeof extras.retryable === "boolean" ? extras.retryable : known ? known[1] : false;
  return new Class(typeof message === "string" && message !== "" ? message : String(code), {
    code: String(code),
    retryable,
    action: extras.action,
    details: extras.details,
    status: extras.status,
    cause: extras.cause,
  });
}

function isPlainObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
