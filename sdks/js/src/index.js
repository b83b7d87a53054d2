// Browser-safe entry point: nothing here takes or holds an API key. Mint credentials on your
// server with "@ithaca/sdk/server" and hand the page only what credentialsToDict returns.
export {
  credentialsFromDict,
  credentialsFromParts,
  credentialsToDict,
  credentialsToJSON,
  extractSessionId,
} from "./credentials.js";
export {
  AccountSuspendedError,
  AuthError,
  ConcurrentLimitReachedError,
  ConnectionError,
  CredentialsError,
  IthacaError,
  KNOWN_CODES,
  MonthlyLimitReachedError,
  RateLimitError,
  RequestError,
  ServerError,
  StreamDurationExceededError,
  StreamError,
  UsageError,
  errorFromCode,
} from "./errors.js";
export { Ithaca } from "./client.js";
export { SpectatorConnection, connectToStream } from "./spectator.js";
// The official SDK's names (@odysseyml/odyssey), as aliases: see README's migration table.
export {
  Odyssey,
  OdysseyAuthError,
  OdysseyConnectionError,
  OdysseyError,
  OdysseyStreamError,
  OdysseyUsageError,
  createClientCredentials,
  setDebug,
  throwIfUsageError,
} from "./odyssey-compat.js";
export {
  MARKER_BLOCKS,
  MARKER_BLOCK_HEIGHT,
  MARKER_BLOCK_WIDTH,
  MARKER_MIN_CONTRAST,
  decodeMarker,
  markerCheckBits,
  readVideoMarker,
  watchFrames,
} from "./frame-marker.js";
