export interface IthacaErrorOptions {
  code?: string;
  retryable?: boolean;
  action?: string | null;
  details?: Record<string, unknown>;
  status?: number | null;
  cause?: unknown;
}

/** Base of every error the SDK raises on purpose. */
export class IthacaError extends Error {
  constructor(message: string, options?: IthacaErrorOptions);
  /** A code of spec/errors.json: the server's, or the SDK's own such as "network_error". */
  readonly code: string;
  /** Whether the same request may succeed later unchanged. */
  readonly retryable: boolean;
  /** What the caller should do, when the server says. */
  readonly action: string | null;
  /** Structured details, e.g. `{active_count, limit}` for CONCURRENT_LIMIT_REACHED. */
  readonly details: Record<string, unknown>;
  /** The HTTP status, when the error came from an HTTP answer. */
  readonly status: number | null;
}
export class AuthError extends IthacaError {}
export class ConnectionError extends IthacaError {}
export class StreamError extends IthacaError {}
export class UsageError extends IthacaError {}
export class ConcurrentLimitReachedError extends UsageError {}
export class MonthlyLimitReachedError extends UsageError {}
export class StreamDurationExceededError extends UsageError {}
export class AccountSuspendedError extends UsageError {}
export class RateLimitError extends UsageError {
  /** `details.retry_after_seconds`, or null. */
  readonly retryAfterSeconds: number | null;
}
export class RequestError extends IthacaError {}
export class ServerError extends IthacaError {}

export type CredentialsErrorCode = "missing_field" | "wrong_type" | "invalid_token";
export class CredentialsError extends IthacaError {
  constructor(
    message: string,
    options: { code: CredentialsErrorCode; field: string; cause?: unknown },
  );
  readonly code: CredentialsErrorCode;
  /** The snake_case name of the offending field ("" when errorFromCode made the error). */
  readonly field: string;
}

/**
 * Every code errorFromCode maps to a class of its own: all of spec/errors.json (the server's
 * codes, the hosted Odyssey API's, the SDK's own), in the catalog's order.
 */
export const KNOWN_CODES: readonly string[];

/** The error for a wire error code; an unknown code gives a plain IthacaError. */
export function errorFromCode(
  code: string,
  message?: string,
  extras?: Omit<IthacaErrorOptions, "code">,
): IthacaError;
