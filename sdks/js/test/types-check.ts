// Compiled by `npm run typecheck` (tsc --noEmit) only: the hand-written .d.ts files must
// describe the public API through the package's own exports map.
import {
  ConcurrentLimitReachedError,
  ConnectionError,
  CredentialsError,
  Ithaca,
  IthacaError,
  RateLimitError,
  credentialsFromDict,
  credentialsToDict,
  credentialsToJSON,
  errorFromCode,
  extractSessionId,
  type ClientCredentials,
  type ConnectionStatus,
  type IthacaEventHandlers,
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

// The browser client.
async function client(creds: ClientCredentials, video: HTMLVideoElement): Promise<void> {
  const handlers: IthacaEventHandlers = {
    onError: (err: IthacaError, fatal: boolean) => void [err.code, fatal],
    onStatusChange: (s: ConnectionStatus) => void s,
    onStreamStarted: (streamId: string) => void streamId,
    onInteractAcknowledged: (prompt: string) => void prompt,
  };
  const c = new Ithaca({ channelWaitMs: 5000 });
  const stream: MediaStream = await c.connectWithCredentials(creds, handlers);
  void stream;
  c.attachToVideo(video);
  const streamId: string = await c.startStream({ prompt: "p", image: new Blob([]) });
  const ack: string = await c.interact({ prompt: streamId });
  await c.endStream();
  const status: ConnectionStatus = c.status;
  const ids: (string | null)[] = [c.sessionId, c.streamId, ack, status];
  void ids;
  await c.disconnect();
}
void client;
void ConnectionError;
