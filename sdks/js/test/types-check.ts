// Compiled by `npm run typecheck` (tsc --noEmit) only: the hand-written .d.ts files must
// describe the public API through the package's own exports map.
import {
  ConcurrentLimitReachedError,
  CredentialsError,
  IthacaError,
  RateLimitError,
  credentialsFromDict,
  credentialsToDict,
  credentialsToJSON,
  errorFromCode,
  extractSessionId,
  type ClientCredentials,
} from "@ithaca/sdk";
import { createClientCredentials } from "@ithaca/sdk/server";

const c: ClientCredentials = credentialsFromDict({ signaling_url: "ws://x", expires_in: 1 });
const id: string = c.sessionId + extractSessionId(c.sessionToken);
const json: string = credentialsToJSON(c) + credentialsToDict(c).session_id + id;
const e: IthacaError = errorFromCode("RATE_LIMITED", json, { details: { retry_after_seconds: 1 } });
if (e instanceof RateLimitError) {
  const s: number | null = e.retryAfterSeconds;
  void s;
}
if (e instanceof CredentialsError) {
  const f: string = e.field;
  void f;
}
const p: Promise<ClientCredentials> = createClientCredentials({ apiKey: "ith_x", apiUrl: "" });
void p;
void ConcurrentLimitReachedError;
