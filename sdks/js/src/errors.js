// Typed errors, one class per family, for every code of spec/errors.json: the table is
// errors-catalog.js, generated from the catalog (scripts/gen_error_catalog.py); this file holds
// only the classes. test/errors.test.js fails when the generated table is stale.
import { CATALOG } from "./errors-catalog.js";

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
   * @param {{code: "missing_field"|"wrong_type"|"invalid_token", field?: string, cause?: unknown}} options
   */
  constructor(message, options) {
    super(message, { code: options.code, cause: options.cause });
    this.field = typeof options.field === "string" ? options.field : "";
  }
}

// A catalog family (an error class's name) -> the class.
const FAMILIES = {
  IthacaError,
  AuthError,
  ConnectionError,
  StreamError,
  UsageError,
  ConcurrentLimitReachedError,
  MonthlyLimitReachedError,
  StreamDurationExceededError,
  AccountSuspendedError,
  RateLimitError,
  RequestError,
  ServerError,
  CredentialsError,
};

// code -> [class, retryable], for every code of the catalog: the server's, the hosted Odyssey
// API's, the SDK's own.
const CODES = Object.fromEntries(
  Object.entries(CATALOG).map(([code, [family, retryable]]) => [
    code,
    [FAMILIES[family] ?? IthacaError, retryable],
  ]),
);

/** The codes errorFromCode knows: every code of spec/errors.json, in catalog order. */
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
