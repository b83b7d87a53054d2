import type {
  ClientCredentials,
  ClientCredentialsDict,
  ClientCredentialsLike,
} from "./credentials.js";
import type { IthacaError } from "./errors.js";
import type { ConnectToStreamOptions, SpectatorConnection } from "./spectator.js";
import type {
  ListSimulationsOptions,
  ListStreamRecordingsOptions,
  Recording,
  SimulateOptions,
  SimulateResult,
  SimulateStatus,
  SimulationsList,
  StreamRecordingsListResponse,
} from "./hosted-only.js";

export type ConnectionStatus =
  "authenticating" | "connecting" | "reconnecting" | "connected" | "disconnected" | "failed";

/** Passed to onBroadcastReady (docs/odyssey-compatibility.md section 9); frozen. */
export interface BroadcastInfo {
  /** The WHEP base URL: connectToStream(webrtcUrl, spectatorToken). */
  webrtcUrl: string;
  /** The HLS playlist URL (`broadcast_url` on the wire), or null without HLS. */
  hlsUrl: string | null;
  /** A spectator JWT bound to this stream: share it with viewers, never an API key. */
  spectatorToken: string;
  /** The broadcast stream's id. */
  streamId: string | null;
  /** The broadcast_ready message as received (fields this SDK does not know yet included). */
  raw: Readonly<Record<string, unknown>>;
}

/** Same names and signatures as the official Odyssey SDK's handlers. */
export interface IthacaEventHandlers {
  /** Video and clientToStreamer are up; called again after each reconnect (a new stream). */
  onConnected?: (stream: MediaStream) => void;
  /** The connection ended for good (disconnect() or a fatal error). */
  onDisconnected?: () => void;
  onStreamStarted?: (streamId: string) => void;
  /** Also called when a drop ends the running stream. */
  onStreamEnded?: () => void;
  onInteractAcknowledged?: (prompt: string) => void;
  onStreamError?: (reason: string, message: string) => void;
  /** The broadcast of a startStream({broadcast: true}) is playable. */
  onBroadcastReady?: (info: BroadcastInfo) => void;
  /** fatal: the client gave up (status "failed"); otherwise it is reconnecting. */
  onError?: (error: IthacaError, fatal: boolean) => void;
  onStatusChange?: (status: ConnectionStatus, message?: string) => void;
  /** Every streamerToClient message as received, before the handlers above (Ithaca addition). */
  onEvent?: (event: Readonly<Record<string, unknown>> & { type: string }) => void;
}

/**
 * performance.now() marks of the last connectWithCredentials call (Ithaca addition), each also
 * a performance.mark("ithaca:NAME"). connectCall and config are set once; the others describe
 * the latest connect attempt (a reconnect starts them over).
 */
export interface ConnectTiming {
  /** connectWithCredentials was called. */
  connectCall?: number;
  /** GET /config answered (or gave up); the first attempt starts. */
  config?: number;
  /** new WebSocket(...) for the signaling socket. */
  wsCreate?: number;
  wsOpen?: number;
  /** The server's offer arrived. */
  offer?: number;
  /** The answer was sent. */
  answer?: number;
  /** The peer connection is connected (ICE + DTLS). */
  peerConnected?: number;
  /** The video track arrived. */
  track?: number;
  /** clientToStreamer is open. */
  channelOpen?: number;
  /** Video and clientToStreamer are both up: status "connected". */
  connected?: number;
}

export interface StartStreamOptions {
  prompt?: string;
  /** 704x1280; false: 1280x704. Default true, as in the official SDK. */
  portrait?: boolean;
  /** A data URL, or a Blob/File converted to one; sent over signaling. */
  image?: string | Blob | null;
  /** Sent as the official SDK sends it (`bypass_vlm_expansion`); Ithaca's streamers ignore it. */
  bypassPromptExpansion?: boolean;
  broadcast?: boolean;
  /**
   * Generation parameters of the streamer's model (GET /v1/models shows the ones it declares),
   * e.g. `{seed: 7}`; a JSON object of at most 16 KiB. Refused with `invalid_params` when the
   * model does not accept them (Ithaca addition; the official SDK has no such option).
   */
  params?: Record<string, unknown>;
}

export interface InteractOptions {
  prompt: string;
}

export interface IthacaClientOptions {
  /** The official constructor's option; only "@ithaca/sdk/server"'s client uses it. */
  apiKey?: string;
  keepaliveMs?: number;
  /** One connect attempt's budget. */
  attemptTimeoutMs?: number;
  /** How long a command waits for its answer. */
  requestTimeoutMs?: number;
  /** How long a command issued before clientToStreamer opened waits for it. */
  channelWaitMs?: number;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Attempts per drop; an expired token ends them sooner. */
  reconnectAttempts?: number;
  closeWaitMs?: number;
  errorCloseWaitMs?: number;
  /** Budget of GET /config before connecting without ICE servers; default 5000. */
  configTimeoutMs?: number;
}

/** The browser WebRTC client: one session at a time. */
export class Ithaca {
  /** Watches a broadcast as a spectator (WHEP); the module's connectToStream. */
  static connectToStream(
    webrtcUrl: string,
    spectatorToken: string,
    options?: ConnectToStreamOptions,
  ): Promise<SpectatorConnection>;
  constructor(options?: IthacaClientOptions);
  readonly status: ConnectionStatus;
  readonly sessionId: string | null;
  readonly streamId: string | null;
  /** The running stream's BroadcastInfo once onBroadcastReady was called, else null. */
  readonly broadcast: BroadcastInfo | null;
  readonly mediaStream: MediaStream | null;
  readonly isConnected: boolean;
  readonly peerConnection: RTCPeerConnection | null;
  /** The official SDK's names: status, sessionId, and the peer's states. */
  readonly currentStatus: ConnectionStatus;
  readonly currentSessionId: string | null;
  readonly connectionState: RTCPeerConnectionState | null;
  readonly iceConnectionState: RTCIceConnectionState | null;
  /** stream_started's applied_prompt, then each acknowledged prompt; null before a stream. */
  readonly lastAppliedPrompt: string | null;
  /** Rejects (AuthError missing_api_key) here: the "@ithaca/sdk/server" client mints. */
  connect(handlers?: IthacaEventHandlers): Promise<MediaStream>;
  /** Rejects (AuthError missing_api_key) here: the "@ithaca/sdk/server" client mints. */
  createClientCredentials(): Promise<ClientCredentials>;
  /** Hosted Odyssey only: each rejects with RequestError `not_supported`. */
  getRecording(streamId: string): Promise<Recording>;
  listStreamRecordings(
    options?: ListStreamRecordingsOptions,
  ): Promise<StreamRecordingsListResponse>;
  simulate(options: SimulateOptions): Promise<SimulateResult>;
  getSimulateStatus(jobId: string): Promise<SimulateStatus>;
  listSimulations(options?: ListSimulationsOptions): Promise<SimulationsList>;
  cancelSimulation(jobId: string): Promise<{ job_id: string; status: string }>;
  /** Marks of the last connect (a frozen copy). */
  readonly timing: Readonly<ConnectTiming>;
  /** Idempotent: while live or under way, returns the same promise. */
  connectWithCredentials(
    credentials:
      ClientCredentials | ClientCredentialsLike | ClientCredentialsDict | Record<string, unknown>,
    handlers?: IthacaEventHandlers,
  ): Promise<MediaStream>;
  /** Resolves with the stream id. */
  startStream(options?: StartStreamOptions): Promise<string>;
  /** Resolves with the acknowledged prompt. */
  interact(options: InteractOptions): Promise<string>;
  endStream(): Promise<void>;
  /** client_disconnecting, then close 1000; pending commands reject (ConnectionError). */
  disconnect(): Promise<void>;
  attachToVideo(videoElement: HTMLVideoElement | null): HTMLVideoElement | null;
  /** TEST-ONLY: closes the signaling socket with 4000, like a network drop. */
  _simulateDrop(): void;
}
