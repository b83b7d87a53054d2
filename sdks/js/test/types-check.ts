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
  type BroadcastInfo,
  SpectatorConnection,
  connectToStream,
  type SpectatorDisconnectReason,
  type ConnectTiming,
  decodeMarker,
  readVideoMarker,
  watchFrames,
} from "@ithaca/sdk";
import {
  createClientCredentials,
  createSpectatorToken,
  Ithaca as KeyedIthaca,
  type SpectatorTokenInfo,
} from "@ithaca/sdk/server";

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
    onEvent: (event) => void event.type,
  };
  const c = new Ithaca({ channelWaitMs: 5000, configTimeoutMs: 1000 });
  const stream: MediaStream = await c.connectWithCredentials(creds, handlers);
  void stream;
  c.attachToVideo(video);
  const streamId: string = await c.startStream({ prompt: "p", image: new Blob([]) });
  const ack: string = await c.interact({ prompt: streamId });
  await c.endStream();
  const status: ConnectionStatus = c.status;
  const ids: (string | null)[] = [c.sessionId, c.streamId, ack, status];
  void ids;
  const t: ConnectTiming = c.timing;
  const marker: number | null = readVideoMarker(video, document.createElement("canvas"));
  const stop: () => void = watchFrames(video, (f) => void (f.now + (f.presentationTime ?? 0)));
  stop();
  void [t.connected, marker, decodeMarker({ data: new Uint8ClampedArray(4), width: 1, height: 1 })];
  await c.disconnect();
}
void client;
void ConnectionError;

// Spectators.
async function spectator(video: HTMLVideoElement, signal: AbortSignal): Promise<void> {
  let info: BroadcastInfo | null = null;
  const host = new Ithaca();
  await host.connectWithCredentials({}, { onBroadcastReady: (i) => void (info = i) });
  await host.startStream({ prompt: "p", broadcast: true });
  const b: BroadcastInfo | null = host.broadcast ?? info;
  if (!b) return;
  const hls: string | null = b.hlsUrl;
  const sid: string | null = b.streamId;
  void [hls, sid, b.raw["type"]];
  const conn: SpectatorConnection = await connectToStream(b.webrtcUrl, b.spectatorToken, {
    signal,
    iceServers: [{ urls: "stun:example.org" }],
    trackTimeoutMs: 10_000,
  });
  video.srcObject = conn.stream;
  conn.onDisconnect((reason: SpectatorDisconnectReason) => void reason);
  const state: RTCPeerConnectionState = conn.connectionState;
  void state;
  await conn.disconnect();
  conn.close();
  const again: SpectatorConnection = await Ithaca.connectToStream(b.webrtcUrl, b.spectatorToken);
  void again;
  const minted: SpectatorTokenInfo = await createSpectatorToken("ses_1", { apiKey: "k" });
  const viaClient: SpectatorTokenInfo = await new KeyedIthaca({ apiKey: "k" }).createSpectatorToken(
    minted.webrtcUrl,
  );
  void viaClient.expiresIn;
}
void spectator;
