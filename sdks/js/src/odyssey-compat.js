// The official Odyssey SDK's names (@odysseyml/odyssey 1.3.1) for what this SDK has under its
// own names, so that moving an app over is changing the import. Each alias is the same object:
// `instanceof OdysseyAuthError` holds for this SDK's AuthError. The full table is in
// sdks/js/README.md; test/odyssey-api.test.js holds the SDK to the official package.
import { UsageError, errorFromCode } from "./errors.js";

export { Ithaca as Odyssey } from "./client.js";
export { credentialsFromParts as createClientCredentials } from "./credentials.js";
export { setDebug } from "./debug.js";
export {
  AuthError as OdysseyAuthError,
  ConnectionError as OdysseyConnectionError,
  IthacaError as OdysseyError,
  StreamError as OdysseyStreamError,
  UsageError as OdysseyUsageError,
} from "./errors.js";

/**
 * The official helper: throws the usage error a 429 answer describes (`{error|code, message,
 * action, details?}`), or returns. Also reads Ithaca's own shape, the same under `detail`.
 * An unknown code still throws an OdysseyUsageError, as the official SDK does.
 * @param {number} status
 * @param {unknown} data
 */
export function throwIfUsageError(status, data) {
  if (status !== 429) return;
  const body = isObject(data) && isObject(data.detail) ? data.detail : data;
  if (!isObject(body) || !("message" in body) || !("action" in body)) return;
  const code = body.error || body.code || "UNKNOWN";
  const extras = { action: body.action, details: body.details, status };
  const error = errorFromCode(code, body.message, extras);
  if (error instanceof UsageError) throw error;
  throw new UsageError(error.message, { ...extras, code, retryable: true });
}

function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
